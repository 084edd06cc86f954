import type { IncomingMessage, ServerResponse } from 'node:http';

/** Answers with a JSON body and its length. */
export function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text); // HEAD: node sends the headers only
}

/** Answers a request whose body is not read, and closes the connection once the answer is out. */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.once('finish', () => req.destroy());
  send(res, status, body, { connection: 'close', ...headers });
}
