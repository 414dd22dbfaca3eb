#!/usr/bin/env bash
# pgo-profile.sh - regenerate default.pgo, the CPU profile the Go compiler
# uses for profile-guided optimisation of the wimconsole and wimconsole-cli
# binaries (`go build` of a main package picks up the default.pgo in its own
# folder, so the script writes the same profile to both; `go test` does not
# use it).
#
# It profiles what dominates real work: capture with XPRESS and LZX, apply,
# and an export that recompresses, on the small benchmark corpus
# (../shared/bench/make-corpus.sh, CORPUS_SCALE=small; or WIMBENCH_CORPUS=DIR).
# Measured when it was added: capture XPRESS -5%, capture LZX -2% time.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${WIMBENCH_CORPUS:-}" ]; then
  root=${WIMBENCH_ROOT:-$HOME/.cache/wimconsole-bench-small}
  if [ ! -d "$root/corpus/A" ]; then
    CORPUS_SCALE=small WIMBENCH_ROOT=$root bash "$here/../shared/bench/make-corpus.sh" >&2
  fi
  WIMBENCH_CORPUS=$root/corpus/A
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/wimpgo.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Build without a profile, so that the new one describes unoptimised code.
(cd "$here" && go build -pgo=off -o "$work/wimconsole" .)
run() { # NAME ARGS...
  local name=$1; shift
  WIMCONSOLE_CPUPROFILE="$work/$name.prof" "$work/wimconsole" "$@" >/dev/null
}
run capture-xpress capture "$WIMBENCH_CORPUS" "$work/x.wim" --name A --compress xpress
run capture-lzx capture "$WIMBENCH_CORPUS" "$work/l.wim" --name A --compress lzx
run apply apply "$work/l.wim" 1 "$work/applied"
run export export "$work/l.wim" 1 "$work/e.wim" --compress xpress
go tool pprof -proto "$work"/*.prof > "$here/default.pgo"
cp "$here/default.pgo" "$here/cmd/wimconsole-cli/default.pgo"
echo "wrote $here/default.pgo and cmd/wimconsole-cli/default.pgo ($(stat -c %s "$here/default.pgo") bytes)"
