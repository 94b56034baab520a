#!/usr/bin/env bash
# Installs the Debian packages the project builds and tests with.
# Idempotent and silent when everything is already present; needs root (or sudo) otherwise.
# --fuzz: the libFuzzer build's compiler and runtime (Debian's clang 14) as well.
set -euo pipefail

PACKAGES=(
  g++ cmake make pkg-config ccache
  libcpp-httplib-dev nlohmann-json3-dev libssl-dev libboost-dev
  libfmt-dev catch2 prometheus-cpp-dev libyaml-cpp-dev zlib1g-dev
  sqlite3 procps curl openssl
)
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang-14 libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm build the web dashboard (scripts/build-dashboard.sh); a node from elsewhere
# (e.g. a nodejs package that bundles npm) is kept.
command -v node > /dev/null || missing+=(nodejs)
command -v npm > /dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
