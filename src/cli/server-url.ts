import { ConfigError } from '../errors.ts';
import type { Config } from './settings.ts';

/**
 * Where a client command (`send`, `import`) finds the server: `--url` / TURNSTREAM_URL / `url`
 * when set, else the address `start` listens on with the same settings (--host / TURNSTREAM_HOST,
 * --port / TURNSTREAM_PORT, config), so one environment configures both sides. A wildcard listen
 * address is reached on loopback.
 */
export function serverUrl(config: Pick<Config, 'url' | 'host' | 'port'>): string {
  if (config.url !== undefined) return config.url;
  if (config.port === 0)
    throw new ConfigError("port 0 lets 'start' pick any free port, so it cannot say where to send: give the server's address with --url (or TURNSTREAM_URL)");
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}
