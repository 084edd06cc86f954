import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lockDataDir } from '../../src/state/data-dir-lock.ts';

describe('lockDataDir and a killed holder not reaped yet', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-zombie-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('takes over a lock whose pid is a zombie (exited, not yet waited for by its parent)', async () => {
    // A parent that never waits: its forked child exits and stays a zombie while the parent sleeps.
    const parent = spawn('python3', ['-c', 'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True)\ntime.sleep(30)'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      for (let i = 0; i < 50 && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) Z /, 'the child is a zombie');
      assert.doesNotThrow(() => process.kill(pid, 0), 'a zombie still answers signal 0 (why the lock used to look held)');
      writeFileSync(join(dataDir, 'turnstream.lock'), String(pid));
      const lock = lockDataDir(dataDir);
      assert.equal(readFileSync(join(dataDir, 'turnstream.lock'), 'utf8'), String(process.pid));
      lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
