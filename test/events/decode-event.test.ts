import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodeResult } from '../../src/events/decode-event.ts';

// 2026-03-02T12:00:00Z = (56 × 365 + 14 leap days + 31 + 28 + 1) days × 86_400_000 + 12 h × 3_600_000
//                      = 20_514 × 86_400_000 + 43_200_000 = 1_772_452_800_000
const NOW = 1_772_452_800_000;
const T = '2026-03-02T12:00:00Z';
const UNKNOWN_TYPE = 'type: unknown event type (expected session.start|session.end|turn.start|turn.end|llm.usage|tool.start|tool.end|state.set|state.delete)';

type Obj = Record<string, unknown>;
const env = (type: string, extra: Obj = {}): Obj => ({ v: 1, id: 'e1', type, session: 's1', time: T, ...extra });

const MINIMAL: Record<string, Obj> = {
  'session.start': env('session.start'),
  'session.end': env('session.end'),
  'turn.start': env('turn.start', { turn: 't1' }),
  'turn.end': env('turn.end', { turn: 't1' }),
  'llm.usage': env('llm.usage', { turn: 't1', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 0, outputTokens: 0 }),
  'tool.start': env('tool.start', { turn: 't1', toolCallId: 'c1', toolName: 'Bash' }),
  'tool.end': env('tool.end', { turn: 't1', toolCallId: 'c1', toolName: 'Bash' }),
  'state.set': env('state.set', { key: 'plan', value: null }),
  'state.delete': env('state.delete', { key: 'plan' }),
};

const common = { turn: 't1', seq: 7, attrs: { 'agent.name': 'coder', 'retry.count': 2, ci: true } };
const FULL: Record<string, Obj> = {
  'session.start': env('session.start', { ...common, agent: 'claude-code', user: 'alice' }),
  'session.end': env('session.end', { ...common, reason: 'user_exit' }),
  'turn.start': env('turn.start', common),
  'turn.end': env('turn.end', { ...common, stopReason: 'end_turn' }),
  'llm.usage': env('llm.usage', {
    ...common,
    step: 3,
    provider: 'anthropic',
    model: 'claude-opus-4-1',
    inputTokens: 10,
    outputTokens: 20,
    cacheReadTokens: 30,
    cacheWriteTokens: 40,
    cacheWrite5mTokens: 15,
    cacheWrite1hTokens: 25,
    reasoningTokens: 5,
    cost: 0.25,
    costSource: 'provider',
    finishReason: 'tool_use',
    durationMs: 1234.5,
    auth: 'api-key',
  }),
  'tool.start': env('tool.start', { ...common, toolCallId: 'c1', toolName: 'Bash' }),
  'tool.end': env('tool.end', { ...common, toolCallId: 'c1', toolName: 'Bash', durationMs: 12, error: 'exit 1' }),
  'state.set': env('state.set', { ...common, key: 'plan', value: { step: [1, 'two', null, { deep: true }] } }),
  'state.delete': env('state.delete', { ...common, key: 'plan' }),
};

const limits = (over: Partial<DecodeLimits>): DecodeLimits => ({ ...DEFAULT_DECODE_LIMITS, ...over });

/** Decodes a deep copy: decodeEvent adds `timeMs` to the object it is given. */
function decode(input: unknown, l?: DecodeLimits): DecodeResult {
  return decodeEvent(typeof input === 'string' ? input : structuredClone(input), NOW, l);
}

function accepted(r: DecodeResult): Obj {
  if (!r.ok) assert.fail(`expected acceptance, got ${r.reason}: ${r.message}`);
  return r.event as unknown as Obj;
}

function rejected(r: DecodeResult): Extract<DecodeResult, { ok: false }> {
  if (r.ok) assert.fail(`expected a rejection, got ${JSON.stringify(r.event)}`);
  return r;
}

describe('decodeEvent: valid events', () => {
  for (const [type, event] of Object.entries(MINIMAL)) {
    it(`accepts a minimal ${type}, as JSON text and as a parsed value, adding timeMs`, () => {
      assert.deepEqual(accepted(decode(JSON.stringify(event))), { ...event, timeMs: NOW });
      assert.deepEqual(accepted(decode(event)), { ...event, timeMs: NOW });
    });
  }
  for (const [type, event] of Object.entries(FULL)) {
    it(`accepts a ${type} with every optional field`, () => {
      assert.deepEqual(accepted(decode(JSON.stringify(event))), { ...event, timeMs: NOW });
    });
  }
  it('accepts the other enum values, boolean tool errors and non-reserved keys', () => {
    accepted(decode({ ...FULL['llm.usage'], costSource: 'computed', auth: 'oauth' }));
    accepted(decode({ ...FULL['llm.usage'], costSource: 'subscription', auth: 'subscription' }));
    accepted(decode({ ...FULL['tool.end'], error: true }));
    accepted(decode({ ...MINIMAL['state.set'], key: '$turnstream' }));
    accepted(decode({ ...MINIMAL['state.set'], key: 'a/$turnstream/b' }));
  });
});

describe('decodeEvent: schema rejections', () => {
  for (const [type, event] of Object.entries(MINIMAL)) {
    for (const field of Object.keys(event).filter((k) => k !== 'v')) {
      it(`${type} without "${field}" → schema: missing required field`, () => {
        const { [field]: _dropped, ...rest } = event;
        const r = rejected(decode(rest));
        assert.equal(r.reason, 'schema');
        assert.equal(r.message, `event: missing required field "${field}"`);
      });
    }
  }

  const cases: [string, Obj, string][] = [
    ['wrong type (session is a number)', { ...MINIMAL['turn.start'], session: 5 }, 'session: must be string'],
    ['wrong type (type is a number)', { ...MINIMAL['turn.start'], type: 5 }, 'type: must be string'],
    ['empty id', { ...MINIMAL['turn.start'], id: '' }, 'id: must NOT have fewer than 1 characters'],
    ['unknown type', env('llm.call', { turn: 't1' }), UNKNOWN_TYPE],
    ['negative inputTokens', { ...MINIMAL['llm.usage'], inputTokens: -1 }, 'inputTokens: must be >= 0'],
    ['negative cacheReadTokens', { ...MINIMAL['llm.usage'], cacheReadTokens: -5 }, 'cacheReadTokens: must be >= 0'],
    ['non-integer outputTokens', { ...MINIMAL['llm.usage'], outputTokens: 2.5 }, 'outputTokens: must be integer'],
    ['tokens as a string', { ...MINIMAL['llm.usage'], inputTokens: '10' }, 'inputTokens: must be integer'],
    ['negative seq', { ...MINIMAL['turn.start'], seq: -1 }, 'seq: must be >= 0'],
    ['unknown auth', { ...MINIMAL['llm.usage'], auth: 'password' }, 'auth: must be equal to one of the allowed values'],
    ['reserved state.set key', { ...MINIMAL['state.set'], key: '$turnstream/window' }, 'key: the prefix "$turnstream/" is reserved'],
    ['reserved state.delete key', { ...MINIMAL['state.delete'], key: '$turnstream/x' }, 'key: the prefix "$turnstream/" is reserved'],
    [
      'time is free text',
      { ...MINIMAL['turn.start'], time: 'yesterday' },
      'time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0',
    ],
    [
      'time without an offset',
      { ...MINIMAL['turn.start'], time: '2026-03-02T12:00:00' },
      'time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0',
    ],
    [
      'time with 10 fraction digits',
      { ...MINIMAL['turn.start'], time: '2026-03-02T12:00:00.1234567891Z' },
      'time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0',
    ],
    ['time with month 13', { ...MINIMAL['turn.start'], time: '2026-13-01T00:00:00Z' }, 'time: not a valid date'],
    ['attrs is not an object', { ...MINIMAL['turn.start'], attrs: 'x' }, 'attrs: must be object'],
    [
      'attr string over 1024 chars',
      { ...MINIMAL['turn.start'], attrs: { a: 'x'.repeat(1025) } },
      'attrs.a: an attribute value must be a string (at most 1024 characters), a number or a boolean',
    ],
  ];
  for (const [name, event, message] of cases) {
    it(`${name} → schema: ${message}`, () => {
      const r = rejected(decode(event));
      assert.equal(r.reason, 'schema');
      assert.equal(r.message, message);
    });
  }

  it('rejects attr values that are objects, arrays or null, naming the attribute', () => {
    for (const value of [{ b: 1 }, [1], null]) {
      const r = rejected(decode({ ...MINIMAL['turn.start'], attrs: { ok: 1, a: value } }));
      assert.equal(r.reason, 'schema');
      assert.match(r.message, /^attrs\.a: /);
    }
  });

  it('rejects a negative or fractional epoch time', () => {
    for (const time of [-1, 1.5]) {
      const r = rejected(decode({ ...MINIMAL['turn.start'], time }));
      assert.equal(r.reason, 'schema');
      assert.match(r.message, /^time: /);
    }
  });

  it('enforces maxAttributes: the limit is accepted, one more is not', () => {
    const attrs = (n: number): Obj => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    accepted(decode({ ...MINIMAL['turn.start'], attrs: attrs(2) }, limits({ maxAttributes: 2 })));
    const r = rejected(decode({ ...MINIMAL['turn.start'], attrs: attrs(3) }, limits({ maxAttributes: 2 })));
    assert.deepEqual(r, { ok: false, reason: 'schema', message: 'attrs: more than 2 attributes', session: 's1', eventId: 'e1' });
    accepted(decode({ ...MINIMAL['turn.start'], attrs: attrs(32) }));
    assert.equal(rejected(decode({ ...MINIMAL['turn.start'], attrs: attrs(33) })).message, 'attrs: more than 32 attributes');
  });

  it('rejects an impossible calendar day instead of rolling it over', () => {
    const r = rejected(decode({ ...MINIMAL['turn.start'], time: '2026-02-30T00:00:00Z' }));
    assert.equal(r.reason, 'schema');
  });
});

describe('decodeEvent: other rejection reasons', () => {
  it('invalid_json: the parser message, no session or id', () => {
    assert.deepEqual(decode('{"v":1,'), {
      ok: false,
      reason: 'invalid_json',
      message: 'Expected double-quoted property name in JSON at position 7 (line 1 column 8)',
    });
    assert.deepEqual(decode(''), { ok: false, reason: 'invalid_json', message: 'Unexpected end of JSON input' });
  });

  it('unknown_version: v 2, v missing, v "1" (checked before the schema)', () => {
    const { v: _v, ...noV } = MINIMAL['turn.start']!;
    const expect = (v: string) => ({
      ok: false,
      reason: 'unknown_version',
      message: `v: ${v} is not a supported schema version (supported: 1)`,
      session: 's1',
      eventId: 'e1',
    });
    assert.deepEqual(decode({ ...MINIMAL['turn.start'], v: 2 }), expect('2'));
    assert.deepEqual(decode(noV), expect('null'));
    assert.deepEqual(decode(JSON.stringify({ ...MINIMAL['turn.start'], v: '1' })), expect('"1"'));
    assert.deepEqual(decode({ v: 2, id: 'e1', session: 's1' }), expect('2'));
  });

  it('too_large counts UTF-8 bytes, not characters', () => {
    // {"v":1,"id":"e1","type":"state.set","session":"s1","time":"2026-03-02T12:00:00Z","key":"plan","value":""}
    // is 105 characters; 100 × "€" (3 bytes each) makes it 105 + 100 = 205 characters but
    // 105 + 300 = 405 bytes.
    const text = JSON.stringify({ ...MINIMAL['state.set'], value: '€'.repeat(100) });
    assert.equal(text.length, 205);
    accepted(decode(text, limits({ maxEventBytes: 405 })));
    assert.deepEqual(decode(text, limits({ maxEventBytes: 404 })), { ok: false, reason: 'too_large', message: 'event is 405 bytes; the limit is 404' });
    assert.equal(rejected(decode(text, limits({ maxEventBytes: 205 }))).reason, 'too_large'); // chars would pass
  });

  it('too_large is checked before parsing', () => {
    const r = rejected(decode(`{"v":1, not json ${'x'.repeat(100)}`, limits({ maxEventBytes: 50 })));
    assert.equal(r.reason, 'too_large');
    assert.equal(r.message, 'event is 117 bytes; the limit is 50'); // 17 + 100 characters, all ASCII
  });

  it('too_large applies to an already-parsed value (JSON array body)', () => {
    const r = rejected(decode({ ...MINIMAL['state.set'], value: '€'.repeat(100) }, limits({ maxEventBytes: 404 })));
    assert.equal(r.reason, 'too_large');
  });

  it('time_skew: beyond maxFutureSkewMs is rejected, up to it is accepted', () => {
    assert.equal(accepted(decode({ ...MINIMAL['turn.start'], time: NOW + 300_000 })).timeMs, NOW + 300_000);
    assert.equal(accepted(decode({ ...MINIMAL['turn.start'], time: '2026-03-02T12:05:00Z' })).timeMs, NOW + 300_000);
    const late = rejected(decode({ ...MINIMAL['turn.start'], time: '2026-03-02T12:05:00.001Z' }));
    assert.equal(late.reason, 'time_skew');
    assert.deepEqual(decode({ ...MINIMAL['turn.start'], time: NOW + 400_000 }), {
      ok: false,
      reason: 'time_skew',
      message: "time is 400 s in the future (limit 300 s); check the producer's clock",
      session: 's1',
      eventId: 'e1',
    });
    accepted(decode({ ...MINIMAL['turn.start'], time: NOW }, limits({ maxFutureSkewMs: 0 })));
    assert.equal(rejected(decode({ ...MINIMAL['turn.start'], time: NOW + 1 }, limits({ maxFutureSkewMs: 0 }))).reason, 'time_skew');
    assert.equal(accepted(decode({ ...MINIMAL['turn.start'], time: 0 })).timeMs, 0); // the past is not skew
  });
});

describe('decodeEvent: timeMs normalisation', () => {
  const cases: [string | number, number][] = [
    ['2026-03-02T12:00:00Z', NOW],
    ['2026-03-02T12:00:00.000Z', NOW],
    ['2026-03-02T12:00:00.5Z', NOW + 500],
    ['2026-03-02T12:00:00.123456789Z', NOW + 123],
    ['2026-03-02T13:30:00.250+01:30', NOW + 250],
    ['2026-03-02T07:00:00-05:00', NOW],
    ['2026-03-02T00:00:00-12:00', NOW],
    ['2026-03-02t12:00:00z', NOW],
    ['2026-03-02 12:00:00Z', NOW],
    ['1970-01-01T00:00:01Z', 1000],
    [NOW, NOW],
    [NOW - 1, NOW - 1],
  ];
  for (const [time, expected] of cases) {
    it(`${JSON.stringify(time)} → ${expected}`, () => {
      const event = accepted(decode({ ...MINIMAL['turn.start'], time }));
      assert.equal(event['timeMs'], expected);
      assert.equal(event['time'], time); // the original is kept
    });
  }
});

describe('decodeEvent: ids on rejection, and never throwing', () => {
  it('returns session and eventId when they are strings, and omits them otherwise', () => {
    assert.deepEqual(decode(env('nope')), { ok: false, reason: 'schema', message: UNKNOWN_TYPE, session: 's1', eventId: 'e1' });
    assert.deepEqual(decode({ type: 'nope', v: 1, id: 9, session: 's1' }), {
      ok: false,
      reason: 'schema',
      message: 'event: missing required field "time"',
      session: 's1',
    });
    assert.deepEqual(decode({ v: 1, id: 'only-id' }), { ok: false, reason: 'schema', message: 'event: missing required field "type"', eventId: 'only-id' });
  });

  it('answers every JSON value (and undefined) with a result', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const values: unknown[] = [
      null,
      true,
      false,
      0,
      -1,
      1.5,
      'x',
      '',
      [],
      [{}],
      {},
      undefined,
      'null',
      '[]',
      '"x"',
      '42',
      '1e999',
      'true',
      deep,
      '{"__proto__":{"v":1}}',
    ];
    for (const value of values) {
      let r: DecodeResult | undefined;
      assert.doesNotThrow(
        () => {
          r = decodeEvent(value, NOW);
        },
        `threw on ${JSON.stringify(value)?.slice(0, 40)}`,
      );
      assert.equal(rejected(r!).ok, false);
    }
    for (const value of [null, true, 0, 'x', [], undefined, 'null', '[]', '"x"', '42', deep]) {
      const r = rejected(decodeEvent(value, NOW));
      if (value !== 'x') assert.deepEqual(r, { ok: false, reason: 'schema', message: 'an event must be a JSON object' });
    }
  });
});

describe('the published schema file alone validates the examples', () => {
  const schemaUrl = new URL('../../src/events/event-v1.schema.json', import.meta.url);
  const validate = new Ajv({ discriminator: true, strict: false }).compile(JSON.parse(readFileSync(schemaUrl, 'utf8')) as object);
  const dir = new URL('../../examples/', import.meta.url);

  it('accepts every valid example line and rejects exactly the intentionally bad ones', () => {
    const unparseable: string[] = [];
    const invalidIds: string[] = [];
    let valid = 0;
    for (const file of readdirSync(dir)
      .filter((f) => f.endsWith('.ndjson'))
      .sort()) {
      const lines = readFileSync(new URL(file, dir), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (line.trim() === '') return;
        let value: Obj;
        try {
          value = JSON.parse(line) as Obj;
        } catch {
          unparseable.push(`${file}:${i + 1}`);
          return;
        }
        if (validate(value)) {
          valid++;
          accepted(decodeEvent(value, Date.parse('2100-01-01T00:00:00Z'))); // the pipeline agrees
        } else {
          invalidIds.push(String(value['id']));
        }
      });
    }
    assert.deepEqual(unparseable, ['messy-delivery.ndjson:7']);
    assert.deepEqual(invalidIds, ['demo3-v2', 'demo3-nomodel']);
    assert.equal(valid, 19 + 12 + (15 - 3));
  });

  it('rejects what the decoder rejects for schema reasons', () => {
    assert.equal(validate(env('llm.call', { turn: 't1' })), false);
    assert.equal(validate({ ...MINIMAL['state.set'], key: '$turnstream/x' }), false);
    assert.equal(validate({ ...MINIMAL['llm.usage'], inputTokens: -1 }), false);
    assert.equal(validate(MINIMAL['llm.usage']), true);
  });
});
