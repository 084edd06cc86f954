/**
 * Why a transcript line (or file) was not imported. Each is counted and reported; none stops the
 * import.
 * - `malformed_json`: the line is not a JSON object with a `type`.
 * - `unknown_type`: a line type this importer does not know (a newer Claude Code).
 * - `no_timestamp`: a user or assistant line without a parseable `timestamp`.
 * - `no_usage`: an assistant line without a usable `message.usage` (or without a message id).
 * - `synthetic`: a message Claude Code made up itself (model `<synthetic>`: API errors, "no
 *   response requested"): not an API call, nothing billed.
 * - `orphan_tool_result`: a tool result whose `tool_use` is not in the file.
 * - `truncated_last_line`: the file ends in a line without a newline that does not parse (a write
 *   in progress, or a cut copy). `--watch` waits for the rest instead.
 * - `unreadable_file`: the file could not be opened or read (counted once per file).
 */
export type SkipReason =
  | 'malformed_json'
  | 'unknown_type'
  | 'no_timestamp'
  | 'no_usage'
  | 'synthetic'
  | 'orphan_tool_result'
  | 'truncated_last_line'
  | 'unreadable_file';

export const SKIP_REASON_LABELS: Readonly<Record<SkipReason, string>> = {
  malformed_json: 'malformed JSON',
  unknown_type: 'unknown line type',
  no_timestamp: 'no timestamp',
  no_usage: 'assistant line without usage',
  synthetic: 'synthetic message (not an API call)',
  orphan_tool_result: 'tool result without its tool call',
  truncated_last_line: 'truncated last line',
  unreadable_file: 'unreadable file',
};

/** What reading transcripts found, before anything is sent. Counters only grow. */
export class ImportStats {
  files = 0;
  mainFiles = 0;
  subagentFiles = 0;
  bytes = 0;
  lines = 0;
  /** Lines of known types that carry nothing to import (progress, snapshots, reminders…). */
  ignoredLines = 0;
  readonly skipped = new Map<SkipReason, number>();
  /** Events produced, by type. */
  readonly events = new Map<string, number>();
  readonly sessions = new Set<string>();

  skip(reason: SkipReason, n = 1): void {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + n);
  }

  countEvent(type: string): void {
    this.events.set(type, (this.events.get(type) ?? 0) + 1);
  }

  get skippedTotal(): number {
    let n = 0;
    for (const v of this.skipped.values()) n += v;
    return n;
  }

  get eventTotal(): number {
    let n = 0;
    for (const v of this.events.values()) n += v;
    return n;
  }

  toJSON(): Record<string, unknown> {
    return {
      files: this.files,
      mainFiles: this.mainFiles,
      subagentFiles: this.subagentFiles,
      bytes: this.bytes,
      lines: this.lines,
      ignoredLines: this.ignoredLines,
      sessions: this.sessions.size,
      events: Object.fromEntries([...this.events].sort()),
      skipped: Object.fromEntries([...this.skipped].sort()),
    };
  }
}
