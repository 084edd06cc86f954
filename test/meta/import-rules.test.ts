import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findCycles, folderOf, importGraph, type ImportEdge } from '../helpers/import-graph.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const edges = importGraph(root);
const inSrc = (e: ImportEdge): boolean => e.to.startsWith('src/');

/** Edges from files matching `from` to targets matching `to`, as readable lines (the violations). */
function violations(from: RegExp, to: (e: ImportEdge) => boolean): string[] {
  return edges.filter((e) => from.test(e.from) && to(e)).map((e) => `${e.from} → ${e.to}`);
}

function graphOf(key: (path: string) => string | undefined): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const e of edges.filter(inSrc)) {
    const a = key(e.from);
    const b = key(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a)!.add(b);
  }
  return graph;
}

/**
 * The import rules of DESIGN.md §3, checked on every run (this is CI's import check). A regex
 * reader of import lines rather than dependency-cruiser: that needs the TypeScript ≤ 6 compiler
 * API, and this project type-checks with TypeScript 7, whose API is not published yet.
 */
describe('import rules (DESIGN.md §3)', () => {
  it('finds the imports it checks (guards the reader itself)', () => {
    assert.ok(edges.length > 300, `only ${edges.length} imports found in src/`);
    assert.ok(edges.some((e) => e.from === 'src/streams/window-turns.ts' && e.to === 'rxjs'));
  });

  it('no folder under src/ imports a folder that imports it back', () => {
    assert.deepEqual(
      findCycles(graphOf(folderOf)).map((c) => c.join(' → ')),
      [],
    );
  });

  it('no module import cycles in src/', () => {
    assert.deepEqual(
      findCycles(graphOf((p) => p)).map((c) => c.join(' → ')),
      [],
    );
  });

  it('src/ never imports test/ or bench/', () => {
    assert.deepEqual(
      violations(/^src\//, (e) => /^(test|bench)\//.test(e.to)),
      [],
    );
  });

  it('the model is a leaf: it imports nothing of ours', () => {
    assert.deepEqual(
      violations(/^src\/model\//, (e) => inSrc(e) && !e.to.startsWith('src/model/')),
      [],
    );
  });

  it('the streams never touch Kafka, SQLite, the OTel SDK, the exporters or the CLI', () => {
    const forbidden = (e: ImportEdge): boolean =>
      /^src\/(log|state|pipeline|kafka|exporters|sources|replay|cli|client)\//.test(e.to) || /^(kafkajs|node:sqlite|@opentelemetry\/sdk-)/.test(e.to);
    assert.deepEqual(violations(/^src\/streams\//, forbidden), []);
  });

  it('storage adapters (log, state) know nothing of the pipeline, streams, replay, sources, exporters or CLI', () => {
    assert.deepEqual(
      violations(/^src\/(log|state)\//, (e) => /^src\/(pipeline|streams|replay|sources|exporters|cli)\//.test(e.to)),
      [],
    );
  });

  it('nothing but the CLI imports the CLI (it is the composition root)', () => {
    assert.deepEqual(
      violations(/^src\/(?!cli\/)/, (e) => e.to.startsWith('src/cli/')),
      [],
    );
  });
});
