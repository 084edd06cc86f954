/**
 * OTLP ingest throughput vs `/v1/events`, end to end through the real HTTP server into an embedded
 * store: step events appended (and processed) per second when the same workload arrives as
 * NDJSON on `/v1/events`, as Claude Code log records on `/v1/logs` (protobuf), and as GenAI agent
 * spans on `/v1/traces` (protobuf; the trace buffer is flushed at the end, so its settle time is
 * not part of the figure). Runnable alone:
 *
 *   node bench/otlp-ingest.ts [--turns 4000] [--clients 4]
 *
 * Prints one table and a JSON line (`{"bench":"otlp-ingest",...}`) for `npm run bench` to collect.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createPriceTable } from '../src/events/price-table.ts';
import { createTelemetry } from '../src/exporters/create-telemetry.ts';
import { silentLogger } from '../src/logger.ts';
import { otlpMessages, type OtlpSignal } from '../src/otlp/otlp-proto.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { createHttpServer } from '../src/sources/http-server.ts';

const { values } = parseArgs({ options: { turns: { type: 'string', default: '4000' }, clients: { type: 'string', default: '4' } } });
const TURNS = Number(values.turns);
const CLIENTS = Number(values.clients);
/** Per turn: 3 LLM calls and 2 tools → turn.start, 3 llm.usage, 2×(tool.start, tool.end), turn.end = 9 events. */
const EVENTS_PER_TURN = 9;
const TURNS_PER_REQUEST = 56; // ≈ 500 events, spans or records per request (the SDKs' default batch is 512)
const T0 = Date.now() - 3_600_000;

const kv = (o: Record<string, string | number>): unknown[] =>
  Object.entries(o).map(([key, v]) => ({ key, value: typeof v === 'string' ? { stringValue: v } : { intValue: v } }));
const hex = (n: number, bytes: number): string => n.toString(16).padStart(bytes * 2, '0');
const nanos = (ms: number): string => `${ms}000000`;

function ndjsonBody(first: number): string {
  const lines: string[] = [];
  for (let t = first; t < first + TURNS_PER_REQUEST; t++) {
    const base = { v: 1, session: `ev-s${t % 500}`, turn: `ev-t${t}` };
    const at = T0 + t * 10;
    lines.push(JSON.stringify({ ...base, id: `ev-${t}-ts`, type: 'turn.start', time: at }));
    for (let c = 0; c < 3; c++) {
      lines.push(
        JSON.stringify({
          ...base,
          id: `ev-${t}-l${c}`,
          type: 'llm.usage',
          time: at + c,
          provider: 'anthropic',
          model: 'claude-sonnet-4-5',
          inputTokens: 100,
          outputTokens: 50,
          cacheReadTokens: 1000,
        }),
      );
    }
    for (let k = 0; k < 2; k++) {
      lines.push(JSON.stringify({ ...base, id: `ev-${t}-k${k}s`, type: 'tool.start', time: at + 4, toolCallId: `c${k}`, toolName: 'Bash' }));
      lines.push(JSON.stringify({ ...base, id: `ev-${t}-k${k}e`, type: 'tool.end', time: at + 5, toolCallId: `c${k}`, toolName: 'Bash', durationMs: 1 }));
    }
    lines.push(JSON.stringify({ ...base, id: `ev-${t}-te`, type: 'turn.end', time: at + 9 }));
  }
  return `${lines.join('\n')}\n`;
}

function encode(signal: OtlpSignal, request: unknown): Uint8Array {
  const { request: type } = otlpMessages(signal);
  return type.encode(type.fromObject(request as Record<string, unknown>)).finish();
}

/** Claude Code records: user_prompt, 3 api_request, 2 tool_result; the next prompt of a session ends the turn. */
function logsBody(first: number): Uint8Array {
  const records: unknown[] = [];
  for (let t = first; t < first + TURNS_PER_REQUEST; t++) {
    const at = T0 + t * 10;
    const a = { 'session.id': `cc-s${t}`, 'prompt.id': `p${t}` };
    const rec = (name: string, ms: number, seq: number, attrs: Record<string, string | number>): unknown => ({
      timeUnixNano: nanos(ms),
      body: { stringValue: `claude_code.${name}` },
      attributes: kv({ 'event.name': name, 'event.sequence': seq, ...a, ...attrs }),
    });
    records.push(rec('user_prompt', at, 0, {}));
    for (let c = 0; c < 3; c++)
      records.push(
        rec('api_request', at + c + 1, c + 1, {
          model: 'claude-sonnet-4-5',
          input_tokens: '100',
          output_tokens: '50',
          cache_read_tokens: '1000',
          cost_usd: '0.01',
        }),
      );
    for (let k = 0; k < 2; k++)
      records.push(rec('tool_result', at + 5, 4 + k, { tool_name: 'Bash', tool_use_id: `tu-${t}-${k}`, success: 'true', duration_ms: '1' }));
  }
  return encode('logs', { resourceLogs: [{ resource: { attributes: kv({ 'service.name': 'claude-code' }) }, scopeLogs: [{ logRecords: records }] }] });
}

/** GenAI agents: invoke_agent root, 3 chat spans, 2 execute_tool spans per trace. */
function tracesBody(first: number): Uint8Array {
  const spans: unknown[] = [];
  for (let t = first; t < first + TURNS_PER_REQUEST; t++) {
    const at = T0 + t * 10;
    const traceId = Buffer.from(hex(t + 1, 16), 'hex');
    const s = (id: number, parent: number | undefined, name: string, attrs: Record<string, string | number>): unknown => ({
      traceId,
      spanId: Buffer.from(hex(id, 8), 'hex'),
      ...(parent === undefined ? {} : { parentSpanId: Buffer.from(hex(parent, 8), 'hex') }),
      name,
      startTimeUnixNano: nanos(at + id),
      endTimeUnixNano: nanos(at + id + 1),
      attributes: kv(attrs),
    });
    spans.push(s(1, undefined, 'invoke_agent', { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.conversation.id': `ga-s${t % 500}` }));
    for (let c = 0; c < 3; c++) {
      spans.push(
        s(2 + c, 1, 'chat', {
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': 'claude-sonnet-4-5',
          'gen_ai.usage.input_tokens': 1100,
          'gen_ai.usage.cache_read.input_tokens': 1000,
          'gen_ai.usage.output_tokens': 50,
        }),
      );
    }
    for (let k = 0; k < 2; k++) spans.push(s(5 + k, 1, 'execute_tool', { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'Bash' }));
  }
  return encode('traces', { resourceSpans: [{ resource: { attributes: kv({ 'service.name': 'bench' }) }, scopeSpans: [{ spans }] }] });
}

interface Case {
  readonly name: string;
  readonly path: string;
  readonly contentType: string;
  readonly bodies: (string | Uint8Array)[];
}

async function run(c: Case, expected: number): Promise<{ name: string; eventsPerSec: number; requests: number; bodyMiB: number; retried: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-bench-otlp-'));
  const telemetry = await createTelemetry({ version: 'bench', env: {} });
  const pipeline = await openEmbeddedPipeline({ dataDir, prices: createPriceTable(), telemetry });
  const server = createHttpServer({
    ingestor: pipeline.ingestor,
    metrics: telemetry.prometheus,
    logger: silentLogger,
    maxBodyBytes: 64 << 20,
    health: () => ({ ok: true }),
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${c.path}`;
  const started = performance.now();
  let next = 0;
  let retried = 0;
  // As an OTLP exporter does: a 503 (the trace buffer is full) is sent again after its Retry-After.
  const client = async (): Promise<void> => {
    while (next < c.bodies.length) {
      const body = c.bodies[next++]!;
      for (;;) {
        const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': c.contentType } });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (res.status !== 503) throw new Error(`${c.name}: ${res.status}`);
        retried++;
        await sleep(1000 * Number(res.headers.get('retry-after') ?? 1));
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  await server.otlp.flush();
  await pipeline.pump.idle();
  const seconds = (performance.now() - started) / 1000;
  const head = await pipeline.store.log.head();
  if (head < expected) throw new Error(`${c.name}: ${head} events in the log, expected ${expected}`);
  await server.otlp.close();
  await new Promise((ok) => server.close(ok));
  await pipeline.close();
  await telemetry.shutdown();
  rmSync(dataDir, { recursive: true, force: true });
  const bytes = c.bodies.reduce((n, b) => n + (typeof b === 'string' ? Buffer.byteLength(b) : b.byteLength), 0);
  return { name: c.name, eventsPerSec: Math.round(head / seconds), requests: c.bodies.length, bodyMiB: Math.round((bytes / 2 ** 20) * 10) / 10, retried };
}

const starts = Array.from({ length: Math.ceil(TURNS / TURNS_PER_REQUEST) }, (_, i) => i * TURNS_PER_REQUEST);
const turns = starts.length * TURNS_PER_REQUEST;
const cases: Case[] = [
  { name: 'POST /v1/events (NDJSON)', path: '/v1/events', contentType: 'application/x-ndjson', bodies: starts.map(ndjsonBody) },
  { name: 'POST /v1/logs (protobuf, Claude Code)', path: '/v1/logs', contentType: 'application/x-protobuf', bodies: starts.map(logsBody) },
  { name: 'POST /v1/traces (protobuf, GenAI spans)', path: '/v1/traces', contentType: 'application/x-protobuf', bodies: starts.map(tracesBody) },
];
// Claude Code: each turn is its own session here, so session.start stands in for the turn.end no next prompt brings.
const expected = [turns * EVENTS_PER_TURN, turns * EVENTS_PER_TURN, turns * EVENTS_PER_TURN];
const results = [];
for (const [i, c] of cases.entries()) results.push(await run(c, expected[i]!));
const width = Math.max(...results.map((r) => r.name.length));
process.stdout.write(`OTLP ingest, ${turns.toLocaleString('en')} turns, ${CLIENTS} clients (events appended + processed per second)\n`);
for (const r of results)
  process.stdout.write(
    `  ${r.name.padEnd(width)}  ${r.eventsPerSec.toLocaleString('en').padStart(9)} events/s  (${r.requests} requests, ${r.bodyMiB} MiB${r.retried > 0 ? `, ${r.retried} sent again after a 503` : ''})\n`,
  );
process.stdout.write(`${JSON.stringify({ bench: 'otlp-ingest', turns, clients: CLIENTS, results })}\n`);
