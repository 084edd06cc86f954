import type { Kafka as KafkaClient, LogEntry } from 'kafkajs';
import type { Logger } from '../logger.ts';
import { loadKafkajs } from './kafkajs-encoding.ts';

// kafkajs with its producer encoding made cheaper (see kafkajs-encoding.ts): loaded through it, never imported directly.
const { Kafka, logLevel } = loadKafkajs();

export interface KafkaConnection {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /**
   * Give up on an unreachable broker in seconds (3 s connect timeout, 2 retries) instead of riding
   * out a broker restart: for a command's first look at the cluster, which should say what to check.
   */
  readonly failFast?: boolean;
}

let negativeTimeoutMuted = false;

/**
 * kafkajs 2.2.4 schedules its request queue's next check with `setTimeout(fn, throttledUntil -
 * Date.now())`, `throttledUntil` being 0 until a broker throttles: Node ≥ 23 then warns
 * "TimeoutNegativeWarning: -1796244771008 is a negative number" on every connection
 * (tulios/kafkajs#1751, not fixed in 2.2.4) and waits 1 ms, which is what kafkajs meant. It is a
 * false alarm and a line that is not JSON in turnstream's JSON-lines stderr, so that one warning
 * (a negative epoch time: 0 − now) is dropped; every other warning is emitted as before.
 */
function muteKafkajsNegativeTimeout(): void {
  if (negativeTimeoutMuted) return;
  negativeTimeoutMuted = true;
  const emit = process.emitWarning;
  process.emitWarning = function emitWarning(this: unknown, warning: string | Error, ...rest: unknown[]): void {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && typeof warning === 'string') {
      const ms = Number(/^(-\d+(?:\.\d+)?) is a negative number/.exec(warning)?.[1]);
      if (Math.abs(ms + Date.now()) < 86_400_000) return;
    }
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

/**
 * A kafkajs client whose logs go to our logger (namespace `kafka`), at warn and above: kafkajs is
 * chatty at info, and its own retries already handle transient coordinator errors.
 */
export function createKafka(
  { brokers, clientId = 'turnstream', failFast = false }: KafkaConnection,
  logger: Logger,
  onConnectionError?: (detail: string) => void,
): KafkaClient {
  const log = logger.child('kafka');
  muteKafkajsNegativeTimeout();
  return new Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: logLevel.WARN,
    ...(failFast
      ? { connectionTimeout: 3_000, retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1_000 } }
      : { retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 5_000 } }),
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...fields } = entry;
        const text = String(message);
        if (/Connection error|Failed to connect|ECONNREFUSED|Connection timeout/.test(text)) onConnectionError?.(text);
        // Bounded retries are deliberate: a produce that cannot reach the broker must fail the
        // request (503, nothing acknowledged) rather than hang; the warning about it is noise.
        if (text.startsWith('Limiting retries for the idempotent producer')) return;
        // Every record carries an explicit partition (murmur2 of the session), so the partitioner
        // change kafkajs warns about does not apply.
        if (text.startsWith('KafkaJS v2.0.0 switched default partitioner')) return;
        // Coordinator loading right after a broker starts is expected and retried.
        if (/coordinator (is loading|is not available)|not the correct coordinator/i.test(String(fields['error'] ?? ''))) return log.debug(text, fields);
        if (level <= logLevel.ERROR) log.error(text, fields);
        else if (level === logLevel.WARN) log.warn(text, fields);
        else log.debug(text, fields);
      },
  });
}
