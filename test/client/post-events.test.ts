import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { postEvents } from '../../src/client/post-events.ts';
import { TurnstreamError } from '../../src/errors.ts';

/** A server answering the nth request with `answer(n)`. */
async function answering(answer: (n: number) => [number, string]): Promise<{ url: string; requests: () => number; close: () => void }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const [status, body] = answer(++n);
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests: () => n, close: () => server.close() };
}

describe('postEvents retries through the shared retrier', () => {
  it('retries a 429 like a 503, then returns the answer', async () => {
    const s = await answering((n) => (n === 1 ? [429, '{"error":"slow down"}'] : [200, '{"accepted":1,"duplicate":0,"rejected":0,"results":[]}']));
    try {
      const r = await postEvents(['{}'], { url: s.url });
      assert.deepEqual([r.status, r.accepted, s.requests()], [200, 1, 2]);
    } finally {
      s.close();
    }
  });

  it('a 429 that persists ends as a retriable TurnstreamError after `attempts`', async () => {
    const s = await answering(() => [429, '{"error":"slow down"}']);
    try {
      await assert.rejects(
        postEvents(['{}'], { url: s.url, attempts: 2 }),
        (e: unknown) => e instanceof TurnstreamError && e.retriable && e.message.endsWith('answered 429: slow down'),
      );
      assert.equal(s.requests(), 2);
    } finally {
      s.close();
    }
  });

  it('attempts: 1 never retries, even a network error', async () => {
    const s = await answering(() => [503, '{"error":"busy"}']);
    try {
      await assert.rejects(postEvents(['{}'], { url: s.url, attempts: 1 }), /answered 503: busy/);
      assert.equal(s.requests(), 1);
    } finally {
      s.close();
    }
  });
});
