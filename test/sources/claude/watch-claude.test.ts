import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createPriceTable } from '../../../src/events/price-table.ts';
import { openEmbeddedPipeline } from '../../../src/pipeline/open-embedded-pipeline.ts';
import type { EventSink } from '../../../src/sources/claude/event-sink.ts';
import { importClaude } from '../../../src/sources/claude/import-claude.ts';
import { ingestorSink } from '../../../src/sources/claude/ingestor-sink.ts';
import type { OutgoingEvent } from '../../../src/sources/claude/mapped-event.ts';
import { watchClaude } from '../../../src/sources/claude/watch-claude.ts';

const external = fileURLToPath(new URL('../../../../shared/fixtures/external/', import.meta.url));
const lines = readFileSync(join(external, 'claude-parser-3a7770b4.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '');
const SESSION = '3a7770b4-aba3-46dd-b677-8fc2d71d4e06';

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('watchClaude', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnstream-watch-claude-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('follows appended lines (a partial line waits for its newline) and new files, into the live pipeline', async () => {
    const root = join(dir, 'projects');
    const project = join(root, '-home-me-parser');
    mkdirSync(project, { recursive: true });
    const file = join(project, `${SESSION}.jsonl`);
    writeFileSync(file, `${lines.slice(0, 54).join('\n')}\n`); // three turns, then the 4th prompt

    // The transcript is from 2025: run the watcher's clock from just after the line appended first below.
    let t0 = Date.now();
    let base = Date.parse('2025-08-24T04:20:15.000Z');
    const now = (): number => base + (Date.now() - t0);
    const setClock = (iso: string): void => {
      t0 = Date.now();
      base = Date.parse(iso);
    };

    const prices = createPriceTable();
    const pipeline = await openEmbeddedPipeline({ dataDir: join(dir, 'store'), prices });
    const seen: OutgoingEvent[] = [];
    const store = ingestorSink(pipeline.ingestor, { target: 'store' });
    const sink: EventSink = {
      target: 'store',
      send: async (events) => {
        seen.push(...events);
        return store.send(events);
      },
    };
    const controller = new AbortController();
    let ready = false;
    const errors: Error[] = [];
    const watching = watchClaude({
      roots: [root],
      sink,
      prices,
      signal: controller.signal,
      now,
      quietMs: 300,
      pollIntervalMs: 50,
      rescanIntervalMs: 100,
      onReady: () => (ready = true),
      onError: (e) => errors.push(e),
    });
    const calls = (): Extract<OutgoingEvent, { type: 'llm.usage' }>[] =>
      seen.filter((e): e is Extract<OutgoingEvent, { type: 'llm.usage' }> => e.type === 'llm.usage');
    try {
      await follow();
    } finally {
      controller.abort(); // a failed assertion must not leave the watcher's timer running
      await watching;
      await pipeline.close();
    }

    async function follow(): Promise<void> {
      await waitFor('the existing transcript', () => ready);
      assert.equal(seen.filter((e) => e.type === 'turn.end').length, 3);
      assert.equal(calls().length, 13);

      // The first content block of the next API call, and half of its second line.
      const half = Math.floor(lines[55]!.length / 2);
      appendFileSync(file, `${lines[54]}\n${lines[55]!.slice(0, half)}`);
      await waitFor('the first line of the call, sent once the file went quiet', () => calls().some((c) => c.id.includes('R1aKKzVj')));
      const placeholder = calls().find((c) => c.id.includes('R1aKKzVj'))!;
      assert.equal(placeholder.outputTokens, 2, 'what the file said so far: the streaming placeholder');
      assert.ok(!seen.some((e) => e.type === 'tool.start' && e.toolName === 'TodoWrite'), 'the half-written line is not read');

      setClock('2025-08-24T04:23:37.000Z'); // Claude Code took 3.5 minutes to write the rest
      appendFileSync(file, `${lines[55]!.slice(half)}\n${lines.slice(56).join('\n')}\n`);
      await waitFor('the last call', () => calls().some((c) => c.id.includes('AQvbujNW')));
      const continued = calls().filter((c) => c.attrs?.['claude.continued'] === true);
      assert.deepEqual(
        continued.map((c) => [c.turn, c.outputTokens]),
        [[placeholder.turn, 214]],
        'the rest of the call: 2 + 214 = 216, its final count',
      );

      // A file appears (copied from a 2026 session: the clock moves on, which also ends the first session).
      setClock(new Date().toISOString());
      const other = join(root, '-home-me-spotter', '4d5611e5-241a-462a-8d15-5122611a9569', 'subagents');
      mkdirSync(other, { recursive: true });
      copyFileSync(join(external, 'spotter-agent-acompact-e1f845.jsonl'), join(other, 'agent-acompact-e1f845.jsonl'));
      await waitFor('the new file', () => calls().some((c) => c.session === '4d5611e5-241a-462a-8d15-5122611a9569'));

      controller.abort();
      const result = await watching;
      await pipeline.pump.idle();
      assert.deepEqual(errors, []);
      assert.equal(result.sent.rejected, 0);

      // The same totals and turns as importing the finished file at once.
      const totals = await pipeline.store.state.totals(SESSION);
      assert.ok(totals);
      assert.deepEqual([totals.inputTokens, totals.outputTokens, totals.cacheWriteTokens, totals.cacheReadTokens, totals.turns], [124, 2759, 19486, 404173, 6]);
      assert.equal(totals.llmCalls, 25, '24 API calls, one of them sent in two parts');
      const once: OutgoingEvent[] = [];
      await importClaude({
        roots: [file],
        sink: {
          target: 'memory',
          send: async (events) => {
            once.push(...events);
            return { accepted: events.length, duplicate: 0, rejected: 0, rejections: [] };
          },
        },
      });
      const turnIds = (events: OutgoingEvent[]): string[] =>
        events
          .filter((e) => e.type === 'turn.start')
          .map((e) => e.id)
          .sort();
      assert.deepEqual(turnIds(seen.filter((e) => e.session === SESSION)), turnIds(once));
      const toolNames = (await pipeline.store.state.turns(SESSION)).map((t) => t.toolNames);
      assert.deepEqual(toolNames, [
        ['Bash', 'Bash', 'Bash', 'Bash', 'Bash', 'Bash'],
        [],
        ['Bash', 'Bash', 'Bash', 'Bash'],
        ['TodoWrite', 'Bash', 'Bash', 'Task'],
        ['TodoWrite', 'Bash', 'Bash'],
        ['Bash', 'Bash'],
      ]);
    }
  });

  it('keeps events it could not send and delivers them once the target answers again', async () => {
    const root = join(dir, 'retry');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, `${SESSION}.jsonl`), `${lines.slice(0, 4).join('\n')}\n`);
    let down = true;
    const delivered: OutgoingEvent[] = [];
    const errors: string[] = [];
    const sink: EventSink = {
      target: 'flaky',
      send: async (events) => {
        if (down) throw new Error('connection refused');
        delivered.push(...events);
        return { accepted: events.length, duplicate: 0, rejected: 0, rejections: [] };
      },
    };
    const controller = new AbortController();
    const watching = watchClaude({ roots: [root], sink, signal: controller.signal, pollIntervalMs: 30, onError: (e) => errors.push(e.message) });
    try {
      await waitFor('a failed send', () => errors.length > 0);
      down = false;
      await waitFor('the retry', () => delivered.some((e) => e.type === 'session.end'));
    } finally {
      controller.abort();
      await watching;
    }
    // The file ends after a tool result: no final answer, so the turn has no turn.end; session.end closes it (abandoned).
    assert.deepEqual(
      delivered.map((e) => e.type),
      ['session.start', 'turn.start', 'llm.usage', 'tool.start', 'tool.end', 'session.end'],
    );
  });
});
