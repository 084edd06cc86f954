/**
 * Import speed of Claude Code transcripts (`turnstream import claude`), standalone:
 *
 *   node --expose-gc bench/import-claude.ts [--copies N] [--runs N]
 *
 * The real transcripts in ../shared/fixtures/external (7.5 MB) are repeated N times (default 12)
 * with every Claude Code id (session, line uuid, message, request, tool) made unique per copy, so
 * nothing is deduplicated away; copies keep their timestamps, i.e. they are N users working at the
 * same time. Three stages, best of `--runs` (default 3):
 *   map       parse + map lines held in memory (no I/O): the importer's own cost
 *   read+map  importClaude() from files on disk to a sink that drops events
 *   pipeline  importClaude() into the embedded pipeline: decode, dedupe, durable SQLite append,
 *             turn windows, session totals (`pump.idle()` included), as `--data-dir` does
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createPriceTable } from '../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../src/pipeline/open-embedded-pipeline.ts';
import { describeTranscriptPath } from '../src/sources/claude/find-transcripts.ts';
import { importClaude } from '../src/sources/claude/import-claude.ts';
import { ImportStats } from '../src/sources/claude/import-stats.ts';
import { ingestorSink } from '../src/sources/claude/ingestor-sink.ts';
import { parseTranscriptLine } from '../src/sources/claude/transcript-line.ts';
import { TranscriptMapper } from '../src/sources/claude/transcript-mapper.ts';

const { values } = parseArgs({ options: { copies: { type: 'string' }, runs: { type: 'string' } } });
const copies = Number(values.copies ?? 12);
const runs = Number(values.runs ?? 3);
const fixtures = fileURLToPath(new URL('../../shared/fixtures/external/', import.meta.url));
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const log = (msg: string): void => void process.stderr.write(`[bench] ${msg}\n`);

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.jsonl') ? [join(dir, e.name)] : [],
  );
}

/** Copy k of a transcript text: ids made unique by a per-copy prefix, structure untouched. */
const UUID = /\b[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/g;
function copyOf(text: string, k: number): string {
  const tag = k.toString(16).padStart(8, '0');
  return text.replace(UUID, `${tag}$1`).replaceAll('"msg_', `"msg_${tag}`).replaceAll('"req_', `"req_${tag}`).replaceAll('"toolu_', `"toolu_${tag}`);
}

const sources = walk(fixtures).map((path) => ({ rel: relative(fixtures, path), text: readFileSync(path, 'utf8') }));
const corpus: { rel: string; text: string }[] = [];
for (let k = 0; k < copies; k++) for (const s of sources) corpus.push({ rel: join(`copy-${k}`, copyOf(s.rel, k)), text: copyOf(s.text, k) });
const bytes = corpus.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
const lineCount = corpus.reduce((n, f) => n + f.text.split('\n').filter((l) => l !== '').length, 0);
const mb = bytes / 1e6;
log(`corpus: ${copies} copies of ${sources.length} files = ${mb.toFixed(1)} MB, ${lineCount.toLocaleString('en')} lines; Node ${process.version}`);

function best(label: string, fn: () => Promise<{ events: number; seconds: number }>): Promise<{ label: string; events: number; seconds: number }> {
  return (async () => {
    let top = { events: 0, seconds: Number.POSITIVE_INFINITY };
    for (let i = 0; i < runs; i++) {
      gc();
      const r = await fn();
      log(`${label} run ${i + 1}: ${r.seconds.toFixed(3)} s`);
      if (r.seconds < top.seconds) top = r;
    }
    return { label, ...top };
  })();
}

const results = [];

// 1. parse + map in memory.
results.push(
  await best('map', async () => {
    const start = performance.now();
    let events = 0;
    const stats = new ImportStats();
    for (const f of corpus) {
      const info = describeTranscriptPath(join('/x', f.rel));
      let mapper: TranscriptMapper | undefined;
      for (const line of f.text.split('\n')) {
        if (line === '') continue;
        const p = parseTranscriptLine(line);
        if (p.kind !== 'line') continue;
        mapper ??= new TranscriptMapper({ session: info.session ?? String(p.line.sessionId), subagentFile: info.subagentFile, stats });
        mapper.line(p.line, p.timeMs);
      }
      mapper?.finish();
      events += mapper?.drain().length ?? 0;
    }
    return { events, seconds: (performance.now() - start) / 1000 };
  }),
);

// 2 and 3 read files: write the corpus once.
const dir = mkdtempSync(join(tmpdir(), 'turnstream-bench-claude-'));
try {
  for (const f of corpus) {
    mkdirSync(dirname(join(dir, 'corpus', f.rel)), { recursive: true });
    writeFileSync(join(dir, 'corpus', f.rel), f.text);
  }
  const root = join(dir, 'corpus');
  const onDisk = walk(root).reduce((n, p) => n + statSync(p).size, 0);
  if (onDisk !== bytes) throw new Error('corpus size mismatch');

  results.push(
    await best('read+map', async () => {
      const r = await importClaude({
        roots: [root],
        sink: { target: 'null', send: async (e) => ({ accepted: e.length, duplicate: 0, rejected: 0, rejections: [] }) },
      });
      return { events: r.stats.eventTotal, seconds: r.readMillis / 1000 };
    }),
  );

  const prices = createPriceTable();
  let run = 0;
  results.push(
    await best('pipeline', async () => {
      const dataDir = join(dir, `store-${run++}`);
      const pipeline = await openEmbeddedPipeline({ dataDir, prices });
      const start = performance.now();
      const r = await importClaude({ roots: [root], sink: ingestorSink(pipeline.ingestor, { target: dataDir }) });
      await pipeline.pump.idle();
      const seconds = (performance.now() - start) / 1000;
      const sessions = await pipeline.store.state.sessions({ limit: 100_000 });
      // Each copy holds one file twice (fixtures/external/spotter-agent-acompact-e1f845.jsonl): 3 duplicates per copy.
      if (r.sent.accepted + r.sent.duplicate !== r.stats.eventTotal || r.sent.duplicate !== 3 * copies || r.sent.rejected !== 0)
        throw new Error(`unexpected: ${JSON.stringify(r.sent)}`);
      if (sessions.length !== copies * 4) throw new Error(`expected ${copies * 4} sessions, got ${sessions.length}`);
      await pipeline.close();
      rmSync(dataDir, { recursive: true, force: true });
      return { events: r.stats.eventTotal, seconds };
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rows = results.map((r) => ({
  stage: r.label,
  seconds: +r.seconds.toFixed(3),
  'MB/s': +(mb / r.seconds).toFixed(1),
  'lines/s': Math.round(lineCount / r.seconds),
  events: r.events,
  'events/s': Math.round(r.events / r.seconds),
}));
console.table(rows);
console.log(JSON.stringify({ bench: 'import-claude', node: process.version, copies, mb: +mb.toFixed(1), lines: lineCount, rows }));
