# shellcheck shell=bash
# Shared by the packaging tests: sourced with SRC (the repository root) set.
# Puts the project's tools (scripts/install-tools.sh) first on PATH, installing what is missing.
set -euo pipefail
fail() { echo "FAIL: $*"; exit 1; }
step() { echo "== $*"; }
# tools TOOL...: install (quietly, idempotently) and put the tools dir first on PATH.
tools() {
  local bin
  bin=$(bash "$SRC/scripts/install-tools.sh" --print-path "$@") || fail "scripts/install-tools.sh $*"
  export PATH="$bin:$PATH"
  NODE_PATH="$(dirname "$bin")/node/node_modules${NODE_PATH:+:$NODE_PATH}"
  export NODE_PATH
}
# A work dir removed at exit; HOME inside it keeps helm and kubectl away from the user's config.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/flink-cpp-packaging.XXXXXX")
CLEANUP=()
cleanup() {
  local c
  for c in "${CLEANUP[@]+"${CLEANUP[@]}"}"; do eval "$c" || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export HELM_CACHE_HOME="$WORK/helm/cache" HELM_CONFIG_HOME="$WORK/helm/config" HELM_DATA_HOME="$WORK/helm/data"
CHART="$SRC/charts/flink-operator"
RELEASE_NS=flink-system
# render NAME [helm args...]: helm template into $WORK/NAME.yaml (release flink-operator in flink-system).
render() {
  local name=$1; shift
  helm template flink-operator "$CHART" --namespace "$RELEASE_NS" "$@" > "$WORK/$name.yaml" 2> "$WORK/$name.err" ||
    fail "helm template $*: $(cat "$WORK/$name.err")"
}
