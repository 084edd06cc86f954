import { SETTINGS, type SettingName } from './settings.ts';

const describeSetting = (name: SettingName): string => {
  const s = SETTINGS[name];
  const flag = s.noFlag ? '(env/config only)' : `--${s.flag} <value>`;
  const def = s.default === undefined ? '' : ` [default: ${String(s.default)}]`;
  return `  ${flag.padEnd(30)} ${s.help}${def}\n  ${''.padEnd(30)} env ${s.env}, config "${s.key}"`;
};

const settingsBlock = (names: readonly SettingName[]): string => names.map(describeSetting).join('\n');

const CONFIG_NOTE = `Settings come from flags, then environment variables, then a JSON config file
(--config FILE, TURNSTREAM_CONFIG, or ./turnstream.config.json if present), then defaults.
Durations accept 500ms / 30s / 10m / 1h; sizes accept 64KiB / 8MiB.`;

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
  dead-letters           rejected inputs, with reason and raw text
  import claude [DIR]    import (or --watch) Claude Code transcripts: turns, calls, tools, cost

Options: --help (any command), --version

Quick start:
  turnstream start                                   # listens on http://127.0.0.1:8787
  turnstream send examples/coding-session.ndjson     # in another terminal
  curl -s http://127.0.0.1:8787/metrics | grep turnstream_llm_cost
  turnstream sessions show demo-1

Run 'turnstream <command> --help' for a command's options.`,

  start: `turnstream start — run the pipeline on the embedded store

Serves POST /v1/events (NDJSON or a JSON array), GET /metrics (Prometheus) and GET /healthz on one
port. Events are appended to the log in <data-dir> before they are acknowledged; turn aggregates
are exported as OpenTelemetry spans when OTEL_EXPORTER_OTLP_ENDPOINT (or the _TRACES_ variant) is
set, and as metrics on /metrics (and OTLP when an endpoint is set). Ctrl-C shuts down gracefully:
queued events are processed and telemetry is flushed.

Usage: turnstream start [options]

Options:
${settingsBlock(['dataDir', 'host', 'port', 'token', 'tokenFile', 'prices', 'turnIdleTimeoutMs', 'graceMs', 'maxBodyBytes', 'maxEventBytes', 'maxAttributes', 'maxFutureSkewMs', 'sync'])}
  --config <file>                JSON config file with the keys above

${CONFIG_NOTE}

Examples:
  turnstream start
  turnstream start --port 9000 --data-dir /var/lib/turnstream
  TURNSTREAM_TOKEN=s3cret turnstream start --host 0.0.0.0
  OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 turnstream start`,

  send: `turnstream send — send NDJSON events

Reads events (one JSON object per line) from a file, or from stdin with '-', and sends them to a
running turnstream (--url, default http://127.0.0.1:8787) — or, with --data-dir, appends them
straight into that embedded store (no server may be running on it). Prints what was accepted,
what was a duplicate, and each rejected line with its reason. Exit code 1 if any line was rejected
(rejected lines are kept as dead letters either way).

Usage: turnstream send <file|-> [options]

Options:
${settingsBlock(['url', 'token', 'dataDir', 'prices', 'maxEventBytes', 'maxAttributes', 'maxFutureSkewMs'])}
  --batch <n>                    events per request [default: 2000]
  --json                         print the summary as JSON

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
Reads the embedded store; works while 'turnstream start' runs on it.

Options:
${settingsBlock(['dataDir'])}
  --json                         machine-readable output
  --limit <n>                    most sessions to list [default: 100]

Examples:
  turnstream sessions list
  turnstream sessions show demo-1 --json`,

  'dead-letters': `turnstream dead-letters — rejected inputs

Every input turnstream could not use is kept with its reason and raw text: invalid_json, schema,
unknown_version, too_large, time_skew, duplicate, late.

Usage: turnstream dead-letters [--reason R] [--limit N] [--json]

Options:
${settingsBlock(['dataDir'])}
  --reason <reason>              only this reason
  --limit <n>                    most rows [default: 50]
  --json                         machine-readable output`,

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
                                 the transcript has been quiet for 30 s); Ctrl-C stops
${settingsBlock(['url', 'token', 'dataDir', 'prices', 'turnIdleTimeoutMs', 'graceMs', 'sync'])}
  --batch <n>                    events per send [default: 2000]
  --json                         print the summary as JSON (with --watch: one JSON line per send)

Where events go: like 'send', to a running turnstream (--url, default http://127.0.0.1:8787),
or with --data-dir straight into that embedded store (no server may be running on it; events
it holds already are not sent again). For live dashboards and budget alerts, run
'turnstream start' and --watch to it.

A transcript written to within --turn-idle-timeout counts as live: its last API call and turn
are sent by a later import or by --watch, once complete; one quiet for longer ends its session.
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
