#!/usr/bin/env bash
# End-to-end check of deploy/kafka/kafka.sh on this machine: a throw-away broker on free ports,
# produce/consume, log compaction with a tombstone, restart with persisted data, stop, wipe.
# Usage: deploy/kafka/smoke-test.sh        (about 40 s; needs java, and mvn if the jar cache is cold)
set -euo pipefail

K="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka.sh"
passed=0
failed=0
DATA="${TMPDIR:-/tmp}/turnstream-kafka-smoke-$$"

ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
ms() { echo $(($(date +%s%N) / 1000000)); }
expect_eq() { # DESC GOT WANT
  if [[ "$2" == "$3" ]]; then ok "$1"; else bad "$1: got '$2', want '$3'"; fi
}
cleanup() { "$K" reset --data "$DATA" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$K" fetch

t=$(ms)
out="$("$K" start --port auto --data "$DATA")"
echo "start: $(($(ms) - t)) ms -> $out"
eval "$out" # KAFKA_BROKERS=127.0.0.1:<port>
B="$KAFKA_BROKERS"
CTRL="$(sed -n 's/^CONTROLLER_PORT=//p' "$DATA/kafka.env")"
if [[ "$out" =~ ^KAFKA_BROKERS=127\.0\.0\.1:[0-9]+$ ]]; then ok "start prints KAFKA_BROKERS ($B)"; else bad "start output: $out"; fi

# 1. A plain TCP client gets an answer to a Kafka ApiVersions request.
if "$K" status --data "$DATA" | grep -q '(answering)'; then ok "plain TCP ApiVersions request answered"; else bad "no ApiVersions answer"; fi

# 2. Create a topic, produce three keyed records, consume them back.
"$K" tool topics --bootstrap-server "$B" --create --topic smoke.plain --partitions 3 >/dev/null
printf 'k1:v1\nk2:v2\nk3:v3\n' | "$K" tool console-producer --bootstrap-server "$B" --topic smoke.plain \
  --reader-property parse.key=true --reader-property key.separator=:
got="$("$K" tool console-consumer --bootstrap-server "$B" --topic smoke.plain --from-beginning \
  --max-messages 3 --timeout-ms 20000 --formatter-property print.key=true \
  --formatter-property key.separator=: 2>/dev/null | sort | tr '\n' ' ')"
expect_eq "produce/consume 3 records" "$got" "k1:v1 k2:v2 k3:v3 "

# 3. Compaction: same key twice and a tombstone; the cleaner keeps only the latest per key.
#    The active segment is never cleaned, so the topic rolls segments fast (segment.ms=100) and a
#    later record (k3) forces the roll.
"$K" tool topics --bootstrap-server "$B" --create --topic smoke.compact --partitions 1 \
  --config cleanup.policy=compact --config segment.ms=100 --config min.cleanable.dirty.ratio=0.01 \
  --config delete.retention.ms=600000 >/dev/null
printf 'k1:a\nk1:b\nk2:x\nk2:<NULL>\n' | "$K" tool console-producer --bootstrap-server "$B" \
  --topic smoke.compact --reader-property parse.key=true --reader-property key.separator=: \
  --reader-property 'null.marker=<NULL>'
sleep 0.5
printf 'k3:roll\n' | "$K" tool console-producer --bootstrap-server "$B" --topic smoke.compact \
  --reader-property parse.key=true --reader-property key.separator=:
consume_compact() {
  "$K" tool console-consumer --bootstrap-server "$B" --topic smoke.compact --from-beginning \
    --timeout-ms 3000 --formatter-property print.key=true --formatter-property print.offset=true \
    --formatter-property key.separator=: 2>/dev/null | tr '\t' ' ' | tr '\n' '|' || true
}
t=$(ms)
want="Offset:1:k1:b|Offset:3:k2:null|Offset:4:k3:roll|"
got=""
for _ in $(seq 1 10); do
  got="$(consume_compact)"
  [[ "$got" == "$want" ]] && break
  sleep 1
done
expect_eq "compaction kept the latest value per key and the tombstone ($(($(ms) - t)) ms)" "$got" "$want"

# 4. Restart on the same data dir: topics and records persist.
"$K" stop --data "$DATA"
if "$K" status --data "$DATA" >/dev/null; then bad "status after stop says running"; else ok "stop"; fi
t=$(ms)
out2="$("$K" start --data "$DATA")" # ports come from the data dir's kafka.env
echo "restart: $(($(ms) - t)) ms -> $out2"
expect_eq "restart reuses the ports" "$out2" "$out"
ctrl_now="$(sed -n 's/^CONTROLLER_PORT=//p' "$DATA/kafka.env")"
expect_eq "restart reuses the controller port" "$ctrl_now" "$CTRL"
got="$("$K" tool console-consumer --bootstrap-server "$B" --topic smoke.plain --from-beginning \
  --max-messages 3 --timeout-ms 20000 --formatter-property print.key=true \
  --formatter-property key.separator=: 2>/dev/null | sort | tr '\n' ' ')"
expect_eq "records persisted across restart" "$got" "k1:v1 k2:v2 k3:v3 "
got="$(consume_compact)"
expect_eq "compacted topic persisted across restart" "$got" "$want"
pid="$(cat "$DATA/kafka.pid")"
echo "broker RSS: $(($(ps -o rss= -p "$pid") / 1024)) MiB"

"$K" stop --data "$DATA"
if [[ -e "$DATA/kafka.pid" ]]; then bad "pid file left after stop"; else ok "stop removes the pid file"; fi

echo "smoke: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
