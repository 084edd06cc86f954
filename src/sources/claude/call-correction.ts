import { claudeEventIds as ids } from './claude-event-ids.ts';
import { TOKEN_FIELDS, type Tokens } from './call-tokens.ts';
import { iso, type OutgoingEvent } from './mapped-event.ts';
import type { Attrs, SentCall, Thread } from './mapper-threads.ts';

/** A later transcript line of an LLM call that was already sent. */
export interface LaterLine {
  readonly messageId: string;
  readonly requestId: string;
  readonly tokens: Tokens;
  readonly askedForTools: boolean;
  readonly lineId: string;
  readonly timeMs: number;
}

/**
 * A later line of a call already sent: the `llm.usage` correction carrying how much its counts grew
 * (undefined when they did not). If sending the call ended its turn (it looked like the final
 * answer) and the line adds tokens or a tool, the turn is reopened on `t`, so what follows keeps the
 * turn id a one-shot import gives it; the pipeline revises the closed turn. Updates `sent` to the
 * grown counts.
 */
export function callCorrection(t: Thread, sent: SentCall, c: LaterLine, session: string): OutgoingEvent | undefined {
  const more: Partial<Tokens> = {};
  let grew = false;
  for (const f of TOKEN_FIELDS) {
    const d = (c.tokens[f] ?? 0) - (sent.tokens[f] ?? 0);
    if (d > 0) grew = true;
    if (c.tokens[f] !== undefined || sent.tokens[f] !== undefined) more[f] = Math.max(0, d);
  }
  // Another block of a complete answer (same counts, no tool) leaves its ended turn ended.
  if ((grew || c.askedForTools) && t.turn === undefined && t.prompt === undefined && t.ended?.id === sent.turn) {
    t.turn = t.ended;
    t.ended = undefined;
  }
  if (c.askedForTools && t.turn?.id === sent.turn) t.turn.lastStop = 'tool_use';
  if (!grew) return undefined;
  for (const f of TOKEN_FIELDS) if (c.tokens[f] !== undefined) sent.tokens[f] = Math.max(c.tokens[f]!, sent.tokens[f] ?? 0);
  const attrs: Attrs = { ...t.attrs, 'claude.continued': true };
  return {
    v: 1,
    id: ids.correction(c.messageId, c.requestId, c.lineId),
    type: 'llm.usage',
    session,
    turn: sent.turn,
    time: iso(c.timeMs),
    provider: 'anthropic',
    model: sent.model,
    inputTokens: 0,
    outputTokens: 0,
    ...more,
    attrs,
  };
}
