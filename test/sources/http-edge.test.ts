import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.ts';
import { createBodyBudget } from '../../src/sources/body-budget.ts';
import { createHttpServer, type HttpServerOptions } from '../../src/sources/http-server.ts';
import { startPipeline, type RunningPipeline } from '../helpers/running-pipeline.ts';

const event = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  v: 1,
  id,
  type: 'turn.start',
  session: 'edge-s',
  turn: `t-${id}`,
  time: '2026-03-02T10:00:00Z',
  ...extra,
});
const line = (e: unknown): string => JSON.stringify(e);

/** A second real server on the pipeline, with the edge limits under test. */
async function serve(
  ts: RunningPipeline,
  o: Partial<HttpServerOptions> = {},
): Promise<{ url: string; port: number; inflight(): number; close(): Promise<void> }> {
  const budget = createBodyBudget(o.maxInflightBodyBytes ?? 64 * 1024 * 1024);
  const server: Server = createHttpServer({
    ingestor: ts.pipeline.ingestor,
    metrics: ts.telemetry.prometheus,
    logger: silentLogger,
    health: () => ({ ok: true }),
    maxBodyBytes: 8 * 1024 * 1024,
    bodyBudget: budget,
    ...o,
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    inflight: () => budget.used,
    close: async () => {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

async function postRaw(
  url: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', body, headers: { 'content-type': 'application/x-ndjson', ...headers } });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Opens a raw socket, sends request headers (declared < 0: chunked) and `bytes` of body, and collects whatever comes back. */
function stalled(port: number, declared: number, bytes: number): { socket: Socket; answer: Promise<string> } {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  const answer = new Promise<string>((ok) => {
    socket.on('close', () => ok(text));
    socket.on('error', () => undefined);
  });
  const length = declared < 0 ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
  socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n${length}\r\n\r\n`);
  if (bytes > 0) socket.write(declared < 0 ? `${bytes.toString(16)}\r\n${' '.repeat(bytes)}\r\n` : Buffer.alloc(bytes, 0x20));
  return { socket, answer };
}

const waitFor = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((ok) => setTimeout(ok, 20));
  }
};

describe('HTTP ingest edge (issue 9)', () => {
  let ts: RunningPipeline;
  before(async () => {
    ts = await startPipeline({});
  });
  after(() => ts.stop({ remove: true }));

  it('item 3: an array element nested 100,000 deep is too_deep; the good elements beside it are kept', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const body = `[${line(event('arr-1'))},${deep},${line(event('arr-2'))}]`;
    const r = await postRaw(ts.url, body, { 'content-type': 'application/json' });
    assert.equal(r.status, 207);
    const json = JSON.parse(r.text) as { accepted: number; rejected: number; results: { index: number; reason: string }[] };
    assert.equal(json.accepted, 2);
    assert.deepEqual(
      json.results.map((x) => [x.index, x.reason]),
      [[1, 'too_deep']],
    );
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'too_deep', limit: 10 });
    assert.equal(letters.length, 1);
    assert.equal(letters[0]!.raw, deep);
    assert.equal((await fetch(`${ts.url}/healthz`)).status, 200);
  });

  it('item 3: a whole body nested 100,000 deep is one too_deep element, never a 503', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const r = await postRaw(ts.url, deep, { 'content-type': 'application/json' });
    assert.equal(r.status, 422);
    assert.match(r.text, /too_deep/);
  });

  it('item 3: an array whose structure is broken is a 400, dead-lettered as invalid_json; elements keep their exact bytes', async () => {
    for (const bad of ['[{"v":1}', '[1,,2]', '[1,]', '[{"a":1]]', '[1] trailing']) {
      const r = await postRaw(ts.url, bad, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, bad);
      assert.ok(
        (await ts.pipeline.store.deadLetters.list({ reason: 'invalid_json', limit: 1000 })).some((l) => l.raw === bad),
        bad,
      );
    }
    const spaced = `[\n  ${JSON.stringify(event('arr-3'), null, 1)} ,\n  "a \\" ] string"\n]`;
    const r = await postRaw(ts.url, spaced, { 'content-type': 'application/json' });
    assert.equal(r.status, 207);
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'schema', limit: 1000 });
    assert.ok(letters.some((l) => l.raw === '"a \\" ] string"'));
  });

  it('item 6: 8 MiB of "1\\n" lines gives a small answer, at most cap + 1 dead letters, and /healthz answers meanwhile', async () => {
    const edge = await serve(ts, { maxRequestDeadLetters: 100 });
    try {
      const before = await ts.pipeline.store.deadLetters.countByReason();
      const rowsBefore = Object.values(before).reduce((a, b) => a + (b ?? 0), 0);
      const body = Buffer.alloc(8 * 1024 * 1024 - 200, '1\n');
      const good = Buffer.from(`${line(event('flood-good'))}\n`);
      const posting = postRaw(edge.url, Buffer.concat([good, body]));
      let slowest = 0;
      let done = false;
      void posting.then(() => (done = true));
      while (!done) {
        const t0 = performance.now();
        const h = await fetch(`${edge.url}/healthz`);
        await h.text();
        slowest = Math.max(slowest, performance.now() - t0);
        await new Promise((ok) => setTimeout(ok, 50));
      }
      const r = await posting;
      assert.equal(r.status, 207);
      assert.ok(r.text.length < 64 * 1024, `answer is ${r.text.length} bytes`);
      const json = JSON.parse(r.text) as { accepted: number; rejected: number; results: unknown[]; omitted: number };
      assert.equal(json.accepted, 1);
      assert.equal(json.rejected, body.length / 2);
      assert.equal(json.results.length, 100);
      assert.equal(json.omitted, json.rejected - 100);
      const after = await ts.pipeline.store.deadLetters.countByReason();
      const rowsAfter = Object.values(after).reduce((a, b) => a + (b ?? 0), 0);
      assert.ok(rowsAfter - rowsBefore <= 101, `${rowsAfter - rowsBefore} dead-letter rows`);
      const summary = (await ts.pipeline.store.deadLetters.list({ reason: 'dead_letters_dropped', limit: 10 })).at(-1);
      assert.match(summary?.message ?? '', new RegExp(`^${json.rejected - 100} more rejected inputs`));
      assert.ok(slowest < 1000, `/healthz took ${Math.round(slowest)} ms during the flood`);
      const metrics = await (await fetch(`${ts.url}/metrics`)).text();
      assert.match(metrics, /turnstream_events_dead_lettered_total\{[^}]*dead_letters_dropped[^}]*\} \d+/);
      process.stdout.write(`# item 6: answer ${r.text.length} B, dead-letter rows +${rowsAfter - rowsBefore}, slowest /healthz ${Math.round(slowest)} ms\n`);
    } finally {
      await edge.close();
    }
  });

  it('item 7: bytes in flight over the cap are refused 503 + Retry-After; a stalled body is cut at the timeout; a good request still works; memory is given back', async () => {
    const edge = await serve(ts, { maxInflightBodyBytes: 64 * 1024, bodyIdleTimeoutMillis: 400, bodyTimeoutMillis: 1500, maxBodyBytes: 1024 * 1024 });
    try {
      // One stalled client holds 40 KiB of the 64 KiB cap.
      const a = stalled(edge.port, 50 * 1024, 40 * 1024);
      await waitFor(() => edge.inflight() >= 40 * 1024);
      // Declared more than is left: refused before its body is read.
      const b = stalled(edge.port, 30 * 1024, 0);
      const bAnswer = await b.answer;
      assert.match(bAnswer, /^HTTP\/1\.1 503/);
      assert.match(bAnswer, /retry-after: 1/i);
      // Chunked (no declared length): refused once its bytes stop fitting.
      const c = stalled(edge.port, -1, 30 * 1024);
      assert.match(await c.answer, /^HTTP\/1\.1 503/);
      assert.equal(edge.inflight(), 40 * 1024, 'the refused body gave its bytes back');
      // A small good request fits beside the stalled one.
      const ok = await postRaw(edge.url, `${line(event('while-stalled'))}\n`);
      assert.equal(ok.status, 200);
      // The stalled body is cut at the idle timeout.
      const aAnswer = await a.answer;
      assert.match(aAnswer, /^HTTP\/1\.1 408/);
      // A client that keeps trickling is cut at the total timeout.
      const d = stalled(edge.port, 10_000, 10);
      const trickle = setInterval(() => d.socket.write(' '), 100);
      const t0 = Date.now();
      const dAnswer = await d.answer;
      clearInterval(trickle);
      assert.match(dAnswer, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - t0 >= 1400 && Date.now() - t0 < 4000);
      // A client that goes away mid-body frees its bytes: the full cap is usable again.
      const e = stalled(edge.port, 60 * 1024, 50 * 1024);
      await waitFor(() => edge.inflight() === 50 * 1024);
      e.socket.destroy();
      await e.answer;
      await waitFor(() => edge.inflight() === 0);
      const big = `${Array.from({ length: 400 }, (_, i) => line(event(`after-${i}`))).join('\n')}\n`;
      assert.ok(big.length > 20 * 1024 && big.length < 64 * 1024, `${big.length}`);
      assert.equal((await postRaw(edge.url, big)).status, 200, 'the bytes of the aborted body came back to the budget');
      assert.equal(edge.inflight(), 0);
    } finally {
      await edge.close();
    }
  });

  it('item 8: an invalid UTF-8 line is invalid_utf8 with its exact bytes kept; ids differing only in an invalid byte do not collide', async () => {
    const enc = (s: string): Buffer => Buffer.from(s, 'utf8');
    const bad1 = Buffer.concat([
      enc('{"v":1,"id":"u-'),
      Buffer.from([0xff]),
      enc('","type":"turn.start","session":"edge-s","turn":"t","time":"2026-03-02T10:00:00Z"}'),
    ]);
    const bad2 = Buffer.concat([
      enc('{"v":1,"id":"u-'),
      Buffer.from([0xfe]),
      enc('","type":"turn.start","session":"edge-s","turn":"t","time":"2026-03-02T10:00:00Z"}'),
    ]);
    const body = Buffer.concat([enc(`${line(event('utf8-good-é'))}\n`), bad1, enc('\n'), bad2, enc('\r\n')]);
    const r = await postRaw(ts.url, body);
    assert.equal(r.status, 207);
    const json = JSON.parse(r.text) as { accepted: number; results: { index: number; reason: string }[] };
    assert.equal(json.accepted, 1);
    assert.deepEqual(
      json.results.map((x) => [x.index, x.reason]),
      [
        [1, 'invalid_utf8'],
        [2, 'invalid_utf8'],
      ],
    );
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'invalid_utf8', limit: 10 });
    assert.deepEqual(
      letters.map((l) => Buffer.from(l.rawBase64 ?? '', 'base64')),
      [bad1, bad2],
    );
    assert.ok(letters.every((l) => l.raw.includes('\ufffd') && l.source === 'http'));
    // In an array body too.
    const arr = Buffer.concat([enc('['), bad1, enc(`,${line(event('utf8-arr-good'))}]`)]);
    const ra = await postRaw(ts.url, arr, { 'content-type': 'application/json' });
    assert.equal(ra.status, 207);
    assert.equal((await ts.pipeline.store.deadLetters.list({ reason: 'invalid_utf8', limit: 10 })).length, 3);
  });

  it('item 11: gzip bodies are accepted; a gzip bomb is 413 without inflating it; other encodings are 415', async () => {
    const edge = await serve(ts, { maxBodyBytes: 64 * 1024 });
    try {
      const plain = `${line(event('gz-1'))}\n${line(event('gz-2'))}\n`;
      const r = await postRaw(edge.url, gzipSync(plain), { 'content-encoding': 'gzip' });
      assert.equal(r.status, 200, r.text);
      assert.equal((JSON.parse(r.text) as { accepted: number }).accepted, 2);
      const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
      assert.ok(bomb.length < 128 * 1024);
      const rb = await postRaw(edge.url, bomb, { 'content-encoding': 'gzip' });
      assert.equal(rb.status, 413);
      assert.match(rb.text, /decoded/);
      const rn = await postRaw(edge.url, gzipSync(plain).subarray(0, 20), { 'content-encoding': 'gzip' });
      assert.equal(rn.status, 400);
      const rbr = await postRaw(edge.url, 'x', { 'content-encoding': 'br' });
      assert.equal(rbr.status, 415);
      assert.match(rbr.text, /gzip or identity/);
      assert.equal((await postRaw(edge.url, `${line(event('gz-3'))}\n`, { 'content-encoding': 'identity' })).status, 200);
      assert.equal((await fetch(`${edge.url}/healthz`)).status, 200);
    } finally {
      await edge.close();
    }
  });

  it('item 12: HEAD /metrics and HEAD /healthz answer like GET, without a body', async () => {
    for (const path of ['/metrics', '/healthz']) {
      const res = await fetch(`${ts.url}${path}`, { method: 'HEAD' });
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), '');
    }
  });
});
