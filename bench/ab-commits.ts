/**
 * Interleaved A/B of two versions of the code, end to end (the embedded pipeline, OTLP spans to a
 * local sink, `--clients` producers): is a change faster, on a machine whose speed moves by more
 * than most changes are worth from one hour to the next?
 *
 *   node --expose-gc bench/ab-commits.ts --base <git revision> [--head <revision>] [--pairs 6]
 *                                        [--events 300000] [--runs 2] [--clients 4]
 *
 * `--base` (and `--head`, default: this checkout as it is, uncommitted changes included) are
 * checked out into temporary git worktrees. Each pair runs both versions back to back, each in a
 * fresh process (one warm-up run, then `--runs` measured), alternating which goes first, and the
 * verdict averages the two orders (see `ab-summary.ts`: here the second process of a pair tends to
 * be the faster one). Prints each order's means of events/s and of the whole process's CPU µs per
 * event, how many pairs the head won, and the overall change.
 *
 * A side is run with this checkout's runner (`--run` below) on that side's `bench/workload.ts`,
 * `bench/embedded-throughput.ts` and price table, so any revision with those files compares.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { abVerdict, pairOrder, type Side, type SideResult } from './ab-summary.ts';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string' },
    pairs: { type: 'string', default: '6' },
    events: { type: 'string', default: '300000' },
    runs: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    run: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const USAGE = `usage: node --expose-gc bench/ab-commits.ts --base <revision> [options]

Is a change faster end to end? Runs pairs of fresh processes, one per version, alternating which
goes first (on a noisy machine the second of a pair tends to be faster), and averages both orders.

  --base REV      the version to compare against (any git revision: HEAD~1, main, a1b2c3d)
  --head REV      the version under test (default: this checkout, uncommitted changes included)
  --pairs N       pairs of processes, half of them base first (default 6)
  --events N      workload events per run (default 300,000)
  --runs N        measured runs per process, after one warm-up (default 2)
  --clients N     concurrent producers (default 4)

example: node --expose-gc bench/ab-commits.ts --base HEAD~1 --pairs 8`;
const events = Number(values.events);
const runs = Number(values.runs);
const clients = Number(values.clients);

if (values.help === true) process.stdout.write(`${USAGE}\n`);
else if (values.run !== undefined) await runSide(values.run);
else
  await main().catch((error: unknown) => {
    process.stderr.write(`ab-commits: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });

/** One process: the side checked out at `tree`, one warm-up run, then `runs` measured; one JSON line. */
async function runSide(tree: string): Promise<void> {
  const from = (path: string) => import(pathToFileURL(join(tree, path)).href);
  const { generateWorkload } = await from('bench/workload.ts');
  const { runPipeline } = await from('bench/embedded-throughput.ts');
  const { loadPriceTable } = await from('src/events/price-table.ts');
  const { lines } = generateWorkload({ events });
  const prices = loadPriceTable();
  const rates: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const before = process.cpuUsage();
    const s = await runPipeline({ lines, batchSize: 2000, prices, telemetry: 'otlp', clients });
    const used = process.cpuUsage(before);
    if (i === 0) continue; // warm-up
    rates.push(Math.round(s.count / s.seconds));
    cpu.push((used.user + used.system) / s.count);
  }
  process.stdout.write(`${JSON.stringify({ rates, cpuUsPerEvent: cpu })}\n`);
}

async function main(): Promise<void> {
  if (values.base === undefined) {
    process.stderr.write(`--base <revision> is required\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const pairs = Number(values.pairs);
  if (!Number.isInteger(pairs) || pairs < 2) throw new Error('--pairs takes an integer ≥ 2 (half run base first, half head first)');
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const trees: string[] = [];
  const checkout = (rev: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-ab-'));
    try {
      execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', '--force', dir, rev], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      const why = String((error as { stderr?: Buffer }).stderr ?? error).trim();
      throw new Error(`cannot check out "${rev}" (a git revision of ${repo}): ${why}`);
    }
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    trees.push(dir);
    return dir;
  };
  try {
    const tree: Record<Side, string> = { base: checkout(values.base), head: values.head === undefined ? repo : checkout(values.head) };
    const results: SideResult[] = [];
    for (const [i, order] of pairOrder(pairs).entries()) {
      for (const side of order) {
        const child = spawnSync(
          process.execPath,
          [
            '--expose-gc',
            fileURLToPath(import.meta.url),
            '--run',
            tree[side],
            '--events',
            String(events),
            '--runs',
            String(runs),
            '--clients',
            String(clients),
          ],
          { encoding: 'utf8' },
        );
        const line = child.stdout.split('\n').find((l) => l.startsWith('{"rates"'));
        if (child.status !== 0 || line === undefined) throw new Error(`the ${side} run failed (${child.status}): ${child.stderr.slice(-2000)}`);
        const r = JSON.parse(line) as { rates: number[]; cpuUsPerEvent: number[] };
        results.push({ side, first: order[0], ...r });
        process.stderr.write(`[ab] pair ${i + 1}/${pairs} ${side}: ${r.rates.join(', ')} events/s\n`);
      }
    }
    report(results, pairs);
  } finally {
    for (const dir of trees) {
      execFileSync('git', ['-C', repo, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function report(results: readonly SideResult[], pairs: number): void {
  const v = abVerdict(results);
  const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;
  const head = values.head ?? 'this checkout';
  process.stdout.write(`\nbase ${values.base} vs head ${head}: ${pairs} pairs, ${events.toLocaleString('en')} events, ${runs} runs a process\n`);
  process.stdout.write('first  pairs  base events/s  head events/s  change   base CPU µs/ev  head CPU µs/ev  change   head faster\n');
  for (const o of v.byOrder) {
    process.stdout.write(
      `${o.first.padEnd(5)}  ${String(o.pairs).padStart(5)}  ${k(o.base.rate).padStart(13)}  ${k(o.head.rate).padStart(13)}  ${signed(o.rateChangePct).padStart(7)}  ${o.base.cpu.toFixed(1).padStart(14)}  ${o.head.cpu.toFixed(1).padStart(14)}  ${signed(o.cpuChangePct).padStart(7)}  ${o.headFaster}/${o.pairs}\n`,
    );
  }
  process.stdout.write(`both orders: events/s ${signed(v.rateChangePct)}, CPU per event ${signed(v.cpuChangePct)}\n`);
}
