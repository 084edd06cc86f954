import type { Tokens } from './call-tokens.ts';

/** Attributes a thread's events carry (sidechain, agent). */
export type Attrs = Readonly<Record<string, string | number | boolean>>;

export interface OpenTurn {
  readonly id: string;
  lastMs: number;
  steps: number;
  /** How the last sent call ended: a call that asked for tools means the turn was not answered. */
  lastStop: string | undefined;
}

/** An API call being assembled from its lines: Claude Code writes one line per content block. */
export interface PendingCall {
  readonly messageId: string;
  readonly requestId: string;
  readonly model: string;
  readonly requestStartMs: number | undefined;
  tokens: Tokens;
  lastMs: number;
  stopReason: string | undefined;
  askedForTools: boolean;
}

export interface SentCall {
  readonly turn: string;
  readonly model: string;
  tokens: Tokens;
}

export interface Thread {
  readonly attrs: Attrs | undefined;
  turn: OpenTurn | undefined;
  /** The turn ended last: a continuation of its final call shows it was not over after all. */
  ended: OpenTurn | undefined;
  prompt: { readonly uuid: string; readonly ms: number } | undefined;
  call: PendingCall | undefined;
  /** Time of the last input to the model (prompt, tool result): when the next request started. */
  lastInputMs: number | undefined;
  /** Recently sent calls, by call key: a later line of one of them becomes a correction. */
  readonly sent: Map<string, SentCall>;
}

export interface ToolCall {
  readonly turn: string;
  readonly name: string;
  readonly startMs: number;
  readonly attrs: Attrs | undefined;
  ended: boolean;
}
