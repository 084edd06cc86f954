/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): top functions by self time, self time
 * grouped by file (turnstream src files by name, dependencies by package), and optionally the
 * inclusive (self + callees) time of named functions.
 *
 *   node bench/summarize-cpu-profile.ts <file.cpuprofile> [--top 30] [--inclusive fnA,fnB,…]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  readonly name: string;
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

/** Groups a script URL: `src/…` and `bench/…` files by path, dependencies by package name. */
function groupOf(url: string): string {
  if (url === '') return '(native / VM)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.search(/\/(src|bench)\//);
  if (src >= 0) return url.slice(src + 1);
  if (url.startsWith('node:')) return url;
  return url;
}

export function summarizeProfile(profile: CpuProfile, top: number): { totalMs: number; functions: ProfileRow[]; groups: ProfileRow[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let totalUs = 0;
  for (const us of selfUs.values()) totalUs += us;
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const grp = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const where = url === '' ? '' : `${groupOf(url)}:${lineNumber + 1}`;
    const key = `${name}@${where}`;
    const row = fn.get(key) ?? { name, where, us: 0 };
    row.us += us;
    fn.set(key, row);
    const g = groupOf(url);
    grp.set(g, (grp.get(g) ?? 0) + us);
  }
  const pct = (us: number): number => (100 * us) / totalUs;
  const functions = [...fn.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((r) => ({ name: r.name, where: r.where, selfMs: r.us / 1000, selfPct: pct(r.us) }));
  const groups = [...grp.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([g, us]) => ({ name: g, where: '', selfMs: us / 1000, selfPct: pct(us) }));
  return { totalMs: totalUs / 1000, functions, groups };
}

/**
 * Inclusive time of each named function: a sample counts for a name when that function is on the
 * sample's stack (once, however deep the recursion).
 */
export function inclusiveTimes(profile: CpuProfile, names: readonly string[]): ProfileRow[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const wanted = new Set(names);
  const us = new Map<string, number>(names.map((n) => [n, 0]));
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const name = byId.get(id)?.callFrame.functionName ?? '';
      if (wanted.has(name) && !seen.has(name)) {
        seen.add(name);
        us.set(name, us.get(name)! + dt);
      }
    }
  }
  return names.map((name) => ({ name, where: '', selfMs: us.get(name)! / 1000, selfPct: (100 * us.get(name)!) / totalUs }));
}

function main(argv: readonly string[]): void {
  const file = argv[0];
  if (file === undefined) {
    process.stderr.write('usage: node bench/summarize-cpu-profile.ts <file.cpuprofile> [--top N]\n');
    process.exitCode = 2;
    return;
  }
  const topIndex = argv.indexOf('--top');
  const top = topIndex >= 0 ? Number(argv[topIndex + 1]) : 30;
  const s = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, top);
  const line = (r: ProfileRow): string =>
    `${r.selfPct.toFixed(1).padStart(5)} %  ${r.selfMs.toFixed(0).padStart(7)} ms  ${r.name}${r.where === '' ? '' : `  (${r.where})`}`;
  process.stdout.write(`profile: ${s.totalMs.toFixed(0)} ms sampled\n\nTop functions by self time:\n`);
  for (const r of s.functions) process.stdout.write(`${line(r)}\n`);
  process.stdout.write('\nSelf time by file / package:\n');
  for (const r of s.groups) process.stdout.write(`${line(r)}\n`);
  const incIndex = argv.indexOf('--inclusive');
  if (incIndex >= 0) {
    process.stdout.write('\nInclusive time (self + callees):\n');
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    for (const r of inclusiveTimes(profile, (argv[incIndex + 1] ?? '').split(','))) process.stdout.write(`${line(r)}\n`);
  }
}

if (import.meta.main) main(process.argv.slice(2));
