#!/usr/bin/env bash
# Builds the pinned Prometheus, promtool, Alertmanager and amtool from the Go module proxy into a
# per-user cache, once; later calls only print where they are. `npm test` runs this first (its
# global setup, test/global-setup.ts), so a fresh machine with Go needs no Debian package and tests run against current upstream
# releases, not Debian's 2023 ones. Run `deploy/tools/tools.sh --help` for usage.
set -euo pipefail
PROG="${0##*/}"

# Module versions: prometheus v0.316.0 is Prometheus 3.16 (the module lags the release's major).
PROMETHEUS_MODULE=github.com/prometheus/prometheus
PROMETHEUS_VERSION=v0.316.0
ALERTMANAGER_MODULE=github.com/prometheus/alertmanager
ALERTMANAGER_VERSION=v0.35.0
GO_NEEDED=1.26.7 # the go directive of prometheus v0.316.0's go.mod

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
(module version of Prometheus 3.16), Alertmanager $ALERTMANAGER_VERSION. Needs the go command
($GO_NEEDED+, which Prometheus $PROMETHEUS_VERSION's go.mod asks for; an older Go with GOTOOLCHAIN=auto
fetches it) and the Go module proxy; progress goes to stderr.
USAGE
}

bin_dir() { echo "$CACHE/prometheus-$PROMETHEUS_VERSION-alertmanager-$ALERTMANAGER_VERSION/bin"; }

build() { # module version cmd...
  local module=$1 version=$2; shift 2
  local dir; dir=$(bin_dir)
  local missing=()
  for cmd in "$@"; do [[ -x "$dir/$cmd" ]] || missing+=("$module/cmd/$cmd@$version"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  command -v go >/dev/null 2>&1 || { echo "$PROG: error: go is not on PATH; install Go $GO_NEEDED+ from https://go.dev/dl (needed to build ${missing[*]})" >&2; exit 1; }
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
    # remove_all_sd leaves out Prometheus's cloud service discoveries (Azure, AWS, GCE, Kubernetes …):
    # the tests use static targets only, and those SDKs are most of a cold build.
    rm -rf "$dir.partial"
    if [[ $module == "$ALERTMANAGER_MODULE" ]]; then
      build_alertmanager "$dir.partial" "${missing[@]}"
    else
      for pkg in "${missing[@]}"; do GOBIN="$dir.partial" GOFLAGS=-buildvcs=false go install -tags remove_all_sd "$pkg" >&2; done
    fi
    mv "$dir.partial"/* "$dir"/ && rmdir "$dir.partial"
    echo "$PROG: built in $(( SECONDS - started )) s into $dir" >&2
  fi
  flock -u 9
}

# Alertmanager's module embeds its web UI from ui/app/dist, which upstream builds with npm at release
# time and which the module zip lacks, so `go install …/cmd/alertmanager@v0.35.0` fails ("pattern
# app/dist: no matching files found"). Build from a copy of the module source with a one-page
# placeholder UI instead: the tests use the API only.
build_alertmanager() { # out-dir module/cmd/NAME@version...
  local out=$1; shift
  local src tmp
  src=$(GOFLAGS=-mod=mod go mod download -json "$ALERTMANAGER_MODULE@$ALERTMANAGER_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -d "$src" ]] || { echo "$PROG: error: go mod download gave no source dir for $ALERTMANAGER_MODULE@$ALERTMANAGER_VERSION" >&2; exit 1; }
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/turnstream-alertmanager-src.XXXXXX")
  cp -R "$src/." "$tmp" && chmod -R u+w "$tmp"
  for ui in elm mantine; do
    mkdir -p "$tmp/ui/app/dist/$ui"
    echo '<!doctype html><title>Alertmanager</title><p>Web UI not built (turnstream test build); the API is at /api/v2.' >"$tmp/ui/app/dist/$ui/index.html"
  done
  mkdir -p "$out"
  local pkg name
  for pkg in "$@"; do
    name=${pkg%@*}; name=${name##*/}
    (cd "$tmp" && GOFLAGS=-buildvcs=false go build -o "$out/$name" "./cmd/$name") >&2 || { rm -rf "$tmp"; exit 1; }
  done
  rm -rf "$tmp"
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
