# A test cluster on this machine, for end-to-end tests and for trying the operator by hand:
# kube-test-apiserver + kube-test-controllers (Deployments -> ReplicaSets -> Pods, Endpoints) +
# kube-test-kubelet (pods as processes in their own network namespaces). Sourced; uses the
# caller's die, show and now_ms (test/e2e/lib.sh).
#
#   cluster_up BIN_DIR WORK_DIR     starts the three (BIN_DIR holds kube-test-apiserver,
#                                   kube-test-controllers, kube-test-kubelet and flink-cpp; the
#                                   API server is advertised to pods at the kubelet's bridge
#                                   address 198.18.0.1);
#                                   sets CLUSTER_PIDS and exports KUBECONFIG
#   cluster_down                    stops them (the kubelet stops its pods first)
#   cluster_netns_permitted         true when `ip netns add` works here (the kubelet needs it)

CLUSTER_PIDS=()

cluster_netns_permitted() {
  local probe=ktc-probe-$$
  ip netns add "$probe" 2>/dev/null || return 1
  ip netns del "$probe"
}

# cluster_wait_line FILE PATTERN WHAT: waits (30 s) for a line matching PATTERN in FILE.
cluster_wait_line() {
  local limit=$(( $(now_ms) + 30000 ))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ "$(now_ms)" -lt "$limit" ] || { show "$1"; die "$3 did not start"; }
    sleep 0.1
  done
}

cluster_up() {
  local bin=$1 work=$2
  mkdir -p "$work"
  "$bin/kube-test-apiserver" --port 0 --dir "$work/apiserver" --advertise-address 198.18.0.1 > "$work/apiserver.out" 2> "$work/apiserver.log" &
  CLUSTER_PIDS+=($!)
  cluster_wait_line "$work/apiserver.out" '^ready ' "the test API server"
  export KUBECONFIG=$work/apiserver/kubeconfig KUBECACHEDIR=$work/kubecache
  "$bin/kube-test-controllers" --kubeconfig "$KUBECONFIG" > "$work/controllers.log" 2>&1 &
  CLUSTER_PIDS+=($!)
  cluster_wait_line "$work/controllers.log" 'controllers running' "kube-test-controllers"
  "$bin/kube-test-kubelet" --kubeconfig "$KUBECONFIG" --flink-cpp "$bin/flink-cpp" --work-dir "$work/pods" \
    > "$work/kubelet.out" 2> "$work/kubelet.log" &
  CLUSTER_PIDS+=($!)
  cluster_wait_line "$work/kubelet.out" '^ready ' "kube-test-kubelet"
}

cluster_down() {
  local i
  # In reverse: the kubelet stops its pods, then the controllers, then the API server.
  for ((i = ${#CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${CLUSTER_PIDS[i]}" 2>/dev/null || true
    wait "${CLUSTER_PIDS[i]}" 2>/dev/null || true
  done
  CLUSTER_PIDS=()
}
