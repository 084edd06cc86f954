#!/usr/bin/env bash
# Builds kit (the coding agent turnstream's model comes from; github.com/mark3labs/kit, MIT) from the
# vendored source in ../shared/vendor/kit into a per-user cache, once per source version; later calls
# only print where it is. The kit integration tests (test/kit/) run this real binary with
# integrations/kit/turnstream.go loaded. kit's module is not served by the Go module proxy, so it is
# built from that source; its dependencies come from the proxy. Same pattern as deploy/tools/tools.sh.
# Run `deploy/tools/kit.sh --help` for usage.
set -euo pipefail
PROG="${0##*/}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT_SRC="${KIT_SRC:-$ROOT/../shared/vendor/kit}"
CACHE="${TURNSTREAM_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/turnstream/tools}"

usage() {
  cat <<USAGE
$PROG — a real kit binary for turnstream's kit integration tests, built from vendored source with Go

Usage:
  $PROG install     build it into the cache when missing (cold: ~3-6 min on 2 cores; then instant)
  $PROG bin         print the path of the kit binary, building it first when missing
  $PROG src         print the kit source directory used

Source: $KIT_SRC (set KIT_SRC to use another checkout of github.com/mark3labs/kit).
Cache: $CACHE/kit-<hash of the source and the Go version> (set TURNSTREAM_TOOLS_CACHE to move it).
Needs the go command (the go directive of kit's go.mod; an older Go with GOTOOLCHAIN=auto fetches
it) and the Go module proxy; progress goes to stderr.
USAGE
}

src_hash() {
  [[ -f "$KIT_SRC/go.mod" && -d "$KIT_SRC/cmd/kit" ]] || { echo "$PROG: error: no kit source at $KIT_SRC (go.mod and cmd/kit expected; set KIT_SRC)" >&2; exit 1; }
  command -v go >/dev/null 2>&1 || { echo "$PROG: error: go is not on PATH; install Go (kit's go.mod asks for $(sed -n 's/^go //p' "$KIT_SRC/go.mod")+) to build kit" >&2; exit 1; }
  # Every file's path and content, plus the toolchain: a changed source or Go gives a new binary.
  { (cd "$KIT_SRC" && find . -type f -not -path './.git/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum); go version; } | sha256sum | cut -c1-16
}

bin_dir() { echo "$CACHE/kit-$(src_hash)/bin"; }

build() {
  local dir; dir=$(bin_dir)
  [[ -x "$dir/kit" ]] && return 0
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.kit-build.lock"
  flock 9 # two test processes may ask at once: one builds, the other waits
  if [[ ! -x "$dir/kit" ]]; then
    echo "$PROG: building kit from $KIT_SRC (first time for this source; a few minutes) …" >&2
    local started=$SECONDS
    local partial="$dir.partial"
    rm -rf "$partial" && mkdir -p "$partial"
    # The source may be read-only (CI copies shared/ without write bits): go build writes only to -o
    # and the Go caches.
    (cd "$KIT_SRC" && GOFLAGS=-buildvcs=false go build -o "$partial/kit" ./cmd/kit) >&2
    mkdir -p "$dir"
    mv "$partial/kit" "$dir/kit" && rm -rf "$partial"
    echo "$PROG: built in $(( SECONDS - started )) s into $dir" >&2
  fi
  flock -u 9
}

case "${1:-}" in
  install) build; echo "KIT_BIN=$(bin_dir)/kit" ;;
  bin) build; echo "$(bin_dir)/kit" ;;
  src) echo "$KIT_SRC" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
