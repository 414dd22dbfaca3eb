#!/usr/bin/env bash
# seaweedfs.sh - a SeaweedFS S3 endpoint on 127.0.0.1 for the image library's
# tests and demos (docs/library.md).
#
#   scripts/seaweedfs.sh build            build weed (pinned) into the cache, or
#                                         reuse it; prints the binary's path
#   scripts/seaweedfs.sh start DIR [PORT] start `weed mini` with its data in DIR,
#                                         listening on 127.0.0.1 only: S3 on PORT
#                                         (default 18333), its other servers on
#                                         PORT+1..PORT+4 and those +10000 (gRPC);
#                                         waits until S3 answers, then prints the
#                                         endpoint and the credentials it set up
#                                         (also in DIR/credentials, mode 0600)
#   scripts/seaweedfs.sh sync DIR_A DIR_B replicate site A's buckets to site B (two
#                                         weeds started as above) with the engine's
#                                         own `weed filer.sync` (one direction,
#                                         /buckets only), in the background
#   scripts/seaweedfs.sh stop DIR         end the weed started on DIR (and the sync
#                                         feeding it)
#
# With WIMCONSOLE_SEAWEEDFS_OWNER=PID in the environment, start and sync also
# end what they started once process PID is gone: the tests pass their own
# process, so that a test binary killed (a timeout, a panic, kill -9) leaves
# no weed behind holding its ports and ~130 MB.
#
# The binary is ~230 MB and takes ~4 minutes of two cores to build: it lives in
# ${WIMCONSOLE_SEAWEEDFS_CACHE:-~/.cache/wimconsole-seaweedfs}/weed-<version>,
# never in the repository. SeaweedFS's go.mod has replace directives, so
# `go install …@version` refuses it: the module is downloaded and built in place.
set -euo pipefail

WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6 # weed version 4.53
CACHE=${WIMCONSOLE_SEAWEEDFS_CACHE:-$HOME/.cache/wimconsole-seaweedfs}
BIN=$CACHE/weed-$WEED_VERSION
# Every bucket is a collection with at least one volume of its own, and
# mini's default volume limit is the free disk space over the volume size
# (41 on a disk with 44 GiB free): a test binary run with -count=4, or on a
# fuller disk, ran out after ~40 buckets and every upload then failed with
# "We encountered an internal error". Volumes are made as data reaches
# them, small: the limit only bounds how many.
VOLUME_MAX=${WIMCONSOLE_SEAWEEDFS_VOLUME_MAX:-1000}

die() { echo "seaweedfs.sh: $*" >&2; exit 1; }

# watch_owner PID: if WIMCONSOLE_SEAWEEDFS_OWNER is set, end process PID
# (TERM, then KILL after 10 s) once the owner has gone, in the background.
watch_owner() {
  local owner=${WIMCONSOLE_SEAWEEDFS_OWNER:-}
  [ -n "$owner" ] || return 0
  nohup bash -c 'while kill -0 "$1" 2>/dev/null; do
      kill -0 "$2" 2>/dev/null || exit 0
      sleep 2
    done
    kill "$2" 2>/dev/null || exit 0
    for _ in $(seq 1 40); do kill -0 "$2" 2>/dev/null || exit 0; sleep 0.25; done
    kill -9 "$2" 2>/dev/null' watch-owner "$owner" "$1" >/dev/null 2>&1 </dev/null &
}

build() {
  if [ -x "$BIN" ]; then
    echo "$BIN"
    return
  fi
  command -v go >/dev/null || die "needs the Go toolchain to build weed"
  mkdir -p "$CACHE"
  echo "seaweedfs.sh: building SeaweedFS $WEED_VERSION into $BIN (a few minutes, once)" >&2
  local dir
  dir=$(go mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir" ] || die "could not download github.com/seaweedfs/seaweedfs@$WEED_VERSION"
  (cd "$dir" && GOFLAGS=-mod=mod go build -o "$BIN.tmp.$$" ./weed) || { rm -f "$BIN.tmp.$$"; die "building weed failed"; }
  mv "$BIN.tmp.$$" "$BIN"
  echo "$BIN"
}

start() {
  local dir=${1:?usage: seaweedfs.sh start DIR [PORT]} port=${2:-18333}
  mkdir -p "$dir/data"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/weed.pid" ] && kill -0 "$(cat "$dir/weed.pid")" 2>/dev/null; then
    die "a weed already runs on $dir (pid $(cat "$dir/weed.pid")); stop it first"
  fi
  build >/dev/null
  local key secret
  if [ -f "$dir/credentials" ]; then
    key=$(sed -n 's/^AWS_ACCESS_KEY_ID=//p' "$dir/credentials")
    secret=$(sed -n 's/^AWS_SECRET_ACCESS_KEY=//p' "$dir/credentials")
  else
    key=wim$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
    secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    (umask 077 && printf 'AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n' "$key" "$secret" >"$dir/credentials")
  fi
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then
    die "port $port of 127.0.0.1 is in use already: give another PORT"
  fi
  local master=$((port + 1)) volume=$((port + 2)) filer=$((port + 3)) admin=$((port + 4))
  AWS_ACCESS_KEY_ID=$key AWS_SECRET_ACCESS_KEY=$secret nohup "$BIN" mini \
    -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -s3.port="$port" -master.port="$master" -volume.port="$volume" -filer.port="$filer" \
    -admin.port="$admin" -admin.port.legacy=0 -admin.ui=false -webdav=false -volume.max="$VOLUME_MAX" \
    -s3.port.iceberg=0 -s3.port.lance=0 -master.telemetry=false \
    >"$dir/weed.log" 2>&1 </dev/null &
  echo $! >"$dir/weed.pid"
  watch_owner "$(cat "$dir/weed.pid")"
  echo "$port" >"$dir/s3.port"
  # Up when S3 refuses an unsigned request (403), as it does once ready.
  local i code
  for i in $(seq 1 180); do
    if ! kill -0 "$(cat "$dir/weed.pid")" 2>/dev/null; then
      tail -20 "$dir/weed.log" >&2
      die "weed ended while starting (log: $dir/weed.log)"
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
    if [ "$code" = 403 ] || [ "$code" = 200 ]; then
      echo "endpoint=http://127.0.0.1:$port"
      echo "AWS_ACCESS_KEY_ID=$key"
      echo "AWS_SECRET_ACCESS_KEY=$secret"
      return
    fi
    sleep 0.5
  done
  stop "$dir"
  die "S3 did not answer on 127.0.0.1:$port within 90 s (log: $dir/weed.log)"
}

sync_sites() {
  local a=${1:?usage: seaweedfs.sh sync DIR_A DIR_B} b=${2:?usage: seaweedfs.sh sync DIR_A DIR_B}
  [ -f "$a/s3.port" ] && [ -f "$b/s3.port" ] || die "start both sites first (seaweedfs.sh start DIR PORT)"
  local fa=$(($(cat "$a/s3.port") + 3)) fb=$(($(cat "$b/s3.port") + 3))
  nohup "$BIN" filer.sync -a "127.0.0.1:$fa" -b "127.0.0.1:$fb" -isActivePassive \
    -a.path=/buckets -b.path=/buckets >"$b/sync.log" 2>&1 </dev/null &
  echo $! >"$b/sync.pid"
  watch_owner "$(cat "$b/sync.pid")"
  echo "filer.sync 127.0.0.1:$fa -> 127.0.0.1:$fb (pid $(cat "$b/sync.pid"), log $b/sync.log)"
}

endpid() {
  local f=$1 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for i in $(seq 1 40); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  local dir=${1:?usage: seaweedfs.sh stop DIR}
  endpid "$dir/sync.pid"
  endpid "$dir/weed.pid"
}

case "${1:-}" in
  build) build ;;
  start) shift; start "$@" ;;
  sync) shift; build >/dev/null; sync_sites "$@" ;;
  stop) shift; stop "$@" ;;
  *) echo "usage: $0 build | start DIR [PORT] | sync DIR_A DIR_B | stop DIR" >&2; exit 2 ;;
esac
