import { createHash } from 'node:crypto';
import { TurnstreamError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { retry } from '../retry/retry.ts';
import type { BudgetAlert } from '../streams/budget-rule.ts';

/** Where budget alerts go. `send` never throws and never blocks the pipeline. */
export interface AlertSink {
  send(alerts: readonly BudgetAlert[]): void;
  /** Resolves when everything sent so far was delivered or given up on. */
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** A stable id per alert (same log → same id), so receivers can deduplicate redeliveries. */
export function alertId(a: BudgetAlert): string {
  return createHash('sha256').update(`${a.rule}\u0000${a.key}\u0000${a.level}\u0000${a.status}\u0000${a.pos}`).digest('hex').slice(0, 32);
}

/**
 * Logs each alert: firing at `warn`, resolved at `info`. The alert's own `level` (soft/hard) is
 * logged as `budgetLevel`, so it cannot be mistaken for (or overwrite) the log line's level.
 */
export function logAlertSink(logger: Logger): AlertSink {
  return {
    send: (alerts) => {
      for (const { level, ...a } of alerts) {
        const id = alertId({ level, ...a });
        (a.status === 'firing' ? logger.warn : logger.info)(`budget ${level} ${a.status}: ${a.rule}`, { ...a, budgetLevel: level, id });
      }
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
}

export interface WebhookSinkOptions {
  readonly url: string;
  readonly logger: Logger;
  /** Attempts per alert before it is given up (logged as an error). Default 8. */
  readonly maxAttempts?: number;
  readonly initialBackoffMillis?: number;
  readonly maxBackoffMillis?: number;
  readonly timeoutMillis?: number;
}

/**
 * POSTs each alert as JSON (`{id, …alert}`) to a webhook, in order, retrying network errors and
 * non-2xx answers with exponential backoff and full jitter (`retry/retry.ts`). Delivery is at-least-once: the `id` is
 * stable, so a receiver can drop repeats. Alerts wait in memory; an alert still undelivered when
 * the process dies is not retried by the next one (documented limit).
 */
// long: the queue, the delivery loop and the sink's lifecycle share state that belongs to one sink
export function webhookAlertSink(o: WebhookSinkOptions): AlertSink {
  const log = o.logger.child('alerts');
  const maxAttempts = o.maxAttempts ?? 8;
  const initial = o.initialBackoffMillis ?? 200;
  const cap = o.maxBackoffMillis ?? 10_000;
  const queue: BudgetAlert[] = [];
  let draining: Promise<void> | undefined;
  let stopped = false;
  const stopping = new AbortController();

  const deliver = async (a: BudgetAlert): Promise<void> => {
    const body = JSON.stringify({ id: alertId(a), ...a });
    try {
      await retry(
        async () => {
          let res: Response;
          try {
            res = await fetch(o.url, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body,
              signal: AbortSignal.timeout(o.timeoutMillis ?? 5_000),
            });
            await res.arrayBuffer();
          } catch (error) {
            throw new TurnstreamError(`alert webhook unreachable: ${(error as Error).message}`, { cause: error, retriable: true });
          }
          // Any non-2xx is retried: a receiver may be restarting, and the stable id makes a repeat harmless.
          if (!res.ok) throw new TurnstreamError(`alert webhook answered ${res.status}`, { retriable: true });
        },
        {
          maxAttempts,
          initialBackoffMillis: initial,
          maxBackoffMillis: cap,
          signal: stopping.signal,
          unref: true,
          onRetry: ({ error, attempt }) => log.warn('alert webhook failed; retrying', { error, attempt, rule: a.rule }),
        },
      );
    } catch {
      log.error('alert not delivered: gave up', { rule: a.rule, key: a.key, budgetLevel: a.level, status: a.status, attempts: maxAttempts });
    }
  };

  const drain = async (): Promise<void> => {
    while (queue.length > 0 && !stopped) await deliver(queue.shift()!);
    draining = undefined;
  };

  return {
    send: (alerts) => {
      if (stopped) return;
      queue.push(...alerts);
      draining ??= drain();
    },
    forceFlush: async () => {
      while (draining !== undefined) await draining;
    },
    shutdown: async () => {
      while (draining !== undefined) await draining;
      stopped = true;
      stopping.abort();
    },
  };
}

/** Sends every alert to each sink. */
export function fanOutAlertSink(sinks: readonly AlertSink[]): AlertSink {
  return {
    send: (alerts) => {
      for (const s of sinks) s.send(alerts);
    },
    forceFlush: async () => {
      await Promise.all(sinks.map((s) => s.forceFlush()));
    },
    shutdown: async () => {
      await Promise.all(sinks.map((s) => s.shutdown()));
    },
  };
}
