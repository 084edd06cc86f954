import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { createPriceTable } from '../../src/events/price-table.ts';
import { createTelemetry, type Telemetry } from '../../src/exporters/create-telemetry.ts';
import { partitionFor } from '../../src/kafka/partition-for.ts';
import { topicNames } from '../../src/kafka/topics.ts';
import { silentLogger } from '../../src/logger.ts';
import { KafkaStateQueries } from '../../src/state/kafka-state-queries.ts';
import { openKafkaPipeline, type KafkaPipeline } from '../../src/pipeline/open-kafka-pipeline.ts';
import { readReplayLogs } from '../../src/backend/read-replay-logs.ts';
import type { ReplayLogs } from '../../src/replay/open-replay-logs.ts';
import { replayLog } from '../../src/replay/replay-log.ts';
import { replaySession } from '../../src/replay/replay-session.ts';
import { splitNdjson } from '../../src/sources/split-ndjson.ts';
import type { TurnAggregate } from '../../src/model/turn-aggregate.ts';
import { kafkaBrokers } from '../helpers/kafka-broker.ts';
import { eventually } from '../helpers/turnstream-process.ts';
import { assertSameSession, liveSpansOf, spansOf } from './determinism-helpers.ts';
import { MESSY_WINDOWS, messyStream } from './messy-stream.ts';

const PARTITIONS = 3;
const bin = fileURLToPath(new URL('../../bin/turnstream.js', import.meta.url));

function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, TURNSTREAM_DATA_DIR: '', TURNSTREAM_CONFIG: '', TURNSTREAM_PRICES: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' };
    const child = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
const prices = createPriceTable();
const example = (name: string): string[] => splitNdjson(readFileSync(new URL(`../../examples/${name}.ndjson`, import.meta.url), 'utf8'));

describe('replay from the Kafka events topic reproduces the Kafka pipeline (real broker)', { timeout: 180_000 }, () => {
  const prefix = `replay-${randomUUID().slice(0, 8)}`;
  const brokers = kafkaBrokers();
  const messy = messyStream({ seed: 5, sessions: 8 });
  // Both in the same topic: each partition is one log, whose watermark all its sessions move.
  const lines = [...messy.lines, ...['coding-session', 'concurrent-turns', 'messy-delivery'].flatMap(example)];
  const sessions = [...messy.sessions, 'demo-1', 'demo-2', 'demo-3'];
  let exporter: InMemorySpanExporter;
  let telemetry: Telemetry;
  let pipeline: KafkaPipeline;
  let logs: ReplayLogs;

  before(async () => {
    exporter = new InMemorySpanExporter();
    telemetry = await createTelemetry({ version: 'test', spanExporter: exporter, env: {} });
    pipeline = await openKafkaPipeline({ brokers, prices, telemetry, topicPrefix: prefix, groupId: prefix, partitions: PARTITIONS, ...MESSY_WINDOWS });
    for (let i = 0; i < lines.length; i += 40) await pipeline.ingestor.ingest(lines.slice(i, i + 40), 'test');
    const admin = pipeline.kafka.admin();
    await admin.connect();
    try {
      const highs = new Map((await admin.fetchTopicOffsets(pipeline.topics.events)).map((o) => [o.partition, Number(o.high)]));
      await eventually(
        'the pipeline processed every partition',
        () => {
          for (const [p, high] of highs) if (high > 0 && (pipeline.view.positions.get(p) ?? 0) < high) return false;
          return true;
        },
        90_000,
      );
    } finally {
      await admin.disconnect();
    }
    await telemetry.forceFlush();
    logs = await readReplayLogs({ kafka: brokers.join(','), kafkaTopicPrefix: prefix });
  });
  after(async () => {
    await logs?.close();
    await pipeline?.close();
    await telemetry?.shutdown();
  });

  it('each session, replayed from its partition: same turns, totals, state, tombstones and span ids as the Kafka pipeline', async (t) => {
    const ctx = { resource: telemetry.resource, scope: telemetry.scope };
    // Turns as the server reads them: a pipeline's view keeps none, so from each session's partition.
    const queries = new KafkaStateQueries({ kafka: pipeline.kafka, topics: topicNames(prefix), logger: silentLogger, view: pipeline.view, keep: true });
    t.after(() => queries.close());
    const live = {
      turns: (s: string) => queries.turns(s),
      totals: (s: string) => pipeline.view.sessionTotals(s),
      list: (s: string) => pipeline.view.list(s),
      get: (s: string, k: string) => pipeline.view.get(s, k),
    };
    const spans = exporter.getFinishedSpans();
    let turns = 0;
    for (const session of sessions) {
      const opened = await logs.forSession(session);
      try {
        assert.equal(opened.label, `partition ${partitionFor(session, PARTITIONS)} of ${prefix}.events`);
        const emitted: TurnAggregate[] = [];
        const r = await replaySession({ log: opened.log, session, prices, windows: MESSY_WINDOWS, onAggregate: (a) => emitted.push(a) });
        assert.ok(r.events > 0, session);
        await assertSameSession(live, r, ['plan', 'branch', 'todo']);
        assert.deepEqual(spansOf(emitted, ctx), liveSpansOf(spans, session), `${session}: spans`);
        turns += r.turns.length;
      } finally {
        await opened.release();
      }
    }
    assert.ok(turns > 40, `replayed ${turns} turns`);
  });

  it('re-sent events are in the topic and are deduplicated by the replay as live (the topic is at-least-once)', async () => {
    const ids = lines.flatMap((l) => {
      try {
        return [(JSON.parse(l) as { id: string }).id];
      } catch {
        return [];
      }
    });
    const resent = ids.length - new Set(ids).size;
    assert.ok(resent > 0);
    const all = await logs.all();
    let duplicates = 0;
    for (let p = 0; p < all.labels.length; p++) {
      const opened = await all.open(p);
      try {
        const r = await replayLog({ log: opened.log, prices, windows: MESSY_WINDOWS });
        duplicates += r.letters.filter((l) => l.reason === 'duplicate').length;
      } finally {
        await opened.release();
      }
    }
    // Every re-sent turn event is dropped by the windows (a re-sent state write is idempotent by itself).
    assert.ok(duplicates > 0 && duplicates <= resent, `${duplicates} duplicates of ${resent} re-sent`);
  });

  it("the CLI on --kafka: a session's report equals sessions show on Kafka; --all backfills every partition", async () => {
    const kafkaArgs = ['--kafka', brokers.join(','), '--kafka-topic-prefix', prefix, '--turn-idle-timeout', '20s', '--grace', '10s'];
    const session = messy.sessions[2]!;
    const replayed = await cli(['replay', session, '--json', ...kafkaArgs]);
    assert.equal(replayed.status, 0, replayed.stderr);
    const shown = await cli(['sessions', 'show', session, '--json', ...kafkaArgs.slice(0, 4)]); // sessions takes no turn-window flags
    assert.equal(shown.status, 0, shown.stderr);
    const { replay: _meta, turns, ...rest } = JSON.parse(replayed.stdout) as { replay: unknown; turns: Record<string, unknown>[] };
    assert.deepEqual({ ...rest, turns: turns.map(({ llm: _l, tools: _t, ...t }) => t) }, JSON.parse(shown.stdout));
    const dir = mkdtempSync(join(tmpdir(), 'turnstream-replay-kafka-'));
    try {
      const all = await cli(['replay', '--all', '--json', '--out', join(dir, 'turns.ndjson'), ...kafkaArgs]);
      assert.equal(all.status, 0, all.stderr);
      const summary = JSON.parse(all.stdout) as { turns: number; matched: number; unmatched: number; oldCost: number; newCost: number; events: number };
      assert.equal(summary.unmatched, 0, 'every re-derived turn is recorded at the same revision');
      assert.equal(summary.turns, summary.matched);
      assert.ok(Math.abs(summary.oldCost - summary.newCost) < 1e-9, 'same prices: same cost');
      assert.equal(readFileSync(join(dir, 'turns.ndjson'), 'utf8').trimEnd().split('\n').length, summary.turns);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
