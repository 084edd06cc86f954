import { createReadStream, statSync } from 'node:fs';
import { decodeLimits } from './decode-limits.ts';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { postEvents } from '../client/post-events.ts';
import { TurnstreamError } from '../errors.ts';
import { loadPriceTable } from '../events/price-table.ts';
import { openBackend } from '../backend/open-backend.ts';
import { readNdjson } from '../sources/read-ndjson.ts';
import { int } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { recordPrices } from './price-record.ts';
import { resolveConfig } from './resolve-config.ts';
import { serverUrl } from './server-url.ts';
import type { Config } from './settings.ts';

interface Rejection {
  line: number;
  status: string;
  reason?: string;
  message?: string;
}

type Result = { index: number; status: string; reason?: string; message?: string };
type Counts = { accepted: number; duplicate: number; rejected: number };

/** Where `send` goes: the embedded store of `--data-dir`, or a running server. */
interface SendTarget {
  readonly name: string;
  send(lines: string[]): Promise<Result[]>;
  close(): Promise<void>;
}

/** The input stream and its size (0 for stdin: no percentage then). */
function openInput(file: string): { input: Readable; totalBytes: number } {
  if (file === '-') return { input: process.stdin, totalBytes: 0 };
  try {
    return { totalBytes: statSync(file).size, input: createReadStream(file) };
  } catch (error) {
    throw new TurnstreamError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

async function openTarget(config: Config, direct: boolean, source: string, counts: Counts): Promise<SendTarget> {
  if (direct) {
    // --data-dir means the embedded store, whatever --kafka says.
    const pipeline = await openBackend(
      { ...config, kafka: undefined },
      {
        mode: 'serve',
        prices: loadPriceTable(config.prices === undefined ? {} : { file: config.prices }),
        limits: decodeLimits(config),
      },
    );
    recordPrices(config.dataDir, config.prices);
    return {
      name: `data dir ${resolve(config.dataDir)}`,
      send: async (lines) => {
        const results = await pipeline.ingest.ingest(lines, source);
        for (const r of results) counts[r.status]++;
        return results.filter((r) => r.status !== 'accepted');
      },
      close: () => pipeline.close(),
    };
  }
  const url = serverUrl(config);
  return {
    name: url,
    send: async (lines) => {
      const r = await postEvents(lines, { url, ...(config.token === undefined ? {} : { token: config.token }) });
      counts.accepted += r.accepted;
      counts.duplicate += r.duplicate;
      counts.rejected += r.rejected;
      return [...r.results];
    },
    close: async () => undefined,
  };
}

function report(json: boolean, o: { target: string; sent: number; counts: Counts; seconds: number; rejections: Rejection[] }): void {
  if (json) {
    out.json({ target: o.target, ...o.counts, seconds: o.seconds, rejections: o.rejections });
    return;
  }
  const { counts } = o;
  out.line(
    `${int(o.sent)} events → ${o.target}: ${int(counts.accepted)} accepted, ${int(counts.duplicate)} duplicate, ${int(counts.rejected)} rejected (${o.seconds.toFixed(2)} s)`,
  );
  const shown = o.rejections.filter((r) => r.status === 'rejected');
  for (const r of shown.slice(0, 20)) out.line(`  line ${r.line}: ${r.reason}: ${r.message}`);
  if (shown.length > 20) out.line(`  … and ${shown.length - 20} more (turnstream dead-letters shows them all)`);
}

/** `turnstream send <file|->`: to a running server (--url, else --host/--port) or straight into a data dir (--data-dir). */
export async function send(args: string[], flags: Record<string, string | boolean | undefined>): Promise<number> {
  const [file, extra] = args;
  if (file === undefined) throw new TurnstreamError("send needs a file, or '-' for stdin: turnstream send events.ndjson");
  if (extra !== undefined) throw new TurnstreamError(`send takes one file; got "${file}" and "${extra}"`);
  const config = resolveConfig(flags);
  const direct = typeof flags['data-dir'] === 'string' || (process.env['TURNSTREAM_DATA_DIR'] ?? '') !== '';
  if (direct && typeof flags['url'] === 'string') throw new TurnstreamError('choose one target: --url (a running server) or --data-dir (an embedded store)');
  const batchSize = typeof flags['batch'] === 'string' ? parsePositiveInt(flags['batch']) : 2000;
  const { input, totalBytes } = openInput(file);
  const counts: Counts = { accepted: 0, duplicate: 0, rejected: 0 };
  const rejections: Rejection[] = [];
  const target = await openTarget(config, direct, file === '-' ? 'stdin' : `file:${file}`, counts);
  const started = performance.now();
  let sent = 0;
  try {
    for await (const batch of readNdjson(input, { batchSize })) {
      for (const r of await target.send(batch.lines)) {
        rejections.push({
          line: batch.lineNumbers[r.index] ?? 0,
          status: r.status,
          ...(r.reason === undefined ? {} : { reason: r.reason }),
          ...(r.message === undefined ? {} : { message: r.message }),
        });
      }
      sent += batch.lines.length;
      const bytes = (input as { bytesRead?: number }).bytesRead ?? 0;
      out.progress(`sending to ${target.name}: ${int(sent)} events${totalBytes > 0 ? ` (${Math.round((100 * bytes) / totalBytes)}%)` : ''}`);
    }
  } finally {
    out.progressDone();
    await target.close();
  }
  report(flags['json'] === true, { target: target.name, sent, counts, seconds: (performance.now() - started) / 1000, rejections });
  return counts.rejected > 0 ? 1 : 0;
}
