import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LoggedEvent, StepEvent } from '../../src/events/step-event.ts';
import type { AppendInput, AppendOutcome, EventLog, ReadOptions } from '../../src/log/event-log.ts';

/** What an adapter's test hands the contract: a fresh, empty log, a way to reopen it, and cleanup. */
export interface OpenedEventLog {
  readonly log: EventLog;
  /** Closes the current log and opens the same storage again. */
  readonly reopen: () => Promise<EventLog>;
  readonly cleanup: () => Promise<void>;
}

const BASE_MS = Date.parse('2025-06-01T12:00:00Z');

/** A valid event (as `decodeEvent` would produce it) and the raw text it was received as. */
function input(id: string, options: { session?: string; offsetMs?: number; epochTime?: boolean; usage?: boolean } = {}): AppendInput {
  const { session = 's1', offsetMs = 0, epochTime = false, usage = false } = options;
  const timeMs = BASE_MS + offsetMs;
  const time = epochTime ? timeMs : new Date(timeMs).toISOString();
  const body = usage
    ? {
        v: 1,
        id,
        type: 'llm.usage',
        session,
        turn: 't1',
        time,
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        inputTokens: 10,
        outputTokens: 2,
        attrs: { 'agent.name': 'ünïcødé ✓' },
      }
    : { v: 1, id, type: 'turn.start', session, turn: 't1', time, seq: 3 };
  return { event: { ...body, timeMs } as StepEvent, raw: JSON.stringify(body) };
}

async function readAll(log: EventLog, options?: ReadOptions): Promise<LoggedEvent[][]> {
  const batches: LoggedEvent[][] = [];
  for await (const batch of log.read(options)) batches.push(batch);
  return batches;
}

const ids = (batches: LoggedEvent[][]): string[] => batches.flat().map((l) => l.event.id);
const positions = (outcomes: AppendOutcome[]): number[] =>
  outcomes.map((o) => {
    assert.equal(o.status, 'appended');
    return o.status === 'appended' ? o.pos : Number.NaN;
  });

/**
 * A log that does not dedupe on append (Kafka: any process may produce, no global id index) is
 * at-least-once: a repeated id is stored again and read back in order, and deduplication is the
 * processor's job (`Processor` with `dedupe: true`). This states exactly that, instead of skipping.
 */
async function assertAtLeastOnce(log: EventLog): Promise<void> {
  const out = await log.append([input('a'), input('b'), input('a', { offsetMs: 5 })]);
  const [pa, pb, pa2] = positions(out);
  assert.ok(pa! < pb! && pb! < pa2!);
  const all = (await readAll(log)).flat();
  assert.deepEqual(
    all.map((l) => [l.event.id, l.event.timeMs]),
    [
      ['a', BASE_MS],
      ['b', BASE_MS],
      ['a', BASE_MS + 5],
    ],
  );
  assert.equal(await log.head(), pa2);
}

/**
 * The `EventLog` contract (DESIGN.md §3, §6): every adapter (SQLite, Kafka) must pass it.
 * `open` returns a fresh, empty log each time.
 */
export function eventLogContract(name: string, open: () => Promise<OpenedEventLog>): void {
  const withLog = async (fn: (o: OpenedEventLog) => Promise<void>): Promise<void> => {
    const opened = await open();
    try {
      await fn(opened);
    } finally {
      await opened.cleanup();
    }
  };

  describe(`EventLog contract: ${name}`, () => {
    it('an empty log reads nothing and its head is 0', () =>
      withLog(async ({ log }) => {
        assert.deepEqual(await readAll(log), []);
        assert.deepEqual(await readAll(log, { session: 's1', after: 0, batchSize: 1 }), []);
        assert.equal(await log.head(), 0);
        assert.deepEqual(await log.append([]), []);
        assert.equal(await log.head(), 0);
      }));

    it('append returns one outcome per event, in input order, with growing positions', () =>
      withLog(async ({ log }) => {
        const out = await log.append([input('a'), input('b'), input('c')]);
        assert.equal(out.length, 3);
        const [pa, pb, pc] = positions(out);
        assert.ok(pa! > 0 && pa! < pb! && pb! < pc!, `positions ${pa}, ${pb}, ${pc} must increase`);
        assert.equal(await log.head(), pc);
      }));

    it('positions strictly increase across batches', () =>
      withLog(async ({ log }) => {
        let last = 0;
        for (let b = 0; b < 5; b++) {
          const out = await log.append([input(`b${b}-1`), input(`b${b}-2`)]);
          for (const pos of positions(out)) {
            assert.ok(pos > last, `position ${pos} after ${last}`);
            last = pos;
          }
        }
        assert.equal(await log.head(), last);
      }));

    it('a repeated id in a later batch is a duplicate and is not stored again (logs that dedupe on append)', () =>
      withLog(async ({ log }) => {
        if (!log.dedupesOnAppend) return assertAtLeastOnce(log);
        await log.append([input('a'), input('b')]);
        const head = await log.head();
        const out = await log.append([input('c'), input('a', { offsetMs: 999 }), input('d')]);
        assert.equal(out[0]?.status, 'appended');
        assert.deepEqual(out[1], { status: 'duplicate' });
        assert.equal(out[2]?.status, 'appended');
        const [pc, pd] = positions([out[0]!, out[2]!]);
        assert.ok(head < pc! && pc! < pd!);
        assert.deepEqual(ids(await readAll(log)), ['a', 'b', 'c', 'd']);
        const a = (await readAll(log)).flat().find((l) => l.event.id === 'a');
        assert.equal(a?.event.timeMs, BASE_MS, 'the first copy is kept');

        assert.deepEqual(await log.append([input('b'), input('c')]), [{ status: 'duplicate' }, { status: 'duplicate' }]);
        assert.equal(await log.head(), pd, 'an all-duplicate batch does not move the head');
      }));

    it('a repeated id within one batch is a duplicate and is not stored twice (logs that dedupe on append)', () =>
      withLog(async ({ log }) => {
        if (!log.dedupesOnAppend) return assertAtLeastOnce(log);
        const out = await log.append([input('x'), input('y'), input('x', { offsetMs: 5 }), input('x', { offsetMs: 6 })]);
        assert.deepEqual(
          out.map((o) => o.status),
          ['appended', 'appended', 'duplicate', 'duplicate'],
        );
        const all = (await readAll(log)).flat();
        assert.deepEqual(
          all.map((l) => l.event.id),
          ['x', 'y'],
        );
        assert.equal(all[0]?.event.timeMs, BASE_MS, 'the first copy in the batch is kept');
        assert.equal(await log.head(), all[1]?.pos);
      }));

    it('read returns the appended events, time normalised (timeMs restored), in position order', () =>
      withLog(async ({ log }) => {
        const inputs = [input('e1', { usage: true }), input('e2', { epochTime: true, offsetMs: 10 }), input('e3', { offsetMs: -20, session: 's2' })];
        const out = await log.append(inputs);
        const logged = (await readAll(log)).flat();
        assert.deepEqual(
          logged,
          inputs.map((i, n) => ({ pos: positions(out)[n], event: i.event })),
        );
        assert.equal(logged[1]?.event.time, BASE_MS + 10, 'epoch-ms time stays a number');
        assert.equal(logged[2]?.event.timeMs, BASE_MS - 20);
      }));

    it('read yields batches of batchSize, never an empty batch', () =>
      withLog(async ({ log }) => {
        await log.append(Array.from({ length: 7 }, (_, i) => input(`e${i}`)));
        assert.deepEqual(
          (await readAll(log, { batchSize: 3 })).map((b) => b.length),
          [3, 3, 1],
        );
        assert.deepEqual(
          (await readAll(log, { batchSize: 7 })).map((b) => b.length),
          [7],
        );
        assert.deepEqual(
          (await readAll(log, { batchSize: 1 })).map((b) => b.length),
          [1, 1, 1, 1, 1, 1, 1],
        );
        await log.append([input('e7'), input('e8')]);
        assert.deepEqual(
          (await readAll(log, { batchSize: 3 })).map((b) => b.length),
          [3, 3, 3],
        );
        assert.deepEqual(
          (await readAll(log)).map((b) => b.length),
          [9],
          'the default batch size holds small logs in one batch',
        );
        const all = (await readAll(log, { batchSize: 2 })).flat();
        assert.deepEqual(
          all.map((l) => l.event.id),
          ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'],
        );
        for (let i = 1; i < all.length; i++) assert.ok(all[i]!.pos > all[i - 1]!.pos);
      }));

    it('after is exclusive', () =>
      withLog(async ({ log }) => {
        const pos = positions(await log.append(Array.from({ length: 5 }, (_, i) => input(`e${i}`))));
        assert.deepEqual(ids(await readAll(log, { after: pos[1] })), ['e2', 'e3', 'e4']);
        assert.deepEqual(ids(await readAll(log, { after: pos[1], batchSize: 2 })), ['e2', 'e3', 'e4']);
        assert.deepEqual(ids(await readAll(log, { after: pos[0]! - 1 })), ['e0', 'e1', 'e2', 'e3', 'e4']);
        assert.deepEqual(ids(await readAll(log, { after: pos[4] })), []);
        assert.deepEqual(ids(await readAll(log, { after: await log.head() })), []);
        assert.deepEqual(ids(await readAll(log, { after: 0 })), ['e0', 'e1', 'e2', 'e3', 'e4']);
      }));

    it('the session filter yields only that session, in position order, with after and batchSize', () =>
      withLog(async ({ log }) => {
        const sessions = ['a', 'b', 'a', 'c', 'a', 'b', 'a'];
        const pos = positions(await log.append(sessions.map((session, i) => input(`e${i}`, { session }))));
        assert.deepEqual(ids(await readAll(log, { session: 'a' })), ['e0', 'e2', 'e4', 'e6']);
        assert.deepEqual(
          (await readAll(log, { session: 'a', batchSize: 3 })).map((b) => b.length),
          [3, 1],
        );
        assert.deepEqual(ids(await readAll(log, { session: 'a', batchSize: 1 })), ['e0', 'e2', 'e4', 'e6']);
        assert.deepEqual(ids(await readAll(log, { session: 'b' })), ['e1', 'e5']);
        assert.deepEqual(ids(await readAll(log, { session: 'a', after: pos[2] })), ['e4', 'e6']);
        assert.deepEqual(ids(await readAll(log, { session: 'nobody' })), []);
        for (const l of (await readAll(log, { session: 'c' })).flat()) assert.equal(l.event.session, 'c');
      }));

    it('head() is the position of the last appended event', () =>
      withLog(async ({ log }) => {
        const first = positions(await log.append([input('a')]));
        assert.equal(await log.head(), first[0]);
        const second = positions(await log.append([input('b'), input('c')]));
        assert.equal(await log.head(), second[1]);
        const all = (await readAll(log)).flat();
        assert.equal(await log.head(), all[all.length - 1]?.pos);
      }));

    it('appended events survive close and reopen; dedupe and positions carry on', () =>
      withLog(async ({ log, reopen }) => {
        const inputs = [input('a', { usage: true }), input('b', { session: 's2', epochTime: true }), input('c')];
        await log.append(inputs);
        const before = await readAll(log);
        const head = await log.head();
        const again = await reopen();
        assert.deepEqual(await readAll(again), before);
        assert.equal(await again.head(), head);
        const out = await again.append([input('b'), input('d')]);
        if (again.dedupesOnAppend) assert.deepEqual(out[0], { status: 'duplicate' });
        else assert.ok(positions([out[0]!])[0]! > head, 'an at-least-once log stores the repeat');
        assert.ok(positions([out[1]!])[0]! > head);
        const third = await reopen();
        assert.deepEqual(ids(await readAll(third)), third.dedupesOnAppend ? ['a', 'b', 'c', 'd'] : ['a', 'b', 'c', 'b', 'd']);
        assert.deepEqual(
          (await readAll(third))
            .flat()
            .slice(0, 3)
            .map((l) => l.event),
          inputs.map((i) => i.event),
        );
      }));
  });
}
