/**
 * `npm run bench -- --kafka [--events N] [--partitions P] [--rate R] [--clients C]`: Kafka mode, broker on this
 * machine (TURNSTREAM_TEST_KAFKA_BROKERS, or deploy/kafka/kafka.sh's local broker, started if
 * needed). Measures events/s through ingest (decode → produce, acks=all) → consumer group →
 * windows → transactional state commit → metrics, with the produce-only rate as the in-run
 * baseline, then event→aggregate latency of turn.end events at a fixed offered rate. `--clients`
 * producers (default 4, as in the embedded stages) share the 2,000-line batches of both throughput
 * runs, each sending its next batch once its last one is answered.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadPriceTable } from '../src/events/price-table.ts';
import { createTelemetry } from '../src/exporters/create-telemetry.ts';
import { createKafka } from '../src/kafka/create-kafka.ts';
import { ensureTopics, topicNames } from '../src/kafka/topics.ts';
import { KafkaEventAppender } from '../src/log/kafka-event-log.ts';
import { silentLogger } from '../src/logger.ts';
import { openKafkaPipeline, type KafkaPipeline } from '../src/pipeline/open-kafka-pipeline.ts';
import { decodeEvent } from '../src/events/decode-event.ts';
import { kafkaBrokers } from '../test/helpers/kafka-broker.ts';
import { batches, quantile } from './measure.ts';
import { describeMachine } from './report.ts';
import { generateWorkload } from './workload.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    kafka: { type: 'boolean' },
    events: { type: 'string' },
    partitions: { type: 'string' },
    rate: { type: 'string' },
    clients: { type: 'string' },
    quick: { type: 'boolean' },
  },
  strict: false,
});
const events = Number(values['events'] ?? (values['quick'] ? 50_000 : 200_000));
const partitions = Number(values['partitions'] ?? 6);
const rate = Number(values['rate'] ?? 5_000);
const clients = Number(values['clients'] ?? 4);
if (!Number.isInteger(clients) || clients < 1) throw new Error(`--clients must be a positive integer, got "${String(values['clients'])}"`);

/** `clients` producers share the batches of `lines`; each sends its next once `send` answered its last. */
async function produceAll(lines: readonly string[], send: (batch: readonly string[]) => Promise<unknown>): Promise<void> {
  const queue = batches(lines, 2000);
  const client = async (): Promise<void> => {
    for (let next = queue.next(); next.done !== true; next = queue.next()) await send(next.value);
  };
  await Promise.all(Array.from({ length: clients }, client));
}
const log = (m: string) => process.stderr.write(`[bench:kafka] ${m}\n`);

const processed = (p: KafkaPipeline): number => [...p.progress().values()].reduce((n, x) => n + x.processed, 0);

async function waitProcessed(p: KafkaPipeline, total: number, timeoutMs = 600_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processed(p) < total) {
    if (Date.now() > deadline) throw new Error(`only ${processed(p)} of ${total} processed`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function runKafkaBench(): Promise<void> {
  const brokers = kafkaBrokers();
  const machine = describeMachine();
  log(
    `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}; broker ${brokers.join(',')}; ${events.toLocaleString('en')} events, ${partitions} partitions, ${clients} clients`,
  );
  const { lines } = generateWorkload({ events, sessions: 2000, seed: 42 });
  const prices = loadPriceTable();

  // Baseline in the same run: decode + produce only (acks=all, idempotent), no consumer.
  const prefix = `bench-${randomUUID().slice(0, 8)}`;
  const kafka = createKafka({ brokers }, silentLogger);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicNames(prefix), { partitions });
  await admin.disconnect();
  const appender = await KafkaEventAppender.open({ kafka, topic: topicNames(prefix).events, partitions });
  let t = performance.now();
  await produceAll(lines, (slice) => {
    const batch = [];
    for (const line of slice) {
      const d = decodeEvent(line, Date.now());
      if (d.ok) batch.push({ event: d.event, raw: line });
    }
    return appender.append(batch);
  });
  const produceRate = lines.length / ((performance.now() - t) / 1000);
  await appender.close();
  log(`baseline decode + produce: ${Math.round(produceRate).toLocaleString('en')} events/s`);

  // End to end: ingest → group → windows → transactional commit → metrics.
  const prefix2 = `bench-${randomUUID().slice(0, 8)}`;
  const telemetry = await createTelemetry({ version: 'bench', env: {} });
  const ends = new Map<string, number>();
  const latencies: number[] = [];
  const p = await openKafkaPipeline({
    brokers,
    prices,
    telemetry,
    topicPrefix: prefix2,
    groupId: prefix2,
    partitions,
    onAggregate: (a) => {
      const sent = ends.get(`${a.session}\u0000${a.turn}`);
      if (sent !== undefined && a.revision === 0) latencies.push(performance.now() - sent);
    },
  });
  t = performance.now();
  await produceAll(lines, (slice) => p.ingestor.ingest(slice, 'bench'));
  const ingestDone = performance.now();
  await waitProcessed(p, lines.length);
  const e2eSeconds = (performance.now() - t) / 1000;
  const e2eRate = lines.length / e2eSeconds;
  log(
    `end to end: ${Math.round(e2eRate).toLocaleString('en')} events/s (ingest alone ${Math.round(lines.length / ((ingestDone - t) / 1000)).toLocaleString('en')}/s)`,
  );

  // Latency at a fixed offered rate: fresh turns (new session ids) so aggregates are first closes.
  // From the workload's end, where its sessions are in full flow: ~1,600 turn.end samples in 5 s
  // (its first lines are mostly turns opening: 61, so the p99 was the maximum).
  const seconds = values['quick'] ? 3 : 5;
  const count = Math.min(lines.length, rate * seconds);
  const fresh = lines.slice(lines.length - count).map((l) => l.replace(/"session":"([^"]+)"/, '"session":"lat-$1"').replace(/"id":"([^"]+)"/, '"id":"lat-$1"'));
  const startAt = performance.now();
  let next = 0;
  const before = processed(p);
  while (next < fresh.length) {
    const due = Math.min(fresh.length, Math.floor(((performance.now() - startAt) / 1000) * rate));
    if (due > next) {
      const batch = fresh.slice(next, due);
      const now = performance.now();
      for (const line of batch) {
        if (!line.includes('"type":"turn.end"')) continue;
        const e = JSON.parse(line) as { session: string; turn: string };
        ends.set(`${e.session}\u0000${e.turn}`, now);
      }
      await p.ingestor.ingest(batch, 'bench');
      next = due;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await waitProcessed(p, before + fresh.length);
  const sorted = latencies.sort((a, b) => a - b);
  await p.close();
  await telemetry.shutdown();

  const row = (name: string, value: string, target: string, ok?: boolean) =>
    `${name.padEnd(44)} ${value.padStart(22)}  ${target.padEnd(12)} ${ok === undefined ? '' : ok ? 'PASS' : 'SHORT'}`;
  process.stdout.write(
    `\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; Kafka broker on the same machine (${brokers.join(',')}), ${partitions} partitions, ${clients} clients, one turnstream process\n\n`,
  );
  process.stdout.write(`${row('stage', 'measured', 'target')}\n`);
  process.stdout.write(`${row('baseline: decode + produce (acks=all)', `${Math.round(produceRate).toLocaleString('en')} ev/s`, '')}\n`);
  process.stdout.write(`${row('END TO END (Kafka): ingest → commit', `${Math.round(e2eRate).toLocaleString('en')} ev/s`, '≥ 100,000', e2eRate >= 100_000)}\n`);
  process.stdout.write(
    `${row(`latency turn.end → aggregate @ ${rate}/s`, `p50 ${quantile(sorted, 0.5).toFixed(1)} p99 ${quantile(sorted, 0.99).toFixed(1)} ms`, '< 50 ms p99', quantile(sorted, 0.99) < 50)}\n`,
  );
  process.stdout.write(`  (${sorted.length} samples, max ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms)\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await runKafkaBench();
