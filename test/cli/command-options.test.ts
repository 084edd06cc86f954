import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMAND_OPTIONS, commandFlags } from '../../src/cli/command-options.ts';
import { HELP } from '../../src/cli/help.ts';
import { serverUrl } from '../../src/cli/server-url.ts';
import { SETTINGS } from '../../src/cli/settings.ts';
import { ConfigError } from '../../src/errors.ts';
import { startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const clean = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_URL: '', TURNSTREAM_CONFIG: '', TURNSTREAM_HOST: '', TURNSTREAM_PORT: '' };

/** Runs the CLI without blocking the event loop (an in-process server may have to answer it). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('each command takes exactly the flags it reads', () => {
  it('a flag the command does not read is an error naming its valid flags (sessions list --url)', async () => {
    const r = await cli(['sessions', 'list', '--url', 'http://127.0.0.1:1']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /'sessions' does not take --url; its options: --data-dir, --kafka, --kafka-topic-prefix, --json, --limit, --config/);
    const dl = await cli(['dead-letters', '--watch', '--port', '1']);
    assert.equal(dl.status, 2);
    assert.match(dl.stderr, /'dead-letters' does not take --watch, --port;/);
    const send = await cli(['send', 'x.ndjson', '--kafka', '127.0.0.1:9092']);
    assert.match(send.stderr, /'send' does not take --kafka;/);
    const start = await cli(['start', '--limit', '3']);
    assert.match(start.stderr, /'start' does not take --limit;/);
  });

  it('stray arguments are errors too: start 9000, dead-letters x, sessions list x', async () => {
    const start = await cli(['start', '9000']);
    assert.equal(start.status, 2);
    assert.match(start.stderr, /'start' takes no arguments \(got "9000"\); options are flags, e\.g\. --port 9000/);
    assert.match((await cli(['dead-letters', 'late'])).stderr, /'dead-letters' takes no arguments/);
    const list = await cli(['sessions', 'list', 'demo-1']);
    assert.equal(list.status, 2);
    assert.match(list.stderr, /too many arguments: list demo-1/);
  });

  it('--help lists exactly the flags each command reads, --kafka included where it reads Kafka', () => {
    for (const command of Object.keys(COMMAND_OPTIONS)) {
      const text = HELP[command];
      assert.ok(text !== undefined, command);
      const listed = new Set(text.match(/--[a-z][a-z-]*/g));
      listed.delete('--help');
      assert.deepEqual([...listed].sort(), [...new Set(commandFlags(command))].sort(), `turnstream ${command} --help`);
      for (const name of COMMAND_OPTIONS[command]!.settings)
        assert.match(text, new RegExp(`env ${SETTINGS[name].env}\\b`), `${command} --help names ${SETTINGS[name].env}`);
    }
    assert.match(HELP['sessions']!, /--kafka <value>/);
    assert.match(HELP['dead-letters']!, /--kafka <value>/);
  });
});

describe('send and import find the server from --host/--port when --url is not set', () => {
  let ts: RunningPipeline;
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-server-url-'));
  before(async () => {
    ts = await startPipeline();
  });
  after(async () => {
    await ts.stop({ remove: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const file = join(dir, 'events.ndjson');
  writeFileSync(file, `${JSON.stringify({ v: 1, id: 'port-1', type: 'session.start', session: 'port-s', time: '2026-03-02T10:00:00Z' })}\n`);

  it('serverUrl: --url wins; else http://host:port, wildcard hosts on loopback, IPv6 in brackets', () => {
    const base = { url: undefined, host: '127.0.0.1', port: 8787 };
    assert.equal(serverUrl(base), 'http://127.0.0.1:8787');
    assert.equal(serverUrl({ ...base, url: 'http://10.0.0.5:1' }), 'http://10.0.0.5:1');
    assert.equal(serverUrl({ ...base, port: 9000, host: '0.0.0.0' }), 'http://127.0.0.1:9000');
    assert.equal(serverUrl({ ...base, host: '::' }), 'http://[::1]:8787');
    assert.equal(serverUrl({ ...base, host: 'fd00::5' }), 'http://[fd00::5]:8787');
    assert.throws(
      () => serverUrl({ ...base, port: 0 }),
      (e: unknown) => e instanceof ConfigError && /--url/.test(e.message),
    );
  });

  it('TURNSTREAM_PORT, --port and a config file port all reach send', async () => {
    const port = new URL(ts.url).port;
    const viaEnv = await cli(['send', file], { TURNSTREAM_PORT: port });
    assert.equal(viaEnv.status, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, new RegExp(`→ http://127\\.0\\.0\\.1:${port}: 1 accepted`));
    const viaFlag = await cli(['send', file, '--port', port, '--host', '127.0.0.1']);
    assert.match(viaFlag.stdout, /0 accepted, 1 duplicate/);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ port: Number(port) }));
    const viaConfig = await cli(['send', file, '--config', config]);
    assert.match(viaConfig.stdout, /0 accepted, 1 duplicate/);
  });
});
