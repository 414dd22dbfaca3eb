#!/bin/sh
# Peak memory of wimconsole-cli and wimlib-imagex on the hostile files of
# engine/wim/hostilefiles_test.go: for each file and command (dir, info,
# verify), the maximum resident set size /usr/bin/time -v reports and the
# exit status. HOSTILE_DIR (default /tmp/hostile-wims) holds the files,
# written on first use; WIMCONSOLE_CLI names the binary to measure (default:
# built from this tree).
set -eu
cd "$(dirname "$0")/.."
dir=${HOSTILE_DIR:-/tmp/hostile-wims}
if [ ! -f "$dir/meta-1g.wim" ]; then
	WIMCONSOLE_HOSTILE_DIR=$dir go test -tags libwim -count=1 -run TestWriteHostileFiles ./engine/wim/ >/dev/null
fi
cli=${WIMCONSOLE_CLI:-}
if [ -z "$cli" ]; then
	cli=$(mktemp -d)/wimconsole-cli
	go build -o "$cli" ./cmd/wimconsole-cli
fi
rss() { # tool command file: prints "peak-MB exit"
	out=$(mktemp)
	/usr/bin/time -v "$@" >/dev/null 2>"$out" || true
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out")
	st=$(sed -n 's/.*Exit status: //p' "$out")
	rm -f "$out"
	echo "$((kb / 1024)) MB (exit $st)"
}
printf '%-24s %-7s %-20s %-20s\n' file command wimconsole-cli wimlib-imagex
for f in "$dir"/*.wim; do
	for c in dir info verify; do
		img=1
		[ "$c" != dir ] && img=
		printf '%-24s %-7s %-20s %-20s\n' "$(basename "$f")" "$c" \
			"$(rss "$cli" "$c" "$f" $img)" "$(rss wimlib-imagex "$c" "$f" $img)"
	done
done
