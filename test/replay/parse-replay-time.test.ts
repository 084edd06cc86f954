import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TurnstreamError } from '../../src/errors.ts';
import { parseReplayPoint, parseReplayTime } from '../../src/replay/parse-replay-time.ts';

describe('parseReplayTime', () => {
  it('reads RFC 3339 with a zone, and bare dates as midnight UTC', () => {
    assert.equal(parseReplayTime('2026-03-02T10:00:05Z', '--at'), Date.UTC(2026, 2, 2, 10, 0, 5));
    assert.equal(parseReplayTime('2026-03-02T11:00:05+01:00', '--at'), Date.UTC(2026, 2, 2, 10, 0, 5));
    assert.equal(parseReplayTime('2026-03-02t10:00:05.250z', '--at'), Date.UTC(2026, 2, 2, 10, 0, 5, 250));
    assert.equal(parseReplayTime('2026-03-02 10:00Z', '--at'), Date.UTC(2026, 2, 2, 10, 0));
    assert.equal(parseReplayTime('2026-03-02T10:00:05.123456Z', '--at'), Date.UTC(2026, 2, 2, 10, 0, 5, 123));
    assert.equal(parseReplayTime(' 2026-03-02 ', '--from'), Date.UTC(2026, 2, 2));
  });

  it('refuses what is not a real, zoned time, naming the flag and the accepted forms', () => {
    const cases: [string, RegExp][] = [
      ['yesterday', /--from: "yesterday" is not a time; use RFC 3339 with a zone/],
      ['2026-02-30', /is not a real date/],
      ['2026-13-01', /is not a real date/],
      ['2026-03-02T25:00:00Z', /is not a real time/],
      ['2026-03-02T10:00:00', /has no time zone; add Z/],
      ['1772445600000', /is not a time/],
      ['2026-3-2', /is not a time/],
    ];
    for (const [value, message] of cases)
      assert.throws(
        () => parseReplayTime(value, '--from'),
        (e: unknown) => e instanceof TurnstreamError && message.test(e.message),
        value,
      );
  });
});

describe('parseReplayPoint (--at)', () => {
  it('a date-like value is a time (strictly), anything else an event id', () => {
    assert.deepEqual(parseReplayPoint('2026-03-02T10:00:05Z'), { kind: 'time', ms: Date.UTC(2026, 2, 2, 10, 0, 5) });
    assert.deepEqual(parseReplayPoint('demo1-018'), { kind: 'event', id: 'demo1-018' });
    assert.deepEqual(parseReplayPoint('01J9Z3ABCD'), { kind: 'event', id: '01J9Z3ABCD' });
    assert.throws(() => parseReplayPoint('2026-03-02T10:00'), /--at: .* has no time zone/);
    assert.throws(() => parseReplayPoint(''), /--at: give a time/);
  });
});
