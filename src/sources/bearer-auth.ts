import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Bearer-token check for ingest. Compares SHA-256 digests with `timingSafeEqual`, so neither the
 * token's content nor its length leaks through timing. With no token configured, every request
 * passes (the server then listens on loopback by default). The token is never logged.
 */
export function bearerAuth(token: string | undefined): (req: IncomingMessage) => boolean {
  if (token === undefined || token === '') return () => true;
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    return match !== null && timingSafeEqual(digest(match[1]!.trim()), expected);
  };
}
