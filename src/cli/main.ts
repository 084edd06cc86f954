import { parseArgs } from 'node:util';
import { TurnstreamError } from '../errors.ts';
import { COMMAND_OPTIONS, COMMON_FLAGS, commandFlags } from './command-options.ts';
import { HELP } from './help.ts';
import { out } from './output.ts';
import { SETTINGS } from './settings.ts';
import { version } from './version.ts';

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

/** A flag the command does not read is an error, not silently ignored (`sessions list --url …`). */
function checkCommandFlags(command: string, flags: Flags): void {
  const o = COMMAND_OPTIONS[command];
  if (o === undefined) return;
  const allowed = new Set(commandFlags(command).concat(COMMON_FLAGS.map((f) => `--${f}`)));
  const stray = Object.keys(flags).filter((f) => flags[f] !== undefined && !allowed.has(`--${f}`));
  if (stray.length === 0) return;
  const list = stray.map((f) => `--${f}`).join(', ');
  throw new TurnstreamError(
    `'${command}' does not take ${list}; its options: ${commandFlags(command).join(', ')}\nRun 'turnstream ${command} --help' for usage.`,
  );
}

/** `turnstream start 9000` would otherwise start on the default port without a word. */
function noArguments(command: string, rest: readonly string[]): void {
  if (rest.length > 0)
    throw new TurnstreamError(
      `'${command}' takes no arguments (got "${rest.join(' ')}"); options are flags, e.g. --port 9000. Run 'turnstream ${command} --help'.`,
    );
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
  checkCommandFlags(command, flags);
  switch (command) {
    case 'start':
      noArguments(command, rest);
      return (await import('./start.ts')).start(flags);
    case 'send':
      return (await import('./send.ts')).send(rest, flags);
    case 'sessions':
      return (await import('./sessions.ts')).sessions(rest, flags);
    case 'dead-letters':
      noArguments(command, rest);
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
