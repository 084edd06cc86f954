/** Builders of OTLP export requests in OTLP's JSON shape (`encodeRequest` turns them into protobuf too). */

export type AttrValue = string | number | boolean | string[];

/** OTLP `KeyValue` list; integers become `intValue` (as strings, like the JS exporters), other numbers `doubleValue`. */
export function kv(attrs: Record<string, AttrValue>): unknown[] {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: anyValue(v) }));
}

function anyValue(v: AttrValue): unknown {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => ({ stringValue: x })) } };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

/** Epoch ms → unix nanos as a decimal string. */
export const nanos = (ms: number): string => `${ms}000000`;

export const T0 = Date.parse('2026-03-02T10:00:00Z');

export interface SpanSpec {
  readonly trace: string;
  readonly id: string;
  readonly parent?: string;
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly attrs?: Record<string, AttrValue>;
  readonly error?: boolean;
}

/** A 32-hex trace id / 16-hex span id from a short tag, so tests read well. */
export const traceId = (tag: string): string => Buffer.from(tag.padEnd(16, '.').slice(0, 16)).toString('hex');
export const spanId = (tag: string): string => Buffer.from(tag.padEnd(8, '.').slice(0, 8)).toString('hex');

export function span(s: SpanSpec): unknown {
  return {
    traceId: traceId(s.trace),
    spanId: spanId(s.id),
    ...(s.parent === undefined ? {} : { parentSpanId: spanId(s.parent) }),
    name: s.name,
    kind: 1,
    startTimeUnixNano: nanos(s.start),
    endTimeUnixNano: nanos(s.end),
    attributes: kv(s.attrs ?? {}),
    status: s.error === true ? { code: 2, message: 'tool failed: SECRET-TOOL-OUTPUT' } : { code: 0 },
  };
}

export function traceRequest(spans: readonly SpanSpec[], service = 'test-agent'): unknown {
  return { resourceSpans: [{ resource: { attributes: kv({ 'service.name': service }) }, scopeSpans: [{ scope: { name: 'test' }, spans: spans.map(span) }] }] };
}

export interface LogSpec {
  readonly name: string;
  readonly time: number;
  readonly attrs: Record<string, AttrValue>;
}

/** Claude Code-shaped log records: body `claude_code.<name>`, `event.name` attribute, scope `com.anthropic.claude_code.events`. */
export function claudeLogsRequest(records: readonly LogSpec[]): unknown {
  return {
    resourceLogs: [
      {
        resource: { attributes: kv({ 'service.name': 'claude-code', 'service.version': '2.1.328' }) },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.1.328' },
            logRecords: records.map((r) => ({
              timeUnixNano: nanos(r.time),
              observedTimeUnixNano: nanos(r.time),
              body: { stringValue: `claude_code.${r.name}` },
              attributes: kv({ 'event.name': r.name, 'event.timestamp': new Date(r.time).toISOString(), ...r.attrs }),
            })),
          },
        ],
      },
    ],
  };
}
