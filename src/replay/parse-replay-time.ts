import { TurnstreamError } from '../errors.ts';
import type { ReplayStop } from './replay-log.ts';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?$/;
const LOOKS_LIKE_TIME = /^\d{4}-\d{2}-\d{2}/;

const FORMATS = 'use RFC 3339 with a zone, e.g. 2026-03-02T10:00:05Z or 2026-03-02T11:00:05+01:00, or a date (2026-03-02, midnight UTC)';

/** Whether y-m-d h:m:s names a real instant (V8's Date.parse quietly rolls Feb 30 over to Mar 2). */
function real(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return (
    t.getUTCFullYear() === y &&
    t.getUTCMonth() === mo - 1 &&
    t.getUTCDate() === d &&
    t.getUTCHours() === h &&
    t.getUTCMinutes() === mi &&
    t.getUTCSeconds() === s
  );
}

/**
 * An instant given on the command line, in epoch ms: RFC 3339 with a zone (`Z` or `±hh:mm`;
 * seconds and fractions optional) or a bare date (midnight UTC). A time without a zone is refused
 * rather than read in the machine's zone: replay times are event times, which are absolute.
 * Throws a `TurnstreamError` naming `flag` and the accepted forms.
 */
export function parseReplayTime(value: string, flag: string): number {
  const v = value.trim();
  const d = DATE.exec(v);
  if (d !== null) {
    const [y, mo, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    if (real(y, mo, day)) return Date.UTC(y, mo - 1, day);
    throw new TurnstreamError(`${flag}: "${value}" is not a real date; ${FORMATS}`);
  }
  const m = DATE_TIME.exec(v);
  if (m === null) throw new TurnstreamError(`${flag}: "${value}" is not a time; ${FORMATS}`);
  if (m[8] === undefined) throw new TurnstreamError(`${flag}: "${value}" has no time zone; add Z (UTC) or an offset such as +01:00`);
  const [y, mo, day, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [number, number, number, number, number, number];
  const ms = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}${(m[7] ?? '').slice(0, 4)}${m[8].toUpperCase()}`);
  if (!real(y, mo, day, h, mi, s) || Number.isNaN(ms)) throw new TurnstreamError(`${flag}: "${value}" is not a real time; ${FORMATS}`);
  return ms;
}

/**
 * `--at`: a time (anything that starts like a date is read as one, strictly) or else an event id.
 * A time T stops the replay where the pipeline's event-time clock (its watermark) would pass T:
 * before the first event in log order that is later than T. An event id stops it right after
 * that event.
 */
export function parseReplayPoint(value: string): ReplayStop {
  if (value.trim() === '') throw new TurnstreamError('--at: give a time (e.g. 2026-03-02T10:00:05Z) or an event id');
  if (LOOKS_LIKE_TIME.test(value.trim())) return { kind: 'time', ms: parseReplayTime(value, '--at') };
  return { kind: 'event', id: value };
}
