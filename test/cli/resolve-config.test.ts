import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, TurnstreamError } from '../../src/errors.ts';
import { resolveConfig } from '../../src/cli/resolve-config.ts';
import { SETTINGS } from '../../src/cli/settings.ts';
import { parseChoice, parsePort, parsePositiveInt, parseSize, parseString } from '../../src/cli/parse-values.ts';
import { parseDuration } from '../../src/units/parse-duration.ts';
import { main } from '../../src/cli/main.ts';

const dir = mkdtempSync(join(tmpdir(), 'turnstream-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string, name = `file-${++n}.json`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}
const EMPTY = file('{}');

type Flags = Record<string, string | boolean | undefined>;
/** Always names a config file, so ./turnstream.config.json in the cwd is never read. */
const resolve = (flags: Flags = {}, env: NodeJS.ProcessEnv = {}) => resolveConfig({ config: EMPTY, ...flags }, env);

function configError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.retriable, false);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const PORT_HINT = 'is not a port; use 0-65535 (0 picks a free port)';
const DURATION_HINT = 'is not a duration; use e.g. 500ms, 30s, 10m, 1h, 1d or a number of milliseconds';
const SIZE_HINT = 'is not a size; use e.g. 64KiB, 8MiB or a whole number of bytes (at least 1)';

describe('parsers', () => {
  it('durations: ms, s, m, h, d, a bare number (string or JSON number), fractions, any case', () => {
    const cases: [string | number, number][] = [
      ['500ms', 500],
      ['30s', 30_000],
      ['10m', 600_000],
      ['1h', 3_600_000],
      ['600000', 600_000],
      [1500, 1500],
      [0, 0],
      ['0', 0],
      ['1.5s', 1500],
      [' 2 S ', 2000],
      ['2H', 7_200_000],
      ['10d', 864_000_000],
    ];
    for (const [input, ms] of cases) assert.equal(parseDuration(input), ms, `parseDuration(${JSON.stringify(input)})`);
    for (const bad of ['10w', '-5s', '', 'abc', '1e3', '5 minutes']) assert.throws(() => parseDuration(bad), { message: `"${bad}" ${DURATION_HINT}` });
    assert.throws(() => parseDuration(-1), { message: `"-1" ${DURATION_HINT}` });
  });

  it('sizes: B, KB/MB/GB (1000s), KiB/MiB/GiB (1024s), a bare number', () => {
    const cases: [string | number, number][] = [
      ['64KiB', 65_536],
      ['8MiB', 8_388_608],
      ['1MB', 1_000_000],
      ['1048576', 1_048_576],
      [2048, 2048],
      ['1kb', 1000],
      ['1GiB', 1_073_741_824],
      ['2GB', 2_000_000_000],
      ['10b', 10],
      ['1.5KiB', 1536],
    ];
    for (const [input, bytes] of cases) assert.equal(parseSize(input), bytes, `parseSize(${JSON.stringify(input)})`);
    for (const bad of ['0', '0KiB', '-1', '5TB', 'lots', '']) assert.throws(() => parseSize(bad), { message: `"${bad}" ${SIZE_HINT}` });
    assert.throws(() => parseSize(0), { message: `"0" ${SIZE_HINT}` });
  });

  it('sizes below one byte are rejected, not floored to 0', () => {
    assert.throws(() => parseSize('0.5'), { message: `"0.5" ${SIZE_HINT}` });
  });

  it('ports: 0–65535 as string or number', () => {
    for (const [input, port] of [
      ['0', 0],
      ['65535', 65_535],
      ['8080', 8080],
      [9000, 9000],
    ] as const)
      assert.equal(parsePort(input), port);
    for (const bad of ['65536', '-1', '80.5', 'http']) assert.throws(() => parsePort(bad), { message: `"${bad}" ${PORT_HINT}` });
  });

  it('an empty or blank port is rejected, not read as 0', () => {
    for (const bad of ['', ' ']) assert.throws(() => parsePort(bad), { message: `"${bad}" ${PORT_HINT}` });
  });

  it('positive ints, choices and non-empty strings', () => {
    assert.equal(parsePositiveInt('4'), 4);
    assert.equal(parsePositiveInt(32), 32);
    for (const bad of ['0', '-2', '1.5', 'x']) assert.throws(() => parsePositiveInt(bad), { message: `"${bad}" is not a positive whole number` });
    const sync = parseChoice(['normal', 'full'] as const);
    assert.equal(sync('full'), 'full');
    assert.throws(() => sync('fast'), { message: '"fast" is not one of normal, full' });
    assert.equal(parseString(8), '8');
    assert.throws(() => parseString(''), { message: 'must not be empty' });
  });
});

describe('resolveConfig: precedence flag > env > config file > default', () => {
  it('defaults', () => {
    assert.deepEqual(resolve(), {
      dataDir: './.turnstream',
      host: '127.0.0.1',
      port: 8787,
      url: undefined,
      token: undefined,
      tokenFile: undefined,
      prices: undefined,
      turnIdleTimeoutMs: 600_000,
      graceMs: 300_000,
      checkpointEvery: 100_000,
      checkpointIntervalMs: 30_000,
      retainMs: undefined,
      rebuildThreads: undefined,
      maxBodyBytes: 8 * 1024 * 1024,
      maxInflightBodyBytes: 64 * 1024 * 1024,
      bodyIdleTimeoutMs: 30_000,
      bodyTimeoutMs: 60_000,
      maxRequestDeadLetters: 100,
      deadLetterMaxRows: 100_000,
      deadLetterMaxBytes: 256 * 1024 * 1024,
      deadLetterMaxAgeMs: 7 * 24 * 3_600_000,
      metricLabelValues: 200,
      metricLabelSets: 1000,
      metricHistogramLabelSets: 25,
      maxEventBytes: 64 * 1024,
      maxAttributes: 32,
      maxDepth: 32,
      maxTokensPerCall: 100_000_000,
      maxCostPerCallUsd: 10_000,
      maxFutureSkewMs: 300_000,
      budgets: undefined,
      alertWebhook: undefined,
      kafka: undefined,
      kafkaGroup: 'turnstream',
      kafkaTopicPrefix: 'turnstream',
      kafkaPartitions: 6,
      kafkaSessionTimeoutMs: 10_000,
      sync: 'normal',
    });
  });

  // name, flag, env, file key, [flag, env, file] raw values, [flag, env, file] parsed values
  const table: [string, string, string, string, [string, string, string | number], [unknown, unknown, unknown]][] = [
    ['dataDir', 'data-dir', 'TURNSTREAM_DATA_DIR', 'dataDir', ['/f', '/e', '/c'], ['/f', '/e', '/c']],
    ['host', 'host', 'TURNSTREAM_HOST', 'host', ['h-f', 'h-e', 'h-c'], ['h-f', 'h-e', 'h-c']],
    ['port', 'port', 'TURNSTREAM_PORT', 'port', ['3333', '2222', 1111], [3333, 2222, 1111]],
    ['url', 'url', 'TURNSTREAM_URL', 'url', ['http://f', 'http://e', 'http://c'], ['http://f', 'http://e', 'http://c']],
    ['prices', 'prices', 'TURNSTREAM_PRICES', 'prices', ['f.json', 'e.json', 'c.json'], ['f.json', 'e.json', 'c.json']],
    ['turnIdleTimeoutMs', 'turn-idle-timeout', 'TURNSTREAM_TURN_IDLE_TIMEOUT', 'turnIdleTimeout', ['1m', '2m', '3m'], [60_000, 120_000, 180_000]],
    ['graceMs', 'grace', 'TURNSTREAM_GRACE', 'grace', ['1s', '2s', 3000], [1000, 2000, 3000]],
    ['checkpointEvery', 'checkpoint-every', 'TURNSTREAM_CHECKPOINT_EVERY', 'checkpointEvery', ['0', '500', 7000], [0, 500, 7000]],
    ['checkpointIntervalMs', 'checkpoint-interval', 'TURNSTREAM_CHECKPOINT_INTERVAL', 'checkpointInterval', ['1s', '2m', 3000], [1000, 120_000, 3000]],
    ['retainMs', 'retain', 'TURNSTREAM_RETAIN', 'retain', ['30d', '7d', '1h'], [2_592_000_000, 604_800_000, 3_600_000]],
    ['rebuildThreads', 'rebuild-threads', 'TURNSTREAM_REBUILD_THREADS', 'rebuildThreads', ['2', '3', 1], [2, 3, 1]],
    ['maxBodyBytes', 'max-body', 'TURNSTREAM_MAX_BODY', 'maxBody', ['1MiB', '2MiB', '3MB'], [1_048_576, 2_097_152, 3_000_000]],
    ['maxInflightBodyBytes', 'max-inflight-body', 'TURNSTREAM_MAX_INFLIGHT_BODY', 'maxInflightBody', ['1MiB', '2MiB', 3000], [1_048_576, 2_097_152, 3000]],
    ['bodyIdleTimeoutMs', 'body-idle-timeout', 'TURNSTREAM_BODY_IDLE_TIMEOUT', 'bodyIdleTimeout', ['5s', '6s', 7000], [5000, 6000, 7000]],
    ['bodyTimeoutMs', 'body-timeout', 'TURNSTREAM_BODY_TIMEOUT', 'bodyTimeout', ['1m', '2m', '90s'], [60_000, 120_000, 90_000]],
    ['maxRequestDeadLetters', 'max-request-dead-letters', 'TURNSTREAM_MAX_REQUEST_DEAD_LETTERS', 'maxRequestDeadLetters', ['10', '20', 30], [10, 20, 30]],
    ['deadLetterMaxRows', 'dead-letter-max-rows', 'TURNSTREAM_DEAD_LETTER_MAX_ROWS', 'deadLetterMaxRows', ['1000', '2000', 3000], [1000, 2000, 3000]],
    [
      'deadLetterMaxBytes',
      'dead-letter-max-bytes',
      'TURNSTREAM_DEAD_LETTER_MAX_BYTES',
      'deadLetterMaxBytes',
      ['1MiB', '2MiB', '3MB'],
      [1_048_576, 2_097_152, 3_000_000],
    ],
    [
      'deadLetterMaxAgeMs',
      'dead-letter-max-age',
      'TURNSTREAM_DEAD_LETTER_MAX_AGE',
      'deadLetterMaxAge',
      ['24h', '48h', '1h'],
      [86_400_000, 172_800_000, 3_600_000],
    ],
    ['metricLabelValues', 'metric-label-values', 'TURNSTREAM_METRIC_LABEL_VALUES', 'metricLabelValues', ['10', '20', 30], [10, 20, 30]],
    ['metricLabelSets', 'metric-label-sets', 'TURNSTREAM_METRIC_LABEL_SETS', 'metricLabelSets', ['10', '20', 30], [10, 20, 30]],
    [
      'metricHistogramLabelSets',
      'metric-histogram-label-sets',
      'TURNSTREAM_METRIC_HISTOGRAM_LABEL_SETS',
      'metricHistogramLabelSets',
      ['10', '20', 30],
      [10, 20, 30],
    ],
    ['maxEventBytes', 'max-event', 'TURNSTREAM_MAX_EVENT', 'maxEvent', ['1KiB', '2KiB', 3000], [1024, 2048, 3000]],
    ['maxAttributes', 'max-attributes', 'TURNSTREAM_MAX_ATTRIBUTES', 'maxAttributes', ['4', '5', 6], [4, 5, 6]],
    ['maxDepth', 'max-depth', 'TURNSTREAM_MAX_DEPTH', 'maxDepth', ['8', '16', 64], [8, 16, 64]],
    ['maxTokensPerCall', 'max-tokens-per-call', 'TURNSTREAM_MAX_TOKENS_PER_CALL', 'maxTokensPerCall', ['1000', '2000', 3000], [1000, 2000, 3000]],
    ['maxCostPerCallUsd', 'max-cost-per-call', 'TURNSTREAM_MAX_COST_PER_CALL', 'maxCostPerCall', ['0.5', '20', 30], [0.5, 20, 30]],
    ['maxFutureSkewMs', 'max-future-skew', 'TURNSTREAM_MAX_FUTURE_SKEW', 'maxFutureSkew', ['1h', '2h', '30s'], [3_600_000, 7_200_000, 30_000]],
    ['kafka', 'kafka', 'TURNSTREAM_KAFKA_BROKERS', 'kafka', ['f:1', 'e:2', 'c:3'], ['f:1', 'e:2', 'c:3']],
    ['kafkaPartitions', 'kafka-partitions', 'TURNSTREAM_KAFKA_PARTITIONS', 'kafkaPartitions', ['3', '4', 5], [3, 4, 5]],
    ['kafkaSessionTimeoutMs', 'kafka-session-timeout', 'TURNSTREAM_KAFKA_SESSION_TIMEOUT', 'kafkaSessionTimeout', ['6s', '7000ms', '8s'], [6000, 7000, 8000]],
  ];
  for (const [name, flag, envName, key, [rf, re, rc], [pf, pe, pc]] of table) {
    it(`${name}: --${flag} > ${envName} > "${key}" > default`, () => {
      const config = file(JSON.stringify({ [key]: rc }));
      const get = (flags: Flags, env: NodeJS.ProcessEnv) => (resolveConfig({ config, ...flags }, env) as Record<string, unknown>)[name];
      assert.equal(get({ [flag]: rf }, { [envName]: re }), pf);
      assert.equal(get({}, { [envName]: re }), pe);
      assert.equal(get({}, {}), pc);
      assert.equal(get({}, { [envName]: '' }), pc, 'an empty environment variable counts as unset');
      assert.equal((resolve() as Record<string, unknown>)[name], SETTINGS[name as keyof typeof SETTINGS].default);
    });
  }

  it('sync: two choices, same order', () => {
    const config = file('{"sync":"full"}');
    assert.equal(resolveConfig({ config, sync: 'normal' }, { TURNSTREAM_SYNC: 'full' }).sync, 'normal');
    assert.equal(resolveConfig({ config: EMPTY }, { TURNSTREAM_SYNC: 'full' }).sync, 'full');
    assert.equal(resolveConfig({ config }, {}).sync, 'full');
    assert.equal(resolve().sync, 'normal');
  });

  it('a boolean flag (a string option given without a value) does not count as a value', () => {
    assert.equal(resolve({ port: true }, { TURNSTREAM_PORT: '2222' }).port, 2222);
  });
});

describe('resolveConfig: bad values name their source', () => {
  it('flag, environment variable and config file key', () => {
    configError(() => resolve({ port: '70000' }), `--port: "70000" ${PORT_HINT}`);
    configError(() => resolve({}, { TURNSTREAM_PORT: 'abc' }), `TURNSTREAM_PORT: "abc" ${PORT_HINT}`);
    const config = file('{"port":-1}');
    configError(() => resolveConfig({ config }, {}), `${config}: port: "-1" ${PORT_HINT}`);
    configError(() => resolve({ grace: '10w' }), `--grace: "10w" ${DURATION_HINT}`);
    configError(() => resolve({}, { TURNSTREAM_MAX_BODY: '5TB' }), `TURNSTREAM_MAX_BODY: "5TB" ${SIZE_HINT}`);
    configError(() => resolve({ sync: 'fast' }), '--sync: "fast" is not one of normal, full');
    configError(() => resolve({ 'data-dir': '' }), '--data-dir: must not be empty');
    configError(() => resolve({ 'max-inflight-body': '0' }), `--max-inflight-body: "0" ${SIZE_HINT}`);
    configError(() => resolve({}, { TURNSTREAM_BODY_IDLE_TIMEOUT: 'soon' }), `TURNSTREAM_BODY_IDLE_TIMEOUT: "soon" ${DURATION_HINT}`);
    configError(() => resolve({ 'max-request-dead-letters': '0' }), '--max-request-dead-letters: "0" is not a positive whole number');
    configError(() => resolve({ 'dead-letter-max-age': '7w' }), `--dead-letter-max-age: "7w" ${DURATION_HINT}`);
    const zero = file('{"maxAttributes":0}');
    configError(() => resolveConfig({ config: zero }, {}), `${zero}: maxAttributes: "0" is not a positive whole number`);
  });

  it('a config value that is neither string nor number', () => {
    for (const value of ['true', 'null', '{}', '[8080]']) {
      const config = file(`{"port":${value}}`);
      configError(() => resolveConfig({ config }, {}), `${config}: port: must be a string or number`);
    }
  });

  it('keeps the parser error as the cause', () => {
    assert.throws(
      () => resolve({ port: 'x' }),
      (e: unknown) => e instanceof ConfigError && e.cause instanceof Error && e.cause.message === `"x" ${PORT_HINT}`,
    );
  });
});

describe('resolveConfig: the config file', () => {
  it('unknown key: names the file, the key and the known keys; "$" keys are comments', () => {
    const config = file('{"prot":8080}');
    configError(
      () => resolveConfig({ config }, {}),
      `config file ${config}: unknown setting "prot"; known: dataDir, host, port, url, token, tokenFile, prices, turnIdleTimeout, grace, checkpointEvery, checkpointInterval, retain, rebuildThreads, maxBody, maxInflightBody, bodyIdleTimeout, bodyTimeout, maxRequestDeadLetters, deadLetterMaxRows, deadLetterMaxBytes, deadLetterMaxAge, metricLabelValues, metricLabelSets, metricHistogramLabelSets, maxEvent, maxAttributes, maxDepth, maxTokensPerCall, maxCostPerCall, maxFutureSkew, budgets, alertWebhook, kafka, kafkaGroup, kafkaTopicPrefix, kafkaPartitions, kafkaSessionTimeout, sync`,
    );
    assert.equal(resolveConfig({ config: file('{"$comment":"hi","port":1}') }, {}).port, 1);
  });

  it('a config file named by --config or TURNSTREAM_CONFIG must exist', () => {
    const missing = join(dir, 'missing.json');
    const message = `config file ${missing} does not exist; check --config / TURNSTREAM_CONFIG`;
    configError(() => resolveConfig({ config: missing }, {}), message);
    configError(() => resolveConfig({}, { TURNSTREAM_CONFIG: missing }), message);
  });

  it('--config beats TURNSTREAM_CONFIG', () => {
    const a = file('{"port":1}');
    const b = file('{"port":2}');
    assert.equal(resolveConfig({ config: a }, { TURNSTREAM_CONFIG: b }).port, 1);
    assert.equal(resolveConfig({}, { TURNSTREAM_CONFIG: b }).port, 2);
  });

  it('invalid JSON, and JSON that is not an object', () => {
    const bad = file('{"port": 80,}');
    assert.throws(
      () => resolveConfig({ config: bad }, {}),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.ok(e.message.startsWith(`config file ${bad} is not valid JSON: `), e.message);
        assert.ok(e.cause instanceof SyntaxError);
        return true;
      },
    );
    for (const content of ['[]', '3', 'null']) {
      const path = file(content);
      configError(() => resolveConfig({ config: path }, {}), `config file ${path} must hold a JSON object`);
    }
  });

  it('./turnstream.config.json is read from the cwd when present, and optional', () => {
    const withFile = join(dir, 'cwd-with');
    const without = join(dir, 'cwd-without');
    mkdirSync(withFile);
    mkdirSync(without);
    writeFileSync(join(withFile, 'turnstream.config.json'), '{"port":4444,"grace":"1m"}');
    const module = new URL('../../src/cli/resolve-config.ts', import.meta.url).href;
    const script = `import { resolveConfig } from ${JSON.stringify(module)}; const c = resolveConfig({}, {}); process.stdout.write(JSON.stringify([c.port, c.graceMs]));`;
    const run = (cwd: string) => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as unknown;
    };
    assert.deepEqual(run(withFile), [4444, 60_000]);
    assert.deepEqual(run(without), [8787, 300_000]);
  });
});

describe('resolveConfig: the token', () => {
  it('comes from the environment or the config file', () => {
    assert.equal(resolve({}, { TURNSTREAM_TOKEN: 's3cret' }).token, 's3cret');
    assert.equal(resolveConfig({ config: file('{"token":"from-file"}') }, {}).token, 'from-file');
  });

  it('cannot be given as a flag', async () => {
    assert.equal(SETTINGS.token.noFlag, true);
    assert.equal(resolve({ token: 'on-the-command-line' }).token, undefined);
    await assert.rejects(main(['start', '--token', 'x']), (e: unknown) => e instanceof TurnstreamError && /Unknown option '--token'/.test(e.message));
  });

  it('is read from the token file, trimmed', () => {
    const tokenFile = file('  s3cret \n', 'token.txt');
    assert.deepEqual([resolve({ 'token-file': tokenFile }).token, resolve({ 'token-file': tokenFile }).tokenFile], ['s3cret', tokenFile]);
    assert.equal(resolve({}, { TURNSTREAM_TOKEN_FILE: tokenFile }).token, 's3cret');
    assert.equal(resolveConfig({ config: file(JSON.stringify({ tokenFile })) }, {}).token, 's3cret');
  });

  it('a token given directly wins and the token file is not read', () => {
    assert.equal(resolve({ 'token-file': join(dir, 'no-such-token') }, { TURNSTREAM_TOKEN: 'direct' }).token, 'direct');
  });

  it('an empty or unreadable token file is an error', () => {
    const empty = file(' \n\t\n', 'empty-token.txt');
    configError(() => resolve({ 'token-file': empty }), `token file ${empty} is empty`);
    const missing = join(dir, 'no-such-token');
    configError(() => resolve({ 'token-file': missing }), new RegExp(`^token file ${missing} cannot be read: ENOENT`));
  });
});
