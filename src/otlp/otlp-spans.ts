import { type Attrs, field, idHex, int64, listField, nanosToMs, readAttrs, subMillisNanos, textOf, validId } from './otlp-value.ts';

/** One OTLP span, reduced to what the mapping may read. Times in epoch ms. */
export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly startMs: number;
  /** Nanoseconds of the start below `startMs`: spans started in the same millisecond keep their order. */
  readonly startSubMs: number;
  readonly endMs: number;
  /** Status ERROR: the span's `error.type` attribute, else true (the status message is not copied: it may quote inputs). */
  readonly error?: string | true;
  /** Only the attributes `keep` accepted. */
  readonly attrs: Attrs;
  /** The resource's `service.name`. */
  readonly serviceName?: string;
}

/** A span that cannot be used at all (bad ids or times): dead-lettered as `invalid_otlp`. */
export interface InvalidSpan {
  readonly message: string;
  /** What was read of it, as JSON (never its other attributes). */
  readonly raw: string;
}

const keepService = (k: string): boolean => k === 'service.name';

/** `ai.response.toolCalls` on an AI SDK `doGenerate` span: JSON of the calls the step asked for. */
export const REQUESTED_TOOLS = 'ai.response.toolCalls';

/** The call ids of an `ai.response.toolCalls` value, in order, newline-separated ('' when unreadable). */
function requestedToolIds(value: unknown): string {
  if (typeof value !== 'string') return '';
  try {
    const calls = JSON.parse(value) as unknown;
    if (!Array.isArray(calls)) return '';
    return calls
      .map((c) =>
        typeof c === 'object' && c !== null && typeof (c as { toolCallId?: unknown }).toolCallId === 'string' ? (c as { toolCallId: string }).toolCallId : '',
      )
      .filter((id) => id !== '' && !id.includes('\n'))
      .join('\n');
  } catch {
    return '';
  }
}
const STATUS_ERROR = 2;

/**
 * The spans of a decoded `ExportTraceServiceRequest` (protobuf or JSON shape), each with only the
 * attributes `keep` accepts (plus `error.type`), and the spans that are unusable. Throws
 * `TypeError` when the request's lists are not lists.
 */
export function spansOf(request: unknown, keep: (key: string) => boolean): { spans: OtlpSpan[]; invalid: InvalidSpan[] } {
  const spans: OtlpSpan[] = [];
  const invalid: InvalidSpan[] = [];
  for (const rs of listField(request, 'resourceSpans')) {
    const service = textOf(readAttrs(field(field(rs, 'resource'), 'attributes'), keepService).get('service.name'));
    for (const ss of listField(rs, 'scopeSpans')) {
      for (const s of listField(ss, 'spans')) {
        const span = readSpan(s, keep, service);
        if ('message' in span) invalid.push(span);
        else spans.push(span);
      }
    }
  }
  return { spans, invalid };
}

function readSpan(s: unknown, keep: (key: string) => boolean, service: string | undefined): OtlpSpan | InvalidSpan {
  const attrs = readAttrs(field(s, 'attributes'), (k) => k === 'error.type' || k === REQUESTED_TOOLS || keep(k));
  // The AI SDK's list of the tool calls a model step asked for holds their arguments: only the
  // call ids are kept (the order the model asked in), before anything else can see the list.
  const requested = attrs.get(REQUESTED_TOOLS);
  if (requested !== undefined) attrs.set(REQUESTED_TOOLS, requestedToolIds(requested));
  const traceId = idHex(field(s, 'traceId'));
  const spanId = idHex(field(s, 'spanId'));
  const parentSpanId = idHex(field(s, 'parentSpanId'));
  const name = typeof field(s, 'name') === 'string' ? (field(s, 'name') as string) : '';
  const startMs = nanosToMs(field(s, 'startTimeUnixNano'));
  const endMs = nanosToMs(field(s, 'endTimeUnixNano'));
  const seen = { traceId, spanId, parentSpanId, name, startMs, endMs, attributes: Object.fromEntries(attrs) };
  const bad = (message: string): InvalidSpan => ({ message, raw: JSON.stringify(seen) });
  if (!validId(traceId, 16)) return bad('traceId must be 16 bytes, not all zero');
  if (!validId(spanId, 8)) return bad('spanId must be 8 bytes, not all zero');
  if (parentSpanId !== '' && !validId(parentSpanId, 8)) return bad('parentSpanId must be empty or 8 bytes');
  if (startMs === undefined || endMs === undefined || endMs < startMs) return bad('the span needs start and end times, end not before start');
  const code = int64(field(field(s, 'status'), 'code')) ?? (field(field(s, 'status'), 'code') === 'STATUS_CODE_ERROR' ? STATUS_ERROR : 0);
  const errorType = textOf(attrs.get('error.type'));
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    startMs,
    startSubMs: subMillisNanos(field(s, 'startTimeUnixNano')),
    endMs,
    attrs,
    ...(code === STATUS_ERROR || errorType !== undefined ? { error: errorType ?? true } : {}),
    ...(service === undefined ? {} : { serviceName: service }),
  };
}
