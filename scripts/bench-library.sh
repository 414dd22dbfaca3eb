#!/usr/bin/env bash
# bench-library.sh - time publish and pull against `rclone copy` of the same
# bytes to and from the same SeaweedFS endpoint, alternating runs, and print
# medians of wall, user and system time and peak memory.
#
#   scripts/bench-library.sh
#
# Rows:
#   publish  `publish G --to lab` into an empty library prefix, against
#            `rclone copy` of the same blob objects (a folder of them) to an
#            empty prefix of the same bucket
#   pull     `pull lab/G` into an empty store (download, SHA-1 checks, append
#            to Res.rwm, images added), against `rclone copy` of the library's
#            blob objects to an empty folder
# Environment: WIMBENCH_CORPUS (the tree captured into group G; default: tree A
# of the small bench corpus, ~314 MB), RUNS (default 3), ROWS (default
# "publish pull"), WIMCONSOLE (binary; default wimconsole-cli built into a temp
# dir), WIMCONSOLE_BASE (optional: another build, e.g. main's, timed as "base"
# in the same interleaving: base ours rclone, base ours rclone, ...), WORK
# (scratch folder).
# Needs rclone (apt-get install rclone) and SeaweedFS (scripts/seaweedfs.sh).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
command -v rclone >/dev/null || { echo "bench-library: rclone missing (apt-get install rclone)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-library: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
tree=${WIMBENCH_CORPUS:-$HOME/.cache/wimconsole-bench-small/corpus/A}
[ -d "$tree" ] || { echo "bench-library: $tree missing; set WIMBENCH_CORPUS" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/wimbench-lib.XXXXXX")}
mkdir -p "$WORK"
cleanup() { "$here/scripts/seaweedfs.sh" stop "$WORK/weed" >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
if [ -z "${WIMCONSOLE:-}" ]; then
  WIMCONSOLE=$WORK/wimconsole-cli
  (cd "$here" && go build -tags libwim -o "$WIMCONSOLE" ./cmd/wimconsole-cli)
fi
ROWS=${ROWS:-publish pull}
tools="ours rclone"
[ -n "${WIMCONSOLE_BASE:-}" ] && tools="base ours rclone"
has_row() { case " $ROWS " in *" $1 "*) return 0 ;; esac; return 1; }

# The endpoint, its credentials for both tools, and a config folder of our own.
eval "$("$here/scripts/seaweedfs.sh" start "$WORK/weed" "${WEED_PORT:-19333}" | sed 's/^/export /; s/^export endpoint=/endpoint=/')"
export XDG_CONFIG_HOME=$WORK/config
export RCLONE_CONFIG_WEED_TYPE=s3 RCLONE_CONFIG_WEED_PROVIDER=SeaweedFS RCLONE_CONFIG_WEED_ENDPOINT=$endpoint \
  RCLONE_CONFIG_WEED_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_WEED_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
ours() { "$WIMCONSOLE" "$@"; }
# rclone reads AWS_CA_BUNDLE (set by some sandboxes) and then refuses a plain
# http endpoint; the loopback endpoint needs none.
rclone() { env -u AWS_CA_BUNDLE rclone "$@"; }

# Group G of store A: the corpus captured (LZX) and added.
ours capture "$tree" "$WORK/src.wim" --name Bench --compress lzx >/dev/null
ours --store "$WORK/A" add-image "$WORK/src.wim" --group G >/dev/null
rm -f "$WORK/src.wim"
# The blob objects as files, for rclone's publish row: published once, copied down.
ours library add seed "$endpoint/bench/seed" >/dev/null
ours --store "$WORK/A" publish G --to seed >/dev/null
rclone copy weed:bench/seed/blobs "$WORK/blobs" --transfers 8
nblobs=$(find "$WORK/blobs" -type f | wc -l)
bytes=$(du -sb "$WORK/blobs" | cut -f1)
echo "# $(ours version | head -1); $(rclone version | head -1); corpus $tree: $nblobs blobs, $bytes bytes of blob objects"
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) at start (shared)"

measure() { # LABEL CMD...: appends "wall user sys maxrss_kb" to $WORK/LABEL
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  cat "$WORK/t" >>"$WORK/$label"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # ROW
  local row=$1 who col
  for who in $tools; do
    printf '%-8s %-7s' "$row" "$who"
    for col in 1 2 3 4; do printf ' %8s' "$(cut -d' ' -f$col "$WORK/$row.$who" | median)"; done
    echo
  done
}

echo "# row     tool       wall_s   user_s    sys_s  maxrss_kb   (medians of $RUNS)"
if has_row publish; then
  for i in $(seq 1 "$RUNS"); do
    if [ -n "${WIMCONSOLE_BASE:-}" ]; then
      ours library add "q$i" "$endpoint/bench/q$i" >/dev/null
      measure publish.base "$WIMCONSOLE_BASE" --store "$WORK/A" publish G --to "q$i"
    fi
    ours library add "p$i" "$endpoint/bench/p$i" >/dev/null
    measure publish.ours "$WIMCONSOLE" --store "$WORK/A" publish G --to "p$i"
    measure publish.rclone env -u AWS_CA_BUNDLE rclone copy "$WORK/blobs" "weed:bench/r$i/blobs" --transfers 8
  done
  report publish
fi
if has_row pull; then
  for i in $(seq 1 "$RUNS"); do
    if [ -n "${WIMCONSOLE_BASE:-}" ]; then
      measure pull.base "$WIMCONSOLE_BASE" --store "$WORK/C$i" pull seed/G
      rm -rf "$WORK/C$i"
    fi
    measure pull.ours "$WIMCONSOLE" --store "$WORK/B$i" pull seed/G
    measure pull.rclone env -u AWS_CA_BUNDLE rclone copy weed:bench/seed/blobs "$WORK/down$i" --transfers 8
    rm -rf "$WORK/B$i" "$WORK/down$i"
  done
  report pull
fi
