import { createHash } from 'node:crypto';

/**
 * Event ids for imported Claude Code transcripts, derived from the ids Claude Code itself wrote
 * (message id + request id of an API call, tool_use id, the uuid of the prompt line), never from
 * file paths or read order. So importing again, importing a file that grew, importing a copy of
 * the directory, or reading the same call twice (a resumed session repeats earlier messages in
 * its new file) produces the same ids, and the log's dedupe keeps exactly one of each: the same
 * rule ccusage applies (one count per message id + request id).
 */
export const claudeEventIds = {
  sessionStart: (session: string): string => bounded(`claude:session:${session}:start`),
  /** One per quiet period: a resumed session appends lines, then ends again at a later line. */
  sessionEnd: (session: string, lastLine: string): string => bounded(`claude:session:${session}:end:${lastLine}`),
  turnStart: (turn: string): string => bounded(`claude:turn:${turn}:start`),
  turnEnd: (turn: string): string => bounded(`claude:turn:${turn}:end`),
  call: (messageId: string, requestId: string): string => bounded(`claude:call:${messageId}:${requestId}`),
  /** A later line of a call already sent (see `TranscriptMapper`): only `--watch` makes these. */
  correction: (messageId: string, requestId: string, line: string): string => bounded(`claude:call:${messageId}:${requestId}:more:${line}`),
  toolStart: (toolUseId: string): string => bounded(`claude:tool:${toolUseId}:start`),
  toolEnd: (toolUseId: string): string => bounded(`claude:tool:${toolUseId}:end`),
};

/** Event ids are at most 256 characters (schema); a longer one is replaced by its hash. */
function bounded(id: string): string {
  return id.length <= 200 ? id : `claude:sha256:${createHash('sha256').update(id).digest('base64url')}`;
}
