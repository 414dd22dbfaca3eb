#!/usr/bin/env bash
# install-deps.sh - install the system packages WIM Console needs, only those
# that are missing.
#
#   scripts/install-deps.sh build   what building and running the console needs
#                                   (C compiler and the GL/X11/Wayland/GTK headers
#                                   Fyne and sqweek/dialog link against)
#   scripts/install-deps.sh test    the above, plus the test oracles: wimtools
#                                   (wimlib-imagex), libwim-dev, ntfs-3g, libhivex, p7zip-full (7z), attr,
#                                   Xvfb, xdotool and ImageMagick for the window test,
#                                   and SeaweedFS (scripts/seaweedfs.sh build: the
#                                   image library's S3 engine, built once into a cache)
#
# Debian and Ubuntu only (apt). Uses sudo when not run as root. On other systems
# it prints what to install by hand and exits non-zero if anything is missing.
set -euo pipefail

BUILD_PKGS=(gcc pkg-config libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev
  libxinerama-dev libxi-dev libxxf86vm-dev libxkbcommon-dev libwayland-dev libgtk-3-dev
  libhivex-dev)
TEST_PKGS=(wimtools libwim-dev ntfs-3g libhivex-bin p7zip-full attr xvfb xauth xdotool
  imagemagick libgl1-mesa-dri)

case "${1:-build}" in
  build) want=("${BUILD_PKGS[@]}") ;;
  test) want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  cat >&2 <<'MSG'
install-deps: this is not a Debian/Ubuntu system; install by hand:
  build: a C compiler, pkg-config, and the OpenGL, X11 (Xcursor, Xrandr, Xinerama,
         Xi, Xxf86vm), xkbcommon, Wayland and GTK 3 development files
         (Fedora: dnf install gcc pkgconf-pkg-config mesa-libGL-devel libX11-devel
          libXcursor-devel libXrandr-devel libXinerama-devel libXi-devel
          libXxf86vm-devel libxkbcommon-devel wayland-devel gtk3-devel;
          macOS: Xcode command line tools; Windows: a gcc such as MSYS2 mingw-w64)
  test:  wimlib (wimlib-imagex and its library headers), ntfs-3g, hivex,
         Xvfb, xdotool and ImageMagick
MSG
  exit 0
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# The image library's tests run against a real SeaweedFS (weed), built from
# source once and reused from the cache.
weed() {
  if [ "${1:-build}" = test ]; then
    "$(dirname "$0")/seaweedfs.sh" build >/dev/null
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  weed "${1:-build}"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
weed "${1:-build}"
