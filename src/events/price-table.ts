import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';

/** Prices of one model in USD per TOKEN (the JSON files hold USD per million tokens). */
export interface ModelPrice {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheWrite5m: number;
  readonly cacheWrite1h: number;
}

export interface PriceTable {
  /**
   * The price of `model` at `provider`, or `undefined` when the table does not know it.
   * Provider: case-insensitive, with the aliases in `PROVIDER_ALIASES`. Model: case-insensitive
   * exact id first, then the id with a trailing date (`-20250805`, `-2024-08-06`, `@20250805`) or
   * `-latest` removed. Nothing fuzzier: a wrong price is worse than none (unpriced is visible).
   */
  lookup(provider: string, model: string): ModelPrice | undefined;
  /**
   * The table as data a worker thread can be given (structured-cloneable: per provider, per model
   * id), and `priceTableOf` makes the same table of it. Absent for a table made otherwise (a caller's
   * own `lookup`): then work that needs prices stays on the caller's thread.
   */
  readonly portable?: PortablePrices;
}

/** Per-token prices by canonical provider, then lower-case model id: what `PriceTable.portable` holds. */
export type PortablePrices = ReadonlyMap<string, ReadonlyMap<string, ModelPrice>>;

/** The table `portable` describes (`PriceTable.portable`, e.g. after a structured clone). */
export function priceTableOf(portable: PortablePrices): PriceTable {
  return buildTable([portable as Map<string, Models>]);
}

/** Provider names as producers send them → the key used in the price files. */
const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  claude: 'anthropic',
  gemini: 'google',
  'google-genai': 'google',
  vertex: 'google',
  vertex_ai: 'google',
};

const PRICE_FIELDS = ['input', 'output', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h'] as const;
const PER_MILLION = 1_000_000;
const VERSION_SUFFIX = /(?:-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8}|-latest)$/;
const HINT = `each model needs ${PRICE_FIELDS.join(', ')}: numbers >= 0, in USD per million tokens`;

type Models = Map<string, ModelPrice>;

function canonicalProvider(provider: string): string {
  const p = provider.trim().toLowerCase();
  return PROVIDER_ALIASES[p] ?? p;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Validates a parsed price file and converts it to per-token prices; `source` names it in errors. */
function parsePrices(value: unknown, source: string): Map<string, Models> {
  if (!isRecord(value)) {
    throw new ConfigError(`${source}: expected a JSON object keyed by provider, then model id; ${HINT}`);
  }
  const providers = new Map<string, Models>();
  for (const [providerKey, models] of Object.entries(value)) {
    if (providerKey.startsWith('$')) continue; // "$comment" and the like
    if (!isRecord(models)) {
      throw new ConfigError(`${source}: provider "${providerKey}" must be an object keyed by model id; ${HINT}`);
    }
    const provider = canonicalProvider(providerKey);
    const parsed = providers.get(provider) ?? new Map<string, ModelPrice>();
    for (const [model, entry] of Object.entries(models)) {
      if (model.startsWith('$')) continue;
      parsed.set(model.toLowerCase(), parseModelPrice(entry, `${source}: model ${providerKey}/${model}`));
    }
    providers.set(provider, parsed);
  }
  return providers;
}

function parseModelPrice(entry: unknown, where: string): ModelPrice {
  if (!isRecord(entry)) throw new ConfigError(`${where} must be an object; ${HINT}`);
  for (const key of Object.keys(entry)) {
    if (!key.startsWith('$') && !(PRICE_FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError(`${where} has unknown field "${key}"; ${HINT}`);
    }
  }
  const perToken = (field: (typeof PRICE_FIELDS)[number]): number => {
    const v = entry[field];
    if (v === undefined) throw new ConfigError(`${where} is missing "${field}"; ${HINT}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(
        `${where} has ${field} = ${typeof v === 'number' ? String(v) : JSON.stringify(v)}; set it to a number >= 0 (USD per million tokens)`,
      );
    }
    return v / PER_MILLION;
  };
  return {
    input: perToken('input'),
    output: perToken('output'),
    cacheRead: perToken('cacheRead'),
    cacheWrite5m: perToken('cacheWrite5m'),
    cacheWrite1h: perToken('cacheWrite1h'),
  };
}

let defaults: Map<string, Models> | undefined;

function defaultPrices(): Map<string, Models> {
  if (defaults === undefined) {
    const url = new URL('./default-prices.json', import.meta.url);
    defaults = parsePrices(JSON.parse(readFileSync(url, 'utf8')), fileURLToPath(url));
  }
  return defaults;
}

function buildTable(layers: ReadonlyArray<Map<string, Models>>): PriceTable {
  const merged = new Map<string, Models>();
  for (const layer of layers) {
    for (const [provider, models] of layer) {
      const into = merged.get(provider) ?? new Map<string, ModelPrice>();
      for (const [model, price] of models) into.set(model, price); // later layers win per model
      merged.set(provider, into);
    }
  }
  return {
    portable: merged,
    lookup(provider, model) {
      const models = merged.get(canonicalProvider(provider));
      if (models === undefined) return undefined;
      const id = model.trim().toLowerCase();
      return models.get(id) ?? models.get(id.replace(VERSION_SUFFIX, ''));
    },
  };
}

/**
 * A price table from the bundled defaults (unless `includeDefaults` is false) extended and
 * overridden per model by `overrides`, which has the shape of `default-prices.json`.
 * Throws `ConfigError` when `overrides` (or the bundled file) is malformed.
 */
export function createPriceTable(options: { overrides?: unknown; includeDefaults?: boolean } = {}): PriceTable {
  const { overrides, includeDefaults = true } = options;
  const layers: Map<string, Models>[] = [];
  if (includeDefaults) layers.push(defaultPrices());
  if (overrides !== undefined) layers.push(parsePrices(overrides, 'price overrides'));
  return buildTable(layers);
}

/**
 * The bundled defaults, extended and overridden per model by the user's price `file` (same shape
 * as `default-prices.json`, USD per million tokens). Without `file`, the defaults alone.
 * Throws `ConfigError`, naming the file, when it cannot be read, is not JSON, or has a bad price.
 */
export function loadPriceTable(options: { file?: string } = {}): PriceTable {
  const { file } = options;
  if (file === undefined) return createPriceTable();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(`price file ${file} cannot be read (${reason}); fix the path or remove the setting`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ConfigError(`price file ${file} is not valid JSON (${reason}); fix the syntax`, { cause });
  }
  return buildTable([defaultPrices(), parsePrices(parsed, `price file ${file}`)]);
}
