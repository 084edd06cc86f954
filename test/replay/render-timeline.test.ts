import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createPriceTable } from '../../src/events/price-table.ts';
import { compareCosts } from '../../src/replay/compare-costs.ts';
import { feedLine } from '../../src/replay/render-feed-line.ts';
import { renderTimeline } from '../../src/replay/render-timeline.ts';
import { replayReport } from '../../src/replay/replay-report.ts';
import { replaySession } from '../../src/replay/replay-session.ts';
import { exampleEvents, memoryLog } from './memory-log.ts';

const prices = createPriceTable();
const log = memoryLog(exampleEvents('coding-session', 'concurrent-turns', 'messy-delivery'));

describe('renderTimeline', () => {
  it('shows each turn with its calls in start order (tokens by type, cost, durations, errors), then totals and state', async () => {
    const text = renderTimeline(replayReport(await replaySession({ log, session: 'demo-1', prices })));
    const lines = text.split('\n');
    assert.equal(lines[0], 'session demo-1 · agent claude-code · user alice');
    assert.match(text, /^turn-1 {2}2026-03-02T10:00:00\.000Z {2}9\.1 s {2}completed \(end_turn\) {2}3 LLM calls · 3 tool calls \(1 failed\) · \$0\.0342$/m);
    const calls = lines
      .slice(lines.findIndex((l) => l.startsWith('turn-1')) + 1, lines.findIndex((l) => l.startsWith('turn-1')) + 7)
      .map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(
      calls.map((c) => c.slice(0, 4)),
      [
        ['+0.2 s', 'chat', 'claude-sonnet-4-5', '1.8 s'],
        ['+2.1 s', 'tool', 'Read', '0.3 s'],
        ['+2.5 s', 'tool', 'Bash', '2.0 s'],
        ['+4.6 s', 'chat', 'claude-sonnet-4-5', '2.4 s'],
        ['+7.1 s', 'tool', 'Edit', '0.2 s'],
        ['+7.5 s', 'chat', 'claude-sonnet-4-5', '1.5 s'],
      ],
    );
    assert.deepEqual(calls[0]!.slice(4), ['in 1,200', 'out 300', 'cache read 8,000', 'cache write 2,000', '$0.0180', 'tool_use']);
    assert.equal(calls[2]![4], 'error: exit code 1');
    assert.match(text, /chat {2}gpt-4o-mini {2}2\.5 s {2}in 5,000 {2}out 800 {2}\$0\.002100 \(provider\) {2}stop/);
    assert.match(text, /^totals {2}2 turns · 4 LLM calls · 3 tool calls \(1 failed\) · \$0\.0363$/m);
    assert.match(text, /input 6,700 \(excl\. cache\) · output 1,670 · cache read 28,500 · cache write 2,000/);
    assert.match(text, /^state:\n {2}branch = "fix-login"\n {2}plan \(deleted 2026-03-02T10:01:04\.000Z\)$/m);
  });

  it("at a point: names it, lists the open turns; a revision and the windows' dead letters are shown", async () => {
    const stop = { kind: 'time', ms: Date.parse('2026-03-02T10:00:05Z') } as const;
    const atText = renderTimeline(replayReport(await replaySession({ log, session: 'demo-1', prices, stop }), { stop }));
    assert.match(atText, /^session demo-1 · as of 2026-03-02T10:00:05\.000Z$/m);
    assert.match(atText, /^no turn closed$/m);
    assert.match(atText, /^open at this point \(no aggregate yet\): turn-1 \(since 2026-03-02T10:00:00\.000Z, 6 events\)$/m);
    const ev = (id: string, time: string, extra: Record<string, unknown>) => JSON.stringify({ v: 1, id, session: 's', time, ...extra });
    const messy = memoryLog([
      ev('a', '2026-03-02T10:00:00Z', { type: 'turn.start', turn: 't' }),
      ev('b', '2026-03-02T10:00:01Z', { type: 'turn.end', turn: 't' }),
      ev('c', '2026-03-02T10:00:00.500Z', { type: 'tool.end', turn: 't', toolCallId: 'x', toolName: 'Grep', durationMs: 100 }),
      ev('d', '2026-03-02T10:20:00Z', { type: 'turn.start', turn: 'u' }),
      ev('e', '2026-03-02T10:00:02Z', { type: 'tool.end', turn: 't', toolCallId: 'y', toolName: 'Grep' }),
    ]);
    const text = renderTimeline(replayReport(await replaySession({ log: messy, session: 's', prices })));
    assert.match(text, /^t {2}.* completed, revision 1 {2}0 LLM calls · 1 tool call · \$0\.0000$/m);
    assert.match(text, /^turned away by the turn windows: late e$/m);
  });

  it('with re-pricing: recorded → re-priced per turn and per model', async () => {
    const r = await replaySession({ log, session: 'demo-1', prices });
    const recorded = r.turns.map((t) => ({ ...t, cost: t.cost / 2, models: t.models.map((m) => ({ ...m, cost: m.cost / 2 })) }));
    const text = renderTimeline(replayReport(r, { repricing: { prices: 'new.json', ...compareCosts(r.turns, recorded) } }));
    assert.match(text, /^turn-1 .* · \$0\.0171 → \$0\.0342$/m);
    assert.match(text, /^re-priced with new\.json: \$0\.0181 → \$0\.0363 {2}\+\$0\.0181 \(\+100\.0 %\) {2}over 2 recorded turns$/m);
    assert.match(text, /^ {2}anthropic\/claude-sonnet-4-5 {2}3 calls {2}\$0\.0171 → \$0\.0342$/m);
  });

  it('the --speed feed: a line per event, one per turn', async () => {
    const r = await replaySession({ log, session: 'demo-1', prices });
    assert.equal(
      feedLine.event({
        v: 1,
        id: 'x',
        type: 'tool.end',
        session: 's',
        turn: 'turn-1',
        time: 0,
        timeMs: 0,
        toolCallId: 'c',
        toolName: 'Bash',
        durationMs: 2000,
        error: 'exit code 1',
      }),
      '1970-01-01T00:00:00.000Z  tool.end       turn-1    Bash  2.0 s  error: exit code 1',
    );
    assert.equal(
      feedLine.turn({ ...r.turns[0]!, revision: 0 }),
      '  => turn-1 completed (end_turn): 9.1 s, 3 LLM calls, 3 tool calls (Read → Bash → Edit), $0.0342',
    );
  });
});
