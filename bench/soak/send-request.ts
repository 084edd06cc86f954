/**
 * One soak request over a raw node:http request, so bodies are sent as exact bytes (invalid
 * UTF-8, gzip) and an upload can stall half-way.
 */
import { request } from 'node:http';
import type { SoakRequest } from './soak-traffic.ts';

export type SendOutcome =
  | { readonly ok: true; readonly status: number; readonly json: unknown; readonly bytes: number }
  | { readonly ok: false; readonly error: string };

export function sendRequest(url: string, r: SoakRequest, timeoutMs = 30_000): Promise<SendOutcome> {
  return new Promise((resolve) => {
    const req = request(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', 'content-length': String(r.body.length), ...r.headers },
      timeout: timeoutMs,
    });
    let settled = false;
    const done = (o: SendOutcome): void => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    req.on('timeout', () => {
      req.destroy();
      done({ ok: false, error: 'timeout' });
    });
    req.on('error', (e) => done({ ok: false, error: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => done({ ok: false, error: e.message }));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        done({ ok: true, status: res.statusCode ?? 0, json, bytes: text.length });
      });
    });
    if (r.stallAfter !== undefined) {
      req.write(r.body.subarray(0, r.stallAfter));
      return; // never finishes: the server's body timeout (or a kill) ends it
    }
    req.end(r.body);
  });
}

/** Whether an answer acknowledges every valid event of the request (accepted or duplicate). */
export function acknowledged(o: SendOutcome, validIds: readonly string[]): boolean {
  if (!o.ok || (o.status !== 200 && o.status !== 207 && o.status !== 422)) return false;
  const answer = o.json as { accepted?: number; duplicate?: number; results?: { id?: string; status: string }[] };
  const refused = new Set((answer.results ?? []).filter((x) => x.status === 'rejected' && x.id !== undefined).map((x) => x.id));
  // The answer may list only the first rejections: the counts must cover every valid event too.
  return validIds.every((id) => !refused.has(id)) && (answer.accepted ?? 0) + (answer.duplicate ?? 0) >= validIds.length;
}
