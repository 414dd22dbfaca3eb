#!/usr/bin/env bash
# Timing bugs hide on an idle machine. This runs the tests of the packages
# where goroutines meet (app, views, store, servicing, remote, library) under the race
# detector, COUNT times each, while a CPU hog keeps every core busy and the
# tests themselves get one OS thread (GOMAXPROCS=1): hand-offs then happen in
# orders an idle machine never shows.
#
#   scripts/stress.sh                 the five packages, COUNT=10
#   COUNT=3 scripts/stress.sh app views
#
# Bounded in time: STRESS_TIMEOUT (default 60m) per package for go test, and
# the hog is killed when the script ends, however it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-10}
STRESS_TIMEOUT=${STRESS_TIMEOUT:-60m}
GO=${GO:-go}
declare -A pkg=(
  [app]=./app/ [views]=./views/ [store]=./engine/store/
  [servicing]=./engine/servicing/ [remote]=./engine/remote/
  [library]=./engine/library/
)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  names=(app views store servicing remote library)
fi
pkgs=()
for n in "${names[@]}"; do
  if [ -z "${pkg[$n]:-}" ]; then
    echo "stress: unknown package $n (want: ${!pkg[*]})" >&2
    exit 2
  fi
  pkgs+=("${pkg[$n]}")
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

# One busy loop per core, each ending by itself after the time bound too, in
# case this shell is killed without running its trap.
cores=$(nproc)
for _ in $(seq "$cores"); do
  timeout "$STRESS_TIMEOUT" sh -c 'while :; do :; done' &
  hogs+=($!)
done
echo "stress: ${#hogs[@]} busy loop(s), GOMAXPROCS=1, -race -count=$COUNT: ${pkgs[*]}"

export WIMCONSOLE_ORACLE=1
status=0
for p in "${pkgs[@]}"; do
  echo "== $p"
  if ! GOMAXPROCS=1 "$GO" test -race -tags libwim -count="$COUNT" -timeout "$STRESS_TIMEOUT" "$p"; then
    status=1
  fi
done
exit $status
