import { COMMAND_OPTIONS } from './command-options.ts';
import { SETTINGS, type SettingName } from './settings.ts';

const describeSetting = (name: SettingName): string => {
  const s = SETTINGS[name];
  const flag = s.noFlag ? '(env/config only)' : `--${s.flag} <value>`;
  const def = s.default === undefined ? '' : ` [default: ${String(s.default)}]`;
  return `  ${flag.padEnd(30)} ${s.help}${def}\n  ${''.padEnd(30)} env ${s.env}, config "${s.key}"`;
};

const settingsBlock = (names: readonly SettingName[]): string => names.map(describeSetting).join('\n');
/** A command's settings, from the one table `main` checks flags against. */
const settingsOf = (command: string): string => settingsBlock(COMMAND_OPTIONS[command]?.settings ?? []);
const CONFIG_FLAG = '  --config <file>                JSON config file with the keys above';

const CONFIG_NOTE = `Settings come from flags, then environment variables, then a JSON config file
(--config FILE, TURNSTREAM_CONFIG, or ./turnstream.config.json if present), then defaults.
Durations accept 500ms / 30s / 10m / 1h / 1d (decimals too, e.g. 1.5h; a bare number is ms);
sizes accept 64KiB / 8MiB.`;

export const HELP: Record<string, string> = {
  main: `turnstream — event-sourced observability for AI agents

Agents emit step events (turns, LLM calls, tool calls, state writes); turnstream logs them
durably and turns them into per-turn aggregates, OpenTelemetry spans and Prometheus metrics.

Usage: turnstream <command> [options]

Commands:
  start                  run the pipeline: HTTP ingest, /metrics, /healthz on one port
  send <file|->          send NDJSON events to a running turnstream, or into a data dir
  sessions list          sessions with their totals (tokens, cost, turns)
  sessions show <id>     one session: totals, each turn, and its state
  replay <id>            rebuild a session from the log: timeline, --at, --export, re-pricing
  dead-letters           rejected inputs, with reason and raw text
  import claude [DIR]    import (or --watch) Claude Code transcripts: turns, calls, tools, cost

Options: --help (any command), --version

Quick start:
  turnstream start                                   # listens on http://127.0.0.1:8787
  turnstream send examples/coding-session.ndjson     # in another terminal
  curl -s http://127.0.0.1:8787/metrics | grep turnstream_llm_cost
  turnstream sessions show demo-1
  turnstream start --port 9000                       # another port: send, import find it with
                                                     # the same --port or TURNSTREAM_PORT=9000

Run 'turnstream <command> --help' for a command's options.`,

  start: `turnstream start — run the pipeline on the embedded store

Serves POST /v1/events (NDJSON or a JSON array), GET /metrics (Prometheus) and GET /healthz on one
port. Events are appended to the log in <data-dir> before they are acknowledged; turn aggregates
are exported as OpenTelemetry spans when OTEL_EXPORTER_OTLP_ENDPOINT (or the _TRACES_ variant) is
set, and as metrics on /metrics (and OTLP when an endpoint is set). Ctrl-C shuts down gracefully:
queued events are processed and telemetry is flushed.

Usage: turnstream start [options]

Options:
${settingsOf('start')}
${CONFIG_FLAG}

${CONFIG_NOTE}

Examples:
  turnstream start
  turnstream start --port 9000 --data-dir /var/lib/turnstream
  turnstream start --kafka 127.0.0.1:19092            # scale out: several processes, one group
  turnstream start --budgets budgets.json --alert-webhook http://127.0.0.1:9000/hook
  TURNSTREAM_TOKEN=s3cret turnstream start --host 0.0.0.0
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 turnstream start`,

  send: `turnstream send — send NDJSON events

Reads events (one JSON object per line) from a file, or from stdin with '-', and sends them to a
running turnstream (--url; without it http://HOST:PORT from --host/--port, TURNSTREAM_HOST/
TURNSTREAM_PORT or the config, i.e. http://127.0.0.1:8787 by default) — or, with --data-dir, appends them
straight into that embedded store (no server may be running on it). Prints what was accepted,
what was a duplicate, and each rejected line with its reason. Exit code 1 if any line was rejected
(rejected lines are kept as dead letters either way).

Usage: turnstream send <file|-> [options]

Options:
${settingsOf('send')}
  --batch <n>                    events per request [default: 2000]
  --json                         print the summary as JSON
${CONFIG_FLAG}

Examples:
  turnstream send examples/coding-session.ndjson
  cat events.ndjson | turnstream send - --url http://10.0.0.5:8787
  turnstream send examples/coding-session.ndjson --data-dir ./.turnstream`,

  sessions: `turnstream sessions — what the log says about sessions

Usage:
  turnstream sessions list [--json] [--limit N]
  turnstream sessions show <session-id> [--json]

'list' prints each session's totals; 'show' prints one session's totals, every closed turn
(status, tool calls in order, LLM calls, tokens, cost, duration) and its current state.
Token names follow the event schema: inputTokens EXCLUDES cache tokens.
Reads the embedded store (works while 'turnstream start' runs on it), or with --kafka the
state and turns topics.

Options:
${settingsOf('sessions')}
  --json                         machine-readable output
  --limit <n>                    most sessions to list [default: 100]
${CONFIG_FLAG}

Examples:
  turnstream sessions list
  turnstream sessions show demo-1 --json`,

  replay: `turnstream replay — rebuild sessions from the event log

Feeds the event log through the live pipeline's own stream operators, into a store of its own
(the live store is never written, and a running 'turnstream start' may keep running). The same
log and settings give the same turns, totals, state, and trace and span ids as the live run.

Usage:
  turnstream replay <session-id> [--at TIME|EVENT-ID] [--json | --ndjson] [--export] [--prices FILE] [--speed N]
  turnstream replay --all [--from TIME] [--to TIME] [--prices FILE] [--out FILE] [--json]

One session prints a timeline: each turn with its start, duration and status, its LLM calls
(model, tokens by type, cost) and tool calls (name, duration, error) in order, then totals and
state. Token names follow the event schema: input EXCLUDES cache tokens.

  --session <id>                 the session (or give it as the argument)
  --json                         the shape of 'sessions show --json', each turn with its calls
                                 (llm, tools), plus what the replay saw under "replay"
  --ndjson                       the session's raw events, in log order
  --at <time|event-id>           state and totals as they were at that point: a time stops
                                 where the pipeline's event-time clock passed it (before the first
                                 event later than it); an event id stops right after that event.
                                 Turns still open there are listed; deleted keys show as deleted
  --export                       re-export the session's spans over OTLP (OTEL_EXPORTER_OTLP_*
                                 as for 'start') with the live run's trace and span ids, so a
                                 tracing backend deduplicates; metrics are not re-exported
  --prices <file>                re-price with this price file: each turn's recorded cost (what
                                 the live pipeline stored) next to the re-priced one. (A price
                                 file from TURNSTREAM_PRICES or the config prices the replay too,
                                 as it does 'start', without the comparison.)
  --speed <n>                    replay n times faster than real time, printing events and
                                 turns as they happen (a demo); default: as fast as possible

--all re-derives every session (a backfill), re-priced with --prices, and keeps the latest
revision of each turn that started in [--from, --to): a progress bar (on a terminal), then a
summary of recorded vs re-priced cost by model and session.
  --from <time>, --to <time>     RFC 3339 with a zone (2026-03-01T00:00:00Z) or a date (2026-03-01)
  --out <file>                   write the re-priced turns there as NDJSON (one turn record per
                                 line, the shape the store keeps); without it, a dry run

Where from: the embedded log (--data-dir), or with --kafka the events topic (one session: its
partition). A session's turns close on the log's event-time clock, so the whole log up to the
session's last event is read (other sessions only for their event times).
${settingsOf('replay')}
${CONFIG_FLAG}
Use the --turn-idle-timeout, --grace and price file the pipeline ran with: they decide when turns
close and what they cost (replay warns when the log was written with a price table other than
the one it uses).

Examples:
  turnstream replay demo-1
  turnstream replay demo-1 --at 2026-03-02T10:00:05Z --json
  turnstream replay demo-1 --ndjson > demo-1.ndjson
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 turnstream replay demo-1 --export
  turnstream replay demo-1 --prices new-prices.json
  turnstream replay demo-1 --speed 20
  turnstream replay --all --from 2026-03-01 --to 2026-04-01 --prices new-prices.json --out march.ndjson`,

  'dead-letters': `turnstream dead-letters — rejected inputs

Every input turnstream could not use is kept with its reason and raw text: invalid_json, schema,
unknown_version, too_large, time_skew, duplicate, late.

Usage: turnstream dead-letters [--reason R] [--limit N] [--json]

Reads the embedded store, or with --kafka the dead-letters topic.

Options:
${settingsOf('dead-letters')}
  --reason <reason>              only this reason
  --limit <n>                    most rows [default: 50]
  --json                         machine-readable output
${CONFIG_FLAG}`,

  import: `turnstream import claude — Claude Code transcripts as turnstream events

Reads the session transcripts Claude Code keeps (one JSONL file per session, subagents in
<session>/subagents/) and turns them into events: a session per transcript, a turn per prompt
you typed, one llm.usage per API call (model, tokens, cache reads and 5-minute / 1-hour cache
writes; cost from the price table), tool.start/tool.end per tool call (a failed tool is an
error). Subagent work counts in its parent session, in turns of its own marked
claude.sidechain. Only ids, names, counts, tokens, stop reasons and times are imported: no
prompt, reply, tool input or tool output leaves the transcript.

Importing again adds nothing: event ids come from Claude Code's own message, request and tool
ids, so repeats are dropped as duplicates, and a transcript that grew adds only what is new.
Token totals per session match 'ccusage session' (each API call once, with its final usage).

Usage: turnstream import claude [DIR|FILE ...] [options]

  DIR defaults to $CLAUDE_CONFIG_DIR/projects (a comma-separated list is allowed), else
  ~/.claude/projects. Every *.jsonl below it is read.

Options:
  --watch                        keep following: new files and appended lines are sent as
                                 Claude Code writes them (a line still being written waits
                                 for its newline; an answer's last API call is sent once
                                 its stop reason is written, or the transcript has been
                                 quiet for 30 s); Ctrl-C stops
${settingsOf('import')}
  --batch <n>                    events per send [default: 2000]
  --json                         print the summary as JSON (with --watch: one JSON line per send)
${CONFIG_FLAG}

Where events go: like 'send', to a running turnstream (--url, else http://HOST:PORT; by default
http://127.0.0.1:8787),
or with --data-dir straight into that embedded store (no server may be running on it; events
it holds already are not sent again). For live dashboards and budget alerts, run
'turnstream start' and --watch to it.

A call whose stop reason is written (Claude Code 2.1) is final at once, so an import right after
'claude -p' includes its last prompt. In a transcript written to within --turn-idle-timeout, a
last call without one waits for a later import or --watch; one quiet for longer ends its session.
Lines that cannot be used (malformed JSON, unknown line types, assistant lines without usage,
a truncated last line, unreadable files) are skipped and counted in the summary; the import
goes on. Exit code 1 if the pipeline rejected an event.

Examples:
  turnstream import claude --data-dir ./.turnstream      # your history, no server needed
  turnstream sessions list --data-dir ./.turnstream
  turnstream start &                                     # live: dashboards, budget alerts
  turnstream import claude --watch                       # sends to http://127.0.0.1:8787
  turnstream import claude ~/backup/claude/projects --data-dir /tmp/ts --json`,
};
