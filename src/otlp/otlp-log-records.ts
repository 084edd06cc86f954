import { type Attrs, anyValueScalar, field, listField, nanosToMs, readAttrs } from './otlp-value.ts';

/** One OTLP log record, reduced to what the mapping may read. */
export interface OtlpLogRecord {
  /** Position in the request (resource, scope and record order flattened). */
  readonly index: number;
  /** `time_unix_nano`, else `observed_time_unix_nano`, in epoch ms. */
  readonly timeMs?: number;
  /** The event name: the record's `event_name`, else a string body (cut at 256 characters), else its `event.name` attribute. */
  readonly name?: string;
  /** Only the attributes `keep` accepted. */
  readonly attrs: Attrs;
  /** The resource's `service.name`. */
  readonly serviceName?: string;
}

const keepService = (k: string): boolean => k === 'service.name';

/**
 * The log records of a decoded `ExportLogsServiceRequest` (protobuf or JSON shape), each with only
 * the attributes `keep` accepts. Throws `OtlpDecodeError` when the request's lists are not lists.
 */
export function logRecordsOf(request: unknown, keep: (key: string) => boolean): OtlpLogRecord[] {
  const out: OtlpLogRecord[] = [];
  for (const rl of listField(request, 'resourceLogs')) {
    const service = readAttrs(field(field(rl, 'resource'), 'attributes'), keepService).get('service.name');
    for (const sl of listField(rl, 'scopeLogs')) {
      for (const r of listField(sl, 'logRecords')) {
        const attrs = readAttrs(field(r, 'attributes'), (k) => k === 'event.name' || keep(k));
        const body = anyValueScalar(field(r, 'body'));
        const eventName = field(r, 'eventName');
        const nameAttr = attrs.get('event.name');
        const name =
          typeof eventName === 'string' && eventName !== ''
            ? eventName
            : typeof body === 'string' && body !== ''
              ? body.slice(0, 256)
              : typeof nameAttr === 'string' && nameAttr !== ''
                ? nameAttr
                : undefined;
        const timeMs = nanosToMs(field(r, 'timeUnixNano')) ?? nanosToMs(field(r, 'observedTimeUnixNano'));
        out.push({
          index: out.length,
          attrs,
          ...(timeMs === undefined ? {} : { timeMs }),
          ...(name === undefined ? {} : { name }),
          ...(typeof service === 'string' ? { serviceName: service } : {}),
        });
      }
    }
  }
  return out;
}
