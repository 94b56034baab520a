#!/usr/bin/env bash
# cluster_e2e.sh's real-cluster mode (E2E_KUBECONFIG, cluster_target.sh), run against the
# project's own test cluster (test/cluster: kube-test-apiserver, kube-test-controllers,
# kube-test-kubelet) standing in for a real one: the operator is installed by helm from
# charts/flink-operator as a pod of the cluster (its RBAC, its admission webhook reached through
# the webhook Service's EndpointSlice), the REST API is read through `kubectl port-forward`, logs
# through `kubectl logs`, the TaskManager is killed through `kubectl exec`.
#
# usage: cluster_real_mode_e2e.sh BIN_DIR SOURCE_DIR WORKDIR CASE
#   BIN_DIR holds flink-cpp, kube-test-apiserver, kube-test-controllers and kube-test-kubelet.
# The images: the test kubelet runs `flink-cpp` and `flink-cpp-operator` images (any tag) as
# BIN_DIR/flink-cpp. E2E_SHARED_DIR: WORKDIR/real-mode-shared (the pods see the host's files).
# Exit 77 (skipped) without kubectl, helm (scripts/install-tools.sh helm) or network namespaces.
set -euo pipefail
BIN_DIR=$(cd "$1" && pwd) ROOT=$(cd "$2" && pwd) WORKDIR=$3 VARIANT=$4
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "FAIL real-mode $VARIANT: $*" >&2; exit 1; }
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=../cluster/cluster.sh
. "$HERE/../cluster/cluster.sh"

command -v kubectl > /dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
cluster_netns_permitted || { echo "SKIP: ip netns add is not permitted here"; exit 77; }
if ! command -v helm > /dev/null; then
  tools=$(bash "$ROOT/scripts/install-tools.sh" --print-path helm 2> /dev/null) || { echo "SKIP: no helm"; exit 77; }
  PATH=$PATH:$tools  # after the system's kubectl, if there is one
fi

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
WORK=$WORKDIR/real-mode-$VARIANT
rm -rf "$WORK" && mkdir -p "$WORK/shared"
trap cluster_down EXIT
cluster_up "$BIN_DIR" "$WORK/cluster"
echo "  test cluster up (logs in $WORK/cluster); cluster_e2e.sh $VARIANT in real-cluster mode"

rc=0
env -u KUBECONFIG -u KUBECACHEDIR E2E_KUBECONFIG="$KUBECONFIG" \
  E2E_RUNTIME_IMAGE=flink-cpp:e2e E2E_OPERATOR_IMAGE=registry.example/flink-cpp-operator:e2e \
  E2E_SHARED_DIR="$WORK/shared" \
  bash "$HERE/cluster_e2e.sh" "$BIN_DIR" "$ROOT" "$WORK/e2e" "$VARIANT" || rc=$?
[ $rc = 0 ] || show "$WORK/cluster/kubelet.log" 30
exit $rc
