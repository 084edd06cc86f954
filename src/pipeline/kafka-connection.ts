import type { Consumer, Kafka } from 'kafkajs';
import { createKafka } from '../kafka/create-kafka.ts';
import type { Logger } from '../logger.ts';

/**
 * The Kafka pipeline's client and what it knows about its connection to the broker, for
 * `/healthz` and for the operator's log: one line when the broker is lost, one when work resumes.
 */
export interface KafkaConnection {
  readonly kafka: Kafka;
  /**
   * Follows the group consumer's events: CRASH and DISCONNECT are faults, GROUP_JOIN and HEARTBEAT
   * clear them. A crash kafkajs does not restart from (an error it calls non-retriable) is restarted
   * here with `start` (connect, subscribe, run), after 1 s, then with backoff up to 30 s.
   */
  watch(consumer: Consumer, start: () => Promise<void>): void;
  /** Something reached the broker and got an answer (a batch was fetched): the connection is back. */
  reconnected(): void;
  /** An ingest produce failed (`error`) or succeeded (undefined): ingest answers 503 while it fails. */
  produced(error?: unknown): void;
  /** The connection fault, named like the embedded health's (`kafka: broker unreachable (…)`), or undefined. */
  fault(): { readonly status: string; readonly fault: string } | undefined;
  /** Stops counting the consumer's own disconnect as a fault: the pipeline is closing. */
  closing(): void;
}

export interface KafkaConnectionOptions {
  readonly brokers: readonly string[];
  readonly groupId: string;
  /** The logger kafkajs logs to (its namespace `kafka`). */
  readonly clientLogger: Logger;
  /** Where connection changes are reported. */
  readonly logger: Logger;
}

/**
 * Opens the kafkajs client (the shared factory, so its logs and retries are the same as every
 * other client's) and tracks three faults: the broker unreachable (a connection error in any
 * client's log), the consumer down (crashed or disconnected) and ingest failing (the last produce
 * failed). Each holds until there is evidence of the contrary: the consumer heartbeats, joins its
 * group or fetches a batch after an outage (all three cleared), or a produce succeeds (the broker
 * and ingest cleared).
 */
/** What is known to be wrong with the connection now; undefined = nothing. */
interface ConnectionFaults {
  unreachable: string | undefined;
  consumerDown: string | undefined;
  produceFault: string | undefined;
  stopping: boolean;
}

export function openKafkaConnection({ brokers, groupId, clientLogger, logger }: KafkaConnectionOptions): KafkaConnection {
  const f: ConnectionFaults = { unreachable: undefined, consumerDown: undefined, produceFault: undefined, stopping: false };
  const lost = (detail: string): void => {
    if (f.unreachable === undefined && f.consumerDown === undefined)
      logger.warn('lost connection to Kafka; retrying (ingest answers 503 meanwhile)', { brokers, detail });
    f.unreachable = detail;
  };
  // Back from an outage: a produce that failed during it failed for the outage's reason. Without
  // one, a produce fault stands until a produce succeeds (a partition leader can be down while the
  // group coordinator answers).
  const reconnected = (): void => {
    if (f.unreachable === undefined && f.consumerDown === undefined) return;
    f.unreachable = undefined;
    f.consumerDown = undefined;
    f.produceFault = undefined;
    logger.info('reconnected to Kafka; catching up', { brokers });
  };
  return {
    kafka: createKafka({ brokers, clientId: groupId }, clientLogger, lost),
    watch: (consumer, start) => watchConsumer(consumer, f, reconnected, logger, start),
    reconnected,
    produced: (error) => {
      if (error === undefined) {
        const wasUnreachable = f.unreachable !== undefined;
        const hadFault = f.produceFault !== undefined;
        f.unreachable = undefined;
        f.produceFault = undefined;
        // The consumer's return is announced when it rejoins (GROUP_JOIN), if it went down too.
        if (wasUnreachable && f.consumerDown === undefined) logger.info('reconnected to Kafka; catching up', { brokers });
        else if (hadFault && !wasUnreachable) logger.info('ingest produces to Kafka again', { brokers });
        return;
      }
      if (f.produceFault === undefined) logger.error('ingest cannot produce to Kafka; answering 503 until it can', { error });
      f.produceFault = error instanceof Error ? error.message : String(error);
    },
    fault: () => {
      if (f.unreachable !== undefined) return { status: 'broker unreachable', fault: `kafka: broker unreachable (${f.unreachable})` };
      if (f.consumerDown !== undefined) return { status: 'consumer down', fault: `kafka: ${f.consumerDown}` };
      if (f.produceFault !== undefined) return { status: 'ingest failing', fault: `ingest: ${f.produceFault}` };
      return undefined;
    },
    closing: () => {
      f.stopping = true;
    },
  };
}

function watchConsumer(consumer: Consumer, f: ConnectionFaults, reconnected: () => void, logger: Logger, start: () => Promise<void>): void {
  consumer.on(consumer.events.GROUP_JOIN, () => reconnected());
  // A heartbeat answered is the broker reachable and this member in its group: an idle
  // pipeline (no batches to fetch) turns ready within a heartbeat interval of the broker's return,
  // and a lone connection error (an idle connection the broker closed) clears as fast.
  consumer.on(consumer.events.HEARTBEAT, () => reconnected());
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    f.consumerDown = `consumer crashed: ${payload.error.message}`;
    logger.error('consumer crashed; restarting', { error: payload.error, restart: payload.restart ? 'by kafkajs' : 'by turnstream' });
    // kafkajs gives up on what it calls non-retriable, e.g. "Failed to find group coordinator" while
    // a fresh broker is still creating its offsets topic: processing would stop for good (seen in CI).
    if (!payload.restart) restartAfter(1_000);
  });
  const restartAfter = (ms: number): void => {
    if (f.stopping) return;
    setTimeout(() => {
      if (f.stopping) return;
      start().catch((error: unknown) => {
        logger.error('restarting the consumer failed; trying again', { error, inMs: Math.min(ms * 2, 30_000) });
        restartAfter(Math.min(ms * 2, 30_000));
      });
    }, ms).unref();
  };
  consumer.on(consumer.events.DISCONNECT, () => {
    if (!f.stopping) f.consumerDown ??= 'consumer disconnected';
  });
}
