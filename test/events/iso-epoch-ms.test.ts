import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoEpochMs } from '../../src/events/iso-epoch-ms.ts';

/** Deterministic PRNG (mulberry32), so a failure names a reproducible case. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const same = (t: string): void => assert.ok(Object.is(isoEpochMs(t), Date.parse(t)), `${JSON.stringify(t)}: ${isoEpochMs(t)} vs Date.parse ${Date.parse(t)}`);

describe('isoEpochMs', () => {
  it('equals Date.parse for toISOString output across years 100–9999, with and without milliseconds', () => {
    const r = random(1);
    const lo = Date.UTC(100, 0, 1);
    const hi = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
    for (let i = 0; i < 20_000; i++) {
      const iso = new Date(Math.floor(lo + r() * (hi - lo))).toISOString();
      same(iso);
      same(`${iso.slice(0, 19)}Z`);
    }
  });

  it('equals Date.parse on every field boundary, day and leap year', () => {
    for (const y of ['0000', '0050', '0099', '0100', '1900', '1970', '2000', '2024', '2025', '2100', '9999'])
      for (const m of ['00', '01', '02', '12', '13'])
        for (const d of ['00', '01', '28', '29', '30', '31', '32'])
          for (const time of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60', '99:99:99'])
            for (const tail of ['Z', '.000Z', '.999Z', '.5Z', '.123456Z', 'z', '+01:00', '-00:00', '.000+05:30'])
              for (const sep of ['T', 't', ' ']) same(`${y}-${m}-${d}${sep}${time}${tail}`);
  });

  it('equals Date.parse for texts that are not (or not quite) the common timestamp', () => {
    const r = random(2);
    const base = '2026-12-03T07:30:00.123Z';
    const chars = '0123456789-:.TZtz +/\u0660a\u0000';
    for (let i = 0; i < 20_000; i++) {
      const a = base.split('');
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) a[Math.floor(r() * a.length)] = chars[Math.floor(r() * chars.length)]!;
      const t = a.join('');
      same(t);
      same(t.slice(0, 20 + Math.floor(r() * 5)));
    }
    for (const t of ['', 'Z', 'not a time', '2026-12-03', '2026-12-03T07:30Z', '+002026-12-03T07:30:00.000Z', '2026-12-03T07:30:00.000ZZ']) same(t);
  });
});
