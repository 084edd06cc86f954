import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { TurnstreamError } from '../errors.ts';
import { HELP } from './help.ts';
import { out } from './output.ts';
import { SETTINGS } from './settings.ts';

type Flags = Record<string, string | boolean | undefined>;

const EXTRA_FLAGS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  json: { type: 'boolean' },
  config: { type: 'string' },
  batch: { type: 'string' },
  limit: { type: 'string' },
  reason: { type: 'string' },
  watch: { type: 'boolean' },
  session: { type: 'string' },
  at: { type: 'string' },
  export: { type: 'boolean' },
  all: { type: 'boolean' },
  from: { type: 'string' },
  to: { type: 'string' },
  speed: { type: 'string' },
  ndjson: { type: 'boolean' },
  out: { type: 'string' },
} as const;

function parse(argv: string[]): { positionals: string[]; flags: Flags } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { ...EXTRA_FLAGS };
  for (const s of Object.values(SETTINGS)) if (!s.noFlag) options[s.flag] = { type: 'string' };
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { positionals, flags: values as Flags };
  } catch (error) {
    throw new TurnstreamError(`${(error as Error).message.replace(/\. To specify.*$/s, '')}\nRun 'turnstream --help' for usage.`);
  }
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs one CLI invocation; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { positionals, flags } = parse(argv);
  const [command, ...rest] = positionals;
  if (flags['version']) {
    out.line(version());
    return 0;
  }
  if (command === undefined || command === 'help') {
    out.line(HELP[rest[0] ?? 'main'] ?? HELP['main']);
    return command === undefined && !flags['help'] ? 2 : 0;
  }
  if (flags['help']) {
    const text = HELP[command];
    if (text === undefined) throw new TurnstreamError(`unknown command "${command}"\n\n${HELP['main']}`);
    out.line(text);
    return 0;
  }
  switch (command) {
    case 'start':
      return (await import('./start.ts')).start(flags);
    case 'send':
      return (await import('./send.ts')).send(rest, flags);
    case 'sessions':
      return (await import('./sessions.ts')).sessions(rest, flags);
    case 'dead-letters':
      return (await import('./dead-letters.ts')).deadLetters(flags);
    case 'import':
      return (await import('./import.ts')).importCommand(rest, flags);
    case 'replay':
      return (await import('./replay.ts')).replay(rest, flags);
    default:
      throw new TurnstreamError(`unknown command "${command}"; commands: start, send, import, sessions, replay, dead-letters. Run 'turnstream --help'.`);
  }
}

export async function run(argv: string[]): Promise<void> {
  // `turnstream sessions list | head`: a closed pipe ends the output, not with a crash.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    if (error instanceof TurnstreamError) {
      out.note(`turnstream: ${error.message}`);
      process.exitCode = 2;
    } else {
      out.note(`turnstream: unexpected error: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    }
  }
}
