import { eventInputTokens } from '../events/token-convention.ts';
import type { OtlpSpan } from './otlp-spans.ts';
import { type Attrs, amountOf, countOf, textOf } from './otlp-value.ts';

/**
 * What one span is to the turn model:
 * - `agent`: a turn's root (`gen_ai.operation.name=invoke_agent`, the AI SDK's `ai.generateText` /
 *   `ai.streamText` / `ai.generateObject` / `ai.streamObject` / `ai.embed*`, OpenLLMetry's
 *   `traceloop.span.kind` workflow or agent);
 * - `llm`: one model call (`chat`, `text_completion`, `generate_content`, `embeddings`, the AI
 *   SDK's `*.doGenerate` / `*.doStream` / `*.doEmbed`, or any span with GenAI token usage);
 * - `tool`: one tool call (`execute_tool`, `ai.toolCall`, `traceloop.span.kind=tool`);
 * - `link`: a GenAI span that only links others (OpenLLMetry tasks, other `ai.*` spans);
 * - `covered`: Claude Code's own spans, whose calls its log events already count;
 * - `none`: no GenAI attribute at all.
 */
export type SpanRole = 'agent' | 'llm' | 'tool' | 'link' | 'covered' | 'none';

export interface SpanUsage {
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly reasoningTokens?: number;
}

export interface SpanFacts {
  readonly role: SpanRole;
  /** Token counts in the event convention (input excludes cache), when the span reports usage. */
  readonly usage?: SpanUsage;
  readonly provider?: string;
  readonly model?: string;
  readonly finishReason?: string;
  /** USD, only when the telemetry itself carries a cost. */
  readonly cost?: number;
  readonly toolName?: string;
  readonly toolCallId?: string;
  readonly session?: string;
  readonly agentName?: string;
}

/** Every attribute the span mapping reads; no other attribute of a span is kept (no prompts, messages, tool args or results). */
const SPAN_ATTRS: ReadonlySet<string> = new Set([
  // OpenTelemetry GenAI semantic conventions (and their older names)
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.system',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.response.finish_reasons',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.prompt_tokens',
  'gen_ai.usage.completion_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'gen_ai.usage.cache_creation_input_tokens',
  'gen_ai.usage.reasoning.output_tokens',
  'gen_ai.usage.cost',
  'gen_ai.conversation.id',
  'gen_ai.agent.name',
  'gen_ai.tool.name',
  'gen_ai.tool.call.id',
  'session.id',
  // OpenLLMetry
  'traceloop.span.kind',
  'traceloop.entity.name',
  'traceloop.workflow.name',
  'traceloop.association.properties.session_id',
  'llm.request.type',
  // Vercel AI SDK
  'ai.operationId',
  'ai.model.id',
  'ai.model.provider',
  'ai.response.model',
  'ai.response.finishReason',
  'ai.usage.inputTokens',
  'ai.usage.outputTokens',
  'ai.usage.promptTokens',
  'ai.usage.completionTokens',
  'ai.usage.tokens',
  'ai.usage.inputTokenDetails.noCacheTokens',
  'ai.usage.inputTokenDetails.cacheReadTokens',
  'ai.usage.inputTokenDetails.cacheWriteTokens',
  'ai.usage.cachedInputTokens',
  'ai.usage.outputTokenDetails.reasoningTokens',
  'ai.usage.reasoningTokens',
  'ai.toolCall.name',
  'ai.toolCall.id',
  'ai.telemetry.functionId',
  'ai.telemetry.metadata.sessionId',
  'ai.telemetry.metadata.session_id',
]);

export const keepSpanAttr = (key: string): boolean => SPAN_ATTRS.has(key);

const AI_SDK_ROOTS = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject', 'ai.embed', 'ai.embedMany']);
const AI_SDK_CALL = /\.(doGenerate|doStream|doEmbed)$/;
const SESSION_KEYS = [
  'gen_ai.conversation.id',
  'session.id',
  'ai.telemetry.metadata.sessionId',
  'ai.telemetry.metadata.session_id',
  'traceloop.association.properties.session_id',
];
/** Provider names as instrumentations send them → the price table's keys (`anthropic.messages` → `anthropic`). */
const PROVIDERS: Readonly<Record<string, string>> = { 'gcp.gemini': 'google', 'gcp.vertex_ai': 'google', 'gcp.gen_ai': 'google' };
const CLOUD_PREFIXES = new Set(['aws', 'azure', 'ibm']);

/** The turn-model facts of one span (see `SpanRole`). */
export function spanFacts(s: OtlpSpan): SpanFacts {
  const a = s.attrs;
  const role = roleOf(s);
  const usage = role === 'covered' || role === 'tool' ? undefined : usageOf(a);
  const provider = providerOf(a);
  const model =
    textOf(a.get('gen_ai.response.model')) ?? textOf(a.get('ai.response.model')) ?? textOf(a.get('gen_ai.request.model')) ?? textOf(a.get('ai.model.id'));
  const finishReason = textOf(a.get('ai.response.finishReason')) ?? textOf(a.get('gen_ai.response.finish_reasons'));
  const cost = amountOf(a.get('gen_ai.usage.cost'));
  const session = first(a, SESSION_KEYS);
  const agentName = textOf(a.get('gen_ai.agent.name')) ?? textOf(a.get('ai.telemetry.functionId')) ?? textOf(a.get('traceloop.workflow.name'));
  const tool =
    role === 'tool'
      ? {
          toolName: textOf(a.get('gen_ai.tool.name')) ?? textOf(a.get('ai.toolCall.name')) ?? textOf(a.get('traceloop.entity.name')) ?? (s.name || 'tool'),
          toolCallId: textOf(a.get('gen_ai.tool.call.id')) ?? textOf(a.get('ai.toolCall.id')) ?? s.spanId,
        }
      : {};
  return {
    role: role === 'none' && usage !== undefined ? 'llm' : role,
    ...(usage === undefined ? {} : { usage }),
    ...(provider === undefined ? {} : { provider }),
    ...(model === undefined ? {} : { model }),
    ...(finishReason === undefined ? {} : { finishReason: finishReason.slice(0, 64) }),
    ...(cost === undefined ? {} : { cost }),
    ...(session === undefined ? {} : { session }),
    ...(agentName === undefined ? {} : { agentName }),
    ...tool,
  };
}

function roleOf(s: OtlpSpan): SpanRole {
  const a = s.attrs;
  if (s.serviceName === 'claude-code') return 'covered';
  const op = textOf(a.get('ai.operationId')) ?? (s.name.startsWith('ai.') ? s.name.split(' ', 1)[0] : undefined);
  if (op !== undefined) {
    if (AI_SDK_ROOTS.has(op)) return 'agent';
    if (AI_SDK_CALL.test(op)) return 'llm';
    return op === 'ai.toolCall' ? 'tool' : 'link';
  }
  const operation = textOf(a.get('gen_ai.operation.name'));
  if (operation === 'invoke_agent') return 'agent';
  if (operation === 'execute_tool') return 'tool';
  if (operation !== undefined) return 'llm';
  const kind = textOf(a.get('traceloop.span.kind'));
  if (kind === 'workflow' || kind === 'agent') return 'agent';
  if (kind === 'tool') return 'tool';
  if (kind !== undefined) return 'link';
  if (a.has('llm.request.type') || a.has('gen_ai.system') || a.has('gen_ai.provider.name')) return 'llm';
  return 'none';
}

/** Usage in the event convention, or undefined when the span reports neither input nor output tokens. */
function usageOf(a: Attrs): SpanUsage | undefined {
  const input = count(a, ['gen_ai.usage.input_tokens', 'ai.usage.inputTokens', 'gen_ai.usage.prompt_tokens', 'ai.usage.promptTokens', 'ai.usage.tokens']);
  const output = count(a, ['gen_ai.usage.output_tokens', 'ai.usage.outputTokens', 'gen_ai.usage.completion_tokens', 'ai.usage.completionTokens']);
  if (input === undefined && output === undefined) return undefined;
  const cacheRead =
    count(a, [
      'gen_ai.usage.cache_read.input_tokens',
      'ai.usage.inputTokenDetails.cacheReadTokens',
      'gen_ai.usage.cache_read_input_tokens',
      'ai.usage.cachedInputTokens',
    ]) ?? 0;
  const cacheWrite =
    count(a, ['gen_ai.usage.cache_creation.input_tokens', 'ai.usage.inputTokenDetails.cacheWriteTokens', 'gen_ai.usage.cache_creation_input_tokens']) ?? 0;
  // The AI SDK says how many input tokens were not cached; otherwise the OTel count includes cache tokens.
  const noCache = countOf(a.get('ai.usage.inputTokenDetails.noCacheTokens'));
  const reasoning = count(a, ['gen_ai.usage.reasoning.output_tokens', 'ai.usage.outputTokenDetails.reasoningTokens', 'ai.usage.reasoningTokens']);
  return {
    inputTokens: noCache ?? eventInputTokens(input ?? 0, cacheRead, cacheWrite),
    outputTokens: output ?? 0,
    cacheReadTokens: cacheRead,
    cacheWriteTokens: cacheWrite,
    ...(reasoning === undefined ? {} : { reasoningTokens: reasoning }),
  };
}

function providerOf(a: Attrs): string | undefined {
  const raw = textOf(a.get('gen_ai.provider.name')) ?? textOf(a.get('gen_ai.system')) ?? textOf(a.get('ai.model.provider'));
  if (raw === undefined) return undefined;
  const p = raw.trim().toLowerCase();
  if (PROVIDERS[p] !== undefined) return PROVIDERS[p];
  // The AI SDK names provider and API (`openai.chat`, `anthropic.messages`, also in `gen_ai.system`);
  // semconv's own dotted names (`aws.bedrock`, `azure.ai.openai`, `ibm.watsonx.ai`) are kept whole.
  const prefix = p.split('.', 1)[0]!;
  return CLOUD_PREFIXES.has(prefix) ? p : prefix;
}

function count(a: Attrs, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const n = countOf(a.get(k));
    if (n !== undefined) return n;
  }
  return undefined;
}

function first(a: Attrs, keys: readonly string[]): string | undefined {
  for (const k of keys) {
    const t = textOf(a.get(k));
    if (t !== undefined) return t;
  }
  return undefined;
}
