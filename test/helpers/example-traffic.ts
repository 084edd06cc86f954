import { readFileSync } from 'node:fs';
import { post } from './running-pipeline.ts';

export const EXAMPLES = ['coding-session', 'concurrent-turns', 'messy-delivery'] as const;
/** Total USD of one pass over examples/*.ndjson (hand-computed in test/e2e/examples.test.ts). */
export const EXAMPLES_COST_USD = 0.04265;

const example = (name: string): string => readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8');

/**
 * One turn on a model missing from the price table: the examples price every call, so without
 * this `turnstream_llm_unpriced_total` would never appear. Costs 0, so it leaves spend unchanged.
 */
function unpricedTurn(): string {
  const base = { v: 1, session: 'unpriced-1' };
  return [
    { ...base, id: 'unpriced-001', type: 'session.start', time: '2026-03-02T13:00:00.000Z', agent: 'claude-code' },
    { ...base, id: 'unpriced-002', type: 'turn.start', turn: 't1', time: '2026-03-02T13:00:00.000Z' },
    {
      ...base,
      id: 'unpriced-003',
      type: 'llm.usage',
      turn: 't1',
      time: '2026-03-02T13:00:01.000Z',
      provider: 'acme',
      model: 'acme-large-1',
      inputTokens: 10,
      outputTokens: 5,
      durationMs: 500,
    },
    { ...base, id: 'unpriced-004', type: 'turn.end', turn: 't1', time: '2026-03-02T13:00:02.000Z', stopReason: 'end_turn' },
  ]
    .map((e) => JSON.stringify(e))
    .join('\n');
}

/**
 * `ndjson` as a later pass of the same traffic: every parseable event's id and session prefixed
 * (not duplicates) and its time moved by `shiftMs` (the pipeline's watermark has moved past the
 * first pass; unshifted, the copy would be dead-lettered as late).
 */
function later(ndjson: string, prefix: string, shiftMs: number): string {
  return ndjson
    .split('\n')
    .map((line) => {
      try {
        const e = JSON.parse(line) as Record<string, unknown>;
        const time = typeof e['time'] === 'number' ? e['time'] + shiftMs : new Date(Date.parse(String(e['time'])) + shiftMs).toISOString();
        return JSON.stringify({ ...e, id: `${prefix}${String(e['id'])}`, session: `${prefix}${String(e['session'])}`, time });
      } catch {
        return line; // the deliberately broken line stays broken
      }
    })
    .join('\n');
}

/** The examples and the unpriced turn span 10:00 to 13:00 on 2026-03-02 (event time). */
const PASS_MS = 4 * 3600_000;

/**
 * Sends the shipped examples plus one unpriced turn to a running turnstream. `pass` 1, 2, … sends
 * the same traffic again under new ids and sessions, 4 h later in event time, so every counter and
 * histogram series grows again: what `rate()` / `increase()` need (a series' first sample is only
 * a baseline).
 */
export async function sendExampleTraffic(url: string, { pass = 0 }: { pass?: number } = {}): Promise<void> {
  const prefix = pass === 0 ? '' : `pass${pass}-`;
  const again = (ndjson: string): string => (pass === 0 ? ndjson : later(ndjson, prefix, pass * PASS_MS));
  for (const name of EXAMPLES) await post(url, again(example(name)));
  const r = await post(url, again(unpricedTurn()));
  if (r.status !== 200) throw new Error(`unpriced fixture rejected: ${JSON.stringify(r.json)}`);
}
