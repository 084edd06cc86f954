import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnstreamError } from '../../src/errors.ts';
import { backoffMillis, isRetriable, retry, type RetryClock } from '../../src/retry/retry.ts';

/** Virtual time: sleeping moves the clock and records the wait. */
function virtualClock(): RetryClock & { waits: number[] } {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => t,
    sleep: async (ms) => {
      waits.push(ms);
      t += ms;
    },
  };
}

const busy = (): TurnstreamError => new TurnstreamError('busy', { retriable: true });
const base = { initialBackoffMillis: 100, maxBackoffMillis: 1_000 } as const;

describe('retry', () => {
  it('waits with exponential backoff and full jitter, capped, until an attempt succeeds', async () => {
    const clock = virtualClock();
    const randoms = [0.5, 0.999, 0, 0.5, 0.5];
    let calls = 0;
    const seen: number[] = [];
    const result = await retry(
      async (n) => {
        seen.push(n);
        if (++calls < 6) throw busy();
        return 'done';
      },
      { ...base, maxAttempts: 6, clock, random: () => randoms.shift()! },
    );
    assert.equal(result, 'done');
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    // ceilings 100, 200, 400, 800, 1000 (capped); the wait is random · ceiling
    assert.deepEqual(clock.waits, [50, 199.8, 0, 400, 500]);
  });

  it('throws the last error once the attempts are used up, without a final wait', async () => {
    const clock = virtualClock();
    let n = 0;
    await assert.rejects(
      retry(
        async () => {
          throw new TurnstreamError(`busy ${++n}`, { retriable: true });
        },
        { ...base, maxAttempts: 3, clock, random: () => 1 },
      ),
      { message: 'busy 3' },
    );
    assert.deepEqual(clock.waits, [100, 200]);
  });

  it('never retries a programming error or a non-retriable TurnstreamError', async () => {
    for (const error of [new TypeError('x is not a function'), new RangeError('bad'), new TurnstreamError('401', { retriable: false })]) {
      let calls = 0;
      await assert.rejects(
        retry(
          async () => {
            calls++;
            throw error;
          },
          { ...base, maxAttempts: 5, clock: virtualClock() },
        ),
        error,
      );
      assert.equal(calls, 1, String(error));
    }
    assert.equal(isRetriable(new Error('ECONNRESET')), true, 'a library I/O error is retried');
    assert.equal(isRetriable(busy()), true);
  });

  it('bail() stops at once with the given error', async () => {
    let calls = 0;
    const stop = new TurnstreamError('answered 500', { retriable: true });
    await assert.rejects(
      retry(
        async (_n, bail) => {
          calls++;
          return bail(stop);
        },
        { ...base, maxAttempts: 5, clock: virtualClock() },
      ),
      stop,
    );
    assert.equal(calls, 1);
  });

  it('does not start a wait that would end past the deadline', async () => {
    const clock = virtualClock();
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          calls++;
          throw busy();
        },
        { ...base, maxAttempts: 100, deadlineMillis: 1_000, clock, random: () => 1 },
      ),
      { message: 'busy' },
    );
    // waits 100 + 200 + 400 = 700; the next (800) would end at 1500 > 1000
    assert.deepEqual(clock.waits, [100, 200, 400]);
    assert.equal(calls, 4);
  });

  it('an aborted signal stops retrying; onRetry sees each failure and its wait', async () => {
    const controller = new AbortController();
    const retries: [number, number][] = [];
    let calls = 0;
    await assert.rejects(
      retry(
        async () => {
          if (++calls === 2) controller.abort();
          throw busy();
        },
        {
          ...base,
          maxAttempts: 10,
          clock: virtualClock(),
          random: () => 0.5,
          signal: controller.signal,
          onRetry: ({ attempt, delayMillis }) => retries.push([attempt, delayMillis]),
        },
      ),
    );
    assert.equal(calls, 2);
    assert.deepEqual(retries, [[1, 50]]);
  });

  it('backoffMillis: uniform below min(cap, initial · 2^(retry − 1))', () => {
    assert.equal(
      backoffMillis(1, base, () => 0.999),
      99.9,
    );
    assert.equal(
      backoffMillis(4, base, () => 0.5),
      400,
    );
    assert.equal(
      backoffMillis(30, base, () => 0.5),
      500,
    );
    assert.equal(
      backoffMillis(3, base, () => 0),
      0,
    );
  });

  it('on the wall clock, waits for real (default clock)', async () => {
    let calls = 0;
    const started = performance.now();
    await retry(
      async () => {
        if (++calls < 2) throw busy();
      },
      { initialBackoffMillis: 40, maxBackoffMillis: 40, maxAttempts: 2, random: () => 0.99 },
    );
    assert.ok(performance.now() - started >= 35);
  });
});
