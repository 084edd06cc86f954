import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPriceTable, loadPriceTable, type PriceTable } from '../events/price-table.ts';

/** One price table a writer priced events with: enough to price the same way again. */
export interface PriceRecord {
  /** sha256 of the built-in table and the price file's text (first 16 hex digits). */
  readonly fingerprint: string;
  /** The price file's absolute path when it was used, or null for the built-in table alone. */
  readonly file: string | null;
  /** The price file's content (JSON), so a replay can price as the writer did after the file changed. */
  readonly overrides: unknown;
  readonly firstUsedAt: string;
}

/** Beside the embedded store: a small JSON file, so no store schema changes for it. */
export const PRICE_RECORD_FILE = 'prices-used.json';
const DEFAULTS = new URL('../events/default-prices.json', import.meta.url);

function describe(file: string | undefined): { fingerprint: string; overrides: unknown } {
  const text = file === undefined ? '' : readFileSync(file, 'utf8');
  const fingerprint = createHash('sha256').update(readFileSync(DEFAULTS, 'utf8')).update('\u0000').update(text).digest('hex').slice(0, 16);
  return { fingerprint, overrides: file === undefined ? null : (JSON.parse(text) as unknown) };
}

/** The tables recorded in `dataDir`, oldest first (none: a store written before this was kept). */
export function recordedPrices(dataDir: string): PriceRecord[] {
  const path = join(resolve(dataDir), PRICE_RECORD_FILE);
  if (!existsSync(path)) return [];
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { tables?: PriceRecord[] };
    return Array.isArray(parsed.tables) ? parsed.tables : [];
  } catch {
    return []; // a damaged record only costs the warning, never the command
  }
}

/**
 * Called by every command that prices events into an embedded store (`start`, `send`/`import
 * --data-dir`) after the price file was loaded (so it is valid JSON): adds the table to the
 * store's record when it is new. Replay reads it back (`pricesForReplay`).
 */
export function recordPrices(dataDir: string, file: string | undefined): void {
  const dir = resolve(dataDir);
  const tables = recordedPrices(dir);
  const { fingerprint, overrides } = describe(file);
  if (tables.some((t) => t.fingerprint === fingerprint)) return;
  tables.push({ fingerprint, file: file === undefined ? null : resolve(file), overrides, firstUsedAt: new Date().toISOString() });
  mkdirSync(dir, { recursive: true });
  const path = join(dir, PRICE_RECORD_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify({ tables }, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
}

const name = (r: PriceRecord): string => (r.file === null ? 'the built-in prices' : `price file ${r.file}`);

/**
 * The price table a replay of the embedded store in `dataDir` uses, and a note for the user:
 * - no price setting and the store was priced with one price file: that file's recorded content
 *   (costs match the live run even if the file changed or is gone since);
 * - otherwise the configured table, with a warning when the store was priced differently, naming
 *   the `--prices FILE` that would match.
 * On Kafka nothing is recorded (`dataDir` undefined): the configured table, no note.
 */
export function pricesForReplay(o: { dataDir?: string; file?: string }): { prices: PriceTable; note?: string } {
  const configured = loadPriceTable(o.file === undefined ? {} : { file: o.file });
  if (o.dataDir === undefined) return { prices: configured };
  const tables = recordedPrices(o.dataDir);
  if (tables.length === 0) return { prices: configured };
  const mine = describe(o.file).fingerprint;
  if (tables.length === 1 && tables[0]!.fingerprint === mine) return { prices: configured };
  if (o.file === undefined && tables.length === 1 && tables[0]!.file !== null) {
    const only = tables[0]!;
    return {
      prices: createPriceTable({ overrides: only.overrides }),
      note: `pricing with the ${name(only)} the store was written with (as recorded in ${PRICE_RECORD_FILE}); --prices FILE re-prices`,
    };
  }
  if (o.file === undefined && tables.length === 1)
    return {
      prices: configured,
      note: 'warning: the store was priced with the built-in prices of another turnstream version; costs may differ from the live run',
    };
  const used = tables.map(name).join(', then ');
  const hint = tables.length === 1 && tables[0]!.file !== null ? `; pass --prices ${tables[0]!.file} to price as it did` : '';
  return {
    prices: configured,
    note: `warning: the store was priced with ${used}; this replay prices with ${o.file === undefined ? 'the built-in prices' : `price file ${resolve(o.file)}`}, so costs may differ from the live run${hint}`,
  };
}
