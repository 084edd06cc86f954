import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createTelemetry } from '../../src/exporters/create-telemetry.ts';
import { deterministicIds } from '../../src/exporters/deterministic-ids.ts';
import { openEmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';
import { freePort } from '../helpers/free-port.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/turnstream.js');
const exampleText = (name: string): string => readFileSync(join(root, 'examples', `${name}.ndjson`), 'utf8');
const baseEnv: NodeJS.ProcessEnv = {
  ...process.env,
  TURNSTREAM_DATA_DIR: '',
  TURNSTREAM_CONFIG: '',
  TURNSTREAM_PRICES: '',
  TURNSTREAM_KAFKA_BROKERS: '',
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_TRACES_EXPORTER: '',
  OTEL_EXPORTER_OTLP_PROTOCOL: '',
};

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI without blocking this process (an in-process OTLP receiver must keep answering). */
function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface JsonSpan {
  traceId: string;
  spanId: string;
  name: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number; doubleValue?: number } }[];
}

/** An OTLP/HTTP JSON receiver on loopback: records every span it is sent. */
async function otlpReceiver(): Promise<{ url: string; spans: JsonSpan[]; server: Server }> {
  const spans: JsonSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { resourceSpans: { scopeSpans: { spans: JsonSpan[] }[] }[] };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

const conversation = (s: JsonSpan): string | undefined => s.attributes.find((a) => a.key === 'gen_ai.conversation.id')?.value.stringValue;
const ids = (spans: readonly JsonSpan[]): string[] => [...new Set(spans.map((s) => `${s.traceId}/${s.spanId}`))].sort();

describe('turnstream replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-replay-cli-'));
  const dataDir = join(dir, 'data');
  let recv: Awaited<ReturnType<typeof otlpReceiver>>;
  let liveSpans: JsonSpan[];

  before(async () => {
    // The live run exports its spans to the receiver, as `turnstream start` would with OTEL_* set.
    recv = await otlpReceiver();
    const telemetry = await createTelemetry({
      version: 'test',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_METRICS_EXPORTER: 'none' },
    });
    const p = await openEmbeddedPipeline({ dataDir, prices: createPriceTable(), telemetry });
    for (const name of ['coding-session', 'concurrent-turns', 'messy-delivery']) await p.ingestor.ingest(splitNdjson(exampleText(name)), 'test');
    await p.close();
    await telemetry.shutdown();
    liveSpans = [...recv.spans];
    recv.spans.length = 0;
    writeFileSync(
      join(dir, 'prices.json'),
      JSON.stringify({ anthropic: { 'claude-sonnet-4-5': { input: 4, output: 20, cacheRead: 0.4, cacheWrite5m: 5, cacheWrite1h: 8 } } }),
    );
  });
  after(async () => {
    await new Promise<void>((ok) => recv.server.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a session as a timeline: turns with their calls in order, totals, state', async () => {
    const r = await cli(['replay', 'demo-1', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^session demo-1 · agent claude-code · user alice$/m);
    assert.match(r.stdout, /^turn-1 {2}2026-03-02T10:00:00\.000Z {2}9\.1 s {2}completed \(end_turn\)/m);
    assert.match(r.stdout, /tool {2}Bash +2\.0 s {2}error: exit code 1/);
    assert.match(r.stdout, /^totals {2}2 turns · 4 LLM calls · 3 tool calls \(1 failed\) · \$0\.0363$/m);
    assert.equal((await cli(['replay', '--session', 'demo-1', '--data-dir', dataDir])).stdout, r.stdout, '--session works as the argument');
  });

  it('--json has the shape of sessions show --json (same values), each turn with its calls', async () => {
    const r = await cli(['replay', 'demo-3', '--json', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    const replayed = JSON.parse(r.stdout) as Record<string, unknown> & { turns: Record<string, unknown>[]; replay: Record<string, unknown> };
    const shown = JSON.parse((await cli(['sessions', 'show', 'demo-3', '--json', '--data-dir', dataDir])).stdout) as Record<string, unknown>;
    const { replay: meta, turns, ...rest } = replayed;
    assert.deepEqual({ ...rest, turns: turns.map(({ llm: _l, tools: _t, ...t }) => t) }, shown);
    assert.deepEqual(
      (turns[0]!['llm'] as { eventId: string; start: string }[]).map((c) => [c.eventId, c.start]),
      [
        ['demo3-005', '2026-03-02T12:00:04.000Z'],
        ['demo3-007', '2026-03-02T12:00:04.500Z'],
      ],
    );
    assert.deepEqual(turns[0]!['tools'], [{ toolCallId: 'c1', toolName: 'Grep', start: '2026-03-02T12:00:02.000Z', end: '2026-03-02T12:00:03.000Z' }]);
    // Read from the log: the session's 11 events and 4 clock ticks in place of the other sessions' events (not all 42).
    assert.deepEqual([meta['events'], meta['logEvents'], meta['open'], meta['deadLetters']], [11, 15, [], []]);
  });

  it("--ndjson prints the session's raw events in log order", async () => {
    const r = await cli(['replay', 'demo-1', '--ndjson', '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split('\n'), splitNdjson(exampleText('coding-session')));
    const at = await cli(['replay', 'demo-1', '--ndjson', '--at', 'demo1-003', '--data-dir', dataDir]);
    assert.equal(at.stdout.trimEnd().split('\n').length, 3);
  });

  it('--at a time or an event id: state and totals as they were then', async () => {
    const early = JSON.parse((await cli(['replay', 'demo-1', '--at', '2026-03-02T10:00:05Z', '--json', '--data-dir', dataDir])).stdout) as {
      totals: { turns: number };
      state: unknown;
      replay: { at: unknown; open: { turn: string; events: number }[] };
    };
    assert.deepEqual(
      [early.totals.turns, early.state, early.replay.at, early.replay.open],
      [
        0,
        { plan: { step: 1, goal: 'fix login' }, branch: 'fix-login' },
        { time: '2026-03-02T10:00:05.000Z' },
        [{ turn: 'turn-1', start: '2026-03-02T10:00:00.000Z', last: '2026-03-02T10:00:04.500Z', events: 6 }],
      ],
    );
    const deleted = JSON.parse((await cli(['replay', 'demo-1', '--at', 'demo1-018', '--json', '--data-dir', dataDir])).stdout) as {
      totals: { turns: number };
      state: unknown;
      replay: { deleted: unknown };
    };
    assert.deepEqual([deleted.totals.turns, deleted.state, deleted.replay.deleted], [2, { branch: 'fix-login' }, { plan: '2026-03-02T10:01:04.000Z' }]);
  });

  it('--prices FILE shows the recorded cost next to the re-priced one', async () => {
    const r = await cli(['replay', 'demo-1', '--prices', join(dir, 'prices.json'), '--data-dir', dataDir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^turn-1 .* · \$0\.0342 → \$0\.0456$/m);
    assert.match(r.stdout, /^re-priced with .*prices\.json: \$0\.0363 → \$0\.0477 {2}\+\$0\.0114 \(\+31\.4 %\) {2}over 2 recorded turns$/m);
  });

  it('--all --from --to --prices --out: a backfill writing re-priced turn aggregates, with a summary', async () => {
    const outFile = join(dir, 'backfill.ndjson');
    const r = await cli([
      'replay',
      '--all',
      '--from',
      '2026-03-02T10:00:30Z',
      '--to',
      '2026-03-02T12:00:05Z',
      '--prices',
      join(dir, 'prices.json'),
      '--out',
      outFile,
      '--data-dir',
      dataDir,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^backfill with .*prices\.json: 4 turns of 3 sessions started between 2026-03-02T10:00:30\.000Z and 2026-03-02T12:00:05\.000Z \(42 events replayed\)$/m,
    );
    assert.match(r.stdout, /^cost \$0\.008450 recorded → \$0\.009500 re-priced \(\+\$0\.001050\) over 4 recorded turns$/m);
    assert.match(r.stdout, /^anthropic {2}claude-sonnet-4-5 +2 +\$0\.003150 +\$0\.004200$/m);
    const written = readFileSync(outFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { session: string; turn: string; cost: number });
    assert.deepEqual(
      written.map((t) => `${t.session}/${t.turn}`),
      ['demo-1/turn-2', 'demo-2/a', 'demo-2/b', 'demo-3/t1'],
    );
    assert.equal(r.stderr, '', 'no progress bar when stderr is not a terminal');
    const json = JSON.parse((await cli(['replay', '--all', '--json', '--data-dir', dataDir])).stdout) as {
      turns: number;
      out: null;
      prices: string;
      sessions: unknown[];
    };
    assert.deepEqual([json.turns, json.out, json.prices, json.sessions.length], [6, null, 'the built-in prices', 3]);
  });

  it('--speed N replays in scaled real time, printing events and turns as they come', async () => {
    const started = Date.now();
    const r = await cli(['replay', 'demo-1', '--speed', '600', '--data-dir', dataDir]); // 2 min of event time → ~0.2 s
    assert.equal(r.status, 0, r.stderr);
    const elapsed = Date.now() - started;
    const lines = r.stdout.split('\n');
    const end1 = lines.findIndex((l) => l.includes('turn.end') && l.includes('turn-1'));
    assert.match(lines[end1 + 1]!, /^ {2}=> turn-1 completed \(end_turn\): 9\.1 s, 3 LLM calls, 3 tool calls \(Read → Bash → Edit\), \$0\.0342$/);
    assert.match(lines[end1 + 2]!, /^2026-03-02T10:01:00\.000Z {2}turn\.start/);
    assert.match(r.stdout, /^totals {2}2 turns/m);
    assert.ok(elapsed >= 190, `took ${elapsed} ms for 120 s of event time at 600×`);
  });

  it("--export re-exports the session's spans over OTLP with the live run's trace and span ids (latest revision once)", async () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    for (const session of ['demo-1', 'demo-3']) {
      recv.spans.length = 0;
      const r = await cli(['replay', session, '--export', '--json', '--data-dir', dataDir], env);
      assert.equal(r.status, 0, r.stderr);
      const live = liveSpans.filter((s) => conversation(s) === session);
      assert.deepEqual(ids(recv.spans), ids(live), session);
      assert.equal(recv.spans.length, ids(live).length, `${session}: each span once`);
      assert.match(r.stderr, new RegExp(`re-exported ${recv.spans.length} spans of 2 turns to http/json ${recv.url}/v1/traces`));
    }
    // demo-3 t1 was revised live: exported twice there, once by the replay, as its latest revision.
    const root = recv.spans.find((s) => s.spanId === deterministicIds.turnSpanId('demo-3', 't1'));
    assert.equal(Number(root?.attributes.find((a) => a.key === 'turnstream.turn.revision')?.value.intValue), 1);
    assert.equal(liveSpans.filter((s) => s.spanId === root?.spanId).length, 2);
    // Paced (--speed), spans go out as turns close, revisions included: exactly what live sent.
    recv.spans.length = 0;
    const paced = await cli(['replay', 'demo-3', '--export', '--speed', '100000', '--json', '--data-dir', dataDir], env);
    assert.equal(paced.status, 0, paced.stderr);
    assert.deepEqual(
      recv.spans.map((s) => `${s.traceId}/${s.spanId}`).sort(),
      liveSpans
        .filter((s) => conversation(s) === 'demo-3')
        .map((s) => `${s.traceId}/${s.spanId}`)
        .sort(),
    );
  });

  it('fails clearly: unknown session, empty range, no log, unreachable broker, bad times, bad flags', async () => {
    const cases: [string[], RegExp][] = [
      [['replay', 'nope', '--data-dir', dataDir], /no events of session "nope" in .*; 'turnstream sessions list' shows the sessions/],
      [
        ['replay', 'demo-1', '--at', '2026-03-02T09:00:00Z', '--data-dir', dataDir],
        /empty range: session "demo-1" has no events at or before 2026-03-02T09:00:00\.000Z; its events run from 2026-03-02T10:00:00\.000Z to 2026-03-02T10:02:00\.000Z/,
      ],
      [
        ['replay', '--all', '--from', '2027-01-01', '--data-dir', dataDir],
        /empty range: no turn started between 2027-01-01T00:00:00\.000Z and the end in .* \(42 events replayed\)/,
      ],
      [
        ['replay', '--all', '--from', '2026-03-03', '--to', '2026-03-02', '--data-dir', dataDir],
        /empty range: --from 2026-03-03T00:00:00\.000Z is not before --to 2026-03-02T00:00:00\.000Z/,
      ],
      [['replay', 'demo-1', '--data-dir', join(dir, 'nothing-here')], /no turnstream data in .*nothing-here: nothing to replay/],
      [
        ['replay', '--all', '--from', 'yesterday', '--data-dir', dataDir],
        /--from: "yesterday" is not a time; use RFC 3339 with a zone, e\.g\. 2026-03-02T10:00:05Z/,
      ],
      [['replay', 'demo-1', '--at', '2026-13-01', '--data-dir', dataDir], /--at: "2026-13-01" is not a real date/],
      [['replay', 'demo-1', '--at', '2026-03-02T10:00:00', '--data-dir', dataDir], /--at: .* has no time zone/],
      [['replay', 'demo-1', '--at', 'no-such-event', '--data-dir', dataDir], /--at: no event with id "no-such-event" in the log in/],
      [['replay', '--data-dir', dataDir], /replay needs a session: turnstream replay <session-id>/],
      [['replay', 'demo-1', '--all', '--data-dir', dataDir], /give either a session or --all, not both/],
      [['replay', '--all', '--at', 'x', '--data-dir', dataDir], /--at applies to one session, not to --all/],
      [['replay', 'demo-1', '--from', '2026-03-02', '--data-dir', dataDir], /--from belongs to a backfill/],
      [['replay', 'demo-1', '--json', '--ndjson', '--data-dir', dataDir], /--json and --ndjson are two outputs/],
      [['replay', 'demo-1', '--speed', 'fast', '--data-dir', dataDir], /--speed: "fast" is not a positive number/],
      [['replay', 'demo-1', '--export', '--data-dir', dataDir], /--export needs an OTLP endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT/],
      [['replay', 'demo-1', '--session', 'demo-2', '--data-dir', dataDir], /give the session once/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    for (const [i, [args, message]] of cases.entries()) {
      assert.equal(runs[i]!.status, 2, `${args.join(' ')}: ${runs[i]!.stderr}`);
      assert.match(runs[i]!.stderr, message, args.join(' '));
    }
    const noLog = await cli(['replay', 'demo-1', '--export', '--data-dir', join(dir, 'nothing-here')], { OTEL_EXPORTER_OTLP_ENDPOINT: recv.url });
    assert.equal(noLog.status, 2, 'exits (the exporter is shut down) when there is no log');
    const port = await freePort();
    const started = Date.now();
    const kafka = await cli(['replay', 'demo-1', '--kafka', `127.0.0.1:${port}`]);
    assert.equal(kafka.status, 2, kafka.stderr);
    assert.match(kafka.stderr, new RegExp(`cannot read the event log from Kafka at 127\\.0\\.0\\.1:${port}: .*Is the broker running`));
    assert.ok(Date.now() - started < 20_000, 'fails within seconds');
  });

  it('--help documents the command; the main help lists it', async () => {
    const r = await cli(['replay', '--help']);
    assert.equal(r.status, 0);
    for (const flag of ['--at', '--json', '--ndjson', '--export', '--prices', '--speed', '--all', '--from', '--to', '--out', '--kafka'])
      assert.ok(r.stdout.includes(flag), flag);
    assert.match((await cli(['--help'])).stdout, /^ {2}replay <id> +rebuild a session from the log/m);
  });
});
