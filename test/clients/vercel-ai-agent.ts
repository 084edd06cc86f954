import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter as OTLPJsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { generateText, jsonSchema, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';

/** Markers in the tools' arguments and results: they must never reach turnstream's log. */
export const SECRET_ARG = 'SECRET-TOOL-ARG-5f1c';
export const SECRET_RESULT = 'SECRET-TOOL-RESULT-9a7e';

/** Per-call usage the mock model reports (the AI SDK's V3 shape: input total includes cache). */
interface MockCall {
  readonly noCache: number;
  readonly cacheRead: number;
  readonly cacheWrite: number;
  readonly output: number;
  readonly toolCalls?: readonly { id: string; name: 'lookup' | 'weather' }[];
}

/** What the SDK itself reported for one `generateText` call: the ground truth. */
export interface GenerateTruth {
  readonly inputTokens: number;
  readonly noCacheTokens: number;
  readonly cacheReadTokens: number;
  readonly cacheWriteTokens: number;
  readonly outputTokens: number;
  readonly llmCalls: number;
  /** Tool names in the order the model called them (over all steps). */
  readonly toolNames: readonly string[];
}

/** Two prompts (two `generateText` calls = two turns) of one session; the first runs three tools over two steps. */
const PROMPTS: readonly (readonly MockCall[])[] = [
  [
    {
      noCache: 400,
      cacheRead: 0,
      cacheWrite: 1200,
      output: 35,
      toolCalls: [
        { id: 'call-a1', name: 'weather' },
        { id: 'call-a2', name: 'lookup' },
      ],
    },
    { noCache: 60, cacheRead: 1200, cacheWrite: 0, output: 20, toolCalls: [{ id: 'call-a3', name: 'lookup' }] },
    { noCache: 45, cacheRead: 1300, cacheWrite: 80, output: 50 },
  ],
  [{ noCache: 25, cacheRead: 1380, cacheWrite: 0, output: 15 }],
];

/**
 * Runs an agent on the Vercel AI SDK (`ai`, `MockLanguageModelV3` from `ai/test`: offline) with
 * telemetry on, exporting spans through the OpenTelemetry JS SDK's OTLP exporter (`protocol`:
 * protobuf or JSON) to `url` — how a user wires it, with the async context manager a Node SDK
 * registers, so each `generateText` is one trace (root, `doGenerate` children, `ai.toolCall`).
 * The session is `ai.telemetry.metadata.sessionId`. Returns what the SDK reported per call.
 */
export async function runVercelAgent(o: {
  url: string;
  protocol: 'protobuf' | 'json';
  sessionId: string;
  model: string;
  provider: string;
}): Promise<GenerateTruth[]> {
  const exporter =
    o.protocol === 'protobuf' ? new OTLPProtoTraceExporter({ url: `${o.url}/v1/traces` }) : new OTLPJsonTraceExporter({ url: `${o.url}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'vercel-ai-test-agent' }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 200 })],
  });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  try {
    const tracer = provider.getTracer('vercel-ai-test-agent');
    const tools = {
      lookup: tool({
        description: 'Looks something up',
        inputSchema: jsonSchema<{ q: string }>({ type: 'object', properties: { q: { type: 'string' } }, required: ['q'] }),
        execute: async ({ q }) => ({ answer: `${SECRET_RESULT} for ${q}` }),
      }),
      weather: tool({
        description: 'Tells the weather',
        inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }),
        execute: async ({ city }) => ({ forecast: `${SECRET_RESULT}: sunny in ${city}` }),
      }),
    };
    const truths: GenerateTruth[] = [];
    for (const [p, calls] of PROMPTS.entries()) {
      let step = 0;
      const model = new MockLanguageModelV3({
        provider: o.provider,
        modelId: o.model,
        doGenerate: async () => {
          const c = calls[step++]!;
          const usage = {
            inputTokens: { total: c.noCache + c.cacheRead + c.cacheWrite, noCache: c.noCache, cacheRead: c.cacheRead, cacheWrite: c.cacheWrite },
            outputTokens: { total: c.output, text: c.output, reasoning: 0 },
          };
          if (c.toolCalls !== undefined) {
            const content = c.toolCalls.map((t) => ({
              type: 'tool-call' as const,
              toolCallId: `${o.sessionId}-${t.id}`,
              toolName: t.name,
              input: JSON.stringify(t.name === 'lookup' ? { q: `${SECRET_ARG} ${t.id}` } : { city: `${SECRET_ARG} Paris` }),
            }));
            return { content, finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' }, usage, warnings: [] };
          }
          return { content: [{ type: 'text' as const, text: `answer ${p}` }], finishReason: { unified: 'stop' as const, raw: 'stop' }, usage, warnings: [] };
        },
      });
      const r = await generateText({
        model,
        tools,
        stopWhen: stepCountIs(5),
        prompt: `prompt ${p}`,
        experimental_telemetry: { isEnabled: true, tracer, functionId: 'test-agent', metadata: { sessionId: o.sessionId, userId: 'user-1' } },
      });
      truths.push({
        inputTokens: r.totalUsage.inputTokens ?? 0,
        noCacheTokens: r.totalUsage.inputTokenDetails.noCacheTokens ?? 0,
        cacheReadTokens: r.totalUsage.inputTokenDetails.cacheReadTokens ?? 0,
        cacheWriteTokens: r.totalUsage.inputTokenDetails.cacheWriteTokens ?? 0,
        outputTokens: r.totalUsage.outputTokens ?? 0,
        llmCalls: r.steps.length,
        toolNames: r.steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)),
      });
    }
    await provider.forceFlush();
    return truths;
  } finally {
    await provider.shutdown();
    context.disable();
  }
}
