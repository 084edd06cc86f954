import { type Ingestor, RejectedInput } from '../pipeline/ingestor.ts';
import { keepSpanAttr, spanFacts } from './genai-span-facts.ts';
import { type ClaudeCodeLogMapper, keepClaudeCodeAttr } from './map-claude-code-logs.ts';
import { logRecordsOf } from './otlp-log-records.ts';
import { spansOf } from './otlp-spans.ts';
import { RejectionTally } from './rejection-tally.ts';
import type { TraceBuffer } from './trace-buffer.ts';

/** The source name of OTLP input in dead letters and metrics. */
export const OTLP_SOURCE = 'otlp';

/**
 * One decoded `ExportLogsServiceRequest`: its Claude Code records mapped and stored through the
 * Ingestor before the answer; returns what was not used. A record counts as rejected when it is
 * not a known Claude Code event, lacks what its mapping needs (dead-lettered as `invalid_otlp`),
 * or one of its events was rejected by the Ingestor (duplicates are not rejections).
 */
export async function receiveLogs(request: unknown, mapper: ClaudeCodeLogMapper, ingestor: Ingestor): Promise<RejectionTally> {
  const tally = new RejectionTally('log records');
  const mapped = mapper.map(logRecordsOf(request, keepClaudeCodeAttr));
  for (const u of mapped.unmapped) tally.reject(u.record, u.reason);
  const inputs: unknown[] = mapped.events.map((e) => e.event);
  const origin = mapped.events.map((e) => e.record);
  for (const bad of mapped.invalid) {
    tally.reject(bad.record, 'invalid (dead-lettered as invalid_otlp)');
    tally.note(bad.message);
    inputs.push(new RejectedInput('invalid_otlp', bad.message, bad.raw));
    origin.push(-1);
  }
  const results = await ingestor.ingest(inputs, OTLP_SOURCE);
  for (const r of results) {
    if (r.status !== 'rejected' || origin[r.index]! < 0) continue;
    tally.reject(origin[r.index]!, `rejected as ${r.reason}`);
    tally.note(r.message);
  }
  return tally;
}

/**
 * One decoded `ExportTraceServiceRequest`: its spans go to the trace buffer (mapped and stored when
 * their trace is complete); returns what was not used. Rejected: spans with bad ids or times
 * (dead-lettered as `invalid_otlp`), spans with no GenAI attribute, LLM spans without usage, and
 * spans of a request larger than the whole buffer that did not fit (dead-lettered as
 * `otlp_buffer_full`). Throws `TraceBufferBusy`, taking nothing of the request, when its spans fit
 * only once traces waiting in the buffer are stored: the receiver asks the client to retry.
 */
export async function receiveTraces(request: unknown, buffer: TraceBuffer, ingestor: Ingestor, maxLetters: number): Promise<RejectionTally> {
  const tally = new RejectionTally('spans');
  const { spans, invalid } = spansOf(request, keepSpanAttr);
  if (buffer.room(spans) === 'later') throw new TraceBufferBusy(spans.length, buffer.held.traces);
  const letters: RejectedInput[] = invalid.map((bad, i) => {
    tally.reject(-1 - i, 'invalid (dead-lettered as invalid_otlp)');
    tally.note(bad.message);
    return new RejectedInput('invalid_otlp', `span: ${bad.message}`, bad.raw);
  });
  spans.forEach((s, i) => {
    const f = spanFacts(s);
    if (f.role === 'none') tally.reject(i, 'no GenAI attributes (gen_ai.*, ai.*, traceloop.*): not used');
    else if (f.role === 'llm' && f.usage === undefined) tally.reject(i, 'an LLM call span without token usage: not used');
  });
  // Every span is buffered, used or not: an unused span may still link a call to its agent root.
  const overflow = buffer.add(spans);
  const indexOf = overflow.length === 0 ? undefined : new Map(spans.map((s, i) => [s, i]));
  for (const s of overflow) {
    tally.reject(indexOf!.get(s)!, 'the trace buffer is full (dead-lettered as otlp_buffer_full)');
    letters.push(new RejectedInput('otlp_buffer_full', 'the trace buffer is full', JSON.stringify({ ...s, attrs: Object.fromEntries(s.attrs) })));
  }
  if (letters.length > 0) await ingestor.ingestSummary(letters, OTLP_SOURCE, { maxResults: 0, maxDeadLetters: maxLetters });
  return tally;
}

/** A request's spans do not fit the trace buffer until traces waiting in it are stored (about a second): nothing was taken. */
export class TraceBufferBusy extends Error {
  constructor(spans: number, traces: number) {
    super(`the trace buffer is full (${traces} traces held); none of this request's ${spans} spans was taken: retry`);
    this.name = 'TraceBufferBusy';
  }
}
