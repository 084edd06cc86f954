import { REJECT_REASONS, type RejectReason } from '../events/reject-reason.ts';
import { TurnstreamError } from '../errors.ts';
import { openBackend } from '../backend/open-backend.ts';
import { isoTime, table } from '../report/format.ts';
import { out } from './output.ts';
import { parsePositiveInt } from './parse-values.ts';
import { resolveConfig } from './resolve-config.ts';

/**
 * `turnstream dead-letters`: what was rejected, why, and the raw input. `--json` prints each letter
 * whole: bytes that are not UTF-8 are exact in `rawBase64` (the table shows them as base64 too).
 */
export async function deadLetters(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const config = resolveConfig(flags);
  const reason = flags['reason'];
  if (reason !== undefined && !REJECT_REASONS.includes(reason as RejectReason)) {
    throw new TurnstreamError(`--reason ${String(reason)} is not a reason; use one of ${REJECT_REASONS.join(', ')}`);
  }
  const limit = typeof flags['limit'] === 'string' ? parsePositiveInt(flags['limit']) : 50;
  const backend = await openBackend(config, { mode: 'read', purpose: 'report' });
  try {
    const rows = await backend.readers.deadLetters.list({ limit, ...(reason === undefined ? {} : { reason: reason as RejectReason }) });
    if (flags['json']) {
      out.json({ counts: await backend.readers.deadLetters.countByReason(), letters: rows });
      return 0;
    }
    const counts = await backend.readers.deadLetters.countByReason();
    out.line(
      Object.keys(counts).length === 0
        ? 'no dead letters'
        : `dead letters: ${Object.entries(counts)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ')}`,
    );
    if (rows.length > 0) {
      out.line(
        table(
          ['AT', 'REASON', 'SOURCE', 'SESSION', 'MESSAGE', 'RAW'],
          rows.map((l) => [
            isoTime(l.at),
            l.reason,
            l.source,
            l.session ?? '-',
            l.message.slice(0, 80),
            l.rawBase64 === undefined ? l.raw.slice(0, 60) : `base64:${l.rawBase64.slice(0, 53)}`,
          ]),
        ),
      );
    }
    return 0;
  } finally {
    await backend.close();
  }
}
