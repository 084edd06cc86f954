import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { OTLPLogExporter as LogsHttp } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as LogsProto } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPTraceExporter as TraceHttp } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as TraceProto } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { T0 } from './otlp-payloads.ts';
import { type OtlpTestServer, startOtlpServer } from './otlp-test-server.ts';

const headers = { authorization: 'Bearer sdk-token' };

/**
 * The OpenTelemetry JS SDK's own OTLP exporters (protobuf and JSON over HTTP) as the clients: what
 * an instrumented agent sends, byte for byte, into the receiver.
 */
describe('OTLP from the OpenTelemetry JS SDK exporters', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer({ token: 'sdk-token' });
  });
  after(() => ts.stop());

  for (const [name, make] of [
    ['exporter-trace-otlp-proto', () => new TraceProto({ url: `${ts.url}/v1/traces`, headers })],
    ['exporter-trace-otlp-http (JSON)', () => new TraceHttp({ url: `${ts.url}/v1/traces`, headers })],
  ] as const) {
    it(`receives a GenAI agent's spans from ${name}`, async () => {
      const conversation = `sdk-${name}`;
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'sdk-agent' }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: make() })],
      });
      const tracer = provider.getTracer('test');
      const agent = tracer.startSpan(
        'invoke_agent helper',
        { startTime: T0, attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'helper', 'gen_ai.conversation.id': conversation } },
        context.active(),
      );
      const inAgent = trace.setSpan(context.active(), agent);
      for (const [i, input] of [
        [0, 1200],
        [1, 900],
      ] as const) {
        const chat = tracer.startSpan(
          'chat claude-haiku-4-5',
          {
            startTime: T0 + 1000 + i * 2000,
            attributes: {
              'gen_ai.operation.name': 'chat',
              'gen_ai.provider.name': 'anthropic',
              'gen_ai.request.model': 'claude-haiku-4-5',
              'gen_ai.usage.input_tokens': input,
              'gen_ai.usage.cache_read.input_tokens': 800,
              'gen_ai.usage.output_tokens': 40,
            },
          },
          inAgent,
        );
        chat.end(T0 + 2000 + i * 2000);
      }
      const tool = tracer.startSpan(
        'execute_tool grep',
        { startTime: T0 + 2100, attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'grep' } },
        inAgent,
      );
      tool.end(T0 + 2500);
      agent.end(T0 + 6000);
      await provider.forceFlush();
      await provider.shutdown();
      await ts.settle();
      const [turn] = await ts.pipeline.store.state.turns(conversation);
      assert.deepEqual(
        [turn?.status, turn?.agent, turn?.llmCalls, turn?.toolNames, turn?.inputTokens, turn?.cacheReadTokens, turn?.outputTokens, turn?.durationMs],
        ['completed', 'helper', 2, ['grep'], 400 + 100, 1600, 80, 6000],
      );
    });
  }

  for (const [name, make] of [
    ['exporter-logs-otlp-proto', () => new LogsProto({ url: `${ts.url}/v1/logs`, headers })],
    ['exporter-logs-otlp-http (JSON)', () => new LogsHttp({ url: `${ts.url}/v1/logs`, headers })],
  ] as const) {
    it(`receives Claude Code-shaped log events from ${name}`, async () => {
      const session = `sdk-logs-${name}`;
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'claude-code' }),
        processors: [new SimpleLogRecordProcessor({ exporter: make() })],
      });
      const logger = provider.getLogger('com.anthropic.claude_code.events');
      const emit = (event: string, ms: number, seq: number, attributes: Record<string, string>): void =>
        logger.emit({
          timestamp: T0 + ms,
          body: `claude_code.${event}`,
          attributes: { 'event.name': event, 'session.id': session, 'event.sequence': seq, ...attributes },
        });
      emit('user_prompt', 0, 0, { 'prompt.id': 'p1' });
      emit('api_request', 900, 1, {
        'prompt.id': 'p1',
        model: 'claude-haiku-4-5',
        input_tokens: '12',
        output_tokens: '7',
        cache_read_tokens: '300',
        cost_usd: '0.0021',
      });
      emit('tool_result', 1200, 2, { 'prompt.id': 'p1', tool_name: 'Bash', tool_use_id: 't1', success: 'true', duration_ms: '150' });
      emit('user_prompt', 5000, 3, { 'prompt.id': 'p2' });
      await provider.forceFlush();
      await provider.shutdown();
      await ts.settle();
      const [p1] = await ts.pipeline.store.state.turns(session);
      assert.deepEqual(
        [p1?.turn, p1?.status, p1?.llmCalls, p1?.toolNames, p1?.inputTokens, p1?.cacheReadTokens, p1?.cost],
        ['p1', 'completed', 1, ['Bash'], 12, 300, 0.0021],
      );
    });
  }
});
