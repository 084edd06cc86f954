import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits, type DecodeResult } from '../../src/events/decode-event.ts';

// Issue 9, items 1, 2 and 4: values that were acknowledged and then stopped processing (deep
// nesting), or poisoned totals (1e309, 2^60 tokens), are refused by the decoder with a reason.
// Numbers in messages are JavaScript's rendering of the parsed double (2^60 → 1152921504606847000).
const NOW = 1_772_452_800_000; // 2026-03-02T12:00:00Z
const HEAD = '{"v":1,"id":"deep-1","type":"state.set","session":"s1","time":"2026-03-02T10:00:00Z","key":"k"';
const USAGE = '{"v":1,"id":"u1","type":"llm.usage","session":"s1","turn":"t1","time":"2026-03-02T10:00:00Z","provider":"anthropic","model":"claude-sonnet-4-5"';
const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'reasoningTokens'];

type Obj = Record<string, unknown>;
const ids = { session: 's1', eventId: 'deep-1' };
const limits = (over: Partial<DecodeLimits>): DecodeLimits => ({ ...DEFAULT_DECODE_LIMITS, ...over });
const nested = (d: number): string => `${'['.repeat(d)}${']'.repeat(d)}`;
const usage = (fields: string): string => `${USAGE},${fields}}`;
const usageObj = (extra: Obj): Obj => ({
  v: 1,
  id: 'u1',
  type: 'llm.usage',
  session: 's1',
  turn: 't1',
  time: '2026-03-02T10:00:00Z',
  provider: 'anthropic',
  model: 'm',
  inputTokens: 1,
  outputTokens: 1,
  ...extra,
});

/** A value nested `d` arrays deep, built without recursion. */
function deepArray(d: number): unknown {
  let v: unknown[] = [];
  for (let i = 1; i < d; i++) v = [v];
  return v;
}

function decode(input: unknown, l?: DecodeLimits): DecodeResult {
  return decodeEvent(input, NOW, l);
}
function accepted(r: DecodeResult): Obj {
  if (!r.ok) assert.fail(`expected acceptance, got ${r.reason}: ${r.message}`);
  return r.event as unknown as Obj;
}
function rejected(r: DecodeResult, reason: string): Extract<DecodeResult, { ok: false }> {
  if (r.ok) assert.fail(`expected ${reason}, got an accepted event`);
  assert.equal(r.reason, reason, r.message);
  return r;
}
const deepMessage = (field: string, max = 32): string =>
  `${field}: nests more than ${max} levels of [ and { (the event object is level 1); flatten the value or send it as a JSON string`;

describe('decodeEvent: nesting depth (too_deep)', () => {
  it('the 5,000-deep state value of issue 9 is refused before parsing, naming the field', () => {
    assert.deepEqual(decode(`${HEAD},"value":${nested(5000)}}`), { ok: false, reason: 'too_deep', message: deepMessage('value') });
  });

  it('a 5,000-deep unknown field is refused too', () => {
    const text = `${HEAD},"value":1,"extra":${'{"a":'.repeat(5000)}0${'}'.repeat(5000)}}`;
    assert.deepEqual(decode(text), { ok: false, reason: 'too_deep', message: deepMessage('extra') });
  });

  it('the same values as parsed input (a JSON-array body element) are refused without recursion, with ids', () => {
    const base = JSON.parse(`${HEAD},"value":null}`) as Obj;
    assert.deepEqual(decode({ ...base, value: deepArray(5000) }), { ok: false, reason: 'too_deep', message: deepMessage('value'), ...ids });
    assert.deepEqual(decode({ ...base, value: 1, extra: deepArray(100_000) }), { ok: false, reason: 'too_deep', message: deepMessage('extra'), ...ids });
  });

  it('depth exactly at the limit passes, one more fails (text and parsed; the event object is level 1)', () => {
    const at = `${HEAD},"value":${nested(31)}}`;
    const over = `${HEAD},"value":${nested(32)}}`;
    assert.deepEqual(accepted(decode(at))['value'], deepArray(31));
    rejected(decode(over), 'too_deep');
    accepted(decode(JSON.parse(at)));
    assert.equal(rejected(decode(JSON.parse(over)), 'too_deep').message, deepMessage('value'));
  });

  it('maxDepth is a limit: 3 allows {"value":[[]]} and refuses {"value":[[[]]]}', () => {
    accepted(decode(`${HEAD},"value":[[]]}`, limits({ maxDepth: 3 })));
    assert.equal(rejected(decode(`${HEAD},"value":[[[]]]}`, limits({ maxDepth: 3 })), 'too_deep').message, deepMessage('value', 3));
    assert.equal(rejected(decode(`${HEAD},"value":{"a":{"b":{}}}}`, limits({ maxDepth: 3 })), 'too_deep').message, deepMessage('value', 3));
  });

  it('attrs and every other field count: a nested attr is too deep before it is a schema error', () => {
    assert.equal(rejected(decode(`${HEAD},"value":1,"attrs":{"a":${nested(40)}}}`), 'too_deep').message, deepMessage('attrs'));
  });

  it('brackets and escaped quotes inside strings are not nesting', () => {
    const tricky = `x\\"${'['.repeat(100)}\\\\`;
    const event = accepted(decode(`${HEAD},"value":{"s":"${tricky}","t":"${'{'.repeat(100)}"},"k\\"e[y":"]"}`));
    assert.deepEqual(event['value'], { s: `x"${'['.repeat(100)}\\`, t: '{'.repeat(100) });
    accepted(decode(`${HEAD},"value":["${'['.repeat(40)}", ${nested(30)}]}`));
  });

  it('a top-level array keeps its own reason whatever its depth; malformed text too, unless it is already too deep', () => {
    assert.equal(rejected(decode(nested(16_000)), 'schema').message, 'an event must be a JSON object');
    rejected(decode(`${HEAD},"value":${'['.repeat(3)}`), 'invalid_json');
    rejected(decode(`${HEAD},"value":${'['.repeat(40)}`), 'too_deep'); // depth is judged first, as the text goes
    assert.equal(rejected(decode(deepArray(100_000)), 'schema').message, 'an event must be a JSON object');
  });

  it('a cyclic object (not JSON, but decodeEvent takes unknown) ends at the depth bound', () => {
    const base = JSON.parse(`${HEAD},"value":{}}`) as Obj;
    (base['value'] as Obj)['self'] = base['value'];
    assert.equal(rejected(decode(base), 'too_deep').message, deepMessage('value'));
  });
});

describe('decodeEvent: numbers must be finite (out_of_range)', () => {
  const infinity = (path: string): string => `${path}: a number too large for a double (it parses as ±Infinity); every number must be finite`;

  it('1e309 as tokens and as cost (issue 9) is refused, naming the field', () => {
    for (const field of TOKEN_FIELDS) {
      const text = usage(`"inputTokens":1,"outputTokens":1,"${field}":1e309`);
      assert.deepEqual(decode(text), { ok: false, reason: 'out_of_range', message: infinity(field), session: 's1', eventId: 'u1' });
    }
    assert.equal(rejected(decode(usage('"inputTokens":1,"outputTokens":1,"cost":1e309')), 'out_of_range').message, infinity('cost'));
    assert.equal(rejected(decode(usage('"inputTokens":1,"outputTokens":1,"cost":-1E+309')), 'out_of_range').message, infinity('cost'));
  });

  it('anywhere: attrs, durationMs, seq, time, state values, unknown fields, and a 400-digit literal', () => {
    const cases: [string, string][] = [
      [usage('"inputTokens":1,"outputTokens":1,"attrs":{"x":1e309}'), 'attrs.x'],
      [usage('"inputTokens":1,"outputTokens":1,"durationMs":2e308'), 'durationMs'],
      [usage('"inputTokens":1,"outputTokens":1,"seq":1e400'), 'seq'],
      [`${HEAD.replace('"2026-03-02T10:00:00Z"', '1e309')},"value":1}`, 'time'],
      [`${HEAD},"value":{"a":[0,1.5,1e309]}}`, 'value.a.2'],
      [`${HEAD},"value":1,"extra":{"n":-1e999}}`, 'extra.n'],
      [`${HEAD},"value":${'9'.repeat(400)}}`, 'value'],
    ];
    for (const [text, path] of cases) assert.equal(rejected(decode(text), 'out_of_range').message, infinity(path), text);
  });

  it('parsed input with Infinity or NaN (possible in an array body element) is refused the same way', () => {
    assert.equal(rejected(decode(usageObj({ cost: Number.POSITIVE_INFINITY })), 'out_of_range').message, infinity('cost'));
    assert.equal(rejected(decode(usageObj({ attrs: { n: Number.NaN } })), 'out_of_range').message, infinity('attrs.n'));
  });

  it('large but finite doubles and exponents are fine where no bound applies', () => {
    const event = accepted(decode(`${HEAD},"value":{"big":1.7e308,"small":-1e-320,"e":2E+3}}`));
    assert.deepEqual(event['value'], { big: 1.7e308, small: -1e-320, e: 2000 });
    assert.equal(accepted(decode(usage('"inputTokens":1e3,"outputTokens":1,"cost":2.1e-5')))['cost'], 2.1e-5);
  });
});

describe('decodeEvent: sane per-call bounds (out_of_range)', () => {
  it('2^60 tokens (priced at $20.7 trillion in issue 9) are refused for every token field', () => {
    for (const field of TOKEN_FIELDS) {
      const text = usage(`"inputTokens":1,"outputTokens":1,"${field}":1152921504606846976`);
      assert.deepEqual(decode(text), {
        ok: false,
        reason: 'out_of_range',
        session: 's1',
        eventId: 'u1',
        message: `${field}: 1152921504606847000 is above the limit of 100000000 tokens for one LLM call; check how the producer counts tokens`,
      });
    }
  });

  it('the bounds are inclusive: at the limit passes, just over fails', () => {
    const cases: [Obj, Obj, string][] = [
      [
        { inputTokens: 100_000_000 },
        { inputTokens: 100_000_001 },
        'inputTokens: 100000001 is above the limit of 100000000 tokens for one LLM call; check how the producer counts tokens',
      ],
      [{ cost: 10_000 }, { cost: 10_000.01 }, 'cost: 10000.01 is above the limit of 10000 USD for one LLM call; cost is in USD, not cents or micro-dollars'],
      [
        { durationMs: 604_800_000 },
        { durationMs: 604_800_001 },
        'durationMs: 604800001 is above the limit of 604800000 ms; durationMs is in milliseconds, not µs or ns',
      ],
      [
        { seq: Number.MAX_SAFE_INTEGER },
        { seq: 2 ** 53 },
        'seq: 9007199254740992 is above the limit of 9007199254740991; seq must be a safe integer (at most 2^53 - 1)',
      ],
      [
        { step: Number.MAX_SAFE_INTEGER },
        { step: 2 ** 53 },
        'step: 9007199254740992 is above the limit of 9007199254740991; step must be a safe integer (at most 2^53 - 1)',
      ],
    ];
    for (const [ok, over, message] of cases) {
      accepted(decode(usageObj(ok)));
      assert.equal(rejected(decode(usageObj(over)), 'out_of_range').message, message);
    }
    const tool = { v: 1, id: 'x', type: 'tool.end', session: 's1', turn: 't1', time: NOW, toolCallId: 'c', toolName: 'Bash' };
    accepted(decode({ ...tool, durationMs: 604_800_000 }));
    assert.equal(
      rejected(decode({ ...tool, durationMs: 1e12 }), 'out_of_range').message,
      'durationMs: 1000000000000 is above the limit of 604800000 ms; durationMs is in milliseconds, not µs or ns',
    );
  });

  it('negative values and fractional tokens stay schema errors (as negative tokens always were)', () => {
    assert.equal(rejected(decode(usageObj({ cost: -0.01 })), 'schema').message, 'cost: must be >= 0');
    assert.equal(rejected(decode(usageObj({ durationMs: -1 })), 'schema').message, 'durationMs: must be >= 0');
    assert.equal(rejected(decode(usageObj({ reasoningTokens: -1 })), 'schema').message, 'reasoningTokens: must be >= 0');
    assert.equal(rejected(decode(usageObj({ outputTokens: 1e8 + 0.5 })), 'schema').message, 'outputTokens: must be integer');
  });

  it('the bounds are limits: other values compile their own validator and leave the defaults alone', () => {
    const small = limits({ maxTokensPerCall: 10, maxCostPerCallUsd: 1, maxDurationMs: 1000 });
    accepted(decode(usageObj({ inputTokens: 10, cost: 1, durationMs: 1000 }), small));
    assert.equal(
      rejected(decode(usageObj({ inputTokens: 11 }), small), 'out_of_range').message,
      'inputTokens: 11 is above the limit of 10 tokens for one LLM call; check how the producer counts tokens',
    );
    assert.equal(rejected(decode(usageObj({ cost: 1.5 }), { ...small }), 'out_of_range').reason, 'out_of_range');
    assert.equal(rejected(decode(usageObj({ durationMs: 1001 }), small), 'out_of_range').reason, 'out_of_range');
    accepted(decode(usageObj({ inputTokens: 11, cost: 1.5, durationMs: 1001 })));
    const big = limits({ maxTokensPerCall: 2 ** 53 - 1 });
    accepted(decode(usageObj({ inputTokens: 2 ** 40 }), big));
  });

  it('a DecodeLimits without the new fields (as older callers build it) gets the defaults', () => {
    const old: DecodeLimits = { maxEventBytes: 65536, maxAttributes: 32, maxFutureSkewMs: 300_000 };
    rejected(decode(`${HEAD},"value":${nested(32)}}`, old), 'too_deep');
    rejected(decode(usageObj({ inputTokens: 2 ** 60 }), old), 'out_of_range');
    accepted(decode(usageObj({ inputTokens: 1e8 }), old));
  });
});

describe('decodeEvent: attribute names are bounded', () => {
  it('a name of 256 characters passes, 257 is a schema error saying so', () => {
    accepted(decode(usageObj({ attrs: { ['a'.repeat(256)]: 1 } })));
    assert.equal(
      rejected(decode(usageObj({ attrs: { ok: 1, ['a'.repeat(257)]: 1 } })), 'schema').message,
      'attrs: an attribute name must be at most 256 characters (got 257)',
    );
  });
});

describe('the published schema carries the default bounds', () => {
  const text = readFileSync(new URL('../../src/events/event-v1.schema.json', import.meta.url), 'utf8');
  const schema = JSON.parse(text) as { definitions: Record<string, { maximum?: number; properties: Record<string, { maximum?: number }> }> };
  const validate = new Ajv({ discriminator: true, strict: false }).compile(JSON.parse(text) as object);

  it('its maxima are DEFAULT_DECODE_LIMITS, so producers and the pipeline agree', () => {
    const d = schema.definitions;
    assert.equal(d['tokens']!.maximum, DEFAULT_DECODE_LIMITS.maxTokensPerCall);
    assert.equal(d['llm.usage']!.properties['cost']!.maximum, DEFAULT_DECODE_LIMITS.maxCostPerCallUsd);
    assert.equal(d['llm.usage']!.properties['durationMs']!.maximum, DEFAULT_DECODE_LIMITS.maxDurationMs);
    assert.equal(d['tool.end']!.properties['durationMs']!.maximum, DEFAULT_DECODE_LIMITS.maxDurationMs);
    assert.equal(DEFAULT_DECODE_LIMITS.maxDepth, 32);
  });

  it('alone, it refuses 2^60 tokens and a cost over 10,000 USD', () => {
    assert.equal(validate(usageObj({ inputTokens: 2 ** 60 })), false);
    assert.equal(validate(usageObj({ cost: 20.7e12 })), false);
    assert.equal(validate(usageObj({ inputTokens: 1e8, cost: 10_000 })), true);
  });
});
