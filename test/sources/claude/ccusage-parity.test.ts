import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPriceTable } from '../../../src/events/price-table.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../../../src/pipeline/open-embedded-pipeline.ts';
import { importClaude, type ImportClaudeResult } from '../../../src/sources/claude/import-claude.ts';
import { ingestorSink } from '../../../src/sources/claude/ingestor-sink.ts';
import type { SessionTotals } from '../../../src/model/session-totals.ts';
import type { TurnAggregate } from '../../../src/model/turn-aggregate.ts';
import type { TurnRecord } from '../../../src/model/turn-record.ts';

/**
 * The importer against ccusage (the tool Claude Code users run today) on real transcripts:
 * ../shared/fixtures/external, imported through the whole embedded pipeline (ingest → log →
 * turn windows → session totals). ccusage's numbers were recorded once (ccusage-sessions.json
 * says how); the test does not need ccusage installed.
 */
const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/external/', import.meta.url));
const claudeParser = join(fixtures, 'claude-parser-3a7770b4.jsonl');

interface CcusageSession {
  sessionId: string;
  inputTokens: number;
  outputTokens: number;
  cacheCreationTokens: number;
  cacheReadTokens: number;
  totalCost: number;
  modelBreakdowns: { modelName: string; inputTokens: number; outputTokens: number; cacheCreationTokens: number; cacheReadTokens: number; cost: number }[];
}
const expected = JSON.parse(readFileSync(new URL('./ccusage-sessions.json', import.meta.url), 'utf8')) as {
  version: string;
  ccusage: { sessions: CcusageSession[] };
};

const prices = createPriceTable();

interface Imported {
  result: ImportClaudeResult;
  totals: Map<string, SessionTotals>;
  turns: (session: string) => Promise<TurnRecord[]>;
  /** Latest aggregate of every turn, with its LLM calls (the store keeps only the totals). */
  aggregates: Map<string, TurnAggregate>;
  pipeline: EmbeddedPipeline;
}

async function importInto(dataDir: string, roots: string[]): Promise<Imported> {
  const aggregates = new Map<string, TurnAggregate>();
  const pipeline = await openEmbeddedPipeline({ dataDir, prices, onAggregate: (a) => aggregates.set(`${a.session}/${a.turn}`, a) });
  const result = await importClaude({ roots, sink: ingestorSink(pipeline.ingestor, { target: dataDir }), prices });
  await pipeline.pump.idle();
  const totals = new Map((await pipeline.store.state.sessions()).map((s) => [s.session, s.totals]));
  return { result, totals, turns: (s) => pipeline.store.state.turns(s), aggregates, pipeline };
}

describe(`import of real Claude Code transcripts: parity with ccusage ${expected.version}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-claude-parity-'));
  let first: Imported;
  before(async () => {
    first = await importInto(join(dir, 'store'), [fixtures]);
  });
  after(async () => {
    await first.pipeline.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports every file without skipping a line, and the pipeline accepts every event', () => {
    const { stats, sent } = first.result;
    assert.equal(stats.files, 9);
    assert.deepEqual(Object.fromEntries(stats.skipped), {});
    assert.equal(sent.rejected, 0);
    // spotter-agent-acompact-e1f845.jsonl is a byte-identical copy of a subagent file: its 3 events repeat.
    assert.equal(sent.duplicate, 3);
  });

  for (const cc of expected.ccusage.sessions) {
    it(`session ${cc.sessionId}: input / output / cache read / cache write tokens EQUAL ccusage's, cost within $0.01`, () => {
      const t = first.totals.get(cc.sessionId);
      assert.ok(t, `no totals for ${cc.sessionId}`);
      assert.deepEqual(
        { input: t.inputTokens, output: t.outputTokens, cacheRead: t.cacheReadTokens, cacheWrite: t.cacheWriteTokens },
        { input: cc.inputTokens, output: cc.outputTokens, cacheRead: cc.cacheReadTokens, cacheWrite: cc.cacheCreationTokens },
      );
      assert.ok(Math.abs(t.cost - cc.totalCost) < 0.01, `cost ${t.cost} vs ccusage ${cc.totalCost}`);
    });

    it(`session ${cc.sessionId}: per model, tokens equal and cost within $0.0001 (same rates)`, async () => {
      const byModel = new Map<string, { input: number; output: number; cacheRead: number; cacheWrite: number; cost: number }>();
      for (const turn of await first.turns(cc.sessionId)) {
        for (const m of turn.models) {
          const x = byModel.get(m.model) ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };
          x.input += m.inputTokens;
          x.output += m.outputTokens;
          x.cacheRead += m.cacheReadTokens;
          x.cacheWrite += m.cacheWriteTokens;
          x.cost += m.cost;
          byModel.set(m.model, x);
        }
      }
      assert.deepEqual([...byModel.keys()].sort(), cc.modelBreakdowns.map((b) => b.modelName).sort());
      for (const b of cc.modelBreakdowns) {
        const x = byModel.get(b.modelName)!;
        assert.deepEqual(
          { input: x.input, output: x.output, cacheRead: x.cacheRead, cacheWrite: x.cacheWrite },
          { input: b.inputTokens, output: b.outputTokens, cacheRead: b.cacheReadTokens, cacheWrite: b.cacheCreationTokens },
          b.modelName,
        );
        assert.ok(Math.abs(x.cost - b.cost) < 0.0001, `${b.modelName}: ${x.cost} vs ${b.cost}`);
      }
    });
  }

  it('prices 1-hour cache writes at 2× input: session 8463c716 by hand (all of its cache writes are 1-hour)', async () => {
    // claude-opus-4-6 ($5 in, $25 out, $0.50 read, $10 1h-write per million) and claude-haiku-4-5 ($1, $5, $0.10, $2),
    // token counts from the transcript (each call once, last line). ccusage 18 priced these writes at the 5-minute rate.
    const opus = (2484 * 5 + 40326 * 25 + 15907654 * 0.5 + 263265 * 10) / 1e6;
    const haiku = (94 * 1 + 33 * 5 + 299487 * 0.1 + 13554 * 2) / 1e6;
    assert.ok(Math.abs(first.totals.get('8463c716-a2ea-4c14-9efa-87158ebd9f20')!.cost - (opus + haiku)) < 1e-9);
    const writes5mRate = (2484 * 5 + 40326 * 25 + 15907654 * 0.5 + 263265 * 6.25 + 94 * 1 + 33 * 5 + 299487 * 0.1 + 13554 * 1.25) / 1e6;
    assert.ok(Math.abs(opus + haiku - writes5mRate - 0.99740925) < 1e-9, 'pricing them at the 5-minute rate would miss $0.997 in this session');
  });

  it('matches SOURCES.md: claude-parser counts each (message id, request id) once with its LAST line', async () => {
    const t = first.totals.get('3a7770b4-aba3-46dd-b677-8fc2d71d4e06')!;
    assert.deepEqual([t.inputTokens, t.outputTokens, t.cacheWriteTokens, t.cacheReadTokens, t.llmCalls], [124, 2759, 19486, 404173, 24]);
  });

  it('matches SOURCES.md: the spotter compaction subagent (output 8 is what the file holds), attributed to its parent session', async () => {
    const turn = [...first.aggregates.values()].find(
      (t) =>
        t.session === '4d5611e5-241a-462a-8d15-5122611a9569' &&
        t.llm.some((c) => c.eventId === 'claude:call:msg_013a13makKr7N19Xg6cuFoeK:req_011CY4okeNwhQs1MrQfrJFKH'),
    );
    assert.ok(turn, 'the compaction call is in a turn of the parent session');
    assert.equal(turn.llmCalls, 1);
    const call = turn.llm[0]!;
    assert.deepEqual([call.inputTokens, call.outputTokens, call.cacheWriteTokens, call.cacheReadTokens, call.model], [3, 8, 8681, 164830, 'claude-opus-4-6']);
    assert.ok(Math.abs(call.cost - (3 * 5 + 8 * 25 + 8681 * 6.25 + 164830 * 0.5) / 1e6) < 1e-12, 'all of its cache writes are 5-minute ones');
  });

  it('tool calls per turn and their names follow the transcript; failed tool results are errors', async () => {
    // Independently of the importer: tool_use names between typed prompts, in file order.
    const expectedTurns: string[][] = [];
    let errors = 0;
    for (const line of readFileSync(claudeParser, 'utf8')
      .split('\n')
      .filter((l) => l !== '')) {
      const o = JSON.parse(line) as { type: string; isMeta?: boolean; message?: { content?: unknown } };
      const content = o.message?.content;
      if (o.type === 'user' && !o.isMeta && typeof content === 'string' && !content.startsWith('<bash-')) expectedTurns.push([]);
      if (!Array.isArray(content)) continue;
      for (const b of content as { type: string; name?: string; is_error?: boolean }[]) {
        if (o.type === 'assistant' && b.type === 'tool_use') expectedTurns.at(-1)!.push(b.name!);
        if (b.type === 'tool_result' && b.is_error === true) errors++;
      }
    }
    const turns = await first.turns('3a7770b4-aba3-46dd-b677-8fc2d71d4e06');
    assert.deepEqual(
      turns.map((t) => t.toolNames),
      expectedTurns,
    );
    assert.deepEqual(
      turns.map((t) => t.status),
      turns.map(() => 'completed'),
    );
    assert.equal(first.totals.get('3a7770b4-aba3-46dd-b677-8fc2d71d4e06')!.errors, errors);
    assert.equal(errors, 15);
  });

  it('importing again adds nothing: every event is a duplicate, totals unchanged', async () => {
    const before = new Map(first.totals);
    const result = await importClaude({ roots: [fixtures], sink: ingestorSink(first.pipeline.ingestor, { target: 'again' }), prices });
    await first.pipeline.pump.idle();
    assert.equal(result.sent.accepted, 0);
    assert.equal(result.sent.duplicate, result.stats.eventTotal);
    const after = new Map((await first.pipeline.store.state.sessions()).map((s) => [s.session, s.totals]));
    assert.deepEqual(after, before);
    assert.equal((await first.pipeline.store.deadLetters.countByReason()).late, undefined, 'no event came too late for its turn');
  });
});
