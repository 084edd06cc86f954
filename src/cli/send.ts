import { createReadStream, statSync } from 'node:fs';
import { decodeLimits } from './decode-limits.ts';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { postEvents } from '../client/post-events.ts';
import { TurnstreamError } from '../errors.ts';
import { loadPriceTable } from '../events/price-table.ts';
import { openEmbeddedPipeline } from '../pipeline/open-embedded-pipeline.ts';
import { readNdjson } from '../sources/read-ndjson.ts';
import { int } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { recordPrices } from './price-record.ts';
import { resolveConfig } from './resolve-config.ts';
import { serverUrl } from './server-url.ts';

interface Rejection {
  line: number;
  status: string;
  reason?: string;
  message?: string;
}

/** `turnstream send <file|->`: to a running server (--url, else --host/--port) or straight into a data dir (--data-dir). */
export async function send(args: string[], flags: Record<string, string | boolean | undefined>): Promise<number> {
  const [file, extra] = args;
  if (file === undefined) throw new TurnstreamError("send needs a file, or '-' for stdin: turnstream send events.ndjson");
  if (extra !== undefined) throw new TurnstreamError(`send takes one file; got "${file}" and "${extra}"`);
  const config = resolveConfig(flags);
  const direct = typeof flags['data-dir'] === 'string' || (process.env['TURNSTREAM_DATA_DIR'] ?? '') !== '';
  const viaUrl = typeof flags['url'] === 'string';
  if (direct && viaUrl) throw new TurnstreamError('choose one target: --url (a running server) or --data-dir (an embedded store)');
  const batchSize = typeof flags['batch'] === 'string' ? parsePositiveInt(flags['batch']) : 2000;

  let input: Readable;
  let totalBytes = 0;
  if (file === '-') input = process.stdin;
  else {
    try {
      totalBytes = statSync(file).size;
    } catch (error) {
      throw new TurnstreamError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    input = createReadStream(file);
  }

  const counts = { accepted: 0, duplicate: 0, rejected: 0 };
  const rejections: Rejection[] = [];
  let sendBatch: (lines: string[]) => Promise<{ index: number; status: string; reason?: string; message?: string }[]>;
  let finish = async (): Promise<void> => undefined;
  const target = direct ? `data dir ${resolve(config.dataDir)}` : serverUrl(config);
  if (direct) {
    const pipeline = await openEmbeddedPipeline({
      dataDir: resolve(config.dataDir),
      prices: loadPriceTable(config.prices === undefined ? {} : { file: config.prices }),
      sync: config.sync,
      turnIdleTimeoutMs: config.turnIdleTimeoutMs,
      graceMs: config.graceMs,
      limits: decodeLimits(config),
    });
    recordPrices(config.dataDir, config.prices);
    sendBatch = async (lines) => {
      const results = await pipeline.ingestor.ingest(lines, file === '-' ? 'stdin' : `file:${file}`);
      for (const r of results) counts[r.status]++;
      return results.filter((r) => r.status !== 'accepted');
    };
    finish = () => pipeline.close();
  } else {
    const url = target;
    sendBatch = async (lines) => {
      const r = await postEvents(lines, { url, ...(config.token === undefined ? {} : { token: config.token }) });
      counts.accepted += r.accepted;
      counts.duplicate += r.duplicate;
      counts.rejected += r.rejected;
      return [...r.results];
    };
  }

  const started = performance.now();
  let sent = 0;
  try {
    for await (const batch of readNdjson(input, { batchSize })) {
      for (const r of await sendBatch(batch.lines)) {
        rejections.push({ line: batch.lineNumbers[r.index] ?? 0, status: r.status, ...(r.reason === undefined ? {} : { reason: r.reason }), ...(r.message === undefined ? {} : { message: r.message }) });
      }
      sent += batch.lines.length;
      const bytes = (input as { bytesRead?: number }).bytesRead ?? 0;
      out.progress(`sending to ${target}: ${int(sent)} events${totalBytes > 0 ? ` (${Math.round((100 * bytes) / totalBytes)}%)` : ''}`);
    }
  } finally {
    out.progressDone();
    await finish();
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags['json']) {
    out.json({ target, ...counts, seconds, rejections });
  } else {
    out.line(`${int(sent)} events → ${target}: ${int(counts.accepted)} accepted, ${int(counts.duplicate)} duplicate, ${int(counts.rejected)} rejected (${seconds.toFixed(2)} s)`);
    const shown = rejections.filter((r) => r.status === 'rejected');
    for (const r of shown.slice(0, 20)) out.line(`  line ${r.line}: ${r.reason}: ${r.message}`);
    if (shown.length > 20) out.line(`  … and ${shown.length - 20} more (turnstream dead-letters shows them all)`);
  }
  return counts.rejected > 0 ? 1 : 0;
}
