import { createHash } from 'node:crypto';

/**
 * Event ids for events mapped from OTLP, derived only from ids the telemetry itself carries (trace
 * and span ids; Claude Code's session id, `event.sequence`, `prompt.id`, `tool_use_id`), never from
 * arrival order or the request. An exporter that retries a request, or sends a span twice, produces
 * the same ids, and the log's dedupe keeps one of each.
 */
export const otlpEventIds = {
  /** An event of one span (`llm`, `tool.start`, `tool.end`, `turn.start`, `turn.end`). */
  span: (traceId: string, spanId: string, kind: string): string => `otlp:${traceId}:${spanId}:${kind}`,
  /** The turn of a trace without an agent root span. */
  traceTurn: (traceId: string, kind: 'turn.start' | 'turn.end'): string => `otlp:${traceId}:${kind}`,
  /** An event of a Claude Code session (`key`: the record's sequence, a prompt or tool id and the kind). */
  claude: (session: string, key: string): string => bounded(`otlp:cc:${session}:${key}`),
};

/** Event ids are at most 256 characters (schema); a longer one is replaced by its hash. */
function bounded(id: string): string {
  return id.length <= 200 ? id : `otlp:sha256:${createHash('sha256').update(id).digest('base64url')}`;
}
