import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { validateEvent } from '../../src/events/validate-event.ts';
import { decodeEvent, DEFAULT_DECODE_LIMITS, type DecodeLimits } from '../../src/events/decode-event.ts';

// The hand-written validator against the published schema compiled by Ajv (the validator the
// decoder used before), over a systematic sweep (every field × a pool of edge values, on a valid
// event of every type) and seeded random mutations. For each event: both accept or both refuse;
// a refusal is out_of_range for both or schema for both; and decodeEvent's reason and message are
// exactly what the Ajv-era decoder built from Ajv's first error (the oracle below is its code).
// Rerun one seed: FUZZ_SEED=<seed> node --test test/events/validate-event-schema.test.ts

type Obj = Record<string, unknown>;
interface Bounds {
  readonly tokens: number;
  readonly cost: number;
  readonly duration: number;
}
const DEFAULT_BOUNDS: Bounds = { tokens: 100_000_000, cost: 10_000, duration: 604_800_000 };
const OTHER_BOUNDS: readonly Bounds[] = [
  { tokens: 10, cost: 1, duration: 1000 },
  { tokens: 0, cost: 0, duration: 0 },
  { tokens: 2 ** 53 - 1, cost: 0.5, duration: 1e15 },
  { tokens: 2.5, cost: 1e-3, duration: 0.5 },
];
const NOW = 1_772_452_800_000; // 2026-03-02T12:00:00Z
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

// ---- the oracle: Ajv compiled from the schema file with the maxima written in, as the decoder did ----
const schemaText = readFileSync(new URL('../../src/events/event-v1.schema.json', import.meta.url), 'utf8');
const compiled = new Map<string, ValidateFunction>();
function ajvFor(b: Bounds): ValidateFunction {
  const key = `${b.tokens}/${b.cost}/${b.duration}`;
  let validate = compiled.get(key);
  if (validate === undefined) {
    const schema = JSON.parse(schemaText) as { definitions: Record<string, { maximum?: number; properties: Record<string, { maximum?: number }> }> };
    const d = schema.definitions;
    d['tokens']!.maximum = b.tokens;
    d['llm.usage']!.properties['cost']!.maximum = b.cost;
    d['llm.usage']!.properties['durationMs']!.maximum = b.duration;
    d['tool.end']!.properties['durationMs']!.maximum = b.duration;
    validate = new Ajv({ discriminator: true, allErrors: false, strict: false }).compile(schema);
    compiled.set(key, validate);
  }
  return validate;
}

const TOKEN_FIELDS = ['inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'cacheWrite5mTokens', 'cacheWrite1hTokens', 'reasoningTokens'];
const RANGE_HINT: Record<string, readonly [string, string]> = {
  cost: [' USD for one LLM call', 'cost is in USD, not cents or micro-dollars'],
  durationMs: [' ms', 'durationMs is in milliseconds, not µs or ns'],
  seq: ['', 'seq must be a safe integer (at most 2^53 - 1)'],
  step: ['', 'step must be a safe integer (at most 2^53 - 1)'],
};

/** What the Ajv-era decoder answered for Ajv's first error (its `outOfRange` and `describe`, verbatim). */
function oracle(e: ErrorObject, obj: Obj): { reason: string; message: string } {
  if (e.keyword === 'maximum') {
    const field = e.instancePath.slice(1);
    const [unit, advice] = TOKEN_FIELDS.includes(field)
      ? [' tokens for one LLM call', 'check how the producer counts tokens']
      : (RANGE_HINT[field] ?? ['', 'see the published schema']);
    return { reason: 'out_of_range', message: `${field}: ${String(obj[field])} is above the limit of ${String(e.params['limit'])}${unit}; ${advice}` };
  }
  const schema = (message: string) => ({ reason: 'schema', message });
  const where = e.instancePath === '' ? 'event' : e.instancePath.slice(1).replaceAll('/', '.');
  if (e.keyword === 'required') return schema(`${where}: missing required field "${String(e.params['missingProperty'])}"`);
  if (e.keyword === 'discriminator' || (e.keyword === 'const' && e.instancePath === '/type')) {
    return schema('type: unknown event type (expected session.start|session.end|turn.start|turn.end|llm.usage|tool.start|tool.end|state.set|state.delete)');
  }
  if (e.instancePath === '/time') return schema('time: must be an RFC 3339 timestamp (2026-03-02T10:00:00Z) or whole epoch milliseconds >= 0');
  if (e.instancePath === '/attrs' && e.propertyName !== undefined) {
    return schema(`attrs: an attribute name must be at most 256 characters (got ${e.propertyName.length})`);
  }
  if (e.instancePath.startsWith('/attrs/')) return schema(`${where}: an attribute value must be a string (at most 1024 characters), a number or a boolean`);
  if (e.keyword === 'pattern' && e.instancePath === '/key') return schema('key: the prefix "$turnstream/" is reserved');
  return schema(`${where}: ${e.message ?? 'invalid'}`);
}

// ---- value pools ----
const ASTRAL = '😀'; // one code point, two UTF-16 units
/** Strings around a code-point limit: ASCII, astral, mixed, and lone / reversed surrogates. */
function around(max: number): string[] {
  const out: string[] = [];
  for (const n of [max - 1, max, max + 1]) {
    out.push('a'.repeat(n), ASTRAL.repeat(n), `${'b'.repeat(Math.ceil(n / 2))}${ASTRAL.repeat(Math.floor(n / 2))}`);
    out.push('\ud83d'.repeat(n), '\ude00\ud83d'.repeat(Math.floor(n / 2)) + (n % 2 ? 'c' : ''), `${ASTRAL.repeat(n - 1)}\ud83d`);
    out.push('\ud83d\ue000'.repeat(Math.ceil(n / 2))); // a high surrogate before a non-surrogate unit: two code points
  }
  return out;
}
const WRONG = [null, true, false, 0, -1, 1.5, '', 'x', [], {}, [1], { a: 1 }];
const ids = (): unknown[] => [...WRONG, 'e-1', ...around(256)];
const strs = (max: number): unknown[] => [...WRONG, 'ok', ...around(max)];
const ints = (max: number): unknown[] => [...WRONG, 0, 1, 7, max, max - 1, max + 1, max + 0.5, max * 2, -0.5, 2 ** 53, 1e20, 1.0, '10'];
const nums = (max: number): unknown[] => [...WRONG, 0, 0.25, 1e-9, max, max - 0.001, max + 0.001, max * 2 + 1, -0.001, 2 ** 60, '1'];
const enums = (...ok: string[]): unknown[] => [...WRONG, ...ok, ok[0]!.toUpperCase(), ` ${ok[0]}`, [ok[0]]];
const TYPES = ['session.start', 'session.end', 'turn.start', 'turn.end', 'llm.usage', 'tool.start', 'tool.end', 'state.set', 'state.delete'];
const T = '2026-03-02T12:00:00Z';
const TIMES: unknown[] = [
  ...WRONG,
  ...[T, '2026-03-02t12:00:00z', '2026-03-02 12:00:00Z', '2026-03-02T12:00:00.1Z', '2026-03-02T12:00:00.123456789+01:30', '2026-03-02T07:00:00-05:00'],
  ...['2026-13-45T99:99:99Z', '0000-00-00T00:00:00.000000000z', '2026-03-02T12:00:00', '2026-03-02T12:00:00.1234567891Z', '2026-03-02T12:00:00.Z'],
  ...['2026-3-02T12:00:00Z', '2026-03-02T12:00:00+0100', '2026-03-02T12:00:00+01:3', '2026-03-02T12:00:00Zx', `${T}\n`, ` ${T}`, 'yesterday'],
  ...['２０２６-03-02T12:00:00Z', '2026-03-02_12:00:00Z', '2026-03-02T12:00:00+01:00:00', '2026-03-02T12:00:00.123+01:00 ', '2026-03-02T12:00:00.5'],
  ...[0, 1, NOW, MAX_SAFE, 2 ** 53, 1e20, -1, -0.5, 1.5, NOW + 0.5],
];
const nameOf = (n: number, astral = false): string => (astral ? ASTRAL : 'n').repeat(n);
const ATTRS: unknown[] = [
  ...[null, [], 'x', 1, true, {}, [{ a: 1 }]],
  ...[{ a: 'x' }, { a: 1, b: true, c: 's', d: -2.5 }, { a: null }, { a: {} }, { a: [] }, { a: [1] }, { 'a/b': null }, { 'a~b': {} }, { '~/.': [] }],
  ...[{ [nameOf(256)]: 1 }, { [nameOf(257)]: 1 }, { [nameOf(256, true)]: 1 }, { [nameOf(257, true)]: 1 }, { [`${nameOf(255, true)}\ud83d`]: 1 }],
  ...[
    { bad: null, [nameOf(257)]: 1 },
    { b: null, 2: 'x'.repeat(1025) },
    { ok: 'y', [nameOf(300, true)]: { deep: [1] } },
  ],
  ...around(1024).map((s) => ({ a: s })),
  JSON.parse('{"__proto__": 5, "b": "x"}'),
  JSON.parse('{"__proto__": {"x": 1}}'),
];
const KEYS: unknown[] = [
  ...strs(512),
  '$turnstream',
  '$turnstream/',
  '$turnstream/x',
  'a/$turnstream/b',
  '$TURNSTREAM/x',
  ' $turnstream/x',
  `$turnstream/${'a'.repeat(600)}`,
];
const ANY: unknown[] = [...WRONG, 'x'.repeat(3000), { a: [1, { b: null }] }, [[[]]]];

/** Every field of any event type, with the values to try in it (bounds-dependent for the maxima). */
function pool(field: string, b: Bounds): unknown[] {
  if (TOKEN_FIELDS.includes(field)) return ints(b.tokens);
  switch (field) {
    case 'v':
      return [1, 2, 0, '1', null, 1.5, true];
    case 'type':
      return [...TYPES, 'llm.call', '', 'session.Start', 5, null, true, {}, ['turn.start']];
    case 'id':
    case 'session':
    case 'turn':
    case 'toolCallId':
    case 'toolName':
    case 'agent':
    case 'user':
    case 'provider':
    case 'model':
      return ids();
    case 'time':
      return TIMES;
    case 'seq':
    case 'step':
      return ints(MAX_SAFE);
    case 'attrs':
      return ATTRS;
    case 'reason':
    case 'stopReason':
      return strs(256);
    case 'finishReason':
      return strs(64);
    case 'error':
      return [...strs(1024), true];
    case 'cost':
      return nums(b.cost);
    case 'durationMs':
      return nums(b.duration);
    case 'costSource':
      return enums('provider', 'computed', 'subscription');
    case 'auth':
      return enums('api-key', 'oauth', 'subscription');
    case 'key':
      return KEYS;
    default:
      return ANY; // value, and unknown extra fields
  }
}
const FIELDS = ['v', 'id', 'type', 'session', 'turn', 'time', 'seq', 'attrs', 'agent', 'user', 'reason', 'stopReason', 'step', 'provider', 'model'].concat(
  TOKEN_FIELDS,
  ['cost', 'costSource', 'finishReason', 'durationMs', 'auth', 'toolCallId', 'toolName', 'error', 'key', 'value', 'extra'],
);

/** A valid event of `type` with every optional field (the sweep's base), or with a random subset. */
function validEvent(type: string, keep: (field: string) => boolean = () => true): Obj {
  const all: Obj = { turn: 't1', seq: 7, attrs: { 'agent.name': 'coder', n: 2, ci: true } };
  const specific: Record<string, Obj> = {
    'session.start': { agent: 'claude-code', user: 'alice' },
    'session.end': { reason: 'user_exit' },
    'turn.end': { stopReason: 'end_turn' },
    'llm.usage': {
      ...{ step: 3, cacheReadTokens: 30, cacheWriteTokens: 40, cacheWrite5mTokens: 15, cacheWrite1hTokens: 25, reasoningTokens: 5, cost: 0.25 },
      ...{ costSource: 'provider', finishReason: 'tool_use', durationMs: 1234.5, auth: 'api-key' },
    },
    'tool.end': { durationMs: 12, error: 'exit 1' },
  };
  const required: Record<string, Obj> = {
    'turn.start': { turn: 't1' },
    'turn.end': { turn: 't1' },
    'llm.usage': { turn: 't1', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 20 },
    'tool.start': { turn: 't1', toolCallId: 'c1', toolName: 'Bash' },
    'tool.end': { turn: 't1', toolCallId: 'c1', toolName: 'Bash' },
    'state.set': { key: 'plan', value: { step: [1, 'two', null] } },
    'state.delete': { key: 'plan' },
  };
  const optional = Object.entries({ ...all, ...specific[type] }).filter(([field]) => keep(field));
  return { v: 1, id: 'e1', type, session: 's1', time: T, ...Object.fromEntries(optional), ...required[type] };
}

// ---- the check ----
interface Tally {
  accepted: number;
  schema: number;
  outOfRange: number;
}
const lenient = (b: Bounds): DecodeLimits => ({
  ...DEFAULT_DECODE_LIMITS,
  ...{ maxEventBytes: 1 << 24, maxAttributes: 1e6, maxFutureSkewMs: Number.POSITIVE_INFINITY },
  ...{ maxTokensPerCall: b.tokens, maxCostPerCallUsd: b.cost, maxDurationMs: b.duration },
});

/** Compares the hand validator (and decodeEvent) with Ajv on the JSON of `event`; `label` says how to reproduce a failure. */
function check(event: Obj, b: Bounds, label: string, tally: Tally): void {
  const obj = JSON.parse(JSON.stringify(event)) as Obj; // what decode sees: JSON values only
  const validate = ajvFor(b);
  const ajvOk = validate(obj);
  const first = validate.errors?.[0];
  const mine = validateEvent(obj, b.tokens, b.cost, b.duration);
  const context = (): string => `${label}; bounds ${JSON.stringify(b)}\nevent: ${JSON.stringify(obj).slice(0, 400)}`;
  if ((mine === undefined) !== ajvOk) {
    assert.fail(
      `Ajv ${ajvOk ? 'accepts' : `refuses (${JSON.stringify(first)})`}, validateEvent ${mine ? `refuses (${JSON.stringify(mine)})` : 'accepts'}\n${context()}`,
    );
  }
  const decoded = decodeEvent(structuredClone(obj), NOW, lenient(b));
  if (ajvOk) {
    tally.accepted++;
    // Valid for the schema; only the calendar check after it (2026-02-30) may still refuse.
    if (!decoded.ok) assert.equal(decoded.message, 'time: not a valid date', context());
    return;
  }
  assert.equal(mine!.keyword === 'maximum', first!.keyword === 'maximum', `out_of_range vs schema disagree: ${JSON.stringify(first)}\n${context()}`);
  if (first!.keyword === 'maximum') tally.outOfRange++;
  else tally.schema++;
  if (obj['v'] !== 1) return; // decodeEvent answers unknown_version before the schema
  assert.ok(!decoded.ok, context());
  assert.deepEqual({ reason: decoded.reason, message: decoded.message }, oracle(first!, obj), context());
}

// ---- seeded random mutations ----
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One random change: set a field (of any type) to a pool value, drop a field, add an unknown one, or corrupt the time. */
function mutate(event: Obj, b: Bounds, rnd: () => number): void {
  const pick = <V>(xs: readonly V[]): V => xs[Math.floor(rnd() * xs.length)]!;
  const op = rnd();
  if (op < 0.55) {
    const field = pick(FIELDS);
    event[field] = pick(pool(field, b));
  } else if (op < 0.7) {
    delete event[pick(Object.keys(event))];
  } else if (op < 0.8) {
    event[`x${Math.floor(rnd() * 5)}`] = pick(ANY);
  } else if (op < 0.9) {
    // A valid timestamp with one character replaced, inserted or removed: the hand-read pattern's edges.
    const chars = '0123456789-:.Tt zZ+x９';
    const base = pick(TIMES.filter((t): t is string => typeof t === 'string' && t.length > 18));
    const at = Math.floor(rnd() * (base.length + 1));
    const how = rnd();
    event['time'] = base.slice(0, at) + (how < 0.66 ? pick([...chars]) : '') + base.slice(how < 0.33 ? at : at + 1);
  } else {
    const field = pick(TOKEN_FIELDS.concat('cost', 'durationMs', 'seq', 'step'));
    const max = TOKEN_FIELDS.includes(field) ? b.tokens : field === 'cost' ? b.cost : field === 'durationMs' ? b.duration : MAX_SAFE;
    event[field] = pick([max, max + 1, max + 0.5, max - 1, -1, 0, max * 10]);
  }
}

const SEEDS = process.env['FUZZ_SEED'] === undefined ? [1, 2, 3, 4, 5, 6, 7, 8] : [Number(process.env['FUZZ_SEED'])];
const PER_SEED = 4000;

describe('validateEvent agrees with Ajv compiled from the published schema', () => {
  it('on every edge value of every field, for a valid event of every type, with default and other maxima', () => {
    const tally: Tally = { accepted: 0, schema: 0, outOfRange: 0 };
    for (const b of [DEFAULT_BOUNDS, ...OTHER_BOUNDS]) {
      for (const type of TYPES) {
        const base = validEvent(type);
        check(base, b, `sweep: valid ${type}`, tally);
        for (const field of FIELDS) {
          const { [field]: _dropped, ...without } = base;
          check(without, b, `sweep: ${type} without ${field}`, tally);
          for (const [i, value] of pool(field, b).entries()) check({ ...base, [field]: value }, b, `sweep: ${type}.${field} = pool value #${i}`, tally);
        }
      }
    }
    // The pools reach every outcome (~30k accepted, ~8k schema, ~4k out_of_range today).
    assert.ok(tally.accepted > 20_000 && tally.schema > 5000 && tally.outOfRange > 2000, JSON.stringify(tally));
  });

  for (const seed of SEEDS) {
    it(`on ${PER_SEED} randomly mutated events (seed ${seed})`, () => {
      const rnd = random(seed);
      const tally: Tally = { accepted: 0, schema: 0, outOfRange: 0 };
      for (let i = 0; i < PER_SEED; i++) {
        const b = rnd() < 0.5 ? DEFAULT_BOUNDS : OTHER_BOUNDS[Math.floor(rnd() * OTHER_BOUNDS.length)]!;
        const event = validEvent(TYPES[Math.floor(rnd() * TYPES.length)]!, () => rnd() < 0.5);
        const mutations = Math.floor(rnd() * 4); // 0 to 3: some events stay valid
        for (let m = 0; m < mutations; m++) mutate(event, b, rnd);
        check(event, b, `seed ${seed}, event #${i} (rerun: FUZZ_SEED=${seed})`, tally);
      }
      assert.ok(tally.accepted > PER_SEED / 10 && tally.schema > PER_SEED / 4 && tally.outOfRange > PER_SEED / 50, JSON.stringify(tally));
    });
  }

  it('counts code points, not UTF-16 units, on the fast path and the slow one', () => {
    const event = (toolName: string): Obj => ({ ...validEvent('tool.start'), toolName });
    assert.equal(validateEvent(event(ASTRAL.repeat(256)), 1, 1, 1), undefined); // 512 units, 256 code points
    assert.deepEqual(validateEvent(event(ASTRAL.repeat(257)), 1, 1, 1), { keyword: 'maxLength', field: 'toolName', param: 256 });
    assert.equal(ajvFor(DEFAULT_BOUNDS)(event(ASTRAL.repeat(256))), true);
  });
});
