import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { SETTINGS, type Config, type SettingName } from './settings.ts';

export const DEFAULT_CONFIG_FILE = 'turnstream.config.json';

function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`config file ${path} does not exist; check --config / TURNSTREAM_CONFIG`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(`config file ${path} must hold a JSON object`);
  const known = new Set(Object.values(SETTINGS).map((s) => s.key));
  for (const key of Object.keys(parsed)) {
    if (!known.has(key) && !key.startsWith('$')) throw new ConfigError(`config file ${path}: unknown setting "${key}"; known: ${[...known].join(', ')}`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Resolves every setting: command-line flag, then environment variable, then config file
 * (`--config`, TURNSTREAM_CONFIG, or ./turnstream.config.json when present), then default.
 * A bad value fails here, at start-up, with a message naming where it came from.
 */
export function resolveConfig(flags: Readonly<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv = process.env): Config {
  const fileFlag = typeof flags['config'] === 'string' ? flags['config'] : env['TURNSTREAM_CONFIG'] || undefined;
  const file = readConfigFile(fileFlag ?? DEFAULT_CONFIG_FILE, fileFlag !== undefined);
  const config: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const flag = s.noFlag ? undefined : flags[s.flag];
    const [raw, where] =
      typeof flag === 'string'
        ? [flag, `--${s.flag}`]
        : env[s.env] !== undefined && env[s.env] !== ''
          ? [env[s.env]!, s.env]
          : file[s.key] !== undefined
            ? [file[s.key], `${fileFlag ?? DEFAULT_CONFIG_FILE}: ${s.key}`]
            : [undefined, 'default'];
    if (raw === undefined) {
      config[name] = s.default;
      continue;
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(`${where}: must be a string or number`);
    try {
      config[name] = s.parse(raw);
    } catch (error) {
      throw new ConfigError(`${where}: ${(error as Error).message}`, { cause: error });
    }
  }
  const resolved = config as Config;
  if (resolved.token === undefined && resolved.tokenFile !== undefined) {
    try {
      resolved.token = readFileSync(resolved.tokenFile, 'utf8').trim();
    } catch (error) {
      throw new ConfigError(`token file ${resolved.tokenFile} cannot be read: ${(error as Error).message}`, { cause: error });
    }
    if (resolved.token === '') throw new ConfigError(`token file ${resolved.tokenFile} is empty`);
  }
  return resolved;
}
