import type { SkipReason } from './import-stats.ts';

/**
 * The part of a Claude Code transcript line (`~/.claude/projects/<project>/<session>.jsonl`) the
 * importer reads. Claude Code writes one JSON object per line; its format is undocumented and
 * changes between versions, so every field is optional and checked before use. Text content
 * (prompts, replies, tool inputs and outputs) is looked at only to classify a user line (prompt,
 * tool result, interruption…) and is never copied into events.
 */
export interface TranscriptLine {
  readonly type: string;
  readonly uuid?: string;
  readonly parentUuid?: string | null;
  readonly sessionId?: string;
  readonly agentId?: string;
  readonly isSidechain?: boolean;
  readonly isMeta?: boolean;
  readonly isCompactSummary?: boolean;
  readonly isApiErrorMessage?: boolean;
  readonly subtype?: string;
  readonly timestamp?: string;
  readonly requestId?: string;
  readonly version?: string;
  readonly message?: TranscriptMessage;
}

export interface TranscriptMessage {
  readonly id?: string;
  readonly model?: string;
  readonly stop_reason?: string | null;
  readonly content?: string | readonly ContentBlock[];
  readonly usage?: TranscriptUsage;
}

export interface ContentBlock {
  readonly type?: string;
  readonly id?: string;
  readonly name?: string;
  readonly text?: string;
  readonly tool_use_id?: string;
  readonly is_error?: boolean;
}

/** Anthropic Messages API usage, as Claude Code copies it. `input_tokens` excludes cache tokens. */
export interface TranscriptUsage {
  readonly input_tokens?: number;
  readonly output_tokens?: number;
  readonly cache_creation_input_tokens?: number;
  readonly cache_read_input_tokens?: number;
  readonly cache_creation?: { readonly ephemeral_5m_input_tokens?: number; readonly ephemeral_1h_input_tokens?: number };
}

/**
 * Line types that carry nothing to import (progress of hooks and tools — including copies of
 * subagent messages, which are imported from the subagent's own file —, file snapshots, titles,
 * request bodies…).
 * Recognised and passed over without counting them as skipped; any other type is `unknown_type`.
 */
const IGNORED_TYPES: ReadonlySet<string> = new Set([
  ...['summary', 'progress', 'file-history-snapshot', 'queue-operation', 'custom-title', 'agent-name', 'tag'],
  // Claude Code 2.1.3xx: context attachments, request shapes and bodies, its own cost state, mode.
  ...['attachment', 'last-prompt', 'atis-latch', 'api-request', 'api-request-shape', 'api-request-blob', 'tools-used', 'cost-state', 'mode'],
]);

export type ParsedLine =
  | { readonly kind: 'line'; readonly line: TranscriptLine; readonly timeMs: number }
  | { readonly kind: 'ignored' }
  | { readonly kind: 'skipped'; readonly reason: SkipReason };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses one transcript line. `user`, `assistant` and `system` lines with a valid timestamp come
 * back as `line`; known types without anything to import as `ignored`; the rest as `skipped` with a
 * reason (`malformed_json`, `unknown_type`, `no_timestamp`). Never throws.
 */
export function parseTranscriptLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'skipped', reason: 'malformed_json' };
  }
  if (!isRecord(value) || typeof value['type'] !== 'string') return { kind: 'skipped', reason: 'malformed_json' };
  const type = value['type'];
  if (type !== 'user' && type !== 'assistant' && type !== 'system') {
    return IGNORED_TYPES.has(type) ? { kind: 'ignored' } : { kind: 'skipped', reason: 'unknown_type' };
  }
  const timestamp = value['timestamp'];
  const timeMs = typeof timestamp === 'string' ? Date.parse(timestamp) : Number.NaN;
  if (!Number.isFinite(timeMs)) return type === 'system' ? { kind: 'ignored' } : { kind: 'skipped', reason: 'no_timestamp' };
  if (value['message'] !== undefined && !isRecord(value['message'])) return { kind: 'skipped', reason: 'malformed_json' };
  return { kind: 'line', line: value as unknown as TranscriptLine, timeMs };
}

/**
 * What a `user` line is. Claude Code writes many things as user messages besides what the person
 * typed: tool results, its own reminders and slash-command expansions (`isMeta`), the summary that
 * opens a compacted conversation, the output of `!` shell commands and local slash commands, and
 * the marker of an interruption (Esc). Only `prompt` starts a turn.
 */
export type UserLineKind = 'prompt' | 'tool_results' | 'interrupt' | 'meta';

const INTERRUPT = '[Request interrupted by user';
/** Prefixes of text Claude Code records for local commands: context for the model, not a request. */
const LOCAL_OUTPUT = ['<bash-input>', '<bash-stdout>', '<bash-stderr>', '<local-command-stdout>', '<local-command-stderr>', '<local-command-caveat>'];

export function userLineKind(line: TranscriptLine): UserLineKind {
  const content = line.message?.content;
  if (Array.isArray(content) && content.some((b) => isRecord(b) && b.type === 'tool_result')) return 'tool_results';
  if (line.isMeta === true || line.isCompactSummary === true) return 'meta';
  const text = typeof content === 'string' ? content : Array.isArray(content) ? firstText(content) : undefined;
  if (text === undefined) return Array.isArray(content) && content.length > 0 ? 'prompt' : 'meta'; // e.g. an image-only prompt
  const start = text.trimStart();
  if (start.startsWith(INTERRUPT)) return 'interrupt';
  if (LOCAL_OUTPUT.some((p) => start.startsWith(p))) return 'meta';
  return 'prompt';
}

function firstText(blocks: readonly ContentBlock[]): string | undefined {
  for (const b of blocks) if (isRecord(b) && b.type === 'text' && typeof b.text === 'string') return b.text;
  return undefined;
}

/** The content blocks of a message, or none (string content, or a malformed value). */
export function blocksOf(line: TranscriptLine): readonly ContentBlock[] {
  const content = line.message?.content;
  return Array.isArray(content) ? content.filter(isRecord) : [];
}
