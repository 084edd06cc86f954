import type { TranscriptUsage } from './transcript-line.ts';

/** Token counts of one call, as the event carries them (Anthropic convention: input excludes cache). */
export interface Tokens {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite5mTokens?: number;
  cacheWrite1hTokens?: number;
}

export const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens'] as const;

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);

/** The usage of a line as event token fields, or undefined when it is not usable. */
export function tokensOf(usage: TranscriptUsage | undefined): Tokens | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const input = count(usage.input_tokens);
  const output = count(usage.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  const t: Tokens = {
    inputTokens: input,
    outputTokens: output,
    cacheReadTokens: count(usage.cache_read_input_tokens) ?? 0,
    cacheWriteTokens: count(usage.cache_creation_input_tokens) ?? 0,
  };
  const split = usage.cache_creation;
  if (typeof split === 'object' && split !== null) {
    t.cacheWrite5mTokens = count(split.ephemeral_5m_input_tokens) ?? 0;
    t.cacheWrite1hTokens = count(split.ephemeral_1h_input_tokens) ?? 0;
  }
  return t;
}
