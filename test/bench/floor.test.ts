import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPipeline } from '../../bench/embedded-throughput.ts';
import { runFloor } from '../../bench/floor.ts';
import { generateWorkload } from '../../bench/workload.ts';
import { loadPriceTable } from '../../src/events/price-table.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';

describe('bench floor (each mandatory part alone)', () => {
  const prices = loadPriceTable();
  const { lines } = generateWorkload({ events: 4_000, sessions: 50, seed: 7 });

  it('measures decode, append, fold and span encoding on the workload, and the ceiling their sum leaves', async () => {
    const emitted: TurnAggregate[] = [];
    await runPipeline({ lines, batchSize: 500, prices, telemetry: 'none', onAggregate: (a) => emitted.push(a) });
    assert.ok(emitted.length > 100, `the pipeline emitted ${emitted.length} aggregates`);
    const f = await runFloor({ lines, aggregates: emitted, batchSize: 500, prices, runs: 1, cores: 2 });
    assert.deepEqual(
      f.rows.map((r) => r.part.split(':')[0]),
      ['decode', 'append', 'fold', 'spans'],
    );
    for (const r of f.rows) assert.ok(Number.isFinite(r.usPerEvent) && r.usPerEvent > 0, `${r.part}: ${r.usPerEvent}`);
    const sum = f.rows.reduce((s, r) => s + r.usPerEvent, 0);
    assert.ok(Math.abs(f.sumUs - sum) < 1e-9);
    assert.ok(Math.abs(f.ceiling - 2e6 / sum) < 1e-6);
    assert.match(f.rows[3]!.notes, new RegExp(`^${emitted.length.toLocaleString('en')} aggregates`));
  });

  it('refuses a workload with a line that does not decode, naming it', async () => {
    const bad = [...lines.slice(0, 10), '{"v":1,"type":"nope"}', ...lines.slice(10, 20)];
    await assert.rejects(runFloor({ lines: bad, aggregates: [], batchSize: 500, prices, runs: 1, cores: 2 }), /workload line 11 does not decode/);
  });
});
