# shellcheck shell=bash
# Where cluster_e2e.sh runs FlinkDeployments, and the operations that differ between the two
# places (sourced after lib.sh; uses the caller's die, show, now_ms, wait_for, DIR and ROOT).
#
#   test cluster (default): test/cluster/cluster.sh on this machine. Pods are processes on the
#     host (logs under DIR/cluster/pods), reachable at their pod IPs; the operator runs here.
#   real cluster (E2E_KUBECONFIG set): a fresh namespace of that kubeconfig's current context;
#     the operator runs in it (charts/flink-operator, image E2E_OPERATOR_IMAGE), the Flink pods
#     run E2E_RUNTIME_IMAGE and share E2E_SHARED_DIR with this host through a hostPath volume;
#     the test reads pod logs with `kubectl logs` and the REST API through `kubectl port-forward`.
#
#   target_check                   exits 77 (with the reason) when the target cannot be used
#   target_dir WORKDIR NAME        prints the run's directory: WORKDIR/NAME, or E2E_SHARED_DIR/NAME
#   target_up BIN_DIR NAME         starts the test cluster, or creates namespace NAME; exports
#                                  KUBECONFIG (the namespace is its context's); applies crds/
#   target_down                    stops what target_up and the other functions started; in real
#                                  mode deletes the FlinkDeployments and the namespace
#   target_start_operator          starts the operator; target_kill_operator kills it (SIGKILL
#                                  here; the pod force-deleted on a real cluster, which the
#                                  operator's Deployment replaces: target_start_operator waits)
#   target_operator_log            brings DIR/operator.log up to date (real: kubectl logs)
#   target_pod_template            spec lines of the FlinkDeployment: the podTemplate mounting
#                                  DIR at the same path (hostPath); real: imagePullPolicy too
#                                  (and target_check sets lib.sh's MANIFEST_IMAGE)
#   target_pod_log POD             prints the path of a file holding POD's main container log
#                                  (every run of the container)
#   target_pod_logs PREFIX         the same for every pod whose name starts with PREFIX (test
#                                  cluster: also pods already gone)
#   target_kill_main_container POD SIGKILLs the flink-cpp process of POD's main container; sets
#                                  KILLED_PID
#   target_rest POD                sets REST to a base URL of POD's port 8081 from this host

REAL_CLUSTER=${E2E_KUBECONFIG:+1}
OPERATOR_PID=""
OPERATOR_SELECTOR=app.kubernetes.io/name=flink-operator,app.kubernetes.io/instance=flink-operator
KILLED_OPERATOR_POD=""
PORT_FORWARD_PID=""

target_check() {
  command -v kubectl > /dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
  if [ -z "$REAL_CLUSTER" ]; then
    cluster_netns_permitted || { echo "SKIP: ip netns add is not permitted here"; exit 77; }
    return 0
  fi
  local missing="" v
  for v in E2E_RUNTIME_IMAGE E2E_OPERATOR_IMAGE E2E_SHARED_DIR; do [ -n "${!v:-}" ] || missing+=" $v"; done
  [ -z "$missing" ] || { echo "SKIP: a real cluster (E2E_KUBECONFIG) needs$missing (test/e2e/README.md)"; exit 77; }
  command -v helm > /dev/null || { echo "SKIP: a real cluster needs helm (the operator is installed with charts/flink-operator)"; exit 77; }
  [[ "$E2E_SHARED_DIR" == /* && -d "$E2E_SHARED_DIR" ]] \
    || { echo "SKIP: E2E_SHARED_DIR '$E2E_SHARED_DIR' is not an absolute path of a directory"; exit 77; }
  # shellcheck disable=SC2034  # read by lib.sh's flight_delays_manifest
  MANIFEST_IMAGE=$E2E_RUNTIME_IMAGE
  # A quarter core per pod (requests = limits): the JobManager and up to 3 TaskManagers of an
  # upgrade fit a small node beside the system pods (E2E_CPU to change it).
  # shellcheck disable=SC2034
  MANIFEST_CPU=${E2E_CPU:-0.25}
}

target_dir() {
  if [ -n "$REAL_CLUSTER" ]; then echo "$E2E_SHARED_DIR/$2"; else echo "$1/$2"; fi
}

target_up() {
  local bin=$1
  if [ -z "$REAL_CLUSTER" ]; then
    NAMESPACE=default
    cluster_up "$bin" "$DIR/cluster"
  else
    # The pods run as the image's user (uid 9999) and write into DIR.
    chmod 0777 "$DIR"
    # A self-contained copy (certificates inlined), readable by this user only and outside DIR,
    # which the pods see.
    local kc="$WORKDIR/kubeconfig-$2"
    (umask 077 && kubectl --kubeconfig "$E2E_KUBECONFIG" config view --raw --minify --flatten > "$kc") \
      || die "cannot read the kubeconfig $E2E_KUBECONFIG"
    export KUBECONFIG=$kc KUBECACHEDIR=$WORKDIR/kubecache
    kubectl create namespace "$2" > /dev/null || die "cannot create namespace $2"
    NAMESPACE=$2  # (set once created: target_down deletes it)
    kubectl config set-context --current --namespace="$NAMESPACE" > /dev/null
    # hostPath volumes are refused by the baseline and restricted Pod Security levels.
    kubectl label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=privileged > /dev/null \
      || die "cannot label namespace $NAMESPACE for hostPath volumes"
  fi
  kubectl apply -f "$ROOT/crds/" > /dev/null
  wait_for 30 "the FlinkDeployment API" kubectl get flinkdeployments
}

target_down() {
  stop_port_forward
  if [ -n "$OPERATOR_PID" ]; then kill -TERM "$OPERATOR_PID" 2> /dev/null || true; wait "$OPERATOR_PID" 2> /dev/null || true; fi
  if [ -z "$REAL_CLUSTER" ]; then
    cluster_down
    return 0
  fi
  [ -n "${NAMESPACE:-}" ] || return 0
  target_operator_log
  local k="kubectl -n $NAMESPACE" r
  # With the operator still running, so that it removes its finalizers; then without them.
  $k delete flinkstatesnapshots,flinkdeployments --all --timeout=60s > /dev/null 2>&1 || true
  for r in $($k get flinkstatesnapshots,flinkdeployments -o name 2> /dev/null); do
    $k patch "$r" --type=merge -p '{"metadata":{"finalizers":null}}' > /dev/null 2>&1 || true
  done
  kubectl delete namespace "$NAMESPACE" --wait=false > /dev/null 2>&1 || true
}

# helm_image_values KEY IMAGE: --set arguments for the chart's KEY.repository/tag/digest.
helm_image_values() {
  local key=$1 image=$2
  if [[ "$image" == *@* ]]; then
    echo "--set $key.repository=${image%@*} --set $key.digest=${image#*@}"
  elif [[ "${image##*/}" == *:* ]]; then
    echo "--set $key.repository=${image%:*} --set $key.tag=${image##*:}"
  else
    echo "--set $key.repository=$image"
  fi
}

target_start_operator() {
  if [ -z "$REAL_CLUSTER" ]; then
    "$BIN_DIR/flink-cpp" operator --namespaces default --metrics-port 0 --jobmanager-address pod-ip >> "$DIR/operator.log" 2>&1 &
    OPERATOR_PID=$!
    wait_for 30 "the operator" grep -q 'operator started' "$DIR/operator.log"
  elif [ -z "$KILLED_OPERATOR_POD" ]; then
    # In the cluster, it reaches the JobManagers by their Services' DNS names (the default
    # --jobmanager-address service); it watches only this namespace (namespaced RBAC).
    # shellcheck disable=SC2046  # word splitting of the --set arguments is meant
    helm install flink-operator "$ROOT/charts/flink-operator" --namespace "$NAMESPACE" --skip-crds \
      --set "watchNamespaces={$NAMESPACE}" $(helm_image_values image "$E2E_OPERATOR_IMAGE") \
      --wait --timeout 300s > "$DIR/helm.log" 2>&1 || { show "$DIR/helm.log"; die "helm install of the operator failed"; }
  else
    new_operator_ready() {
      kubectl get pods -l "$OPERATOR_SELECTOR" \
        -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
        grep -v "^$KILLED_OPERATOR_POD " | grep -q ' True$'
    }
    wait_for 180 "a new operator pod Ready after $KILLED_OPERATOR_POD" new_operator_ready
  fi
}

target_kill_operator() {
  if [ -z "$REAL_CLUSTER" ]; then
    kill -KILL "$OPERATOR_PID"
    wait "$OPERATOR_PID" 2> /dev/null || true
    OPERATOR_PID=""
    return 0
  fi
  # kubectl exec cannot SIGKILL a container's PID 1 (the kernel protects a PID namespace's
  # init): the pod is force-deleted instead and its Deployment starts another.
  KILLED_OPERATOR_POD=$(kubectl get pods -l "$OPERATOR_SELECTOR" -o jsonpath='{.items[0].metadata.name}')
  kubectl delete pod "$KILLED_OPERATOR_POD" --grace-period=0 --force --wait=false > /dev/null 2>&1 \
    || die "cannot delete the operator pod '$KILLED_OPERATOR_POD'"
}

target_operator_log() {
  [ -z "$REAL_CLUSTER" ] || kubectl logs -l "$OPERATOR_SELECTOR" --tail=-1 --prefix > "$DIR/operator.log" 2>&1 || true
}

target_pod_template() {
  cat <<EOF
  podTemplate:
    spec:${REAL_CLUSTER:+
      shareProcessNamespace: true}
      containers:
        - name: flink-main-container
          volumeMounts:
            - {name: e2e-shared, mountPath: $(q "$DIR")}
      volumes:
        - name: e2e-shared
          hostPath: {path: $(q "$DIR"), type: Directory}
EOF
  # (shareProcessNamespace: kubectl exec can then SIGKILL flink-cpp, which is no longer the
  # PID namespace's init. IfNotPresent: images loaded into the nodes, e.g. `kind load`, even
  # when tagged latest.)
  [ -z "$REAL_CLUSTER" ] || echo "  imagePullPolicy: IfNotPresent"
}

target_pod_log() {
  if [ -z "$REAL_CLUSTER" ]; then
    echo "$DIR/cluster/pods/$NAMESPACE/$1/flink-main-container.log"
    return 0
  fi
  mkdir -p "$DIR/pod-logs"
  {
    kubectl logs "$1" -c flink-main-container --previous 2> /dev/null || true
    kubectl logs "$1" -c flink-main-container 2> /dev/null || true
  } > "$DIR/pod-logs/$1.log"
  echo "$DIR/pod-logs/$1.log"
}

target_pod_logs() {
  if [ -z "$REAL_CLUSTER" ]; then
    printf '%s\n' "$DIR/cluster/pods/$NAMESPACE/$1"*/*.log
    return 0
  fi
  local pod
  for pod in $(kubectl get pods -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}' | grep "^$1"); do
    target_pod_log "$pod"
  done
}

target_kill_main_container() {
  local pod=$1
  if [ -z "$REAL_CLUSTER" ]; then
    local ip
    ip=$(kubectl get pod "$pod" -o jsonpath='{.status.podIP}')
    # (Native mode's pods have more arguments after the host.)
    KILLED_PID=$(pgrep -f "flink-cpp taskmanager -Dtaskmanager.host=$ip( |\$)" | head -n 1 || true)
    [ -n "$KILLED_PID" ] || die "no TaskManager process for pod $pod ($ip)"
    kill -KILL "$KILLED_PID"
    return 0
  fi
  # The pod shares one PID namespace between its containers (target_pod_template): flink-cpp
  # is not its init, so a SIGKILL from kubectl exec reaches it.
  # shellcheck disable=SC2016  # expanded by the pod's bash
  KILLED_PID=$(kubectl exec "$pod" -c flink-main-container -- bash -c \
    'for f in /proc/[0-9]*/comm; do read -r c < "$f" && [ "$c" = flink-cpp ] && { p=${f#/proc/}; echo "${p%/comm}"; }; done' \
    2> /dev/null | head -n 1 || true)
  [ -n "$KILLED_PID" ] || die "no flink-cpp process in pod $pod"
  # (The exec ends with the container: its status says nothing.)
  kubectl exec "$pod" -c flink-main-container -- bash -c "kill -KILL $KILLED_PID" > /dev/null 2>&1 || true
}

# target_kill_jobmanager POD: SIGKILL the JobManager process of POD (sets KILLED_PID). On the
# test cluster the pod's processes share this host's PID namespace: the one whose environment
# holds the pod's IP (the downward-API variable every Flink container gets).
target_kill_jobmanager() {
  local pod=$1
  if [ -z "$REAL_CLUSTER" ]; then
    local ip p
    ip=$(kubectl get pod "$pod" -o jsonpath='{.status.podIP}')
    KILLED_PID=""
    for p in $(pgrep -f 'flink-cpp (standalone-job|jobmanager)' || true); do
      if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "_POD_IP_ADDRESS=$ip"; then KILLED_PID=$p; break; fi
    done
    [ -n "$KILLED_PID" ] || die "no JobManager process for pod $pod ($ip)"
    kill -KILL "$KILLED_PID"
    return 0
  fi
  target_kill_main_container "$pod"
}

target_rest() {
  local pod=$1
  if [ -z "$REAL_CLUSTER" ]; then
    local ip
    ip=$(kubectl get pod "$pod" -o jsonpath='{.status.podIP}')
    [[ "$ip" == 198.1[89].* ]] || die "JobManager pod IP '$ip' is not in 198.18.0.0/15"
    REST=http://$ip:8081
    return 0
  fi
  stop_port_forward
  : > "$DIR/port-forward.log"
  # kubectl port-forward exits when it loses a connection to the pod: started again, on the
  # local port it chose first. In its own session, so that target_down ends the loop and kubectl.
  # shellcheck disable=SC2016  # expanded by the inner bash
  setsid bash -c 'port=""
    while kill -0 "$3" 2> /dev/null; do  # (ends with the test, even when its EXIT trap did not run)
      kubectl port-forward --address 127.0.0.1 "pod/$1" "$port:8081" >> "$2" 2>&1
      port=$(sed -n "s/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p" "$2" | head -n 1)
      sleep 1
    done' port-forward "$pod" "$DIR/port-forward.log" "$$" &
  PORT_FORWARD_PID=$!
  forwarding() { grep -q '^Forwarding from 127.0.0.1:' "$DIR/port-forward.log"; }
  wait_for 30 "kubectl port-forward to $pod" forwarding
  REST=http://$(sed -n 's/^Forwarding from \(127\.0\.0\.1:[0-9]*\) .*/\1/p' "$DIR/port-forward.log" | head -n 1)
}

stop_port_forward() {
  [ -n "$PORT_FORWARD_PID" ] || return 0
  kill -TERM -- "-$PORT_FORWARD_PID" 2> /dev/null || true
  wait "$PORT_FORWARD_PID" 2> /dev/null || true
  PORT_FORWARD_PID=""
}
