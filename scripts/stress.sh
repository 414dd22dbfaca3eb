#!/usr/bin/env bash
# Timing bugs hide on an idle machine. This runs the tests of the packages
# where goroutines meet (app, views, store, servicing, remote, library, and
# engine/wim's concurrent tests) under the race
# detector, COUNT times each, while a CPU hog keeps every core busy and the
# tests themselves get one OS thread (GOMAXPROCS=1): hand-offs then happen in
# orders an idle machine never shows.
#
#   scripts/stress.sh                 the seven packages, COUNT=10
#   COUNT=3 scripts/stress.sh app views
#   LANES=2 scripts/stress.sh         two packages at a time (see below)
#
# LANES=N runs N packages at once, each lane taking the next package of the
# list when it finishes one, with N-1 fewer busy loops: every test process
# still shares the cores with as many runnable processes as with one lane
# (on 2 cores, 2/3 of a core each), and the whole run takes about half as
# long. Packages are listed longest first so the lanes end together.
#
# Bounded in time: STRESS_TIMEOUT (default 60m) per package for go test, and
# the hogs are killed when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-10}
LANES=${LANES:-1}
STRESS_TIMEOUT=${STRESS_TIMEOUT:-60m}
GO=${GO:-go}
declare -A pkg=(
  [app]=./app/ [views]=./views/ [store]=./engine/store/
  [servicing]=./engine/servicing/ [remote]=./engine/remote/
  [library]=./engine/library/ [wim]=./engine/wim/
)
# engine/wim whole takes hours under -race; its concurrent code is the
# capture pipeline, the apply workers, the solid chunk cache, parallel
# chunk streams and cancellation: these tests.
declare -A runs=(
  [wim]='Cancel|Concurrent|ChunkCache|Pin|SolidBlobRead|ApplySolid|SolidTable|SolidRead|Worker|Pooled|FromPipe|WhileScanning'
)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(store views servicing library wim remote app)
fi
pkgs=() pkgruns=()
for n in "${names[@]}"; do
  if [ -z "${pkg[$n]:-}" ]; then
    echo "stress: unknown package $n (want: ${!pkg[*]})" >&2
    exit 2
  fi
  pkgs+=("${pkg[$n]}")
  pkgruns+=("${runs[$n]:-.}")
done

hogs=()
stop_hogs() {
  for p in "${hogs[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${hogs[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  hogs=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

case $LANES in
  '' | *[!0-9]* | 0) echo "stress: LANES must be a positive number, not '$LANES'" >&2; exit 2 ;;
esac

# One busy loop per core, less one per extra lane, each ending by itself
# when this shell is gone, in case it is killed without running its trap.
cores=$(nproc)
nhogs=$((cores - LANES + 1))
if [ "$nhogs" -lt 1 ]; then
  nhogs=1
fi
for _ in $(seq "$nhogs"); do
  sh -c 'while kill -0 "$1" 2>/dev/null; do
    i=0; while [ $i -lt 200000 ]; do i=$((i + 1)); done
  done' hog $$ &
  hogs+=($!)
done
echo "stress: ${#hogs[@]} busy loop(s), $LANES lane(s), GOMAXPROCS=1, -race -count=$COUNT: ${pkgs[*]}"

export WIMCONSOLE_ORACLE=1
if [ "$LANES" -eq 1 ]; then
  status=0
  for i in "${!pkgs[@]}"; do
    echo "== ${pkgs[$i]}"
    if ! GOMAXPROCS=1 "$GO" test -race -tags libwim -count="$COUNT" -timeout "$STRESS_TIMEOUT" \
      -run "${pkgruns[$i]}" "${pkgs[$i]}"; then
      status=1
    fi
  done
  exit $status
fi

# Lanes: a package is taken by the lane that first makes its claim directory
# (mkdir is atomic); each package's output is printed whole when it ends.
work=$(mktemp -d)
# go test outlives a TERM while its test binary runs: stop each lane's
# processes children first.
kill_tree() {
  local c
  for c in $(pgrep -P "$1"); do
    kill_tree "$c"
  done
  kill "$1" 2>/dev/null || true
}
stop_lanes() {
  for l in "${lanes[@]}"; do
    kill_tree "$l"
  done
}
lanes=()
trap 'stop_lanes; stop_hogs; rm -rf "$work"' EXIT
lane() {
  local p i start rc
  for i in "${!pkgs[@]}"; do
    p=${pkgs[$i]}
    mkdir "$work/claim.$i" 2>/dev/null || continue
    start=$SECONDS
    rc=0
    GOMAXPROCS=1 "$GO" test -race -tags libwim -count="$COUNT" -timeout "$STRESS_TIMEOUT" \
      -run "${pkgruns[$i]}" "$p" >"$work/out.$i" 2>&1 || rc=$?
    { echo "== $p (lane $1, $((SECONDS - start)) s)"; cat "$work/out.$i"; } >"$work/print.$i"
    cat "$work/print.$i"
    if [ "$rc" -ne 0 ]; then
      touch "$work/failed"
    fi
  done
}
for l in $(seq "$LANES"); do
  lane "$l" &
  lanes+=($!)
done
for l in "${lanes[@]}"; do
  wait "$l" || true
done
[ ! -e "$work/failed" ]
