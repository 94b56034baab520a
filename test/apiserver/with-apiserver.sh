#!/usr/bin/env bash
# Runs a command against a Kubernetes API server: a fresh kube-test-apiserver (the default) or,
# when E2E_KUBECONFIG is set, the real cluster that kubeconfig points at. The command sees
#   KUBECONFIG    the kubeconfig to use
#   KUBECACHEDIR  a private kubectl discovery cache (test servers reuse ports)
#   E2E_TARGET    "test-server" or "cluster", for checks only one of them can pass
# usage: with-apiserver.sh [--server BINARY] [SERVER FLAGS...] -- COMMAND [ARGS...]
#   BINARY defaults to $KUBE_TEST_APISERVER, else build/bin/kube-test-apiserver of this checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${KUBE_TEST_APISERVER:-$ROOT/build/bin/kube-test-apiserver}
SERVER_ARGS=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  if [ "$1" = "--server" ]; then BIN=$2; shift 2; else SERVER_ARGS+=("$1"); shift; fi
done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [--server BINARY] [SERVER FLAGS...] -- COMMAND [ARGS...]" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/with-apiserver.XXXXXX")
export KUBECACHEDIR="$WORK/kube-cache"
if [ -n "${E2E_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$E2E_KUBECONFIG E2E_TARGET=cluster
  status=0
  "$@" || status=$?
  rm -rf "$WORK"
  exit $status
fi

"$BIN" --port 0 --dir "$WORK" "${SERVER_ARGS[@]}" > "$WORK/stdout" 2> "$WORK/server.log" &
PID=$!
stop() {
  kill -TERM "$PID" 2> /dev/null || true
  wait "$PID" 2> /dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT
for _ in $(seq 200); do
  grep -q '^ready ' "$WORK/stdout" && break
  kill -0 "$PID" 2> /dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.05
done
grep -q '^ready ' "$WORK/stdout" || { echo "kube-test-apiserver did not become ready" >&2; exit 1; }
export KUBECONFIG="$WORK/kubeconfig" E2E_TARGET=test-server
"$@"
