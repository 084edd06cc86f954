import { spawn, spawnSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOL_ENV, type ToolName } from './helpers/tool-bin.ts';

/**
 * `npm test`'s global setup (node --test --test-global-setup): provisions the real components the
 * integration tests use, once per run, so the README's test command is the whole set-up.
 * - Prometheus, promtool, Alertmanager, amtool: built once into a cache by deploy/tools/tools.sh;
 *   their paths go to PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN, AMTOOL_BIN (and PATH).
 * - Jaeger v2 (the trace backend the span tests read back from): built once by
 *   deploy/tools/jaeger.sh; its path goes to JAEGER_BIN.
 * - kit (the agent of test/kit/): built once per source version from ../shared/vendor/kit by
 *   deploy/tools/kit.sh; its path goes to KIT_BIN. Not fatal here: the kit tests report why kit is
 *   missing themselves (a failure under CI=true).
 * - Kafka: one broker (deploy/kafka/kafka.sh, free ports, fresh data) unless
 *   TURNSTREAM_TEST_KAFKA_BROKERS names one; globalTeardown resets it.
 * Environment variables set here reach every test file's process (the runner spawns them after
 * this ran, with this process's environment). A component that cannot be had fails the run with
 * what to do; nothing is skipped.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const kafkaScript = `${root}deploy/kafka/kafka.sh`;
const toolsScript = `${root}deploy/tools/tools.sh`;
const jaegerScript = `${root}deploy/tools/jaeger.sh`;
const kitScript = `${root}deploy/tools/kit.sh`;
let kafkaPort: string | undefined;

/** Runs a script; resolves with its stdout, its stderr passing through (build progress). */
function run(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${err.trim().slice(-600)}`))));
  });
}

async function provisionTools(): Promise<string> {
  const names = Object.keys(TOOL_ENV) as ToolName[];
  if (names.every((n) => (process.env[TOOL_ENV[n]] ?? '') !== '')) return 'tools: from PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN, AMTOOL_BIN';
  const started = Date.now();
  let out: string;
  try {
    out = await run(toolsScript, ['install']);
  } catch (e) {
    throw new Error(
      `cannot provide Prometheus 3.16 / Alertmanager 0.35 for the tests: ${(e as Error).message}\nInstall Go 1.26.7+ (https://go.dev/dl) so deploy/tools/tools.sh can build them once, or set PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN and AMTOOL_BIN to those binaries.`,
      { cause: e },
    );
  }
  const dir = /BIN_DIR=(.+)/.exec(out)?.[1]?.trim();
  if (dir === undefined) throw new Error(`deploy/tools/tools.sh install printed no BIN_DIR: ${out}`);
  for (const n of names) if ((process.env[TOOL_ENV[n]] ?? '') === '') process.env[TOOL_ENV[n]] = `${dir}/${n}`;
  process.env['PATH'] = `${dir}${delimiter}${process.env['PATH'] ?? ''}`;
  return `tools: ${dir} (${Date.now() - started} ms)`;
}

async function provisionJaeger(): Promise<string> {
  if ((process.env['JAEGER_BIN'] ?? '') !== '') return `jaeger: ${process.env['JAEGER_BIN']} (JAEGER_BIN)`;
  const started = Date.now();
  let out: string;
  try {
    out = await run(jaegerScript, ['install']);
  } catch (e) {
    throw new Error(
      `cannot provide Jaeger v2 for the span tests: ${(e as Error).message}\nInstall Go 1.26.7+ (https://go.dev/dl) so deploy/tools/jaeger.sh can build it once, or set JAEGER_BIN to a Jaeger v2 binary.`,
      { cause: e },
    );
  }
  const bin = /JAEGER_BIN=(.+)/.exec(out)?.[1]?.trim();
  if (bin === undefined) throw new Error(`deploy/tools/jaeger.sh install printed no JAEGER_BIN: ${out}`);
  process.env['JAEGER_BIN'] = bin;
  return `jaeger: ${bin} (${Date.now() - started} ms)`;
}

async function provisionKit(): Promise<string> {
  if ((process.env['KIT_BIN'] ?? '') !== '') return `kit: ${process.env['KIT_BIN']} (KIT_BIN)`;
  const started = Date.now();
  try {
    const bin = /KIT_BIN=(.+)/.exec(await run(kitScript, ['install']))?.[1]?.trim();
    if (bin === undefined) return 'kit: deploy/tools/kit.sh install printed no KIT_BIN (the kit tests will say why)';
    process.env['KIT_BIN'] = bin;
    return `kit: ${bin} (${Date.now() - started} ms)`;
  } catch (e) {
    return `kit: not built (${(e as Error).message.slice(-300)}); the kit tests will say why`;
  }
}

async function provisionKafka(): Promise<string> {
  const given = process.env['TURNSTREAM_TEST_KAFKA_BROKERS'];
  if (given !== undefined && given !== '') return `kafka: ${given} (TURNSTREAM_TEST_KAFKA_BROKERS)`;
  const started = Date.now();
  let out: string;
  try {
    out = await run(kafkaScript, ['start', '--port', 'auto', '--fresh']);
  } catch (e) {
    throw new Error(
      `cannot start a Kafka broker for the tests: ${(e as Error).message}\ndeploy/kafka/kafka.sh needs Java 17+ and Maven (see deploy/kafka/README.md), or set TURNSTREAM_TEST_KAFKA_BROKERS to a broker.`,
      { cause: e },
    );
  }
  const m = /KAFKA_BROKERS=(\S+):(\d+)/.exec(out);
  if (m === null) throw new Error(`deploy/kafka/kafka.sh start printed no KAFKA_BROKERS: ${out}`);
  kafkaPort = m[2]!;
  // Teardown does not run when the runner itself is interrupted: reset on any exit then too.
  process.once('exit', resetKafka);
  process.env['TURNSTREAM_TEST_KAFKA_BROKERS'] = `${m[1]}:${m[2]}`;
  return `kafka: ${m[1]}:${m[2]} started (${Date.now() - started} ms)`;
}

function resetKafka(): void {
  if (kafkaPort === undefined) return;
  const port = kafkaPort;
  kafkaPort = undefined;
  spawnSync('bash', [kafkaScript, 'reset', '--port', port], { stdio: 'ignore' });
}

/**
 * A run that outlives this (a test file kept alive by a leaked handle after its tests finished) is
 * stopped with a failure instead of stalling CI. Not `--test-force-exit`: a test process that
 * exits itself can drop the results it was still writing to the runner, so tests would go
 * uncounted (seen here: 51 of 640 results lost, the run still green).
 */
const RUN_DEADLINE_MILLIS = 45 * 60_000;

export async function globalSetup(): Promise<void> {
  setTimeout(() => {
    process.stderr.write(`npm test: still running after ${RUN_DEADLINE_MILLIS / 60_000} min; a test file is hanging (a leaked handle?). Stopping the run.\n`);
    resetKafka();
    process.exit(1);
  }, RUN_DEADLINE_MILLIS).unref();
  // Kafka alongside the builds: a cold Go build is CPU-bound, a cold Kafka fetch network-bound. The
  // Go builds one after the other: on two cores, side by side they only take turns.
  const results = await Promise.allSettled([
    provisionTools().then(async (tools) => `${tools}; ${await provisionJaeger()}; ${await provisionKit()}`),
    provisionKafka(),
  ]);
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    resetKafka();
    throw new Error(failures.map((f) => f.message).join('\n\n'));
  }
  for (const r of results) if (r.status === 'fulfilled') process.stderr.write(`global setup: ${r.value}\n`);
}

export async function globalTeardown(): Promise<void> {
  resetKafka();
}
