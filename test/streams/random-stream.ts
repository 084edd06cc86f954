import type { LoggedEvent } from '../../src/events/step-event.ts';
import type { ClosedTurns } from '../../src/streams/operator-state.ts';
import { llmUsage, sessionEnd, sessionStart, stateSet, toolEnd, toolStart, turnEnd, turnStart } from './make-events.ts';

/** A seeded LCG: the same seed gives the same numbers on every run. */
export function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
    return x / 2 ** 32;
  };
}

const DAY = 86_400_000;

export interface RandomStreamOptions {
  readonly sessions: number;
  /** The idle timeout the stream is built around: gaps between turns are up to 1.5 times it. */
  readonly idleMs: number;
  readonly graceMs: number;
}

/**
 * A random interleaved multi-session log, as a messy producer fleet writes it: sessions with and
 * without `session.start` / `session.end`, concurrent turns with LLM calls and tools, turns that
 * never end (idle), events out of order, very late events (past grace and idle), repeated ids, a
 * few state writes, and lagging sessions whose event times are 30 days (or 2 hours) behind the
 * others while they arrive interleaved with them. Numbered in arrival order from position 1.
 */
export function randomStream(seed: number, o: RandomStreamOptions): LoggedEvent[] {
  const rand = seeded(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const arrivals: { arrive: number; logged: LoggedEvent }[] = [];
  let n = 0;
  for (let s = 0; s < o.sessions; s++) {
    const session = `s${s}`;
    const r = rand();
    const lag = r < 0.2 ? 30 * DAY : r < 0.3 ? 2 * 3_600_000 : 0;
    let rel = Math.floor(rand() * 4 * o.idleMs);
    const push = (logged: LoggedEvent, relAt: number) => {
      const u = rand();
      // Usually on time; sometimes out of order; sometimes very late (past grace and idle).
      const delay = u < 0.8 ? rand() * 500 : u < 0.93 ? rand() * o.graceMs : o.graceMs + o.idleMs + rand() * 3 * o.idleMs;
      arrivals.push({ arrive: relAt + delay, logged });
      if (rand() < 0.05) arrivals.push({ arrive: relAt + rand() * 3 * o.graceMs, logged }); // a repeat (same id)
    };
    const at = (relAt: number) => relAt - lag;
    const id = () => `${session}e${n++}`;
    if (rand() < 0.8) push(sessionStart({ id: id(), at: at(rel), session, agent: pick(['coder', 'reviewer', 'cat']), user: pick(['u1', 'u2']) }), rel);
    const turns = 1 + Math.floor(rand() * 4);
    for (let t = 0; t < turns; t++) {
      const turn = `t${t}`;
      const base = { session, turn };
      if (rand() < 0.9) push(turnStart({ ...base, id: id(), at: at(rel) }), rel);
      const calls = Math.floor(rand() * 4);
      for (let c = 0; c < calls; c++) {
        rel += 200 + Math.floor(rand() * 3_000);
        const seq = rand() < 0.3 ? c : undefined;
        const cost = rand() < 0.5 ? { cost: Math.round(rand() * 2000) / 10_000 } : {};
        const model = pick(['claude-sonnet-4-5', 'claude-haiku-4-5']);
        push(llmUsage({ ...base, id: id(), at: at(rel), ...(seq === undefined ? {} : { seq }), model, inputTokens: 100 + c, outputTokens: 10, ...cost }), rel);
        if (rand() < 0.5) {
          const toolCallId = `k${c}`;
          const toolName = pick(['bash', 'read_file', 'grep']);
          if (rand() < 0.85) push(toolStart({ ...base, id: id(), at: at(rel + 10), toolCallId, toolName }), rel + 10);
          const error = rand() < 0.2 ? { error: 'ENOENT' } : {};
          push(toolEnd({ ...base, id: id(), at: at(rel + 400), toolCallId, toolName, durationMs: 390, ...error }), rel + 400);
        }
        if (rand() < 0.1) push(stateSet({ session, id: id(), at: at(rel), key: 'k', value: c }), rel);
      }
      rel += 500;
      if (rand() < 0.75) push(turnEnd({ ...base, id: id(), at: at(rel), stopReason: 'end_turn' }), rel);
      rel += Math.floor(rand() * 1.5 * o.idleMs);
    }
    if (rand() < 0.5) push(sessionEnd({ session, id: id(), at: at(rel) }), rel);
  }
  arrivals.sort((a, b) => a.arrive - b.arrive);
  return arrivals.map((a, i) => ({ pos: i + 1, event: a.logged.event }));
}

/** `memoryClosedTurns` that can be copied (the state a restored operator continues with) and logs its releases. */
export class CopyableClosedTurns implements ClosedTurns {
  readonly closed: Map<string, number>;
  readonly log: string[] = [];

  constructor(from?: CopyableClosedTurns) {
    this.closed = new Map(from?.closed);
  }

  closedBefore(session: string, turn: string, pos: number): boolean {
    const at = this.closed.get(`${session}/${turn}`);
    return at !== undefined && at < pos;
  }

  released(session: string, turn: string, closedAtPos: number): void {
    this.closed.set(`${session}/${turn}`, closedAtPos);
    this.log.push(`${session}/${turn}@${closedAtPos}`);
  }

  copy(): CopyableClosedTurns {
    return new CopyableClosedTurns(this);
  }
}
