import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { TurnSpanContext } from '../../src/exporters/turn-spans.ts';
import { buildTurnSpans } from '../../src/exporters/turn-spans.ts';
import type { SessionStateStore } from '../../src/state/session-state-store.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import type { SessionReplay } from '../../src/replay/replay-session.ts';

/** What identifies and describes a span, for comparing two runs. */
export function spanShape(s: ReadableSpan): Record<string, unknown> {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parent: s.parentSpanContext?.spanId,
    name: s.name,
    kind: s.kind,
    start: s.startTime,
    end: s.endTime,
    status: s.status,
    attributes: s.attributes,
  };
}

/** The spans a live run exported for one session, in export order. */
export function liveSpansOf(spans: readonly ReadableSpan[], session: string): Record<string, unknown>[] {
  return spans.filter((s) => s.attributes['gen_ai.conversation.id'] === session).map(spanShape);
}

/** The spans the live Processor would export for these aggregates, in emission order. */
export function spansOf(aggregates: readonly TurnAggregate[], ctx: TurnSpanContext): Record<string, unknown>[] {
  return aggregates.flatMap((a) => buildTurnSpans(a, ctx)).map(spanShape);
}

/**
 * Asserts that a replayed session equals what the live store holds: turn records (latest
 * revisions, in order), totals, live keys, and every key's entry (tombstones included).
 */
export async function assertSameSession(
  live: Pick<SessionStateStore, 'turns' | 'totals' | 'list' | 'get'>,
  r: SessionReplay,
  keys: readonly string[],
): Promise<void> {
  const s = r.session;
  assert.deepEqual(
    r.turns.map(({ llm: _l, tools: _t, ...t }) => t),
    await live.turns(s),
    `${s}: turn records`,
  );
  assert.deepEqual(r.totals, await live.totals(s), `${s}: totals`);
  assert.deepEqual(r.state, await live.list(s), `${s}: state`);
  for (const k of keys) {
    const entry = await live.get(s, k);
    if (entry?.deleted) assert.equal(r.deleted[k], entry.version.time, `${s}: tombstone of ${k}`);
    else assert.equal(k in r.deleted, false, `${s}: ${k} is not deleted live`);
  }
}
