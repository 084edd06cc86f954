/**
 * Kafka takeover after a crash: two turnstream processes share 6 partitions; after `events` events
 * of history are processed, one is killed (SIGKILL) and the time until NEW events on its partitions
 * come out of the survivor as aggregates is measured, split into
 *   - rebalance: kill → the survivor's group join that gives it the dead process's partitions (the
 *     group's session timeout, 10 s, dominates: the dead member must be declared dead first);
 *   - restore: join → the partition's worker is open (state view re-read for the partition, previous
 *     owner fenced, open work restored from the checkpoint), slowest partition;
 *   - catch-up: worker open → the first aggregate of a probe turn sent after the kill (the events
 *     between the checkpoint and the end of the partition are re-read, then the probes).
 * The survivor runs in this process (its aggregates are observed directly); the victim is a real
 * `turnstream start` process. Standalone: `./node_modules/.bin/node bench/kafka-takeover.ts
 * [--events N] [--checkpoint-every N] [--session-timeout MS]` (broker: TURNSTREAM_TEST_KAFKA_BROKERS, or a local one
 * started by deploy/kafka/kafka.sh).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decodeEvent } from '../src/events/decode-event.ts';
import { loadPriceTable } from '../src/events/price-table.ts';
import { createKafka } from '../src/kafka/create-kafka.ts';
import { partitionFor } from '../src/kafka/partition-for.ts';
import { ensureTopics, topicNames } from '../src/kafka/topics.ts';
import { KafkaEventAppender } from '../src/log/kafka-event-log.ts';
import { createLogger, silentLogger } from '../src/logger.ts';
import { COMPACTED_TOPIC_DEFAULTS, openKafkaPipeline } from '../src/pipeline/open-kafka-pipeline.ts';
import { kafkaBrokers } from '../test/helpers/kafka-broker.ts';
import { startTurnstreamProcess, type TurnstreamProcess } from '../test/helpers/turnstream-process.ts';
import { generateWorkload } from './workload.ts';

const PARTITIONS = 6;

export interface TakeoverOptions {
  readonly brokers: readonly string[];
  /** Events of history processed before the kill. */
  readonly events: number;
  /** Both processes' `--checkpoint-every` (default 20,000 here; turnstream's own default is 100,000 or 30 s; 0 = no checkpoints, the old full re-read). */
  readonly checkpointEvery?: number;
  /** Both processes' `--kafka-session-timeout`, ms (default 10,000 as shipped). */
  readonly sessionTimeoutMs?: number;
  readonly sessions?: number;
  readonly log?: (message: string) => void;
}

export interface PartitionTakeover {
  readonly partition: number;
  /** Position committed by the dead process, and the checkpoint position the survivor resumed from. */
  readonly committed: number;
  readonly resumeFrom: number;
  /** Events of the partition when it was killed (its end). */
  readonly end: number;
  /** Worker open after the join: state view re-read + fencing (`state`), processor restore (`restore`). */
  readonly stateMs: number;
  readonly restoreMs: number;
  /** Kill → the first aggregate of a probe turn of this partition. */
  readonly firstAggregateMs: number;
  /** Size of the partition's checkpoint (gzip) the survivor holds after the takeover. */
  readonly checkpointBytes: number;
}

export interface TakeoverResult {
  readonly events: number;
  readonly checkpointEvery: number;
  readonly sessionTimeoutMs: number;
  /** Kill → the survivor's join with the dead process's partitions. */
  readonly rebalanceMs: number;
  /** Join → the last of those partitions' workers open. */
  readonly restoreMs: number;
  /** Kill → a probe aggregate out for every one of those partitions (the slowest). */
  readonly totalMs: number;
  readonly partitions: readonly PartitionTakeover[];
  /** History: produce and process times (context for the numbers above). */
  readonly produceSeconds: number;
  readonly processSeconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (a throw counts as not yet: a busy process may answer late) until true, or fails after `timeoutMs`. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : ` (${String(last)})`}`);
    await sleep(everyMs);
  }
}

/** Generates and produces the history; nothing of it stays reachable after the call. */
async function produceHistory(produce: (lines: readonly string[]) => Promise<void>, events: number, sessions: number): Promise<void> {
  await produce(generateWorkload({ events, sessions, seed: 7 }).lines);
}

/** A probe turn (start, one LLM call, end) of a new session on `partition`. */
function probeLines(partition: number, n: number): string[] {
  let i = 0;
  let session: string;
  do session = `probe-${partition}-${n}-${i++}`;
  while (partitionFor(session, PARTITIONS) !== partition);
  const time = new Date(Date.now() - 1000).toISOString();
  const head = (id: string) => ({ v: 1, id: `${session}/${id}`, session, time, turn: 't' });
  return [
    JSON.stringify({ ...head('start'), type: 'turn.start' }),
    JSON.stringify({ ...head('llm'), type: 'llm.usage', provider: 'anthropic', model: 'claude-sonnet-4-5', inputTokens: 10, outputTokens: 1 }),
    JSON.stringify({ ...head('end'), type: 'turn.end', stopReason: 'end_turn' }),
  ];
}

// long: one scenario, in order (history, kill, probes, timings); splitting it would only scatter its clocks
export async function measureTakeover({
  brokers,
  events,
  checkpointEvery = 20_000,
  sessionTimeoutMs = 10_000,
  sessions = 2000,
  log = () => undefined,
}: TakeoverOptions): Promise<TakeoverResult> {
  const prefix = `takeover-${randomUUID().slice(0, 8)}`;
  const topics = topicNames(prefix);
  const kafka = createKafka({ brokers: [...brokers] }, silentLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions: PARTITIONS, compactedConfig: COMPACTED_TOPIC_DEFAULTS });
  const highs = async (): Promise<Map<number, number>> => new Map((await admin.fetchTopicOffsets(topics.events)).map((o) => [o.partition, Number(o.high)]));

  // The survivor, in this process: its log lines and aggregates are the clocks.
  const marks: { at: number; line: Record<string, unknown> }[] = [];
  const logger = createLogger({ level: 'info', write: (line) => marks.push({ at: performance.now(), line: JSON.parse(line) as Record<string, unknown> }) });
  const firstProbe = new Map<number, number>();
  const survivor = await openKafkaPipeline({
    brokers,
    prices: loadPriceTable(),
    topicPrefix: prefix,
    groupId: prefix,
    partitions: PARTITIONS,
    logger,
    checkpoints: { everyEvents: checkpointEvery },
    sessionTimeoutMs,
    onAggregate: (a) => {
      if (!a.session.startsWith('probe-')) return;
      const p = partitionFor(a.session, PARTITIONS);
      if (!firstProbe.has(p)) firstProbe.set(p, performance.now());
    },
  });
  let victim: TurnstreamProcess | undefined;
  const appender = await KafkaEventAppender.open({ kafka, topic: topics.events, partitions: PARTITIONS });
  const produce = async (lines: readonly string[]): Promise<void> => {
    for (let i = 0; i < lines.length; i += 2000) {
      const batch = [];
      for (const line of lines.slice(i, i + 2000)) {
        const d = decodeEvent(line, Date.now());
        if (d.ok) batch.push({ event: d.event, raw: line });
      }
      await appender.append(batch);
    }
  };
  try {
    victim = await startTurnstreamProcess(
      [
        '--kafka',
        brokers.join(','),
        '--kafka-topic-prefix',
        prefix,
        '--kafka-group',
        prefix,
        '--checkpoint-every',
        String(checkpointEvery),
        '--kafka-session-timeout',
        `${sessionTimeoutMs}ms`,
        '--data-dir',
        `/tmp/${prefix}`,
      ],
      { TURNSTREAM_LOG_LEVEL: 'warn' },
    );
    const v = victim;
    v.child.once('exit', (code, signal) => {
      if (signal !== 'SIGKILL') log(`the victim exited early (${code ?? signal}): ${v.stderr().slice(-2000)}`);
    });
    const victimPartitions = async (): Promise<number[]> => ((await v.health())['assigned'] as number[] | undefined) ?? [];
    const split = async (): Promise<boolean> => {
      const theirs = await victimPartitions();
      return theirs.length === 3 && survivor.assigned().length === 3 && !theirs.some((p) => survivor.assigned().includes(p));
    };
    await until('the partitions split 3 / 3', split, 60_000, 200);

    log(`producing ${events.toLocaleString('en')} events (${sessions} sessions) to ${PARTITIONS} partitions`);
    const t = performance.now();
    // The workload's lines (~0.4 GB at 1M events) die with this call: the survivor shares this
    // process's heap, and marking them at every major GC of the takeover was the bench's cost, not its.
    await produceHistory(produce, events, sessions);
    const produceSeconds = (performance.now() - t) / 1000;
    const ends = await highs();
    await until(
      'the history processed by both, split 3 / 3',
      async () => {
        if (!(await split())) return false;
        const theirs = await victimPartitions();
        const victimDone = ((await v.health())['processed'] as number) >= theirs.reduce((n, p) => n + (ends.get(p) ?? 0), 0);
        return victimDone && survivor.assigned().every((p) => (survivor.view.positions.get(p) ?? 0) >= (ends.get(p) ?? 0));
      },
      1_200_000,
      250,
    );
    const processSeconds = (performance.now() - t) / 1000;
    const lost = await victimPartitions();
    const joinsBefore = marks.filter((m) => m.line['msg'] === 'joined consumer group').length;
    log(
      `produced in ${produceSeconds.toFixed(1)} s, processed by both ${processSeconds.toFixed(1)} s after the produce began (${joinsBefore} group joins of the survivor); killing the process that owns ${lost.join(', ')}`,
    );

    const killedAt = performance.now();
    await victim.stop('SIGKILL');
    let n = 0;
    while (lost.some((p) => !firstProbe.has(p))) {
      if (performance.now() - killedAt > 180_000) throw new Error(`no probe aggregate within 180 s for ${lost.filter((p) => !firstProbe.has(p)).join(', ')}`);
      await produce(lost.flatMap((p) => probeLines(p, n)));
      n++;
      await sleep(100);
    }
    const joined = marks.find((m) => m.at > killedAt && m.line['msg'] === 'joined consumer group' && (m.line['assignment'] as number[]).length === PARTITIONS);
    const rebalanceAt = joined?.at ?? Number.NaN;
    const partitions = lost.map((p): PartitionTakeover => {
      const open = marks.find((m) => m.at > killedAt && m.line['msg'] === 'partition assigned' && m.line['partition'] === p);
      return {
        partition: p,
        committed: Number(open?.line['committed'] ?? Number.NaN),
        resumeFrom: Number(open?.line['resumeFrom'] ?? Number.NaN),
        end: ends.get(p) ?? 0,
        stateMs: Number(open?.line['stateMs'] ?? Number.NaN),
        restoreMs: Number(open?.line['restoreMs'] ?? Number.NaN),
        firstAggregateMs: firstProbe.get(p)! - killedAt,
        checkpointBytes: survivor.view.sizes().get(p)?.checkpointBytes ?? 0,
      };
    });
    // The survivor's own account of the takeover, on the kill's clock.
    for (const m of marks)
      if (m.at > killedAt) {
        const { time: _t, level: _l, ns: _n, msg, ...rest } = m.line;
        log(`+${((m.at - killedAt) / 1000).toFixed(2)} s ${String(msg)} ${JSON.stringify(rest)}`);
      }
    const opened = lost.map((p) => marks.find((m) => m.at > killedAt && m.line['msg'] === 'partition assigned' && m.line['partition'] === p)?.at ?? Number.NaN);
    return {
      events,
      checkpointEvery,
      sessionTimeoutMs,
      rebalanceMs: rebalanceAt - killedAt,
      restoreMs: Math.max(...opened) - rebalanceAt,
      totalMs: Math.max(...partitions.map((p) => p.firstAggregateMs)),
      partitions,
      produceSeconds,
      processSeconds,
    };
  } finally {
    await victim?.stop('SIGKILL');
    await appender.close();
    await survivor.close();
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
    await admin.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { events: { type: 'string' }, 'checkpoint-every': { type: 'string' }, 'session-timeout': { type: 'string' } },
  });
  const brokers = kafkaBrokers();
  const r = await measureTakeover({
    brokers,
    events: Number(values.events ?? 1_000_000),
    ...(values['checkpoint-every'] === undefined ? {} : { checkpointEvery: Number(values['checkpoint-every']) }),
    ...(values['session-timeout'] === undefined ? {} : { sessionTimeoutMs: Number(values['session-timeout']) }),
    log: (m) => process.stderr.write(`[bench:kafka-takeover] ${m}\n`),
  });
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    `takeover after ${r.events.toLocaleString('en')} events (checkpoint every ${r.checkpointEvery.toLocaleString('en')}, session timeout ${s(r.sessionTimeoutMs)}): ` +
      `${s(r.totalMs)} to the first new aggregate (rebalance ${s(r.rebalanceMs)}, restore ${s(r.restoreMs)})\n`,
  );
  for (const p of r.partitions)
    process.stdout.write(
      `  partition ${p.partition}: end ${p.end}, committed ${p.committed}, resumed from ${p.resumeFrom} (re-read ${p.end - p.resumeFrom} events); ` +
        `state ${p.stateMs} ms, restore ${p.restoreMs} ms (checkpoint ${(p.checkpointBytes / 1e6).toFixed(1)} MB gzip), first aggregate ${s(p.firstAggregateMs)}\n`,
    );
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}
