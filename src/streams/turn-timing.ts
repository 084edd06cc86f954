/** When turns close and how long they are held: shared by the windows and the dedupe step. */
export interface TurnTiming {
  /** A turn with no event for this long (event time) closes as `abandoned`. Default 10 min. */
  readonly turnIdleTimeoutMs?: number;
  /** How long (event time) a closed turn still accepts events, emitting a revision. Default 5 min. */
  readonly graceMs?: number;
  /**
   * Width of the sweep buckets (event time): idle and expired turns are swept after an event that
   * moves the watermark into another bucket. Default 5 s: a turn closes as abandoned within 5 s of
   * event time after its idle timeout (10 min by default). Keep it a multiple of 1 s: a one-session
   * replay feeds the other sessions' time only where the watermark crosses a whole second.
   */
  readonly sweepIntervalMs?: number;
}

export const TURN_WINDOW_DEFAULTS = { turnIdleTimeoutMs: 600_000, graceMs: 300_000, sweepIntervalMs: 5_000 } as const satisfies Required<TurnTiming>;
