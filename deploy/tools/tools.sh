#!/usr/bin/env bash
# Builds the pinned Prometheus, promtool, Alertmanager and amtool from the Go module proxy into a
# per-user cache, once; later calls only print where they are. `npm test` runs this first (pretest),
# so a fresh machine with Go needs no Debian package and tests run against current upstream
# releases, not Debian's 2023 ones. Run `deploy/tools/tools.sh --help` for usage.
set -euo pipefail
PROG="${0##*/}"

# Module versions: prometheus v0.316.0 is Prometheus 3.16 (the module lags the release's major).
PROMETHEUS_MODULE=github.com/prometheus/prometheus
PROMETHEUS_VERSION=v0.316.0
ALERTMANAGER_MODULE=github.com/prometheus/alertmanager
ALERTMANAGER_VERSION=v0.35.0

CACHE="${TURNSTREAM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/turnstream/tools}"

usage() {
  cat <<USAGE
$PROG — real Prometheus / Alertmanager for turnstream's tests, built from source with Go

Usage:
  $PROG install     build what is missing into the cache (cold: ~6 min on 2 cores; then instant)
  $PROG bin NAME    print the path of one binary (prometheus, promtool, alertmanager, amtool),
                    building it first when missing
  $PROG env         print BIN_DIR=<dir> (the folder holding all four)

Cache: $CACHE (set TURNSTREAM_TOOLS_CACHE to move it). Pinned: Prometheus $PROMETHEUS_VERSION
(module version of Prometheus 3.16), Alertmanager $ALERTMANAGER_VERSION. Needs the go command (1.24+)
and the Go module proxy; progress goes to stderr.
USAGE
}

bin_dir() { echo "$CACHE/prometheus-$PROMETHEUS_VERSION-alertmanager-$ALERTMANAGER_VERSION/bin"; }

build() { # module version cmd...
  local module=$1 version=$2; shift 2
  local dir; dir=$(bin_dir)
  local missing=()
  for cmd in "$@"; do [[ -x "$dir/$cmd" ]] || missing+=("$module/cmd/$cmd@$version"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v go >/dev/null 2>&1 || { echo "$PROG: error: go is not on PATH; install Go 1.24+ (needed to build ${missing[*]})" >&2; exit 1; }
  mkdir -p "$dir"
  local lock="$CACHE/.build.lock"
  exec 9>"$lock"
  flock 9 # two test processes may ask at once: one builds, the other waits
  missing=()
  for cmd in "$@"; do [[ -x "$dir/$cmd" ]] || missing+=("$module/cmd/$cmd@$version"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "$PROG: building ${missing[*]} (first time only; a few minutes) …" >&2
    local started=$SECONDS
    # go install of one package at a time: several at once need the same main module.
    for pkg in "${missing[@]}"; do GOBIN="$dir.partial" GOFLAGS=-buildvcs=false go install "$pkg" >&2; done
    mv "$dir.partial"/* "$dir"/ && rmdir "$dir.partial"
    echo "$PROG: built in $(( SECONDS - started )) s into $dir" >&2
  fi
  flock -u 9
}

install_all() {
  build "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION" prometheus promtool
  build "$ALERTMANAGER_MODULE" "$ALERTMANAGER_VERSION" alertmanager amtool
}

case "${1:-}" in
  install) install_all; echo "BIN_DIR=$(bin_dir)" ;;
  env) install_all; echo "BIN_DIR=$(bin_dir)" ;;
  bin)
    case "${2:-}" in
      prometheus|promtool) build "$PROMETHEUS_MODULE" "$PROMETHEUS_VERSION" prometheus promtool ;;
      alertmanager|amtool) build "$ALERTMANAGER_MODULE" "$ALERTMANAGER_VERSION" alertmanager amtool ;;
      *) echo "$PROG: error: bin takes prometheus, promtool, alertmanager or amtool" >&2; exit 2 ;;
    esac
    echo "$(bin_dir)/$2" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
