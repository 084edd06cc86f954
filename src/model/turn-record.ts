import type { TurnAggregate } from './turn-aggregate.ts';

/**
 * A turn as the state store keeps it: the aggregate without its per-call lists (`llm`, `tools`)
 * and without `supersedes`. The lists are for spans; the log can always re-derive them (replay),
 * and leaving them out keeps a stored turn a few hundred bytes instead of kilobytes.
 */
export type TurnRecord = Omit<TurnAggregate, 'supersedes' | 'llm' | 'tools'>;

export function turnRecord(a: TurnAggregate): TurnRecord {
  const { supersedes: _s, llm: _l, tools: _t, ...record } = a;
  return record;
}

/**
 * The revision rule: a turn record replaces the held one unless the held one is a later revision
 * (an equal revision replaces: re-delivery of the same commit is harmless). Every adapter keeps
 * the latest revision per turn by this rule.
 */
export function replacesRevision(incoming: { readonly revision: number }, held: { readonly revision: number } | undefined): boolean {
  return held === undefined || incoming.revision >= held.revision;
}

/** The latest revision of each turn in `turns`, by (session, turn), in first-seen order. */
export function latestRevisions<T extends { readonly session: string; readonly turn: string; readonly revision: number }>(turns: readonly T[]): T[] {
  const out = new Map<string, T>();
  for (const t of turns) {
    const k = `${t.session}\u0000${t.turn}`;
    if (replacesRevision(t, out.get(k))) out.set(k, t);
  }
  return [...out.values()];
}

/**
 * The JSON names a stored turn record has always had (SQLite `turns.body`, the Kafka `turns` topic,
 * `sessions show --json`): the counts are `llmCallCount` / `toolCallCount` there, `llmCalls` /
 * `toolCalls` in the code. Renaming in place keeps the field order (and so the JSON text) as before.
 */
const TO_STORED: Readonly<Record<string, string>> = { llmCalls: 'llmCallCount', toolCalls: 'toolCallCount' };
const FROM_STORED: Readonly<Record<string, string>> = { llmCallCount: 'llmCalls', toolCallCount: 'toolCalls' };

/** The aggregate's members a turn record leaves out. */
export const NOT_STORED: ReadonlySet<string> = new Set(['supersedes', 'llm', 'tools']);
const NONE: ReadonlySet<string> = new Set();

/** `value`'s own members in order, renamed by `names`, without those in `omit`: one copy, no entries array. */
function renameKeys(value: object, names: Readonly<Record<string, string>>, omit = NONE): Record<string, unknown> {
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in v) if (Object.hasOwn(v, k) && !omit.has(k)) out[names[k] ?? k] = v[k];
  return out;
}

/** `T` with its counts under their stored JSON names. */
export type StoredTurn<T extends { readonly llmCalls: number; readonly toolCalls: number }> = Omit<T, 'llmCalls' | 'toolCalls'> & {
  readonly llmCallCount: number;
  readonly toolCallCount: number;
};

/** A turn record (or part of one) in its stored JSON shape. */
export function toStoredTurn<T extends { readonly llmCalls: number; readonly toolCalls: number }>(record: T): StoredTurn<T> {
  return renameKeys(record, TO_STORED) as unknown as StoredTurn<T>;
}

/**
 * `toStoredTurn(turnRecord(a))` in one pass: what a commit stores for each turn (the two steps
 * copied every turn twice, through an `Object.entries` array).
 */
export function storedTurnOf(a: TurnAggregate): StoredTurn<TurnRecord> {
  return renameKeys(a, TO_STORED, NOT_STORED) as unknown as StoredTurn<TurnRecord>;
}

/** A turn record read back from its stored JSON shape. */
export function fromStoredTurn(stored: unknown): TurnRecord {
  return renameKeys(stored as object, FROM_STORED) as unknown as TurnRecord;
}
