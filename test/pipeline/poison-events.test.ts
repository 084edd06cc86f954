import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPriceTable } from '../../src/events/price-table.ts';
import { parseLoggedEvent } from '../../src/events/parse-logged-event.ts';
import type { LoggedEvent } from '../../src/events/step-event.ts';
import { openEmbeddedPipeline, type EmbeddedPipeline } from '../../src/pipeline/open-embedded-pipeline.ts';
import { openEmbeddedStore } from '../../src/state/open-embedded-store.ts';

const prices = createPriceTable();
const deep = (d: number): string => '['.repeat(d) + ']'.repeat(d);
const at = (min: number): string => new Date(Date.UTC(2026, 2, 2, 10, min)).toISOString();

/** A complete turn worth `cost` USD and 100/50 tokens. */
function turn(session: string, t: string, min: number, cost: number): string[] {
  return [
    `{"v":1,"id":"${session}-${t}-a","type":"turn.start","session":"${session}","turn":"${t}","time":"${at(min)}"}`,
    `{"v":1,"id":"${session}-${t}-b","type":"llm.usage","session":"${session}","turn":"${t}","time":"${at(min)}","provider":"anthropic","model":"claude-sonnet-4","inputTokens":100,"outputTokens":50,"cost":${cost}}`,
    `{"v":1,"id":"${session}-${t}-c","type":"turn.end","session":"${session}","turn":"${t}","time":"${at(min + 1)}"}`,
  ];
}

/**
 * Events an older store may hold, logged before the decoder's limits existed (or damaged): each
 * one must be dead-lettered as processing_error without stopping anything.
 */
const HOSTILE: Record<string, string> = {
  // Issue 9 item 1: JSON.stringify of this value overflows the stack in the state commit.
  'deep-1': `{"v":1,"id":"deep-1","type":"state.set","session":"s1","time":"${at(2)}","key":"k","value":${deep(5000)}}`,
  // Item 4: 1e309 parses to Infinity; totals would become null in JSON.
  'inf-1': `{"v":1,"id":"inf-1","type":"llm.usage","session":"s1","turn":"t9","time":"${at(3)}","provider":"anthropic","model":"claude-sonnet-4","inputTokens":1e309,"outputTokens":1}`,
  // Passes the screen, then throws in the windows' pricing (no model): the operator-error path.
  'nomodel-1': `{"v":1,"id":"nomodel-1","type":"llm.usage","session":"s3","turn":"t1","time":"${at(4)}","provider":"anthropic","inputTokens":5,"outputTokens":5}`,
  // Passes the screen and the operators, then fails the state commit (no value to bind).
  'novalue-1': `{"v":1,"id":"novalue-1","type":"state.set","session":"s3","time":"${at(4)}","key":"x"}`,
  // Not JSON at all (a damaged row).
  'junk-1': 'this is not json {',
};

async function appendRaw(dataDir: string, raws: readonly { id: string; raw: string }[]): Promise<void> {
  const store = openEmbeddedStore({ dataDir });
  try {
    await store.log.append(raws.map(({ id, raw }) => ({ event: { id, session: 'x' } as never, raw })));
  } finally {
    store.close();
  }
}

async function processingErrors(p: EmbeddedPipeline): Promise<string[]> {
  return (await p.store.deadLetters.list({ reason: 'processing_error', limit: 1000 })).map((l) => l.eventId ?? l.raw).sort();
}

describe('no poison pill: a logged event that cannot be processed is dead-lettered and skipped', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('a store holding hostile events starts, aggregates the others exactly, dead-letters each once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-poison-'));
    dirs.push(dataDir);
    const good = [...turn('s1', 't1', 0, 0.5), ...turn('s3', 't1', 0, 0.25)];
    const raws = [
      ...good.slice(0, 2).map((raw) => ({ id: JSON.parse(raw).id as string, raw })),
      ...Object.entries(HOSTILE).map(([id, raw]) => ({ id, raw })),
      ...good.slice(2).map((raw) => ({ id: JSON.parse(raw).id as string, raw })),
    ];
    await appendRaw(dataDir, raws);

    const p = await openEmbeddedPipeline({ dataDir, prices });
    try {
      assert.deepEqual(p.health().ok, true, JSON.stringify(p.health()));
      assert.equal(p.processor.committedPosition, raws.length, 'processed to the head of the log');
      const s1 = await p.store.state.totals('s1');
      const s3 = await p.store.state.totals('s3');
      assert.equal(s1?.cost, 0.5);
      assert.equal(s1?.inputTokens, 100);
      assert.equal(s1?.turns, 1);
      assert.equal(s3?.cost, 0.25);
      assert.equal(s3?.inputTokens, 100, 'the usage event without a model counted nothing');
      assert.equal(s3?.turns, 1);
      assert.equal(await p.store.state.get('s1', 'k'), undefined, 'the deep value was not stored');
      const letters = await p.store.deadLetters.list({ reason: 'processing_error', limit: 100 });
      assert.deepEqual(
        letters.map((l) => l.eventId ?? l.raw).sort(),
        ['deep-1', 'inf-1', 'junk-1', 'nomodel-1', 'novalue-1'].map((id) => (id === 'junk-1' ? HOSTILE[id]! : id)).sort(),
      );
      for (const l of letters) {
        assert.ok(l.message.length > 0, 'the letter says why');
        if (l.eventId !== undefined) assert.equal(l.raw, HOSTILE[l.eventId], 'the letter keeps the stored text');
      }
      assert.match(letters.find((l) => l.eventId === 'deep-1')!.message, /nested deeper/);
      assert.match(letters.find((l) => l.eventId === 'inf-1')!.message, /inputTokens/);
      assert.match(letters.find((l) => l.eventId === 'novalue-1')!.message, /cannot be bound|bound/i);
    } finally {
      await p.close();
    }

    // Exactly once: a restart neither dead-letters them again nor counts anything twice.
    const again = await openEmbeddedPipeline({ dataDir, prices });
    try {
      assert.equal((await processingErrors(again)).length, 5);
      assert.equal((await again.store.state.totals('s1'))?.cost, 0.5);
      assert.equal((await again.store.state.totals('s3'))?.cost, 0.25);
      assert.equal(again.health().ok, true);
    } finally {
      await again.close();
    }
  });

  it('while running: a hostile event between good ones in one live batch is skipped, the pipeline goes on', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'turnstream-poison-live-'));
    dirs.push(dataDir);
    const p = await openEmbeddedPipeline({ dataDir, prices });
    try {
      const [a, b, c] = turn('s5', 't1', 0, 1);
      // Item 2: an hour behind the newest event, for a turn closed long ago, with a deep unknown field.
      const late = `{"v":1,"id":"late-deep","type":"tool.start","session":"s5","turn":"t1","time":"${at(0)}","toolCallId":"c","toolName":"x","extra":${deep(5000)}}`;
      const newest = turn('s6', 't1', 60, 2);
      const raws = [a!, b!, c!, ...newest, late, HOSTILE['novalue-1']!.replaceAll('s3', 's6').replace('novalue-1', 'novalue-2'), ...turn('s6', 't2', 61, 3)];
      const outcomes = await p.store.log.append(
        raws.map((raw) => ({ event: { id: JSON.parse(raw.replace(deep(5000), '0')).id, session: 'x' } as never, raw })),
      );
      const logged: LoggedEvent[] = outcomes.map((o, i) => {
        assert.equal(o.status, 'appended');
        return { pos: (o as { pos: number }).pos, event: parseLoggedEvent(raws[i]!) };
      });
      p.pump.push(logged);
      await p.pump.idle();
      assert.equal(p.health().ok, true, JSON.stringify(p.health()));
      assert.equal(p.processor.committedPosition, logged.at(-1)!.pos);
      assert.equal((await p.store.state.totals('s5'))?.cost, 1);
      assert.equal((await p.store.state.totals('s6'))?.cost, 5);
      assert.equal((await p.store.state.totals('s6'))?.turns, 2);
      assert.deepEqual(await processingErrors(p), ['late-deep', 'novalue-2']);
      // And later events still flow.
      const more = turn('s7', 't1', 62, 4);
      const res = await p.ingestor.ingest(more, 'test');
      assert.deepEqual(
        res.map((r) => r.status),
        ['accepted', 'accepted', 'accepted'],
      );
      await p.pump.idle();
      assert.equal((await p.store.state.totals('s7'))?.cost, 4);
    } finally {
      await p.close();
    }
  });
});
