import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Alertmanager's webhook body (version 4), the fields the tests look at. */
export interface AlertmanagerWebhook {
  readonly version: string;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly alerts: readonly { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }[];
}

export interface WebhookReceiver {
  readonly url: string;
  /** Every POST so far, in arrival order, with the path it was sent to. */
  readonly received: readonly { path: string; body: AlertmanagerWebhook }[];
  /** Resolves with the first POST (past or future) that `match` accepts. */
  waitFor(match: (path: string, body: AlertmanagerWebhook) => boolean, timeoutMs?: number): Promise<{ path: string; body: AlertmanagerWebhook }>;
  close(): Promise<void>;
}

/** A node:http server on a free loopback port that records JSON POSTs and answers 200. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: { path: string; body: AlertmanagerWebhook }[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      try {
        received.push({ path: req.url ?? '/', body: JSON.parse(data) as AlertmanagerWebhook });
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
      for (const w of waiters) w();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    waitFor: (match, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = received.find((r) => match(r.path, r.body));
          if (hit === undefined) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no matching webhook after ${timeoutMs} ms; received: ${JSON.stringify(received.map((r) => ({ path: r.path, receiver: r.body.receiver, alerts: r.body.alerts.map((a) => a.labels['alertname']) })))}`,
            ),
          );
        }, timeoutMs);
        timer.unref();
        if (!check()) waiters.add(check);
      }),
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
