import { SETTINGS, type SettingName } from './settings.ts';

/** What one command reads: settings (flag, env, config key) and flags of its own. */
export interface CommandOptions {
  readonly settings: readonly SettingName[];
  /** Flags that are not settings (`--json`, `--limit`, …), without the dashes. */
  readonly flags: readonly string[];
}

/** Settings of the decoder's limits: every command that ingests events reads them. */
const DECODE: readonly SettingName[] = ['maxEventBytes', 'maxAttributes', 'maxDepth', 'maxTokensPerCall', 'maxCostPerCallUsd', 'maxFutureSkewMs'];
/** Where a client sends: --url, else the server's --host/--port (env and config included). */
const CLIENT: readonly SettingName[] = ['url', 'host', 'port', 'token', 'tokenFile'];
/** An embedded store written in-process (send/import --data-dir). */
const DIRECT: readonly SettingName[] = ['dataDir', 'prices', 'turnIdleTimeoutMs', 'graceMs', 'sync'];
const READ_STORE: readonly SettingName[] = ['dataDir', 'kafka', 'kafkaTopicPrefix'];

/**
 * Each command's options, once: `main` rejects a flag the command does not read (naming the ones
 * it does), and `--help` lists exactly these, so a flag is never silently ignored.
 * `--config`, `--help` and `--version` apply to every command.
 */
export const COMMAND_OPTIONS: Readonly<Record<string, CommandOptions>> = {
  start: {
    settings: [
      'dataDir',
      'host',
      'port',
      'token',
      'tokenFile',
      'prices',
      'turnIdleTimeoutMs',
      'graceMs',
      'checkpointEvery',
      'checkpointIntervalMs',
      'retainMs',
      'rebuildThreads',
      'maxBodyBytes',
      'maxInflightBodyBytes',
      'bodyIdleTimeoutMs',
      'bodyTimeoutMs',
      'maxRequestDeadLetters',
      'deadLetterMaxRows',
      'deadLetterMaxBytes',
      'deadLetterMaxAgeMs',
      'metricLabelValues',
      'metricLabelSets',
      'metricHistogramLabelSets',
      ...DECODE,
      'sync',
      'budgets',
      'alertWebhook',
      'kafka',
      'kafkaGroup',
      'kafkaTopicPrefix',
      'kafkaPartitions',
      'kafkaSessionTimeoutMs',
    ],
    flags: [],
  },
  send: { settings: [...CLIENT, ...DIRECT, ...DECODE], flags: ['batch', 'json'] },
  import: { settings: [...CLIENT, ...DIRECT, ...DECODE], flags: ['watch', 'batch', 'json'] },
  sessions: { settings: READ_STORE, flags: ['json', 'limit'] },
  'dead-letters': { settings: READ_STORE, flags: ['reason', 'limit', 'json'] },
  replay: {
    settings: [...READ_STORE, 'prices', 'turnIdleTimeoutMs', 'graceMs'],
    flags: ['session', 'json', 'ndjson', 'at', 'export', 'speed', 'all', 'from', 'to', 'out'],
  },
};

/** Flags every command takes. */
export const COMMON_FLAGS: readonly string[] = ['config', 'help', 'version'];

/** The flags `command` reads, with dashes, in help order (`--config` last). */
export function commandFlags(command: string): string[] {
  const o = COMMAND_OPTIONS[command];
  if (o === undefined) return [];
  return [...o.settings.filter((n) => !SETTINGS[n].noFlag).map((n) => SETTINGS[n].flag), ...o.flags, 'config'].map((f) => `--${f}`);
}
