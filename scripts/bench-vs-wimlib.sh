#!/usr/bin/env bash
# bench-vs-wimlib.sh - time wimconsole against wimlib-imagex on the same
# inputs, alternating runs, and print medians, ratios and peak memory.
#
#   scripts/bench-vs-wimlib.sh [ROWS...]
#
# ROWS (default: all that the binary supports): apply-lzx apply-xpress apply-esd verify-lzx info
#   capture-none capture-xpress capture-lzx capture-lzx-fast capture-lzx-slow
#   export-raw export-recompress split add-image add-image-noverify regroup
#   capture-lzms capture-solid wim-to-esd esd-to-wim
# capture-lzx-fast and capture-lzx-slow are --compress lzx:fast and lzx:slow
# against wimlib-imagex --compress=lzx:20 and lzx:100 (the LZX Pareto line).
# capture-solid captures the tree as an ESD (--solid, solid LZMS, both tools
# alike); wim-to-esd exports the LZX reference with --solid; esd-to-wim
# exports an ESD wimlib made (solid LZMS) to LZX; apply-esd applies that ESD.
# add-image adds edition B (a WIM wimlib captured from tree B) to an image group
# that holds edition A, against `wimlib-imagex export B.wim 1 A.wim` (append to
# an existing WIM); add-image-noverify is the same with --skip-verify (the
# source's new data copied as stored, not decompressed to check its SHA-1s);
# regroup rebuilds a group holding A, B and C after B's removal, against
# `wimlib-imagex export ABC.wim all NEW.wim` of the live images of a WIM where
# B was soft-deleted. Both need the corpus's sibling trees B and C.
# Environment: WIMBENCH_CORPUS (a folder to use as the tree; default: tree A of
# the corpus ../shared/bench/make-corpus.sh builds, ~1.4 GB and 57,000 files,
# or its ~350 MB version with CORPUS_SCALE=small; the corpus folder itself,
# holding A, B and C, is a tree about twice as large for the memory check),
# RUNS (default 3), WIMCONSOLE (binary; default: wimconsole-cli, the command
# line without the GUI libraries, built into a temp dir; WIMCONSOLE=bin/wimconsole
# measures the build with the console, which loads GTK and OpenGL at start:
# +0.01 s and about +25 MB peak memory on every row),
# WORK (scratch folder; default: a temp dir under the corpus cache),
# WIMBENCH_APPLY_DIR (where the apply rows extract the tree; default
# /dev/shm when it has room for three times the tree, else WORK): each timed
# apply starts after the previous run's tree is deleted and `sync` has
# written everything out, so the row measures the tools, not the kernel's
# writeback of the run before (on a disk that swung each run by 4-17 s).
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
RUNS=${RUNS:-3}
command -v wimlib-imagex >/dev/null || { echo "bench: wimlib-imagex missing (apt-get install wimtools)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

if [ -z "${WIMBENCH_CORPUS:-}" ]; then
  export CORPUS_SCALE=${CORPUS_SCALE:-full}
  mk="$here/../shared/bench/make-corpus.sh"
  if [ "$CORPUS_SCALE" = small ]; then croot=${WIMBENCH_ROOT:-$HOME/.cache/wimconsole-bench-small}; else croot=${WIMBENCH_ROOT:-$HOME/.cache/wimconsole-bench}; fi
  if [ ! -d "$croot/corpus/A" ]; then
    [ -f "$mk" ] || { echo "bench: $mk not found; set WIMBENCH_CORPUS" >&2; exit 1; }
    bash "$mk" >&2
  fi
  WIMBENCH_CORPUS="$croot/corpus/A"
fi
tree=$WIMBENCH_CORPUS
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/wimbench.XXXXXX")}
trap 'rm -rf "$WORK"' EXIT
if [ -z "${WIMCONSOLE:-}" ]; then
  WIMCONSOLE=$WORK/wimconsole-cli
  (cd "$here" && go build -o "$WIMCONSOLE" ./cmd/wimconsole-cli)
fi
tree_bytes=$(du -sb "$tree" | cut -f1)
if [ -z "${WIMBENCH_APPLY_DIR:-}" ]; then
  WIMBENCH_APPLY_DIR=$WORK
  if [ -d /dev/shm ] && [ -w /dev/shm ] && [ "$(df --output=avail -B1 /dev/shm | tail -1)" -gt $((3 * tree_bytes)) ]; then
    WIMBENCH_APPLY_DIR=/dev/shm
  fi
fi
APPLY_TO=$(mktemp -d "$WIMBENCH_APPLY_DIR/wimbench-apply.XXXXXX")
trap 'rm -rf "$WORK" "$APPLY_TO"' EXIT
echo "# ours: $(basename "$WIMCONSOLE"): $("$WIMCONSOLE" version); wimlib: $(wimlib-imagex --version | head -1)"

# measure LABEL CMD... : runs CMD once, appends "seconds maxrss_kb user_s
# sys_s" to $WORK/LABEL
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/t.$$" "$@" >/dev/null 2>"$WORK/err.$$" || {
    echo "bench: $label failed: $*" >&2; cat "$WORK/err.$$" >&2; exit 1; }
  cat "$WORK/t.$$" >> "$WORK/$label"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
col() { awk -v c="$2" '{print $c}' "$WORK/$1" | median; }
# cpu LABEL: the median of user+sys seconds. On a shared machine the wall
# times swing with the load; CPU time much less.
cpu() { awk '{print $3+$4}' "$WORK/$1" | median; }

printf '%-18s %12s %9s %9s %6s %12s %12s %6s %9s %9s %9s %9s %6s\n' operation input_bytes ours_s wimlib_s ratio ours_out wimlib_out size_r ours_MiB wimlib_MiB ours_cpu wimlib_cpu cpu_r
row() { # NAME INPUT_BYTES OUT_OURS OUT_WIMLIB
  local o w
  o=$(col "$1.ours" 1); w=$(col "$1.wimlib" 1)
  local oc wc
  oc=$(cpu "$1.ours"); wc=$(cpu "$1.wimlib")
  printf '%-18s %12s %9.2f %9.2f %6.2f %12s %12s %6s %9.0f %9.0f %9.2f %9.2f %6.2f\n' "$1" "$2" "$o" "$w" \
    "$(awk -v a="$o" -v b="$w" 'BEGIN{print (b>0)?a/b:0}')" "${3:--}" "${4:--}" \
    "$( [ -n "${3:-}" ] && [ -n "${4:-}" ] && awk -v a="$3" -v b="$4" 'BEGIN{printf "%.3f", a/b}' || echo -)" \
    "$(awk -v k="$(col "$1.ours" 2)" 'BEGIN{print k/1024}')" "$(awk -v k="$(col "$1.wimlib" 2)" 'BEGIN{print k/1024}')" \
    "$oc" "$wc" "$(awk -v a="$oc" -v b="$wc" 'BEGIN{print (b>0)?a/b:0}')"
}

has() { "$WIMCONSOLE" "$1" --help >/dev/null 2>&1; }
rows=("$@")
[ ${#rows[@]} -gt 0 ] || rows=(capture-none capture-xpress capture-lzx capture-lzx-fast capture-lzx-slow apply-lzx apply-xpress apply-esd verify-lzx info export-raw export-recompress split add-image add-image-noverify regroup capture-lzms capture-solid wim-to-esd esd-to-wim)
treeB=$(dirname "$tree")/B treeC=$(dirname "$tree")/C
# cp_eq BYTES: what cp takes for BYTES, from cp of the reference WIM (printed
# at the end) — the bound for rows that mostly copy data.
cp_notes=()
# need_abc makes $WORK/abc.wim, editions A, B and C (LZX), when the corpus
# has trees B and C.
need_abc() {
  [ -d "$treeB" ] && [ -d "$treeC" ] || return 1
  if [ ! -f "$WORK/abc.wim" ]; then
    wimlib-imagex capture "$tree" "$WORK/abc.wim" A --compress=lzx >/dev/null
    wimlib-imagex append "$treeB" "$WORK/abc.wim" B >/dev/null
    wimlib-imagex append "$treeC" "$WORK/abc.wim" C >/dev/null
  fi
}

for c in xpress lzx; do
  [ -f "$WORK/ref-$c.wim" ] || wimlib-imagex capture "$tree" "$WORK/ref-$c.wim" bench --compress=$c >/dev/null
done
# The solid rows write ESD files: solid LZMS, 64 MiB chunks (both tools'
# default for --solid).
ours_solid=(--solid); wimlib_solid=(--solid)
for r in "${rows[@]}"; do
  case $r in
    capture-solid)
      for i in $(seq "$RUNS"); do
        rm -f "$WORK/o.esd" "$WORK/w.esd"
        measure "$r.ours" "$WIMCONSOLE" capture "$tree" "$WORK/o.esd" --name bench "${ours_solid[@]}"
        measure "$r.wimlib" wimlib-imagex capture "$tree" "$WORK/w.esd" bench "${wimlib_solid[@]}"
      done
      row "$r" "$tree_bytes" "$(stat -c %s "$WORK/o.esd")" "$(stat -c %s "$WORK/w.esd")" ;;
    wim-to-esd)
      for i in $(seq "$RUNS"); do
        rm -f "$WORK/o.esd" "$WORK/w.esd"
        measure "$r.ours" "$WIMCONSOLE" export "$WORK/ref-lzx.wim" all "$WORK/o.esd" "${ours_solid[@]}"
        measure "$r.wimlib" wimlib-imagex export "$WORK/ref-lzx.wim" all "$WORK/w.esd" "${wimlib_solid[@]}"
      done
      row "$r" "$(stat -c %s "$WORK/ref-lzx.wim")" "$(stat -c %s "$WORK/o.esd")" "$(stat -c %s "$WORK/w.esd")" ;;
    esd-to-wim)
      [ -f "$WORK/ref.esd" ] || wimlib-imagex capture "$tree" "$WORK/ref.esd" bench --solid >/dev/null
      for i in $(seq "$RUNS"); do
        rm -f "$WORK/o.wim" "$WORK/w.wim"
        measure "$r.ours" "$WIMCONSOLE" export "$WORK/ref.esd" 1 "$WORK/o.wim" --compress lzx
        measure "$r.wimlib" wimlib-imagex export "$WORK/ref.esd" 1 "$WORK/w.wim" --compress=lzx
      done
      row "$r" "$(stat -c %s "$WORK/ref.esd")" "$(stat -c %s "$WORK/o.wim")" "$(stat -c %s "$WORK/w.wim")" ;;
    capture-*)
      has capture || { echo "# $r: wimconsole has no capture yet" >&2; continue; }
      c=${r#capture-}
      cw=$c
      case $c in
        lzx-fast) c=lzx:fast cw=lzx:20 ;;
        lzx-slow) c=lzx:slow cw=lzx:100 ;;
      esac
      for i in $(seq "$RUNS"); do
        rm -f "$WORK/o.wim" "$WORK/w.wim"
        measure "$r.ours" "$WIMCONSOLE" capture "$tree" "$WORK/o.wim" --name bench --compress "$c"
        measure "$r.wimlib" wimlib-imagex capture "$tree" "$WORK/w.wim" bench --compress="$cw"
      done
      row "$r" "$tree_bytes" "$(stat -c %s "$WORK/o.wim")" "$(stat -c %s "$WORK/w.wim")" ;;
    apply-*)
      c=${r#apply-}
      src=$WORK/ref-$c.wim
      if [ "$c" = esd ]; then
        # An ESD as Microsoft ships them (solid LZMS): what an
        # administrator applies straight from an ISO.
        src=$WORK/ref.esd
        [ -f "$src" ] || wimlib-imagex capture "$tree" "$src" bench --solid >/dev/null
      fi
      # Each run extracts into $APPLY_TO/out after the previous run's tree
      # is deleted and sync has written out everything pending, so no run
      # pays for the writeback of the one before. On ext4 without a
      # journal, creating files soon after deleting many is slower (the
      # allocator steps over recently deleted inodes): the order alternates
      # so both tools meet it alike (tmpfs, the default, has no such cost).
      apply_run() { # LABEL CMD...
        rm -rf "$APPLY_TO/out"; sync
        measure "$@"
      }
      for i in $(seq "$RUNS"); do
        if [ $((i % 2)) = 1 ]; then
          apply_run "$r.ours" "$WIMCONSOLE" apply "$src" 1 "$APPLY_TO/out"
          apply_run "$r.wimlib" wimlib-imagex apply "$src" 1 "$APPLY_TO/out"
        else
          apply_run "$r.wimlib" wimlib-imagex apply "$src" 1 "$APPLY_TO/out"
          apply_run "$r.ours" "$WIMCONSOLE" apply "$src" 1 "$APPLY_TO/out"
        fi
      done
      rm -rf "$APPLY_TO/out"
      echo "# $r: extracted into $WIMBENCH_APPLY_DIR ($(df --output=fstype "$APPLY_TO" | tail -1))"
      row "$r" "$(stat -c %s "$src")" ;;
    verify-*)
      c=${r#verify-}
      for i in $(seq "$RUNS"); do
        measure "$r.ours" "$WIMCONSOLE" verify "$WORK/ref-$c.wim"
        measure "$r.wimlib" wimlib-imagex verify "$WORK/ref-$c.wim"
      done
      row "$r" "$(stat -c %s "$WORK/ref-$c.wim")" ;;
    info)
      # A multi-image WIM (editions A, B and C) when the corpus has them.
      f=$WORK/ref-lzx.wim
      if need_abc; then f=$WORK/abc.wim; fi
      for i in $(seq "$RUNS"); do
        measure "$r.ours" "$WIMCONSOLE" info "$f"
        measure "$r.wimlib" wimlib-imagex info "$f"
      done
      row "$r" "$(stat -c %s "$f")" ;;
    export-raw|export-recompress)
      has export || { echo "# $r: wimconsole has no export yet" >&2; continue; }
      if [ $r = export-raw ]; then oc=(--compress lzx); wc=(--compress=lzx); else oc=(--compress xpress); wc=(--compress=xpress); fi
      for i in $(seq "$RUNS"); do
        rm -f "$WORK/o.wim" "$WORK/w.wim"
        measure "$r.ours" "$WIMCONSOLE" export "$WORK/ref-lzx.wim" 1 "$WORK/o.wim" "${oc[@]}"
        measure "$r.wimlib" wimlib-imagex export "$WORK/ref-lzx.wim" 1 "$WORK/w.wim" "${wc[@]}"
      done
      row "$r" "$(stat -c %s "$WORK/ref-lzx.wim")" "$(stat -c %s "$WORK/o.wim")" "$(stat -c %s "$WORK/w.wim")" ;;
    split)
      # Parts of 100 MiB (a FAT32 stick takes 3.8 GiB ones; smaller parts
      # make several of them from the corpus), copied as stored.
      for i in $(seq "$RUNS"); do
        rm -rf "$WORK/so" "$WORK/sw"; mkdir -p "$WORK/so" "$WORK/sw"
        measure "$r.ours" "$WIMCONSOLE" split "$WORK/ref-lzx.wim" "$WORK/so/p.swm" --part-size 100M
        measure "$r.wimlib" wimlib-imagex split "$WORK/ref-lzx.wim" "$WORK/sw/p.swm" 100
      done
      row "$r" "$(stat -c %s "$WORK/ref-lzx.wim")" "$(cat "$WORK"/so/*.swm | wc -c)" "$(cat "$WORK"/sw/*.swm | wc -c)" ;;
    add-image|add-image-noverify)
      [ -d "$treeB" ] || { echo "# $r: no tree B next to $tree" >&2; continue; }
      skip=(); [ "$r" = add-image-noverify ] && skip=(--skip-verify)
      [ -f "$WORK/ref-B.wim" ] || wimlib-imagex capture "$treeB" "$WORK/ref-B.wim" B --compress=lzx >/dev/null
      for i in $(seq "$RUNS"); do
        rm -rf "$WORK/st" "$WORK/w.wim"
        "$WIMCONSOLE" --store "$WORK/st" add-image "$WORK/ref-lzx.wim" --group G >/dev/null
        cp "$WORK/ref-lzx.wim" "$WORK/w.wim"
        before_o=$(stat -c %s "$WORK/st/Images/G/Res.rwm"); before_w=$(stat -c %s "$WORK/w.wim")
        measure "$r.ours" "$WIMCONSOLE" --store "$WORK/st" add-image "$WORK/ref-B.wim" --group G --filename B "${skip[@]}"
        measure "$r.wimlib" wimlib-imagex export "$WORK/ref-B.wim" 1 "$WORK/w.wim"
      done
      grow_o=$(( $(stat -c %s "$WORK/st/Images/G/Res.rwm") + $(stat -c %s "$WORK/st/Images/G/B.wim") - before_o ))
      grow_w=$(( $(stat -c %s "$WORK/w.wim") - before_w ))
      cp_notes+=("$r writes $grow_o bytes")
      row "$r" "$(stat -c %s "$WORK/ref-B.wim")" "$grow_o" "$grow_w" ;;
    regroup)
      need_abc || { echo "# $r: no trees B and C next to $tree" >&2; continue; }
      for i in $(seq "$RUNS"); do
        rm -rf "$WORK/st" "$WORK/w.wim" "$WORK/wd.wim"
        "$WIMCONSOLE" --store "$WORK/st" add-image "$WORK/abc.wim" --group G --skip-verify >/dev/null
        b=$("$WIMCONSOLE" --store "$WORK/st" get-all-images --group G --json | python3 -c 'import json,sys; print([i["file"] for i in json.load(sys.stdin) if i["name"]=="B"][0])')
        "$WIMCONSOLE" --store "$WORK/st" remove-image "G/$b" >/dev/null
        cp "$WORK/abc.wim" "$WORK/wd.wim"
        wimlib-imagex delete "$WORK/wd.wim" B --soft >/dev/null
        measure "$r.ours" "$WIMCONSOLE" --store "$WORK/st" regroup G
        measure "$r.wimlib" wimlib-imagex export "$WORK/wd.wim" all "$WORK/w.wim"
      done
      out_o=$(du -cb "$WORK/st/Images/G/"*.rwm "$WORK/st/Images/G/"*.wim | tail -1 | cut -f1)
      cp_notes+=("regroup writes $out_o bytes")
      row "$r" "$(stat -c %s "$WORK/abc.wim")" "$out_o" "$(stat -c %s "$WORK/w.wim")" ;;
    *) echo "bench: unknown row $r" >&2; exit 2 ;;
  esac
done
# The machine's own limits on the same data.
f=$WORK/ref-lzx.wim
s=$( { /usr/bin/time -f %e cp "$f" "$WORK/cp.tmp"; } 2>&1 ); rm -f "$WORK/cp.tmp"
# cp + fsync: what a copy that must be on disk when it returns takes (the
# store's writes must be: add-image syncs what it appends).
sync
sf=$( { /usr/bin/time -f %e sh -c 'cp "$1" "$2" && sync "$2"' sh "$f" "$WORK/cp.tmp"; } 2>&1 ); rm -f "$WORK/cp.tmp"
h=$( { /usr/bin/time -f %e sha1sum "$f" >/dev/null; } 2>&1 )
echo "# cp of $(stat -c %s "$f") bytes: ${s}s (with fsync: ${sf}s); sha1sum: ${h}s; $(nproc) cores"
for n in "${cp_notes[@]}"; do
  bytes=${n##* writes }; bytes=${bytes% bytes}
  echo "# $n; cp of as many bytes: $(awk -v s="$s" -v b="$bytes" -v t="$(stat -c %s "$f")" 'BEGIN{printf "%.2f", s*b/t}')s, with fsync: $(awk -v s="$sf" -v b="$bytes" -v t="$(stat -c %s "$f")" 'BEGIN{printf "%.2f", s*b/t}')s"
done
