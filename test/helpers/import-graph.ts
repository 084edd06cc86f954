import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** One import of a source file: the module it names (resolved to a repo path when relative). */
export interface ImportEdge {
  readonly from: string;
  readonly to: string;
}

// Static imports and re-exports (`import … from 'x'`, `import 'x'`, `export … from 'x'`) and
// dynamic `import('x')`. The tree is type-checked with verbatimModuleSyntax, so every dependency is
// one of these forms; string literals only (no computed specifiers in src/).
const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Every import of every `.ts` file under `root/dir`, with relative specifiers resolved to paths
 * relative to `root` (`src/model/turn-record.ts`) and package specifiers kept as written.
 * Comments are not stripped, so a commented-out import still counts (there should be none).
 */
export function importGraph(root: string, dir = 'src'): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(join(root, dir))) {
    const from = relative(root, file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      edges.push({ from, to: spec.startsWith('.') ? relative(root, resolve(dirname(file), spec)) : spec });
    }
  }
  return edges;
}

/** The folder of a source path one level under src (`src/model/x.ts` → `model`; `src/errors.ts` → `errors.ts`). */
export function folderOf(path: string): string | undefined {
  const m = /^src\/([^/]+)/.exec(path);
  return m?.[1];
}

/** The cycles of a directed graph (each as a node list, first node repeated at the end), by DFS. */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const next of graph.get(n) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (state.get(n) === undefined) visit(n);
  return cycles;
}
