import type { OutgoingEvent } from './mapped-event.ts';

/** What the pipeline answered for one batch. */
export interface SendResult {
  readonly accepted: number;
  readonly duplicate: number;
  readonly rejected: number;
  /** Each rejected event with the pipeline's reason (invalid events are also kept as dead letters). */
  readonly rejections: readonly { readonly id?: string; readonly reason?: string; readonly message?: string }[];
}

/**
 * Where imported events go: straight into an embedded store (`ingestorSink`) or to a running
 * turnstream over HTTP (`httpSink`). `send` delivers one batch in order and resolves once it is
 * durable; it rejects when nothing could be delivered (the caller may retry: ids make it safe).
 */
export interface EventSink {
  /** For messages: "data dir /x" or the URL. */
  readonly target: string;
  send(events: readonly OutgoingEvent[]): Promise<SendResult>;
}

export function addResults(a: SendResult, b: SendResult): SendResult {
  return {
    accepted: a.accepted + b.accepted,
    duplicate: a.duplicate + b.duplicate,
    rejected: a.rejected + b.rejected,
    rejections: [...a.rejections, ...b.rejections],
  };
}

export const NO_RESULTS: SendResult = { accepted: 0, duplicate: 0, rejected: 0, rejections: [] };
