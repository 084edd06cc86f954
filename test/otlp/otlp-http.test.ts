import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/logger.ts';
import protobuf from 'protobufjs';
import { Ingestor } from '../../src/pipeline/ingestor.ts';
import type { DeadLetterStore } from '../../src/log/dead-letter-store.ts';
import { createHttpServer } from '../../src/sources/http-server.ts';
import { claudeLogsRequest, type SpanSpec, T0, traceId, traceRequest } from './otlp-payloads.ts';
import { encodeRequest, type OtlpTestServer, postOtlp, startOtlpServer } from './otlp-test-server.ts';

const chat = (trace: string, parent?: string): SpanSpec => ({
  trace,
  id: parent === undefined ? 'root' : 'child',
  ...(parent === undefined ? {} : { parent }),
  name: 'chat',
  start: T0,
  end: T0 + 1000,
  attrs: {
    'gen_ai.operation.name': 'chat',
    'gen_ai.provider.name': 'openai',
    'gen_ai.request.model': 'gpt-4o',
    'gen_ai.usage.input_tokens': 10,
    'gen_ai.usage.output_tokens': 5,
  },
});

describe('OTLP/HTTP: protocol, limits and bad input', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer({ token: 'sekret', maxBodyBytes: 64 * 1024, traceBuffer: { maxSpans: 3, settleMs: 60_000 } });
  });
  after(() => ts.stop());
  const auth = { authorization: 'Bearer sekret' };

  it('refuses a request without the bearer token (401) and stores nothing', async () => {
    const r = await postOtlp(ts.url, 'logs', claudeLogsRequest([]), 'protobuf');
    assert.equal(r.status, 401);
    const wrong = await postOtlp(ts.url, 'traces', traceRequest([chat('a')]), 'json', { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.equal(await ts.pipeline.store.log.head(), 0);
  });

  it('answers 415 for a content type that is not OTLP', async () => {
    const r = await postOtlp(ts.url, 'traces', traceRequest([chat('a')]), 'json', { headers: { ...auth, 'content-type': 'text/plain' } });
    assert.equal(r.status, 415);
    assert.match(String(r.body['message']), /application\/x-protobuf or application\/json/);
  });

  it('answers 400 with a Status for a truncated protobuf body, and dead-letters its exact bytes', async () => {
    const whole = encodeRequest('traces', traceRequest([chat('trunc')]), 'protobuf');
    const cut = whole.subarray(0, whole.length - 7);
    const r = await postOtlp(ts.url, 'traces', undefined, 'protobuf', { headers: auth, raw: cut });
    assert.equal(r.status, 400);
    assert.equal(r.contentType, 'application/x-protobuf');
    const status = otlpStatus(r.bytes);
    assert.equal(status.code, 3);
    assert.match(status.message, /not a protobuf ExportTraceServiceRequest/);
    const [letter] = await ts.pipeline.store.deadLetters.list({ reason: 'invalid_otlp' });
    assert.equal(letter?.source, 'otlp');
    assert.deepEqual(Buffer.from(letter?.rawBase64 ?? '', 'base64'), cut);
  });

  it('answers 400 for JSON that does not parse or is not an export request', async () => {
    for (const raw of ['{"resourceSpans": [', '{"resourceSpans": 5}', '[]']) {
      const r = await postOtlp(ts.url, 'traces', undefined, 'json', { headers: auth, raw: Buffer.from(raw) });
      assert.equal(r.status, 400, raw);
      assert.equal(r.body['code'], 3);
    }
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'invalid_otlp' });
    assert.ok(letters.some((l) => l.raw === '{"resourceSpans": 5}'));
  });

  it('accepts gzip bodies, and refuses a body over the limit (413) like /v1/events', async () => {
    const id = 'gz-session';
    const logs = claudeLogsRequest([{ name: 'user_prompt', time: T0, attrs: { 'session.id': id, 'prompt.id': 'p', 'event.sequence': 0 } }]);
    const r = await postOtlp(ts.url, 'logs', logs, 'protobuf', { gzip: true, headers: auth });
    assert.deepEqual([r.status, r.body], [200, {}]);
    await ts.settle();
    assert.deepEqual(
      (await ts.events()).filter((e) => e.session === id).map((e) => e.type),
      ['session.start', 'turn.start'],
    );
    const big = await postOtlp(ts.url, 'logs', undefined, 'json', { headers: auth, raw: Buffer.alloc(100 * 1024, 0x20) });
    assert.equal(big.status, 413);
  });

  it('acknowledges metrics without counting them (Claude Code metrics repeat its events)', async () => {
    const before = await ts.pipeline.store.log.head();
    const metrics = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'claude_code.token.usage',
                  sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: '42', timeUnixNano: `${T0}000000`, attributes: [] }] },
                },
              ],
            },
          ],
        },
      ],
    };
    for (const encoding of ['protobuf', 'json'] as const) {
      const r = await postOtlp(ts.url, 'metrics', metrics, encoding, { headers: auth });
      assert.deepEqual([r.status, r.body], [200, {}]);
    }
    assert.equal(await ts.pipeline.store.log.head(), before);
  });

  it('answers 405 for another method on an OTLP path', async () => {
    const r = await fetch(`${ts.url}/v1/traces`, { headers: auth });
    assert.equal(r.status, 405);
  });

  it('rejects spans beyond the trace buffer bound in partial_success, dead-lettered as otlp_buffer_full', async () => {
    const spans = ['b1', 'b2', 'b3', 'b4', 'b5'].map((t) => chat(t));
    const r = await postOtlp(ts.url, 'traces', traceRequest(spans), 'protobuf', { headers: auth });
    assert.equal(r.status, 200);
    const partial = r.body['partialSuccess'] as { rejectedSpans: number; errorMessage: string };
    assert.equal(partial.rejectedSpans, 2);
    assert.match(partial.errorMessage, /trace buffer is full/);
    const letters = await ts.pipeline.store.deadLetters.list({ reason: 'otlp_buffer_full' });
    assert.equal(letters.length, 2);
    assert.ok(letters.every((l) => l.source === 'otlp' && l.raw.includes(traceId('b4')) !== l.raw.includes(traceId('b5'))));
    await ts.settle();
    assert.deepEqual(
      (await ts.events()).filter((e) => e.type === 'llm.usage').map((e) => e.session),
      [traceId('b1'), traceId('b2'), traceId('b3')],
    );
    const metrics = await (await fetch(`${ts.url}/metrics`)).text();
    assert.match(metrics, /turnstream_events_dead_lettered_total\{[^}]*otlp_buffer_full[^}]*\} 2/);
  });
});

describe('OTLP/HTTP: a full trace buffer asks the client to retry (503 + Retry-After), taking nothing', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer({ traceBuffer: { maxTraces: 2, settleMs: 60_000 } });
  });
  after(() => ts.stop());

  it('refuses a request that fits only once the waiting traces are stored; the same request is taken after they are', async () => {
    assert.equal((await postOtlp(ts.url, 'traces', traceRequest([chat('w1'), chat('w2')]), 'protobuf')).status, 200);
    // Two traces wait (not settled): a request with a third and a fourth does not fit now.
    const request = traceRequest([chat('w3'), chat('w4')]);
    const refused = await postOtlp(ts.url, 'traces', request, 'protobuf');
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.equal(refused.contentType, 'application/x-protobuf');
    assert.match(otlpStatus(refused.bytes).message, /trace buffer is full.*none of this request's 2 spans was taken/);
    assert.equal((await ts.pipeline.store.deadLetters.list({ reason: 'otlp_buffer_full' })).length, 0, 'nothing dead-lettered');
    await ts.settle(); // the waiting traces are mapped and stored: room again
    assert.deepEqual(
      (await ts.events()).filter((e) => e.type === 'llm.usage').map((e) => e.session),
      [traceId('w1'), traceId('w2')],
      'nothing of the refused request was taken',
    );
    const retried = await postOtlp(ts.url, 'traces', request, 'protobuf');
    assert.equal(retried.status, 200);
    assert.deepEqual(retried.body, {});
    await ts.settle();
    assert.deepEqual(
      (await ts.events()).filter((e) => e.type === 'llm.usage').map((e) => e.session),
      [traceId('w1'), traceId('w2'), traceId('w3'), traceId('w4')],
    );
  });
});

describe('OTLP/HTTP: the trace buffer maps a trace by itself once it settles', () => {
  let ts: OtlpTestServer;
  before(async () => {
    ts = await startOtlpServer({ traceBuffer: { settleMs: 50, idleMs: 400 } });
  });
  after(() => ts.stop());

  const waitFor = async (session: string, n: number): Promise<number> => {
    const started = Date.now();
    while (Date.now() - started < 5_000) {
      const got = (await ts.events()).filter((e) => e.session === session).length;
      if (got >= n) return Date.now() - started;
      await sleep(20);
    }
    assert.fail(`no ${n} events for ${session} within 5 s`);
  };

  it('after its root arrived (settle) and, without a root, after the idle timeout', async () => {
    await postOtlp(ts.url, 'traces', traceRequest([chat('auto', 'elsewhere')]), 'json');
    await postOtlp(ts.url, 'traces', traceRequest([chat('rooted')]), 'json');
    const settled = await waitFor(traceId('rooted'), 3);
    assert.ok(settled < 400, `a rooted trace waits only the settle time (${settled} ms)`);
    await waitFor(traceId('auto'), 3);
  });
});

describe('OTLP/HTTP: storage faults', () => {
  it('answers 503 with Retry-After when the log cannot be written, acknowledging nothing', async () => {
    const failing = async (): Promise<never> => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    const deadLetters = { put: failing } as unknown as DeadLetterStore;
    const ingestor = new Ingestor({ log: { append: failing }, deadLetters });
    const server = createHttpServer({ ingestor, metrics: () => undefined, health: () => ({ ok: true }), logger: silentLogger, maxBodyBytes: 1 << 20 });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const logs = claudeLogsRequest([{ name: 'user_prompt', time: T0, attrs: { 'session.id': 's', 'prompt.id': 'p' } }]);
      const r = await postOtlp(url, 'logs', logs, 'json');
      assert.equal(r.status, 503);
      assert.equal(r.body['code'], 14);
    } finally {
      await new Promise((ok) => server.close(ok));
    }
  });
});

/** `google.rpc.Status` (code 1, message 2), decoded with protobufjs. */
const STATUS = new protobuf.Type('Status').add(new protobuf.Field('code', 1, 'int32')).add(new protobuf.Field('message', 2, 'string'));
new protobuf.Root().define('google.rpc').add(STATUS);

function otlpStatus(bytes: Buffer): { code: number; message: string } {
  return STATUS.toObject(STATUS.decode(bytes)) as { code: number; message: string };
}
