#!/bin/sh
# Regenerates the fixtures several packages' tests share (see README.md).
# Run from anywhere: testdata/make.sh. Needs wimlib-imagex (Debian: wimtools).
#
# The source tree gets fixed timestamps, so the images' contents, names and
# file times are the same on every run; the WIM files are not byte for byte:
# wimlib-imagex gives each new WIM a random GUID and stamps the capture time
# in its XML, and it has no option to fix either.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A minimal install tree: two files, 2026-01-01 00:00:00 UTC.
mkdir -p "$tmp/src/Windows/System32"
printf '[fonts]\n' >"$tmp/src/Windows/win.ini"
i=0
while [ $i -lt 100 ]; do printf 'driver\n'; i=$((i + 1)); done >"$tmp/src/Windows/System32/drivers.txt"
find "$tmp/src" -exec touch -h -d '2026-01-01 00:00:00 UTC' {} +

# install.wim: two images of that tree (LZX, wimlib's default).
rm -f install.wim server.wim
wimlib-imagex capture "$tmp/src" install.wim "Windows 11 Pro" >/dev/null
wimlib-imagex append "$tmp/src" install.wim "Windows 11 Enterprise" >/dev/null
# server.wim: one image of the same tree.
wimlib-imagex capture "$tmp/src" server.wim "Windows Server 2025" >/dev/null

# ImageUnattend.xml: the smallest answer file the store accepts.
printf '<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"/>\n' >ImageUnattend.xml
ls -l install.wim server.wim ImageUnattend.xml
