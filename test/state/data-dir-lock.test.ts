import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.ts';
import { lockDataDir } from '../../src/state/data-dir-lock.ts';

const HOLDER = new URL('../fixtures/hold-lock.ts', import.meta.url).pathname;

/** Starts a process that holds the lock on `dataDir`; resolves once it has it. */
async function holdLockInChild(dataDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [HOLDER, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8');
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if (out.includes('locked\n')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`lock holder exited early (${code ?? signal})`)));
  });
  return child;
}

/** A pid that belonged to a process that has exited and been reaped. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

describe('lockDataDir', () => {
  let dataDir: string;
  let lockFile: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'turnstream-'));
    lockFile = join(dataDir, 'turnstream.lock');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes its pid to <dataDir>/turnstream.lock and release removes the file', () => {
    const lock = lockDataDir(dataDir);
    assert.equal(readFileSync(lockFile, 'utf8'), String(process.pid));
    lock.release();
    assert.equal(existsSync(lockFile), false);
    lock.release(); // idempotent
    const again = lockDataDir(dataDir);
    assert.equal(existsSync(lockFile), true, 'the dir can be locked again after release');
    again.release();
    assert.equal(existsSync(lockFile), false);
  });

  it('a second lock while another process holds it throws ConfigError naming that pid', async () => {
    const child = await holdLockInChild(dataDir);
    children.push(child);
    assert.throws(
      () => lockDataDir(dataDir),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        assert.match(error.message, new RegExp(`\\bpid ${child.pid}\\b`));
        assert.ok(error.message.includes(dataDir), 'the message names the data dir');
        assert.equal(error.retriable, false);
        return true;
      },
    );
    assert.equal(readFileSync(lockFile, 'utf8'), String(child.pid), 'the holder keeps its lock');
  });

  it('a second lock in the same process throws too (one writer per data dir)', () => {
    const lock = lockDataDir(dataDir);
    try {
      assert.throws(
        () => lockDataDir(dataDir),
        (error: unknown) => error instanceof ConfigError && error.message.includes(`pid ${process.pid}`),
      );
      assert.equal(readFileSync(lockFile, 'utf8'), String(process.pid));
    } finally {
      lock.release();
    }
    assert.equal(existsSync(lockFile), false);
  });

  it('takes over the lock of a killed holder (kill -9: the file stays behind)', async () => {
    const child = await holdLockInChild(dataDir);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited; // reaped: a zombie would still look alive
    assert.equal(readFileSync(lockFile, 'utf8'), String(child.pid), 'the stale lock file is still there');
    const lock = lockDataDir(dataDir);
    assert.equal(readFileSync(lockFile, 'utf8'), String(process.pid));
    lock.release();
    assert.equal(existsSync(lockFile), false);
  });

  it('takes over a lock file holding a dead pid, or no pid at all', async () => {
    for (const content of [String(await deadPid()), '', 'not a pid\n', '-1']) {
      writeFileSync(lockFile, content);
      const lock = lockDataDir(dataDir);
      assert.equal(readFileSync(lockFile, 'utf8'), String(process.pid), `content ${JSON.stringify(content)}`);
      lock.release();
    }
  });

  it('takes over a lock file holding its own pid that it does not hold (pid reused after a restart)', () => {
    writeFileSync(lockFile, String(process.pid));
    const lock = lockDataDir(dataDir);
    assert.equal(readFileSync(lockFile, 'utf8'), String(process.pid));
    lock.release();
    assert.equal(existsSync(lockFile), false);
  });
});
