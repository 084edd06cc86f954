import { createHash } from 'node:crypto';
import type { Logger } from '../logger.ts';
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

export function logAlertSink(logger: Logger): AlertSink {
  return {
    send: (alerts) => {
      for (const a of alerts) (a.status === 'firing' ? logger.warn : logger.info)(`budget ${a.level} ${a.status}: ${a.rule}`, { ...a, id: alertId(a) });
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
 * non-2xx answers with exponential backoff and jitter. Delivery is at-least-once: the `id` is
 * stable, so a receiver can drop repeats. Alerts wait in memory; an alert still undelivered when
 * the process dies is not retried by the next one (documented limit).
 */
export function webhookAlertSink(o: WebhookSinkOptions): AlertSink {
  const log = o.logger.child('alerts');
  const maxAttempts = o.maxAttempts ?? 8;
  const initial = o.initialBackoffMillis ?? 200;
  const cap = o.maxBackoffMillis ?? 10_000;
  const queue: BudgetAlert[] = [];
  let draining: Promise<void> | undefined;
  let stopped = false;

  const deliver = async (a: BudgetAlert): Promise<void> => {
    const body = JSON.stringify({ id: alertId(a), ...a });
    for (let attempt = 1; attempt <= maxAttempts && !stopped; attempt++) {
      try {
        const res = await fetch(o.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(o.timeoutMillis ?? 5_000) });
        await res.arrayBuffer();
        if (res.ok) return;
        log.warn('alert webhook answered an error; retrying', { status: res.status, attempt, rule: a.rule });
      } catch (error) {
        log.warn('alert webhook unreachable; retrying', { error, attempt, rule: a.rule });
      }
      const backoff = Math.min(cap, initial * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      await new Promise((r) => setTimeout(r, backoff).unref());
    }
    log.error('alert not delivered: gave up', { rule: a.rule, key: a.key, level: a.level, status: a.status, attempts: maxAttempts });
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
