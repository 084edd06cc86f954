/**
 * The soak's traffic: valid turns whose totals are known in advance, and hostile inputs of every
 * kind issue 9 found (deep values, non-finite and absurd numbers, invalid UTF-8, broken JSON,
 * oversized and nested bodies, gzip bombs, stalled uploads). Deterministic for a seed.
 */
import { gzipSync } from 'node:zlib';
import { createRandom } from '../workload.ts';

/** One complete turn, sent in one request: what the totals must show once it is acknowledged. */
export interface ValidTurn {
  readonly session: string;
  readonly ids: readonly string[];
  readonly lines: readonly string[];
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly llmCalls: number;
  readonly toolCalls: number;
}

/** A request body (possibly with headers) and whether its valid part must be acknowledged. */
export interface SoakRequest {
  readonly kind: string;
  readonly body: Buffer;
  readonly headers?: Record<string, string>;
  /** The valid turn inside it, when there is one (hostile lines may surround it). */
  readonly turn?: ValidTurn;
  /** Stalls after sending this many bytes and never finishes (the server must cut it off). */
  readonly stallAfter?: number;
}

const deep = (d: number): string => '['.repeat(d) + ']'.repeat(d);

/** Hostile single lines that go into otherwise valid requests; none may be acknowledged. */
function hostileLines(session: string, n: number, nowMs: number): Buffer[] {
  const t = new Date(nowMs).toISOString();
  const base = `"v":1,"session":"${session}","time":"${t}"`;
  return [
    Buffer.from(`{${base},"id":"h-deep-state-${n}","type":"state.set","key":"k","value":${deep(5000)}}`),
    Buffer.from(`{${base},"id":"h-deep-field-${n}","type":"turn.start","turn":"x-${n}","extra":${deep(5000)}}`),
    Buffer.from(
      `{${base},"id":"h-inf-${n}","type":"llm.usage","turn":"x-${n}","provider":"anthropic","model":"claude-sonnet-4-5","inputTokens":1e309,"outputTokens":1}`,
    ),
    Buffer.from(
      `{${base},"id":"h-huge-${n}","type":"llm.usage","turn":"x-${n}","provider":"anthropic","model":"claude-sonnet-4-5","inputTokens":${2 ** 60},"outputTokens":1}`,
    ),
    Buffer.from(
      `{${base},"id":"h-cost-${n}","type":"llm.usage","turn":"x-${n}","provider":"anthropic","model":"claude-sonnet-4-5","inputTokens":1,"outputTokens":1,"cost":1e309}`,
    ),
    Buffer.from(`{"v":1,"id":"h-broken-${n}","type":`),
    Buffer.concat([Buffer.from(`{${base},"id":"h-utf8-${n}-`), Buffer.from([0xff, 0xfe]), Buffer.from(`","type":"turn.start","turn":"u"}`)]),
    Buffer.from('1'),
  ];
}

/** Whole hostile requests: each must be refused or dead-lettered without hurting the server. */
function hostileRequest(kind: number, n: number): SoakRequest {
  switch (kind) {
    case 0:
      return { kind: 'nested-array-body', body: Buffer.from(deep(100_000)) };
    case 1:
      return { kind: 'ones-body', body: Buffer.from('1\n'.repeat(512 * 1024)) };
    case 2:
      return { kind: 'gzip-bomb', body: gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)), headers: { 'content-encoding': 'gzip' } };
    case 3:
      return { kind: 'unknown-encoding', body: Buffer.from('{}'), headers: { 'content-encoding': 'br' } };
    default:
      return { kind: 'stalled-upload', body: Buffer.alloc(2 * 1024 * 1024, 0x20), stallAfter: 1024 * 1024 + n };
  }
}

export interface TrafficOptions {
  readonly seed: number;
  readonly sessions: number;
  /** One request in this many is a whole hostile request. */
  readonly hostileEvery: number;
}

/** An endless, seeded generator of soak requests; event times follow the wall clock, never ahead of it. */
export function createTraffic(o: TrafficOptions): () => SoakRequest {
  const rnd = createRandom(o.seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  let n = 0;
  const runId = `${o.seed}-${Date.now().toString(36)}`;
  return () => {
    n++;
    if (n % o.hostileEvery === 0) return hostileRequest(pick(5), n);
    const session = `soak-${runId}-${pick(o.sessions)}`;
    const turn = `t-${n}`;
    const start = Date.now() - 60_000; // a minute in the past: never future-skewed, never late
    const lines: string[] = [];
    const ids: string[] = [];
    let ms = start;
    const at = (): string => {
      ms += 10;
      return new Date(ms).toISOString();
    };
    const push = (id: string, body: string): void => {
      ids.push(id);
      lines.push(`{"v":1,"id":"${id}","session":"${session}","turn":"${turn}","time":"${at()}",${body}}`);
    };
    push(`${turn}-${runId}-s`, '"type":"turn.start"');
    let inputTokens = 0;
    let outputTokens = 0;
    const llmCalls = 1 + pick(3);
    const toolCalls = pick(3);
    for (let i = 0; i < llmCalls; i++) {
      const input = 1 + pick(5000);
      const output = 1 + pick(800);
      inputTokens += input;
      outputTokens += output;
      push(`${turn}-${runId}-u${i}`, `"type":"llm.usage","provider":"anthropic","model":"claude-sonnet-4-5","inputTokens":${input},"outputTokens":${output}`);
    }
    for (let i = 0; i < toolCalls; i++) {
      push(`${turn}-${runId}-ts${i}`, `"type":"tool.start","toolCallId":"c${i}","toolName":"Bash"`);
      push(`${turn}-${runId}-te${i}`, `"type":"tool.end","toolCallId":"c${i}","toolName":"Bash"`);
    }
    push(`${turn}-${runId}-e`, '"type":"turn.end","stopReason":"end_turn"');
    // A state key that plain-object maps lose; valid, so it counts as acknowledged like the rest.
    ids.push(`${turn}-${runId}-p`);
    lines.push(`{"v":1,"id":"${turn}-${runId}-p","session":"${session}","type":"state.set","time":"${at()}","key":"__proto__","value":${n}}`);
    const parts: Buffer[] = lines.map((l) => Buffer.from(l));
    if (rnd() < 0.5) {
      const bad = hostileLines(session, n, start);
      const count = 1 + pick(3);
      for (let i = 0; i < count; i++) parts.splice(pick(parts.length + 1), 0, bad[pick(bad.length)]!);
    }
    const body = Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
    const valid: ValidTurn = { session, ids, lines, inputTokens, outputTokens, llmCalls, toolCalls };
    if (rnd() < 0.2) return { kind: 'valid+gzip', body: gzipSync(body), headers: { 'content-encoding': 'gzip' }, turn: valid };
    return { kind: 'valid', body, turn: valid };
  };
}
