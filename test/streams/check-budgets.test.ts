import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { from, lastValueFrom, toArray } from 'rxjs';
import { ConfigError } from '../../src/errors.ts';
import type { LoggedEvent, StepEvent } from '../../src/events/step-event.ts';
import { parseBudgetRules, type BudgetAlert } from '../../src/streams/budget-rule.ts';
import { checkBudgets } from '../../src/streams/check-budgets.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
let n = 0;
const ev = (e: Record<string, unknown>, dt: number): StepEvent => ({ v: 1, id: `e${++n}`, time: T0 + dt, timeMs: T0 + dt, ...e }) as unknown as StepEvent;
const usage = (session: string, cost: number, dt: number): StepEvent =>
  ev({ type: 'llm.usage', session, turn: 't', provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cost }, dt);
const start = (session: string, agent: string, dt: number): StepEvent => ev({ type: 'session.start', session, agent }, dt);
// The events carry their cost, so the price function is the identity on it.
const price = (u: { cost?: number }) => ({ cost: u.cost ?? 0, source: 'provider' as const });

async function run(rulesJson: unknown, events: StepEvent[]): Promise<BudgetAlert[]> {
  const logged: LoggedEvent[] = events.map((event, i) => ({ pos: i + 1, event }));
  return lastValueFrom(from(logged).pipe(checkBudgets({ rules: parseBudgetRules(rulesJson), price }), toArray()));
}
const brief = (alerts: BudgetAlert[]) => alerts.map((a) => `${a.rule}/${a.key}/${a.level}/${a.status}@${a.pos}`);

describe('checkBudgets', () => {
  it('a session total crossing soft then hard fires once per level, not once per call', async () => {
    // costs 0.004 each: totals 0.004, 0.008, 0.012 (≥ soft 0.01, pos 3), 0.016, 0.020 (≥ hard 0.02, pos 5), 0.024
    const events = [1, 2, 3, 4, 5, 6].map((i) => usage('s1', 0.004, i * 1000));
    const alerts = await run({ rules: [{ name: 'per-session', scope: 'session', soft: 0.01, hard: 0.02 }] }, events);
    assert.deepEqual(brief(alerts), ['per-session/s1/soft/firing@3', 'per-session/s1/hard/firing@5']);
    assert.ok(Math.abs(alerts[1]!.value - 0.02) < 1e-12);
    assert.equal(alerts[1]!.session, 's1');
  });

  it('sessions are summed separately', async () => {
    const alerts = await run({ rules: [{ name: 'r', scope: 'session', hard: 0.01 }] }, [usage('a', 0.006, 0), usage('b', 0.006, 1), usage('a', 0.006, 2)]);
    assert.deepEqual(brief(alerts), ['r/a/hard/firing@3']);
  });

  it('a rolling per-agent window fires, and resolves once the spend leaves the window (event time)', async () => {
    const events = [
      start('s1', 'bot', 0),
      usage('s1', 0.5, 1_000),
      usage('s1', 0.6, 2_000), // 1.1 in the last minute ≥ 1 → firing
      start('s2', 'other', 3_000),
      usage('s2', 0.01, 70_000), // another agent's call moves event time past the window: bot back to 0 → resolved
    ];
    const alerts = await run({ rules: [{ name: 'agent-minute', scope: 'agent', window: '1m', hard: 1 }] }, events);
    assert.deepEqual(brief(alerts), ['agent-minute/bot/hard/firing@3', 'agent-minute/bot/hard/resolved@5']);
    assert.equal(alerts[1]!.value, 0);
  });

  it('global and match-scoped rules', async () => {
    const events = [start('s1', 'bot', 0), usage('s1', 2, 1_000), start('s2', 'cat', 1_500), usage('s2', 2, 2_000)];
    const alerts = await run(
      {
        rules: [
          { name: 'all', scope: 'global', window: '1d', soft: 3 },
          { name: 'cat-only', scope: 'agent', match: 'cat', window: '1h', hard: 1 },
        ],
      },
      events,
    );
    assert.deepEqual(brief(alerts), ['all/global/soft/firing@4', 'cat-only/cat/hard/firing@4']);
  });

  it('gives the same alerts for the same log (deterministic)', async () => {
    const rules = { rules: [{ name: 'r', scope: 'session', soft: 0.01 }] };
    const events = [1, 2, 3].map((i) => usage('s', 0.006, i));
    assert.deepEqual(await run(rules, events), await run(rules, events));
  });

  it('rejects bad rule files with a message that says what to change', () => {
    const bad = (rules: unknown, message: RegExp) =>
      assert.throws(
        () => parseBudgetRules(rules, 'b.json'),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    bad({}, /must be \{"rules"/);
    bad({ rules: [{ name: 'x', scope: 'team', hard: 1 }] }, /rules\[0\] \("x"\): "scope" must be session, agent, user or global/);
    bad({ rules: [{ name: 'x', scope: 'agent', hard: 1 }] }, /agent rule needs a rolling "window"/);
    bad({ rules: [{ name: 'x', scope: 'session' }] }, /needs "soft" and\/or "hard"/);
    bad({ rules: [{ name: 'x', scope: 'session', soft: 2, hard: 1 }] }, /"soft" must not be above "hard"/);
    bad({ rules: [{ name: 'x', scope: 'user', window: 'soon', hard: 1 }] }, /"window" "soon" is not a duration/);
    bad(
      {
        rules: [
          { name: 'x', scope: 'session', hard: 1 },
          { name: 'x', scope: 'session', hard: 2 },
        ],
      },
      /duplicate name/,
    );
  });
});
