/**
 * A small structured logger: one JSON object per line on stderr (stdout belongs to CLI output).
 * Namespaced (`logger.child('http')`); level from TURNSTREAM_LOG_LEVEL (debug|info|warn|error).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const RESERVED = new Set(['time', 'level', 'ns', 'msg']);

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

export function createLogger({
  namespace = 'turnstream',
  level,
  write,
}: {
  namespace?: string;
  level?: LogLevel;
  write?: (line: string) => void;
} = {}): Logger {
  const min = ORDER[level ?? (process.env['TURNSTREAM_LOG_LEVEL'] as LogLevel | undefined) ?? 'info'] ?? ORDER.info;
  const out = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const log = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < min) return;
    const line: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, ns: namespace, msg };
    // A field named like the line's own keys (an alert's `level`) must not overwrite them: it is kept as `field.<name>`.
    for (const [k, v] of Object.entries(fields ?? {})) line[RESERVED.has(k) ? `field.${k}` : k] = v instanceof Error ? v.message : v;
    out(JSON.stringify(line));
  };
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (ns) => createLogger({ namespace: `${namespace}.${ns}`, level: level ?? 'info', write: out }),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
