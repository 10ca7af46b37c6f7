#!/usr/bin/env bash
# Install what building the proxy needs, only if it is missing.
# Debian 13 / Ubuntu 24.04 / Homebrew ship everything; Debian 12 takes llhttp and yyjson from trixie
# (from the machine's own Debian mirror, see debian-mirror.sh), pinned low so nothing else moves (they need
# only an old libc).
set -euo pipefail

have_all() {
  command -v cmake >/dev/null && command -v cc >/dev/null && command -v pkg-config >/dev/null &&
    command -v node >/dev/null && command -v npm >/dev/null &&
    pkg-config --exists libuv libllhttp yyjson libcrypto cmocka &&
    { pkg-config --exists libwslay || [ -f /usr/include/wslay/wslay.h ] || [ -f /opt/homebrew/include/wslay/wslay.h ] || [ -f /usr/local/include/wslay/wslay.h ]; }
}
have_all && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if [ "$(uname)" = Darwin ]; then
  brew install cmake pkg-config libuv llhttp yyjson wslay openssl@3 cmocka node
  exit 0
fi

command -v apt-get >/dev/null || { echo "install-deps: no apt-get or brew; install libuv, llhttp, yyjson, wslay, openssl, cmocka, cmake, node by hand" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt_install() { $SUDO apt-get install -y -q --no-install-recommends "$@"; }

$SUDO apt-get update -q
apt_install build-essential cmake pkg-config libuv1-dev libwslay-dev libssl-dev libcmocka-dev ca-certificates

if ! apt-cache show libllhttp-dev >/dev/null 2>&1 || ! apt-cache show libyyjson-dev >/dev/null 2>&1; then
  . /etc/os-release
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    # From the mirror this machine's apt already uses, not one of ours.
    mirror=$("$(dirname "$0")/debian-mirror.sh")
    echo "install-deps: Debian 12 lacks llhttp/yyjson; adding trixie from $mirror, pinned to 100 (only what we name)"
    $SUDO tee /etc/apt/sources.list.d/trixie-for-claude-ws-proxy.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    $SUDO tee /etc/apt/preferences.d/trixie-for-claude-ws-proxy >/dev/null <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
    $SUDO apt-get update -q
  fi
fi
apt_install libllhttp-dev libyyjson-dev

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
