import { createGunzip, type Gunzip } from 'node:zlib';

/** The request's body encoding is not one the server can decode (answered 415). */
export class UnsupportedEncoding extends Error {}

export const SUPPORTED_ENCODINGS = ['gzip', 'identity'] as const;

/**
 * Reads `Content-Encoding` and returns the streaming decoder the body needs: `undefined` for no
 * encoding or `identity`, a gunzip stream for `gzip` (or its alias `x-gzip`). Anything else — other
 * codings, or gzip applied twice — throws `UnsupportedEncoding` naming what is supported, so the
 * bytes are never guessed at (an undecoded gzip body used to be dead-lettered as mangled JSON).
 */
export function contentDecoder(header: string | undefined): Gunzip | undefined {
  const codings = (header ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return undefined;
  if (codings.length === 1 && (codings[0] === 'gzip' || codings[0] === 'x-gzip')) return createGunzip();
  throw new UnsupportedEncoding(`Content-Encoding "${header ?? ''}" is not supported; send ${SUPPORTED_ENCODINGS.join(' or ')}`);
}
