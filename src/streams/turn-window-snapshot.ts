import type { TurnStatus } from '../model/turn-aggregate.ts';

/** `[time, seq, id]`. */
export type OrderKeySnapshot = readonly [number, number, string];
/** The fields of `LlmRecord` in order, `order` first, finishReason null when absent. */
export type LlmSnapshot = readonly [
  OrderKeySnapshot,
  string,
  string,
  string,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  number,
  string,
  string | null,
];
/** `[toolCallId, toolName, startMs, endMs, error, order]`, null for absent. */
export type ToolSnapshot = readonly [string, string, number, number | null, string | null, OrderKeySnapshot];
/** The latest emission: `[status, closedAtPos, agent, user]`. */
export type EmitMeta = readonly [TurnStatus, number, string | null, string | null];

/**
 * A `TurnWindow`'s state as JSON-safe data: `[revision, startMs, endMs, first, last, ended, stopReason,
 * eventCount, llm, tools, emitted]` (null for absent or for the initial infinite times). Record
 * lists keep their order: records with equal order keys keep it in the aggregate.
 */
export type TurnWindowSnapshot = readonly [
  number,
  number | null,
  number | null,
  OrderKeySnapshot | null,
  OrderKeySnapshot | null,
  boolean,
  string | null,
  number,
  readonly LlmSnapshot[],
  readonly ToolSnapshot[],
  EmitMeta | null,
];
