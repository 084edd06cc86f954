import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEmitter } from '../../src/client/emit.ts';
import { postEvents, type PostResult } from '../../src/client/post-events.ts';
import { TurnstreamError } from '../../src/errors.ts';
import type { StepEvent } from '../../src/events/step-event.ts';
import { freePort } from '../helpers/free-port.ts';
import { startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const AUTH_MESSAGE = 'missing or wrong bearer token (Authorization: Bearer <token>)';

let sessionNo = 0;
/** A session id of its own per test, so tests sharing one pipeline cannot see each other's events. */
const newSession = (): string => `emit-${process.pid}-${++sessionNo}`;

async function stored(ts: RunningPipeline, session: string): Promise<StepEvent[]> {
  const events: StepEvent[] = [];
  for await (const batch of ts.pipeline.store.log.read({ session })) for (const e of batch) events.push(e.event);
  return events;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A tiny HTTP server of our own; `answer` sees each request (1-based count) and its body. */
async function fakeServer(
  answer: (n: number, body: string, req: IncomingMessage) => Promise<[number, string]>,
): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void answer(++n, Buffer.concat(chunks).toString('utf8'), req).then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(body);
      });
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => n,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

describe('createEmitter against a real turnstream', () => {
  let ts: RunningPipeline;
  before(async () => {
    ts = await startPipeline();
  });
  after(async () => {
    await ts.stop({ remove: true });
  });

  it('fills in v, id and time, and keeps an id or time the agent gave', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, flushIntervalMillis: 60_000 });
    const before = Date.now();
    const id = emitter.emit({ type: 'turn.start', session, turn: 't1' });
    const after = Date.now();
    const given = emitter.emit({ type: 'turn.end', session, turn: 't1', id: 'my-id', time: '2026-03-02T12:00:00.000Z' });
    assert.match(id, UUID);
    assert.equal(given, 'my-id');
    const results = await emitter.flush();
    assert.deepEqual(
      results.map((r) => [r.status, r.accepted, r.rejected]),
      [[200, 2, 0]],
    );
    await emitter.close();

    const [first, second] = await stored(ts, session);
    assert.ok(first && second);
    assert.equal(first.v, 1);
    assert.equal(first.id, id);
    assert.equal(typeof first.time, 'string');
    assert.equal(new Date(first.timeMs).toISOString(), first.time);
    assert.ok(first.timeMs >= before && first.timeMs <= after, `time ${first.time} is not the emit time`);
    assert.deepEqual([second.id, second.time, second.timeMs], ['my-id', '2026-03-02T12:00:00.000Z', 1_772_452_800_000]);
  });

  it('sends in the background once maxBatch events are buffered, and not before', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, maxBatch: 3, flushIntervalMillis: 60_000 });
    emitter.emit({ type: 'session.start', session });
    emitter.emit({ type: 'turn.start', session, turn: 't1' });
    await sleep(100);
    assert.equal((await stored(ts, session)).length, 0, 'two events are below maxBatch: nothing is sent');
    emitter.emit({ type: 'turn.end', session, turn: 't1' });
    await waitFor('the batch of 3', async () => (await stored(ts, session)).length === 3);
    await emitter.close();
  });

  it('flush() answers one result per batch: 7 events at maxBatch 3 → 3, 3, 1', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, maxBatch: 3, flushIntervalMillis: 60_000 });
    for (let i = 0; i < 7; i++) emitter.emit({ type: 'state.set', session, key: `k${i}`, value: i });
    const results = await emitter.flush();
    assert.deepEqual(
      results.map((r) => r.accepted),
      [3, 3, 1],
    );
    assert.equal((await stored(ts, session)).length, 7);
    assert.deepEqual(await emitter.flush(), [], 'nothing left to send');
    await emitter.close();
  });

  it('sends buffered events every flushIntervalMillis without flush()', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, flushIntervalMillis: 20 });
    emitter.emit({ type: 'session.start', session });
    await waitFor('the timer to send', async () => (await stored(ts, session)).length === 1);
    await emitter.close();
  });

  it('close() sends what is buffered, once; a second close() is a no-op; emit after close reports, never throws', async () => {
    const session = newSession();
    const errors: Error[] = [];
    const emitter = createEmitter({ url: ts.url, flushIntervalMillis: 60_000, onError: (e) => errors.push(e) });
    emitter.emit({ type: 'session.start', session });
    emitter.emit({ type: 'session.end', session });
    await emitter.close();
    assert.equal((await stored(ts, session)).length, 2);
    await emitter.close();
    assert.equal((await stored(ts, session)).length, 2);
    const id = emitter.emit({ type: 'session.end', session, id: 'after-close' });
    assert.equal(id, 'after-close');
    assert.deepEqual(
      errors.map((e) => e.message),
      ['emitter is closed; event after-close was not sent'],
    );
    assert.equal((await stored(ts, session)).length, 2);
  });

  it('a second close() while the first is still sending waits for the same flush', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, flushIntervalMillis: 60_000 });
    emitter.emit({ type: 'session.start', session });
    const first = emitter.close();
    await emitter.close();
    const afterSecondClose = (await stored(ts, session)).length;
    await first;
    assert.equal(afterSecondClose, 1);
  });

  it('close() after flush() waits for a maxBatch send queued during that flush', async () => {
    const session = newSession();
    const emitter = createEmitter({ url: ts.url, maxBatch: 2, flushIntervalMillis: 60_000 });
    emitter.emit({ type: 'session.start', session });
    const flushing = emitter.flush();
    emitter.emit({ type: 'state.set', session, key: 'a', value: 1 });
    emitter.emit({ type: 'state.set', session, key: 'b', value: 2 }); // reaches maxBatch: sent in the background
    await flushing;
    await emitter.close();
    const afterClose = (await stored(ts, session)).length;
    await waitFor('the background batch', async () => (await stored(ts, session)).length === 3);
    assert.equal(afterClose, 3);
  });

  it('an onError that throws neither throws into the agent nor stops later sends', async () => {
    const session = newSession();
    const emitter = createEmitter({
      url: ts.url,
      flushIntervalMillis: 60_000,
      onError: () => {
        throw new Error('bug in the handler');
      },
    });
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => `rejected: ${(e as Error).message}`,
      );
    emitter.emit({ type: 'turn.start', session }); // rejected by the server (no turn) → onError
    const outcomes = [await outcome(emitter.flush())];
    emitter.emit({ type: 'session.start', session });
    outcomes.push(await outcome(emitter.flush()), await outcome(emitter.close()));
    assert.deepEqual(outcomes, ['resolved', 'resolved', 'resolved']);
    assert.deepEqual(
      (await stored(ts, session)).map((e) => e.type),
      ['session.start'],
    );
  });

  it('reports rejected events to onError with the server result, without throwing', async () => {
    const session = newSession();
    const errors: [Error, PostResult | undefined][] = [];
    const emitter = createEmitter({ url: ts.url, flushIntervalMillis: 60_000, onError: (e, r) => errors.push([e, r]) });
    const bad = emitter.emit({ type: 'turn.start', session }); // no turn
    emitter.emit({ type: 'session.start', session });
    const [mixed] = await emitter.flush();
    emitter.emit({ type: 'llm.usage', session, turn: 't1' }); // no provider, model, tokens
    const [all] = await emitter.flush();
    await emitter.close();

    assert.deepEqual([mixed?.status, mixed?.accepted, mixed?.rejected], [207, 1, 1]);
    assert.deepEqual(mixed?.results, [{ index: 0, status: 'rejected', reason: 'schema', message: 'event: missing required field "turn"', id: bad }]);
    assert.deepEqual([all?.status, all?.accepted, all?.rejected], [422, 0, 1]);
    assert.equal(errors.length, 2);
    assert.equal(errors[0]![0].message, '1 event(s) rejected by turnstream');
    assert.equal(errors[0]![1], mixed);
    assert.equal(errors[1]![1], all);
    assert.deepEqual(
      (await stored(ts, session)).map((e) => e.type),
      ['session.start'],
    );
  });

  it('reports an unreachable server to onError after retrying, and close() still resolves', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const errors: [Error, PostResult | undefined][] = [];
    const emitter = createEmitter({ url, flushIntervalMillis: 60_000, onError: (e, r) => errors.push([e, r]) });
    emitter.emit({ type: 'session.start', session: newSession() });
    assert.deepEqual(await emitter.flush(), []);
    await emitter.close();
    assert.equal(errors.length, 1);
    const [error, result] = errors[0]!;
    assert.ok(error instanceof TurnstreamError);
    assert.equal(error.retriable, true);
    assert.ok(error.message.startsWith(`cannot reach turnstream at ${url}: `), error.message);
    assert.ok(error.message.endsWith("Is 'turnstream start' running there?"), error.message);
    assert.equal(result, undefined);
  });
});

describe('postEvents', () => {
  let ts: RunningPipeline;
  let secured: RunningPipeline;
  before(async () => {
    ts = await startPipeline();
    secured = await startPipeline({ token: 'x' });
  });
  after(async () => {
    await ts.stop({ remove: true });
    await secured.stop({ remove: true });
  });

  const lines = (session: string): string[] => [
    JSON.stringify({ v: 1, id: `${session}-1`, type: 'session.start', session, time: new Date().toISOString() }),
    JSON.stringify({ v: 1, id: `${session}-2`, type: 'session.end', session, time: new Date().toISOString() }),
  ];

  it('retries a 503 and then succeeds, posting NDJSON to /v1/events', async () => {
    const session = newSession();
    const seen: string[] = [];
    const fake = await fakeServer(async (n, body, req) => {
      seen.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      if (n <= 2) return [503, JSON.stringify({ error: 'the event log could not be written; nothing was acknowledged, retry' })];
      const res = await fetch(`${ts.url}/v1/events`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' } });
      return [res.status, await res.text()];
    });
    try {
      const result = await postEvents(lines(session), { url: fake.url });
      assert.equal(fake.requests(), 3);
      assert.deepEqual(seen, Array(3).fill('POST /v1/events application/x-ndjson'));
      assert.deepEqual(result, { status: 200, accepted: 2, duplicate: 0, rejected: 0, results: [] });
      assert.deepEqual(
        (await stored(ts, session)).map((e) => e.id),
        [`${session}-1`, `${session}-2`],
      );
    } finally {
      await fake.close();
    }
  });

  it('gives up after `attempts` 503s with a retriable TurnstreamError carrying the server message', async () => {
    const fake = await fakeServer(async () => [503, '{"error":"busy"}']);
    try {
      await assert.rejects(postEvents(['{}'], { url: fake.url, attempts: 2 }), (e: unknown) => {
        assert.ok(e instanceof TurnstreamError);
        assert.equal(e.message, `turnstream at ${fake.url} answered 503: busy`);
        assert.equal(e.retriable, true);
        return true;
      });
      assert.equal(fake.requests(), 2);
    } finally {
      await fake.close();
    }
  });

  it('does not retry a 500, and quotes a non-JSON body', async () => {
    const fake = await fakeServer(async () => [500, 'boom']);
    try {
      await assert.rejects(postEvents(['{}'], { url: fake.url }), { name: 'TurnstreamError', message: `turnstream at ${fake.url} answered 500: boom` });
      assert.equal(fake.requests(), 1);
    } finally {
      await fake.close();
    }
  });

  it('throws a non-retriable TurnstreamError with the server message on 401', async () => {
    for (const token of [undefined, 'wrong']) {
      await assert.rejects(postEvents(lines(newSession()), { url: secured.url, ...(token === undefined ? {} : { token }) }), (e: unknown) => {
        assert.ok(e instanceof TurnstreamError);
        assert.equal(e.message, `turnstream at ${secured.url} answered 401: ${AUTH_MESSAGE}`);
        assert.equal(e.retriable, false);
        return true;
      });
    }
    const session = newSession();
    assert.equal((await postEvents(lines(session), { url: secured.url, token: 'x' })).accepted, 2);
    const emitter = createEmitter({ url: secured.url, token: 'x', flushIntervalMillis: 60_000 });
    emitter.emit({ type: 'session.start', session: `${session}-e` });
    assert.equal((await emitter.flush())[0]?.accepted, 1);
    await emitter.close();
  });

  it('returns 207 results and duplicates instead of throwing', async () => {
    const session = newSession();
    const [a, b] = lines(session);
    const result = await postEvents([a!, '{"v":2}', a!, b!], { url: ts.url });
    assert.deepEqual([result.status, result.accepted, result.duplicate, result.rejected], [207, 2, 1, 1]);
    assert.deepEqual(
      result.results.map((r) => [r.index, r.status, r.reason]),
      [
        [1, 'rejected', 'unknown_version'],
        [2, 'duplicate', undefined],
      ],
    );
  });
});
