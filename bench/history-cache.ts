/**
 * Built histories (bench/make-history.ts), kept across bench runs: a 10M-event history takes
 * minutes to build and seconds to copy.
 *
 * Layout: `<root>/s<sessions>-seed<seed>-<format>/<events>/{data/, history.json}`, where root is
 * $TURNSTREAM_BENCH_HISTORY_DIR, else ~/.cache/turnstream/bench-history (os.tmpdir() when the home
 * directory is not writable), and `format` is a hash of the code that decides what a history
 * holds: the store, the processor and everything it checkpoints (src/log, state, pipeline,
 * streams, model, events; Kafka files aside) plus the workload and the builder. Any change there
 * builds afresh, so a history is always what the current code would leave; histories of other
 * formats are removed when a new one is built (they would only fill the disk), once untouched for
 * an hour (a younger one may be in use by another bench run).
 *
 * A size is built by continuing the largest cached smaller size of the same key (its data dir
 * copied, then extended: see make-history.ts), so 1M → 5M → 10M writes 10M events, not 16M. The
 * builder runs as a child process with a large heap: its memory is not the bench's, and a
 * processor whose memory grows with history can still build one.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HISTORY_SEED, HISTORY_SESSIONS, type HistoryResult } from './make-history.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Folders of src/ whose code decides what a history's store holds. */
const FORMAT_DIRS = ['log', 'state', 'pipeline', 'streams', 'model', 'events'];
const KEY_PATTERN = /^s\d+-seed\d+-[0-9a-f]{12}$/;
/** Other formats' histories untouched this long are removed; younger ones may be another bench run's. */
const PRUNE_AFTER_MS = 3_600_000;

export interface CachedHistory extends HistoryResult {
  /** The cached store: copy it before starting a server on it (a run appends to it). */
  readonly dataDir: string;
  readonly format: string;
  /** Built by this call (false: found in the cache). */
  readonly built: boolean;
  /** Wall time of the build (this size's part only, when continued from a smaller one). */
  readonly buildSeconds: number;
  readonly builtAt: string;
}

export interface HistoryCacheOptions {
  readonly events: number;
  readonly sessions?: number;
  readonly seed?: number;
  /** Remove this key's cached histories first (`--fresh-history`). */
  readonly fresh?: boolean;
  readonly root?: string;
  readonly onProgress?: (message: string) => void;
}

/** Where histories are cached (see the module comment). */
export function historyCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['TURNSTREAM_BENCH_HISTORY_DIR'];
  if (configured !== undefined && configured !== '') return configured;
  try {
    accessSync(homedir(), constants.W_OK);
    return join(homedir(), '.cache', 'turnstream', 'bench-history');
  } catch {
    return join(tmpdir(), 'turnstream-bench-history');
  }
}

/**
 * 12 hex digits of sha256 over the history-defining sources (paths and contents, sorted).
 * TURNSTREAM_BENCH_HISTORY_FORMAT pins it: reuse histories built by an earlier state of the code
 * whose store format is known to be the same (a rebuild at 10M events takes many minutes).
 */
export function historyFormat(): string {
  const pinned = process.env['TURNSTREAM_BENCH_HISTORY_FORMAT'];
  if (pinned !== undefined && pinned !== '') return pinned;
  const files: string[] = [];
  for (const dir of FORMAT_DIRS) {
    const abs = join(REPO, 'src', dir);
    for (const name of readdirSync(abs, { recursive: true, encoding: 'utf8' }))
      if (!name.includes('kafka') && /\.(ts|json)$/.test(name)) files.push(join('src', dir, name));
  }
  files.sort();
  files.push('bench/workload.ts', 'bench/make-history.ts');
  const hash = createHash('sha256');
  for (const f of files)
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(REPO, f)))
      .update('\0');
  return hash.digest('hex').slice(0, 12);
}

const metaFile = (dir: string): string => join(dir, 'history.json');

function readMeta(dir: string): CachedHistory | undefined {
  if (!existsSync(metaFile(dir))) return undefined;
  return { ...(JSON.parse(readFileSync(metaFile(dir), 'utf8')) as CachedHistory), dataDir: join(dir, 'data'), built: false };
}

/** Runs make-history.ts in a child process; resolves to its result. */
function buildInChild(dataDir: string, events: number, sessions: number, seed: number, onProgress?: (m: string) => void): Promise<HistoryResult> {
  const script = fileURLToPath(new URL('./make-history.ts', import.meta.url));
  const args = [
    '--max-old-space-size=12288',
    script,
    '--data-dir',
    dataDir,
    '--events',
    String(events),
    '--sessions',
    String(sessions),
    '--seed',
    String(seed),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      for (const line of d.toString().split('\n')) if (line.startsWith('[make-history] ')) onProgress?.(line.slice(15));
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as HistoryResult);
      else reject(new Error(`make-history ${events} events failed (${signal ?? `exit ${code}`}): ${err.slice(-1500)}`));
    });
  });
}

/** The cached history of `events` events, built (or continued from a smaller one) when missing. */
export async function cachedHistory(o: HistoryCacheOptions): Promise<CachedHistory> {
  const sessions = o.sessions ?? HISTORY_SESSIONS;
  const seed = o.seed ?? HISTORY_SEED;
  const root = o.root ?? historyCacheRoot();
  const format = historyFormat();
  const keyName = `s${sessions}-seed${seed}-${format}`;
  const key = join(root, keyName);
  if (o.fresh === true) rmSync(key, { recursive: true, force: true });
  const found = readMeta(join(key, String(o.events)));
  if (found !== undefined) return found;

  mkdirSync(key, { recursive: true });
  for (const other of readdirSync(root)) {
    const dir = join(root, other);
    if (other !== keyName && KEY_PATTERN.test(other) && Date.now() - statSync(dir).mtimeMs > PRUNE_AFTER_MS) rmSync(dir, { recursive: true, force: true });
  }
  const prefix = readdirSync(key)
    .filter((d) => /^\d+$/.test(d) && Number(d) < o.events && existsSync(metaFile(join(key, d))))
    .map(Number)
    .sort((a, b) => b - a)[0];
  const partial = join(key, `${o.events}.partial`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const started = performance.now();
  if (prefix !== undefined) {
    o.onProgress?.(`continuing the cached ${prefix.toLocaleString('en')}-event history`);
    cpSync(join(key, String(prefix), 'data'), join(partial, 'data'), { recursive: true });
  }
  const result = await buildInChild(join(partial, 'data'), o.events, sessions, seed, o.onProgress);
  const meta = { ...result, format, buildSeconds: (performance.now() - started) / 1000, builtAt: new Date().toISOString() };
  writeFileSync(metaFile(partial), `${JSON.stringify(meta, null, 2)}\n`);
  const final = join(key, String(o.events));
  rmSync(final, { recursive: true, force: true });
  renameSync(partial, final);
  return { ...meta, dataDir: join(final, 'data'), built: true };
}
