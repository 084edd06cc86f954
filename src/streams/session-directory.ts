import type { StepEvent } from '../events/step-event.ts';

/** What the operators know of a live session: who runs it, and its latest event time. */
export interface SessionInfo {
  agent?: string;
  user?: string;
  lastMs: number;
}

/**
 * The live sessions an operator has seen, with their agent and user: `session.start` sets them;
 * until then the first `agent.name` attribute names the agent. One rule for every operator that
 * labels by agent or user (turn windows, budget checks). `T` adds the operator's own per-session
 * state, created by `extra` (given the session id) on a session's first event. Releasing entries is
 * the operator's call.
 */
export class SessionDirectory<T extends object = object> {
  private readonly sessions = new Map<string, SessionInfo & T>();
  private readonly extra: (session: string) => T;

  constructor(extra: (session: string) => T = () => ({}) as T) {
    this.extra = extra;
  }

  /** Records the event's session facts; returns the session's entry (created on its first event). */
  observe(e: StepEvent): SessionInfo & T {
    let info = this.sessions.get(e.session);
    if (info === undefined) {
      info = { lastMs: Number.NEGATIVE_INFINITY, ...this.extra(e.session) };
      this.sessions.set(e.session, info);
    }
    if (e.timeMs > info.lastMs) info.lastMs = e.timeMs;
    const agentAttr = e.attrs?.['agent.name'];
    if (info.agent === undefined && typeof agentAttr === 'string') info.agent = agentAttr;
    if (e.type === 'session.start') {
      if (e.agent !== undefined) info.agent = e.agent;
      if (e.user !== undefined) info.user = e.user;
    }
    return info;
  }

  get(session: string): (SessionInfo & T) | undefined {
    return this.sessions.get(session);
  }

  delete(session: string): void {
    this.sessions.delete(session);
  }

  /** The entries in the order they were created (a snapshot must keep it). */
  entries(): IterableIterator<[string, SessionInfo & T]> {
    return this.sessions.entries();
  }

  /** Puts back an entry read from a snapshot, after those already there. */
  restore(session: string, info: SessionInfo & T): void {
    this.sessions.set(session, info);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Drops every session `done` says is over. */
  release(done: (info: SessionInfo & T) => boolean): void {
    for (const [id, info] of this.sessions) if (done(info)) this.sessions.delete(id);
  }

  clear(): void {
    this.sessions.clear();
  }
}
