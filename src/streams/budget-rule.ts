import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { parseDuration } from '../units/parse-duration.ts';

export type BudgetScope = 'session' | 'agent' | 'user' | 'global';

/** One threshold rule on spend (USD). */
export interface BudgetRule {
  readonly name: string;
  readonly scope: BudgetScope;
  /** Only this session/agent/user id (absent: every key of the scope, each on its own). */
  readonly match?: string;
  /** Rolling event-time window; absent = the session's whole life (session scope only). */
  readonly windowMs?: number;
  /** Bucket width of the rolling window (window / 60). */
  readonly bucketMs: number;
  readonly soft?: number;
  readonly hard?: number;
}

/** What crossing (or un-crossing) a threshold emits. Session ids appear here, never on metrics. */
export interface BudgetAlert {
  readonly rule: string;
  readonly scope: BudgetScope;
  /** The session, agent or user id the sum belongs to; `global` for the global scope. */
  readonly key: string;
  readonly level: 'soft' | 'hard';
  readonly status: 'firing' | 'resolved';
  /** The sum (USD) when the alert was emitted, and the threshold it crossed. */
  readonly value: number;
  readonly threshold: number;
  readonly windowMs?: number;
  /** Event time (watermark) of the crossing, epoch ms. */
  readonly at: number;
  /** Log position of the event that caused it. */
  readonly pos: number;
  /** The session whose LLM call pushed the sum over (firing alerts). */
  readonly session?: string;
}

function fail(file: string, where: string, what: string): never {
  throw new ConfigError(`budget file ${file}: ${where}: ${what}`);
}

/**
 * Parses budget rules: `{"rules": [{"name", "scope": "session|agent|user|global", "window"?: "1h",
 * "match"?: "id", "soft"?: USD, "hard"?: USD}, …]}`. Every mistake is a ConfigError naming the
 * rule and what to change.
 */
export function parseBudgetRules(value: unknown, file = '<inline>'): BudgetRule[] {
  if (typeof value !== 'object' || value === null || !Array.isArray((value as { rules?: unknown }).rules)) fail(file, 'top level', 'must be {"rules": [ … ]}');
  const names = new Set<string>();
  return (value as { rules: unknown[] }).rules.map((raw, i): BudgetRule => {
    const r = raw as Record<string, unknown>;
    const where = `rules[${i}]${typeof r['name'] === 'string' ? ` ("${r['name']}")` : ''}`;
    if (typeof r['name'] !== 'string' || r['name'] === '') fail(file, where, 'needs a "name"');
    if (names.has(r['name'])) fail(file, where, 'duplicate name');
    names.add(r['name']);
    const scope = r['scope'];
    if (scope !== 'session' && scope !== 'agent' && scope !== 'user' && scope !== 'global') fail(file, where, '"scope" must be session, agent, user or global');
    let windowMs: number | undefined;
    if (r['window'] !== undefined) {
      try {
        windowMs = parseDuration(typeof r['window'] === 'number' ? r['window'] : String(r['window']));
      } catch {
        fail(file, where, `"window" ${JSON.stringify(r['window'])} is not a duration (e.g. 30m, 1h, 1d)`);
      }
    } else if (scope !== 'session') fail(file, where, `a ${scope} rule needs a rolling "window" (e.g. "1h", "1d")`);
    for (const level of ['soft', 'hard'] as const) {
      if (r[level] !== undefined && (typeof r[level] !== 'number' || !(r[level] > 0))) fail(file, where, `"${level}" must be a positive number of USD`);
    }
    if (r['soft'] === undefined && r['hard'] === undefined) fail(file, where, 'needs "soft" and/or "hard" (USD)');
    if (typeof r['soft'] === 'number' && typeof r['hard'] === 'number' && r['soft'] > r['hard']) fail(file, where, '"soft" must not be above "hard"');
    if (r['match'] !== undefined && typeof r['match'] !== 'string') fail(file, where, '"match" must be a string');
    return {
      name: r['name'],
      scope,
      ...(typeof r['match'] === 'string' ? { match: r['match'] } : {}),
      ...(windowMs === undefined ? {} : { windowMs }),
      bucketMs: windowMs === undefined ? 0 : Math.max(1, Math.floor(windowMs / 60)),
      ...(typeof r['soft'] === 'number' ? { soft: r['soft'] } : {}),
      ...(typeof r['hard'] === 'number' ? { hard: r['hard'] } : {}),
    };
  });
}

export function loadBudgetRules(file: string): BudgetRule[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`budget file ${file} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`budget file ${file} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseBudgetRules(json, file);
}
