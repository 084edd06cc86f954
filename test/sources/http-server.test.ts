import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { post, startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const event = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  id,
  type: 'turn.start',
  session: 'http-s',
  turn: `t-${id}`,
  time: '2026-03-02T10:00:00Z',
  ...extra,
});
const ndjson = (...lines: unknown[]): string => `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;

describe('POST /v1/events', () => {
  let ts: RunningPipeline;
  before(async () => {
    ts = await startPipeline({ token: 'sekret', maxBodyBytes: 4096, maxEventBytes: 1024 });
  });
  after(() => ts.stop({ remove: true }));
  const auth = { authorization: 'Bearer sekret' };

  it('refuses a request without the bearer token (401) and with a wrong one, and logs nothing', async () => {
    const none = await post(ts.url, ndjson(event('a0')));
    assert.equal(none.status, 401);
    const wrong = await post(ts.url, ndjson(event('a0')), { authorization: 'Bearer nope' });
    assert.equal(wrong.status, 401);
    assert.equal(await ts.pipeline.store.log.head(), 0);
  });

  it('accepts NDJSON and answers 200 with counts', async () => {
    const r = await post(ts.url, ndjson(event('a1'), event('a2')), auth);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { accepted: 2, duplicate: 0, rejected: 0, results: [] });
  });

  it('accepts a JSON array body', async () => {
    const r = await post(ts.url, JSON.stringify([event('b1'), event('b2')]), { ...auth, 'content-type': 'application/json' });
    assert.equal(r.status, 200);
    assert.equal(r.json['accepted'], 2);
  });

  it('answers 207 per event when some lines fail, and keeps the good ones', async () => {
    const r = await post(
      ts.url,
      ndjson(
        event('c1'),
        '{oops',
        event('a1'),
        { ...event('c2'), v: 3 },
        event('c3', { attrs: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) }),
      ),
      auth,
    );
    assert.equal(r.status, 207);
    assert.equal(r.json['accepted'], 1);
    assert.equal(r.json['duplicate'], 1);
    assert.equal(r.json['rejected'], 3);
    const results = r.json['results'] as { index: number; status: string; reason?: string }[];
    assert.deepEqual(
      results.map((x) => [x.index, x.status, x.reason]),
      [
        [1, 'rejected', 'invalid_json'],
        [2, 'duplicate', undefined],
        [3, 'rejected', 'unknown_version'],
        [4, 'rejected', 'schema'],
      ],
    );
    const letters = await ts.pipeline.store.deadLetters.list();
    assert.ok(letters.some((l) => l.reason === 'invalid_json' && l.raw === '{oops' && l.source === 'http'));
  });

  it('answers 422 when every event fails', async () => {
    const r = await post(ts.url, ndjson('not json', '[1'), auth);
    assert.equal(r.status, 422);
    assert.equal(r.json['rejected'], 2);
  });

  it('answers 400 for a JSON array that does not parse, keeping the body as a dead letter', async () => {
    const r = await post(ts.url, '[{"v":1,', { ...auth, 'content-type': 'application/json' });
    assert.equal(r.status, 400);
    assert.match(String(r.json['error']), /not a valid JSON array/);
    assert.ok((await ts.pipeline.store.deadLetters.list()).some((l) => l.raw === '[{"v":1,'));
  });

  it('answers 400 for an empty body', async () => {
    const r = await post(ts.url, '\n\n', auth);
    assert.equal(r.status, 400);
  });

  it('answers 413 over the body limit and appends nothing from it', async () => {
    const head = await ts.pipeline.store.log.head();
    const big = ndjson(...Array.from({ length: 60 }, (_, i) => event(`big-${i}`)));
    assert.ok(big.length > 4096);
    const res = await fetch(`${ts.url}/v1/events`, { method: 'POST', body: big, headers: auth });
    assert.equal(res.status, 413);
    assert.equal(await ts.pipeline.store.log.head(), head);
  });

  it('rejects a single event over the event limit as too_large, keeping its raw bytes', async () => {
    const line = JSON.stringify(event('huge', { attrs: { note: 'x'.repeat(1000) } }));
    const r = await post(ts.url, ndjson(line), auth);
    assert.equal(r.status, 422);
    const results = r.json['results'] as { reason: string; message: string }[];
    assert.equal(results[0]?.reason, 'too_large');
    assert.match(results[0]?.message ?? '', /limit is 1024/);
    assert.ok((await ts.pipeline.store.deadLetters.list({ reason: 'too_large' })).some((l) => l.raw === line));
  });

  it('serves /healthz, /metrics, and 404/405 with a hint', async () => {
    assert.equal((await fetch(`${ts.url}/healthz`)).status, 200);
    const metrics = await fetch(`${ts.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /turnstream_events_ingested_total/);
    const missing = await fetch(`${ts.url}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as { error: string }).error, /POST \/v1\/events/);
    assert.equal((await fetch(`${ts.url}/v1/events`)).status, 405);
  });
});
