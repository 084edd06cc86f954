#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller in one JVM) for developers, tests and CI.
# No Docker: the jars come from Maven Central (deploy/kafka/pom.xml), the broker runs on 127.0.0.1.
# Run `deploy/kafka/kafka.sh --help` for usage.
set -euo pipefail

SELF="$(readlink -f -- "${BASH_SOURCE[0]}" 2>/dev/null || echo "${BASH_SOURCE[0]}")" # works via symlinks
SCRIPT_DIR="$(cd "$(dirname "$SELF")" && pwd)"
POM="$SCRIPT_DIR/pom.xml"
PROG="${0##*/}"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
[[ -n "$KAFKA_VERSION" ]] || { echo "$PROG: cannot read <kafka.version> from $POM" >&2; exit 1; }

KAFKA_HOME_DIR="${TURNSTREAM_KAFKA_HOME:-$HOME/.cache/turnstream/kafka-$KAFKA_VERSION}"
LIBS="$KAFKA_HOME_DIR/libs"
TMP_BASE="${TMPDIR:-/tmp}"
TMP_BASE="${TMP_BASE%/}"
DEFAULT_PORT=19092
DEFAULT_CONTROLLER_PORT=19093
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
MARKER=".turnstream-kafka" # marks a data dir as ours (reset only deletes dirs that carry it)
REGISTRY="$TMP_BASE/turnstream-kafka.ports" # <port> -> data dir symlinks of running brokers

say() { echo "kafka.sh: $*" >&2; }
die() {
  echo "kafka.sh: error: $*" >&2
  exit 1
}

usage() {
  cat <<EOF
$PROG — local Apache Kafka $KAFKA_VERSION (single-node KRaft, no Docker) for turnstream

Usage:
  $PROG fetch                     download the jars once (Maven Central, via mvn) into the cache
  $PROG start  [options]          start a broker in the background, wait until it serves clients
  $PROG stop   [--port P | --data DIR]
  $PROG status [--port P | --data DIR | --all]
  $PROG reset  [--port P | --data DIR]   stop it and delete its data dir (topics, offsets, logs)
  $PROG tool NAME [ARGS...]        run a Kafka CLI tool with the cached jars (see below)
  $PROG classpath                  print the Java classpath of the cached jars

start options:
  --port P              client port (default $DEFAULT_PORT); "auto" picks free ports and prints them
  --controller-port C   KRaft controller port (default $DEFAULT_CONTROLLER_PORT; with --port auto: free one)
  --data DIR            data dir (default \${TMPDIR:-/tmp}/turnstream-kafka-<port>); it holds the
                        topic data (logs/), server.properties, server.log, kafka.pid and kafka.env
  --fresh               delete the data dir first (as 'reset' does), start from empty

Output: human messages go to stderr; 'start' prints exactly one line on stdout on success,
  KAFKA_BROKERS=127.0.0.1:<port>
so a script can do:  eval "\$($PROG start --port auto)"; export KAFKA_BROKERS
'start' on a broker that already runs on that data dir just prints that line again.

tool NAMEs (or give a fully qualified main class):
  topics            org.apache.kafka.tools.TopicCommand
  console-producer  org.apache.kafka.tools.ConsoleProducer
  console-consumer  org.apache.kafka.tools.consumer.ConsoleConsumer
  consumer-groups   org.apache.kafka.tools.consumer.group.ConsumerGroupCommand
  configs           org.apache.kafka.tools.ConfigCommand
  get-offsets       org.apache.kafka.tools.GetOffsetShell
  dump-log          org.apache.kafka.tools.DumpLogSegments
  metadata-quorum   org.apache.kafka.tools.MetadataQuorumCommand
  api-versions      org.apache.kafka.tools.BrokerApiVersionsCommand

Examples:
  $PROG start                                     # 127.0.0.1:$DEFAULT_PORT, data in \${TMPDIR:-/tmp}/turnstream-kafka-$DEFAULT_PORT
  export TURNSTREAM_KAFKA_BROKERS=127.0.0.1:$DEFAULT_PORT
  $PROG tool topics --bootstrap-server 127.0.0.1:$DEFAULT_PORT --list
  $PROG tool topics --bootstrap-server 127.0.0.1:$DEFAULT_PORT --create --topic demo \\
      --partitions 1 --config cleanup.policy=compact
  printf 'k1:v1\\nk2:v2\\n' | $PROG tool console-producer --bootstrap-server 127.0.0.1:$DEFAULT_PORT \\
      --topic demo --reader-property parse.key=true --reader-property key.separator=:
  $PROG tool console-consumer --bootstrap-server 127.0.0.1:$DEFAULT_PORT --topic demo \\
      --from-beginning --max-messages 2 --formatter-property print.key=true
  $PROG stop
  $PROG reset                                     # wipe the default broker's data

  # a throw-away broker on free ports (tests, CI):
  out=\$($PROG start --port auto --fresh) && eval "\$out"    # sets KAFKA_BROKERS=127.0.0.1:<port>
  $PROG reset --port "\${KAFKA_BROKERS##*:}"          # stop it and delete its data

Environment:
  TURNSTREAM_KAFKA_HOME  jar cache (now: $KAFKA_HOME_DIR)
  KAFKA_HEAP_OPTS        broker heap (default: -Xms256m -Xmx512m)
  KAFKA_JVM_OPTS         extra JVM options for the broker
  KAFKA_START_TIMEOUT    seconds to wait for the broker (default 60)
  KAFKA_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 30)
Needs: java 17+ (always), mvn (only for the first 'fetch'; 'start' fetches when the cache is empty).
EOF
}

# ---------------------------------------------------------------- helpers

need_java() {
  command -v java >/dev/null 2>&1 ||
    die "java not found on PATH. Kafka $KAFKA_VERSION needs Java 17 or newer (Debian: apt-get install openjdk-17-jre-headless)."
  local v
  v="$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -n1)"
  if [[ -n "$v" && "$v" -lt 17 ]]; then
    die "java $v found, Kafka $KAFKA_VERSION needs Java 17 or newer."
  fi
}

pom_hash() { sha256sum "$POM" | cut -c1-16; }

cache_ok() { [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_hash)" ]]; }

cmd_fetch() {
  if cache_ok; then
    say "jars already cached: $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars), nothing to do"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found on PATH; it is needed once to download Kafka's jars from Maven Central (Debian: apt-get install maven). Or point TURNSTREAM_KAFKA_HOME at a cache that has libs/."
  mkdir -p "$KAFKA_HOME_DIR"
  # One fetch at a time (parallel test runners may all call 'start' on a cold cache).
  exec 8>"$KAFKA_HOME_DIR/.fetch.lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  if cache_ok; then
    say "jars already cached: $LIBS"
    return 0
  fi
  local tmp="$KAFKA_HOME_DIR/libs.tmp.$$"
  rm -rf "$tmp"
  say "fetching Kafka $KAFKA_VERSION jars with Maven (pom: $POM) into $LIBS ..."
  say "  mvn -q -B -f $POM dependency:copy-dependencies -DoutputDirectory=$tmp -DincludeScope=runtime"
  local mvnlog="$KAFKA_HOME_DIR/fetch.log" rc=0
  mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$mvnlog" 2>&1 || rc=$?
  # (Debian's Maven 3.8 prints bare ANSI resets even with -B: strip them.)
  sed 's/\x1b\[[0-9;]*m//g' "$mvnlog" | grep -v '^[[:space:]]*$' >&2 || true
  if [[ "$rc" != 0 ]]; then
    rm -rf "$tmp"
    die "mvn failed (exit $rc) to fetch the Kafka jars: see its output above (also in $mvnlog); is Maven Central reachable?"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || {
    rm -rf "$tmp"
    die "mvn ran but kafka_2.13-$KAFKA_VERSION.jar is missing from the result"
  }
  pom_hash >"$tmp/.complete"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  say "cached $(find "$LIBS" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $LIBS"
}

ensure_fetched() { cache_ok || cmd_fetch; }

classpath() { printf '%s/*' "$LIBS"; }

# Quiet log4j2 config for the CLI tools: WARN and above to stderr.
tools_log4j() {
  local f="$KAFKA_HOME_DIR/tools-log4j2.properties"
  if [[ ! -f "$f" ]]; then
    cat >"$f.$$" <<'EOF'
status = error
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
    mv "$f.$$" "$f"
  fi
  printf '%s' "$f"
}

# Same shape as `kafka-storage random-uuid` (16 random bytes, base64url, no padding), without
# starting a JVM; like Kafka's Uuid.randomUuid() it avoids ids that begin with '-'.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" == -* || ${#id} -ne 22 ]] || break
  done
  printf '%s' "$id"
}

abspath() { # absolute, symlinks resolved, need not exist
  realpath -m -- "$1" 2>/dev/null || { [[ "$1" == /* ]] && printf '%s' "$1" || printf '%s/%s' "$PWD" "$1"; }
}

default_data_dir() { abspath "$TMP_BASE/turnstream-kafka-$1"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Send a Kafka ApiVersions v0 request over plain TCP; succeed when the broker answers it
# (correlation id echoed, error_code 0). Proves the port speaks Kafka, without a JVM.
kafka_ping() {
  local port="$1" hex
  # shellcheck disable=SC2016 # the script runs in a child bash, $0 is its argument
  hex="$(timeout 3 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    # size=18 | api_key=18 (ApiVersions) | api_version=0 | correlation_id=0x7e57 | client_id="kafka.sh"
    printf "\x00\x00\x00\x12\x00\x12\x00\x00\x00\x00\x7e\x57\x00\x08kafka.sh" >&3
    head -c 10 <&3 | od -An -tx1 | tr -d " \n"
  ' "$port" 2>/dev/null)" || return 1
  [[ "$hex" =~ ^[0-9a-f]{8}00007e570000$ ]]
}

# A free TCP port on 127.0.0.1 below the Linux ephemeral range (so clients don't grab it first).
free_port() {
  local avoid="${1:-}" p i
  for i in $(seq 1 200); do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ "$p" == "$avoid" ]] && continue
    if command -v ss >/dev/null 2>&1; then
      ss -Htln "sport = :$p" 2>/dev/null | grep -q . && continue
    fi
    port_open "$p" && continue
    echo "$p"
    return 0
  done
  die "could not find a free port"
}

# shellcheck disable=SC2015 # `|| true`: a missing file is not an error
read_pid() { [[ -f "$1/kafka.pid" ]] && cat "$1/kafka.pid" 2>/dev/null || true; }

# Is PID alive and really the Kafka broker started for data dir DIR?
is_our_broker() {
  local pid="$1" dir="$2" args
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    args="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
  else
    args="$(ps -ww -o args= -p "$pid" 2>/dev/null || true)"
  fi
  [[ "$args" == *kafka.Kafka* && "$args" == *"$dir/server.properties"* ]]
}

env_get() { # env_get DIR KEY
  # shellcheck disable=SC2015
  [[ -f "$1/kafka.env" ]] && sed -n "s/^$2=//p" "$1/kafka.env" | head -n1 || true
}

# Resolve --port/--data for stop/status/reset into DATA_DIR (absolute).
parse_target() {
  local port="" data=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --data) data="${2:?--data needs a value}"; shift 2 ;;
      --data=*) data="${1#*=}"; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option: $1 (see --help)" ;;
    esac
  done
  TARGET_PORT=""
  if [[ -n "$data" ]]; then
    DATA_DIR="$(abspath "$data")"
  else
    port="${port:-$DEFAULT_PORT}"
    [[ "$port" =~ ^[0-9]+$ ]] || die "--port must be a number here, got '$port'"
    TARGET_PORT="$port"
    DATA_DIR="$(default_data_dir "$port")"
    # Started with --port P --data elsewhere? The registry knows where.
    if [[ ! -f "$DATA_DIR/kafka.pid" && -L "$REGISTRY/$port" ]]; then
      DATA_DIR="$(readlink "$REGISTRY/$port")"
    fi
  fi
  return 0
}

register() { # PORT DIR
  if mkdir -p "$REGISTRY" 2>/dev/null; then ln -sfn "$2" "$REGISTRY/$1" 2>/dev/null || true; fi
}

unregister() { # DIR
  local port
  port="$(env_get "$1" PORT)"
  if [[ -n "$port" && -L "$REGISTRY/$port" && "$(readlink "$REGISTRY/$port")" == "$1" ]]; then
    rm -f "$REGISTRY/$port"
  fi
}

# ---------------------------------------------------------------- start

write_configs() { # DIR PORT CTRL_PORT
  local dir="$1" port="$2" ctrl="$3"
  mkdir -p "$dir/logs"
  touch "$dir/$MARKER"
  cat >"$dir/server.properties" <<EOF
# Written by deploy/kafka/kafka.sh — single-node KRaft (combined broker + controller) on 127.0.0.1.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/logs
num.partitions=6
default.replication.factor=1
min.insync.replicas=1
# One node: internal topics must have replication factor 1 or the coordinators never come up.
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Tests: no 3 s wait before the first consumer-group rebalance.
group.initial.rebalance.delay.ms=0
# Tests: the cleaner re-checks every second, so compaction on a topic with small
# segment.ms and min.cleanable.dirty.ratio shows up quickly.
log.cleaner.backoff.ms=1000
log.retention.check.interval.ms=10000
# After a crash (SIGKILL) the restarted broker waits for its old registration to expire
# (default 9 s session timeout); a shorter one makes a crash-restart quicker.
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=5000
auto.create.topics.enable=true
EOF
  cat >"$dir/log4j2.properties" <<EOF
# Written by deploy/kafka/kafka.sh — WARN and above, plus INFO for startup/shutdown and the log cleaner.
status = warn
name = turnstream-kafka
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $dir/server.log
appender.file.append = true
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.file.ref = FILE
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
logger.broker.name = kafka.server.BrokerServer
logger.broker.level = INFO
logger.controller.name = kafka.server.ControllerServer
logger.controller.level = INFO
logger.cleaner.name = org.apache.kafka.storage.internals.log.LogCleaner
logger.cleaner.level = INFO
EOF
}

cmd_start() {
  local port="" ctrl="" data="" fresh=0 auto=0
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --port) port="${2:?--port needs a value}"; shift 2 ;;
      --port=*) port="${1#*=}"; shift ;;
      --controller-port) ctrl="${2:?--controller-port needs a value}"; shift 2 ;;
      --controller-port=*) ctrl="${1#*=}"; shift ;;
      --data) data="${2:?--data needs a value}"; shift 2 ;;
      --data=*) data="${1#*=}"; shift ;;
      --fresh) fresh=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown option for start: $1 (see --help)" ;;
    esac
  done
  # Restarting an existing data dir: keep its ports unless told otherwise, so clients find it
  # where they did before (a single-node quorum would also accept a new controller port).
  local prev_port="" prev_ctrl=""
  if [[ -n "$data" && -f "$data/kafka.env" ]]; then
    prev_port="$(env_get "$data" PORT)"
    prev_ctrl="$(env_get "$data" CONTROLLER_PORT)"
    [[ -n "$port" ]] || port="$prev_port"
  fi
  port="${port:-$DEFAULT_PORT}"
  if [[ -z "$data" && -f "$(default_data_dir "$port")/kafka.env" ]]; then
    prev_port="$(env_get "$(default_data_dir "$port")" PORT)"
    prev_ctrl="$(env_get "$(default_data_dir "$port")" CONTROLLER_PORT)"
  fi
  if [[ -z "$ctrl" && -n "$prev_ctrl" && "$prev_port" == "$port" && "$fresh" == 0 ]]; then
    ctrl="$prev_ctrl"
  fi
  if [[ "$port" == auto || "$port" == free || "$port" == 0 ]]; then
    auto=1
    port="$(free_port)"
    [[ -z "$ctrl" || "$ctrl" == auto || "$ctrl" == 0 ]] && ctrl="$(free_port "$port")"
    say "picked free ports: client $port, controller $ctrl"
  fi
  if [[ -z "$ctrl" ]]; then
    if [[ "$port" == "$DEFAULT_PORT" ]]; then ctrl="$DEFAULT_CONTROLLER_PORT"; else ctrl=$((port + 1)); fi
  fi
  [[ "$port" =~ ^[0-9]+$ && "$ctrl" =~ ^[0-9]+$ ]] || die "ports must be numbers (or --port auto)"
  [[ "$port" != "$ctrl" ]] || die "--port and --controller-port must differ"

  need_java
  ensure_fetched

  [[ -n "$data" ]] || data="$(default_data_dir "$port")"
  data="$(abspath "$data")"

  local pid
  pid="$(read_pid "$data")"
  if is_our_broker "$pid" "$data"; then
    if [[ "$fresh" == 1 ]]; then
      stop_dir "$data"
    else
      local running_port
      running_port="$(env_get "$data" PORT)"
      [[ "$running_port" == "$port" ]] ||
        die "a broker (pid $pid) already runs on $data with port $running_port; stop it first: $PROG stop --data $data"
      say "already running (pid $pid) on 127.0.0.1:$port, data $data"
      echo "KAFKA_BROKERS=127.0.0.1:$port"
      return 0
    fi
  fi
  [[ "$fresh" == 1 ]] && wipe_dir "$data"
  rm -f "$data/kafka.pid"

  local p
  for p in "$port" "$ctrl"; do
    port_open "$p" && die "port $p on 127.0.0.1 is already in use (another broker? '$PROG status --all'); choose another with --port / --controller-port, or --port auto"
  done
  mkdir -p "$data"

  write_configs "$data" "$port" "$ctrl"
  local cp
  cp="$(classpath)"

  if [[ ! -f "$data/logs/meta.properties" ]]; then
    local cid
    cid="$(new_cluster_id)"
    say "formatting storage in $data/logs (cluster id $cid)"
    java -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$cp" kafka.tools.StorageTool format \
      --standalone -t "$cid" -c "$data/server.properties" >"$data/format.log" 2>&1 ||
      {
        cat "$data/format.log" >&2
        die "kafka-storage format failed (output above, also in $data/format.log)"
      }
  fi

  # Fresh log per start; the previous one is kept as server.log.1.
  [[ -f "$data/server.log" ]] && mv -f "$data/server.log" "$data/server.log.1"
  : >"$data/server.log"
  {
    echo "PORT=$port"
    echo "CONTROLLER_PORT=$ctrl"
    echo "KAFKA_BROKERS=127.0.0.1:$port"
    echo "KAFKA_VERSION=$KAFKA_VERSION"
  } >"$data/kafka.env"

  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (controller :$ctrl), data $data"
  # shellcheck disable=SC2086 # HEAP_OPTS / KAFKA_JVM_OPTS are option lists
  nohup java $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile="$data/log4j2.properties" \
    -Dkafka.logs.dir="$data" ${KAFKA_JVM_OPTS:-} \
    -cp "$cp" kafka.Kafka "$data/server.properties" \
    </dev/null >"$data/stdout.log" 2>&1 &
  pid=$!
  echo "$pid" >"$data/kafka.pid"
  register "$port" "$data"

  local t0 deadline=$((SECONDS + START_TIMEOUT))
  t0="$(date +%s%N)"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$data/kafka.pid"
      unregister "$data"
      echo "---- last lines of $data/server.log:" >&2
      tail -n 30 "$data/server.log" >&2 || true
      echo "---- last lines of $data/stdout.log:" >&2
      tail -n 15 "$data/stdout.log" >&2 || true
      die "the broker exited during startup; see $data/server.log and $data/stdout.log"
    fi
    if grep -q 'Kafka Server started' "$data/server.log" 2>/dev/null && kafka_ping "$port"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      echo "---- last lines of $data/server.log:" >&2
      tail -n 30 "$data/server.log" >&2 || true
      die "the broker (pid $pid) did not accept clients within ${START_TIMEOUT}s; it is still running — see $data/server.log, then '$PROG stop --data $data'"
    fi
    sleep 0.2
  done
  local ms=$((($(date +%s%N) - t0) / 1000000))
  say "ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000)))s: pid $pid, log $data/server.log"
  [[ "$auto" == 1 ]] && say "ports: KAFKA_PORT=$port KAFKA_CONTROLLER_PORT=$ctrl"
  echo "KAFKA_BROKERS=127.0.0.1:$port"
}

# ---------------------------------------------------------------- stop / status / reset

stop_dir() {
  local dir="$1" pid i
  pid="$(read_pid "$dir")"
  if [[ -z "$pid" ]]; then
    say "no broker running for $dir (no kafka.pid)"
    if [[ -n "${TARGET_PORT:-}" ]] && port_open "$TARGET_PORT"; then
      say "note: something does listen on 127.0.0.1:$TARGET_PORT; if it is a broker started with --data DIR, use '$PROG stop --data DIR'"
    fi
    unregister "$dir"
    return 0
  fi
  if ! is_our_broker "$pid" "$dir"; then
    say "stale pid file ($pid is not a running broker for $dir), removing it"
    rm -f "$dir/kafka.pid"
    unregister "$dir"
    return 0
  fi
  say "stopping broker pid $pid ($dir) ..."
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_TIMEOUT * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$dir/kafka.pid"
  unregister "$dir"
  say "stopped"
}

cmd_stop() {
  parse_target "$@"
  stop_dir "$DATA_DIR"
}

wipe_dir() {
  local dir="$1"
  [[ -d "$dir" ]] || return 0
  if [[ -f "$dir/$MARKER" ]]; then
    rm -rf "$dir"
    say "deleted $dir"
  elif [[ -z "$(ls -A "$dir" 2>/dev/null)" ]]; then
    rmdir "$dir"
  else
    die "refusing to delete $dir: it has no $MARKER file, so it was not made by $PROG"
  fi
}

cmd_reset() {
  parse_target "$@"
  stop_dir "$DATA_DIR"
  wipe_dir "$DATA_DIR"
}

status_dir() {
  local dir="$1" pid rss
  pid="$(read_pid "$dir")"
  if is_our_broker "$pid" "$dir"; then
    rss="$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')"
    local port
    port="$(env_get "$dir" PORT)"
    local ping="not answering"
    kafka_ping "$port" && ping="answering"
    echo "running  pid=$pid  KAFKA_BROKERS=127.0.0.1:$port ($ping)  controller=:$(env_get "$dir" CONTROLLER_PORT)  rss=$((rss / 1024))MiB  data=$dir  log=$dir/server.log"
    return 0
  fi
  echo "stopped  data=$dir$([[ -d "$dir/logs" ]] && echo " (has data)")"
  return 3
}

cmd_status() {
  if [[ "${1:-}" == --all ]]; then
    local d found=0 rc=3 seen=" "
    for d in "$TMP_BASE"/turnstream-kafka-* "$REGISTRY"/*; do
      [[ -e "$d" ]] || continue
      d="$(abspath "$d")"
      [[ -f "$d/$MARKER" && "$seen" != *" $d "* ]] || continue
      seen+="$d "
      found=1
      status_dir "$d" && rc=0
    done
    [[ "$found" == 1 ]] || echo "no data dirs under $TMP_BASE/turnstream-kafka-* and no running brokers"
    echo "jar cache: $LIBS ($(cache_ok && echo "ready, $(find "$LIBS" -name '*.jar' | wc -l) jars" || echo "not fetched"))"
    return "$rc"
  fi
  parse_target "$@"
  status_dir "$DATA_DIR"
}

# ---------------------------------------------------------------- tools

tool_class() {
  case "$1" in
    topics) echo org.apache.kafka.tools.TopicCommand ;;
    console-producer) echo org.apache.kafka.tools.ConsoleProducer ;;
    console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    configs) echo org.apache.kafka.tools.ConfigCommand ;;
    get-offsets) echo org.apache.kafka.tools.GetOffsetShell ;;
    dump-log) echo org.apache.kafka.tools.DumpLogSegments ;;
    metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
    api-versions) echo org.apache.kafka.tools.BrokerApiVersionsCommand ;;
    storage) echo kafka.tools.StorageTool ;;
    *.*) echo "$1" ;;
    *) die "unknown tool '$1' (see --help; or give a fully qualified class name)" ;;
  esac
}

cmd_tool() {
  [[ $# -ge 1 ]] || die "usage: $PROG tool NAME [ARGS...] (see --help)"
  local cls
  cls="$(tool_class "$1")"
  shift
  need_java
  ensure_fetched
  exec java -Xmx256m -Dlog4j2.configurationFile="$(tools_log4j)" -cp "$(classpath)" "$cls" "$@"
}

# ---------------------------------------------------------------- main

case "${1:-}" in
  fetch) shift; cmd_fetch "$@" ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  reset) shift; cmd_reset "$@" ;;
  tool) shift; cmd_tool "$@" ;;
  classpath) ensure_fetched; classpath; echo ;;
  -h | --help | help) usage ;;
  "") usage >&2; exit 2 ;;
  *) echo "$PROG: unknown command '$1'" >&2; usage >&2; exit 2 ;;
esac
