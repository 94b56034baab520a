#!/usr/bin/env bash
# Starts a test cluster on this machine (test/cluster/cluster.sh) and keeps it up until Ctrl-C:
#   test/cluster/up.sh [BUILD_DIR] [WORK_DIR]       (defaults: build, /tmp/flink-cpp-cluster)
# then, in another shell: export KUBECONFIG=WORK_DIR/apiserver/kubeconfig; kubectl apply -f crds/;
# build/bin/flink-cpp operator & kubectl apply -f examples/flight-delays.yaml; kubectl get pods.
# Needs root (network namespaces).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${1:-$HERE/../../build}" && pwd)
WORK=${2:-/tmp/flink-cpp-cluster}
die() { echo "error: $*" >&2; exit 1; }
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"
# shellcheck source=cluster.sh
. "$HERE/cluster.sh"
cluster_netns_permitted || die "cannot create network namespaces here (run as root)"
rm -rf "$WORK"
trap cluster_down EXIT
trap 'exit 0' INT TERM
cluster_up "$BUILD/bin" "$WORK"
echo "test cluster up: node test-node Ready; logs in $WORK"
echo "export KUBECONFIG=$KUBECONFIG"
while sleep 3600; do :; done
