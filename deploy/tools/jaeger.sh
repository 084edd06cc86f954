#!/usr/bin/env bash
# Builds the pinned Jaeger v2 (an OpenTelemetry Collector distribution, Apache-2.0) from the Go module
# proxy into a per-user cache, once; later calls only print where it is. The end-to-end trace test
# reads turnstream's spans back from it, so what the tests prove is what the compose stack runs.
# Same pattern as deploy/tools/tools.sh. Run `deploy/tools/jaeger.sh --help` for usage.
set -euo pipefail
PROG="${0##*/}"

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_VERSION=v1.76.0 # the module tag that carries Jaeger v2's cmd/jaeger (v2 releases share the v1 tag)

CACHE="${TURNSTREAM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/turnstream/tools}"

usage() {
  cat <<USAGE
$PROG — a real Jaeger v2 for turnstream's trace tests, built from source with Go

Usage:
  $PROG install     build it into the cache when missing (cold: ~4 min on 2 cores; then instant)
  $PROG bin         print the path of the jaeger binary, building it first when missing

Cache: $CACHE (set TURNSTREAM_TOOLS_CACHE to move it). Pinned: $JAEGER_MODULE $JAEGER_VERSION.
Needs the go command (1.24+) and the Go module proxy; progress goes to stderr.
USAGE
}

bin_dir() { echo "$CACHE/jaeger-$JAEGER_VERSION/bin"; }

build() {
  local dir; dir=$(bin_dir)
  [[ -x "$dir/jaeger" ]] && return 0
  command -v go >/dev/null 2>&1 || { echo "$PROG: error: go is not on PATH; install Go 1.24+ (needed to build jaeger $JAEGER_VERSION)" >&2; exit 1; }
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.jaeger-build.lock"
  flock 9 # two test processes may ask at once: one builds, the other waits
  if [[ ! -x "$dir/jaeger" ]]; then
    echo "$PROG: building $JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION (first time only; a few minutes) …" >&2
    local started=$SECONDS
    # A scratch module with the tool pinned by `go get -tool`: `go install pkg@version` refuses
    # modules whose go.mod has replace directives, and Jaeger's has them.
    local work="$CACHE/jaeger-$JAEGER_VERSION.partial"
    rm -rf "$work" && mkdir -p "$work"
    (
      cd "$work"
      go mod init turnstream.local/jaeger-build >/dev/null 2>&1
      GOFLAGS=-buildvcs=false go get -tool "$JAEGER_MODULE/cmd/jaeger@$JAEGER_VERSION" >&2
      GOFLAGS=-buildvcs=false go build -o jaeger "$JAEGER_MODULE/cmd/jaeger" >&2
    )
    mkdir -p "$dir"
    mv "$work/jaeger" "$dir/jaeger" && rm -rf "$work"
    echo "$PROG: built in $(( SECONDS - started )) s into $dir" >&2
  fi
  flock -u 9
}

case "${1:-}" in
  install) build; echo "JAEGER_BIN=$(bin_dir)/jaeger" ;;
  bin) build; echo "$(bin_dir)/jaeger" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
