#!/usr/bin/env bash
# kube-test-controllers against kube-test-apiserver with the real kubectl: a Deployment applied
# with kubectl gets a ReplicaSet and Pods (bound to test-node); the script then plays the kubelet
# (pod status through the status subresource) and checks `kubectl rollout status`, the Service's
# Endpoints and EndpointSlice, scaling, a deleted pod's replacement, a RollingUpdate within
# maxSurge/maxUnavailable, a Recreate rollout, and exit 0 on SIGTERM.
# usage: controllers_e2e.sh KUBE_TEST_CONTROLLERS KUBE_TEST_APISERVER
# Exit 77 (skipped) without kubectl, or against a real cluster (E2E_KUBECONFIG): it has its own
# controllers. KTC_KEEP_LOG=FILE keeps the controllers' log there.
set -euo pipefail
CONTROLLERS=$1 APISERVER=$2
HERE=$(cd "$(dirname "$0")" && pwd)
command -v kubectl > /dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
[ -z "${E2E_KUBECONFIG:-}" ] || { echo "SKIP: a real cluster runs its own controllers"; exit 77; }
if [ -z "${KTC_INSIDE:-}" ]; then
  KTC_INSIDE=1 exec bash "$HERE/../apiserver/with-apiserver.sh" --server "$APISERVER" -- bash "$0" "$@"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/controllers-e2e.XXXXXX")
LOG=$WORK/controllers.log
die() { echo "FAIL: $*" >&2; echo "--- controllers log ---" >&2; tail -n 40 "$LOG" >&2 || true; exit 1; }
"$CONTROLLERS" --namespaces default --node test-node > "$LOG" 2>&1 &
PID=$!
cleanup() { kill -TERM "$PID" 2> /dev/null || true; wait "$PID" 2> /dev/null || true; [ -z "${KTC_KEEP_LOG:-}" ] || cp "$LOG" "$KTC_KEEP_LOG"; rm -rf "$WORK"; }
trap cleanup EXIT

# until SECONDS WHAT COMMAND...: runs COMMAND every 0.2 s until it succeeds, else FAILs.
until_ok() {
  local deadline=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" > /dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what"
    sleep 0.2
  done
}
pod_names() { kubectl get pods -l app=web --field-selector status.phase!=Failed -o jsonpath='{.items[*].metadata.name}'; }
count_pods() { [ "$(pod_names | wc -w)" -eq "$1" ]; }
# The kubelet's part: every pod of app=web Running and Ready with an IP.
run_pods() {
  local n=0 p out
  for p in $(pod_names); do
    n=$((n + 1))
    # A pod deleted meanwhile (a rollout scaling down) is no error.
    out=$(kubectl patch pod "$p" --subresource=status --type=merge \
      -p "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.0.$n\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" 2>&1) ||
      [[ $out == *NotFound* ]] || die "patching pod $p: $out"
  done
}

kubectl apply -f - > /dev/null << 'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: main
        image: busybox:1
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: web, port: 80, targetPort: http}]
YAML

until_ok 30 "no ReplicaSet for deployment web" kubectl get rs -l app=web -o name
kubectl get rs -l app=web
RS=$(kubectl get rs -l app=web -o jsonpath='{.items[0].metadata.name}')
HASH=$(kubectl get rs "$RS" -o jsonpath='{.metadata.labels.pod-template-hash}')
[ "$RS" = "web-$HASH" ] || die "ReplicaSet $RS is not web-<pod-template-hash $HASH>"
[ "$(kubectl get rs "$RS" -o jsonpath='{.metadata.ownerReferences[0].kind}')" = Deployment ] || die "$RS has no Deployment owner"
until_ok 30 "deployment web did not get 2 pods" count_pods 2
kubectl get pods -o wide
for p in $(pod_names); do
  [ "$(kubectl get pod "$p" -o jsonpath='{.spec.nodeName}')" = test-node ] || die "pod $p is not on test-node"
  [ "$(kubectl get pod "$p" -o jsonpath='{.metadata.ownerReferences[0].name}')" = "$RS" ] || die "pod $p is not owned by $RS"
done

run_pods
kubectl rollout status deployment/web --timeout=30s
until_ok 30 "deployment web not Available" kubectl wait --for=condition=Available deployment/web --timeout=1s
ips() { kubectl get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}'; }
until_ok 30 "endpoints web do not list the 2 ready pods" bash -c "[ \"\$(kubectl get endpoints web -o jsonpath='{.subsets[0].addresses[*].ip}' | wc -w)\" -eq 2 ]"
[ "$(kubectl get endpoints web -o jsonpath='{.subsets[0].ports[0].port}')" = 8080 ] || die "endpoints port is not the resolved targetPort 8080"
kubectl get endpoints web
# The EndpointSlice of the Service, as `kubectl get endpointslices` shows it.
slice_ips() { kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}' | tr ' ' '\n' | sort | xargs; }
until_ok 30 "the EndpointSlice of web does not list the 2 ready pods" bash -c "[ \"\$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}' | wc -w)\" -eq 2 ]"
[ "$(slice_ips)" = "$(ips | tr ' ' '\n' | sort | xargs)" ] || die "EndpointSlice addresses '$(slice_ips)' differ from the Endpoints' '$(ips)'"
slice_row=$(kubectl get endpointslices -l kubernetes.io/service-name=web --no-headers)
[[ $slice_row =~ ^web-[a-z0-9]{5}\ +IPv4\ +8080\ +10\.244\.0\.[12],10\.244\.0\.[12]\  ]] || die "kubectl get endpointslices: '$slice_row'"
[ "$(kubectl get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].metadata.ownerReferences[0].kind}')" = Service ] ||
  die "the EndpointSlice is not owned by its Service"
kubectl get endpointslices

# Through the scale subresource, as kubectl scale does it.
kubectl scale deployment web --replicas=3 > /dev/null
until_ok 30 "scaling to 3 did not add a pod" count_pods 3
VICTIM=$(pod_names | cut -d ' ' -f 1)
kubectl delete pod "$VICTIM" --wait=false > /dev/null
until_ok 30 "deleted pod $VICTIM was not replaced" bash -c "[ \"\$(kubectl get pods -l app=web -o jsonpath='{.items[*].metadata.name}' | wc -w)\" -eq 3 ] && ! kubectl get pod $VICTIM"

# RollingUpdate with maxSurge 1, maxUnavailable 0 of 3: one new pod at a time, never more than 4.
RS1=$(kubectl get deploy web -o jsonpath='{.metadata.name}')-$(kubectl get rs -l app=web -o jsonpath='{.items[0].metadata.labels.pod-template-hash}')
kubectl patch deployment web --type=merge \
  -p '{"spec":{"strategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},"template":{"metadata":{"annotations":{"v":"1"}}}}}' > /dev/null
max_pods=0 saw_step=""
for _ in $(seq 150); do
  n=$(pod_names | wc -w)
  [ "$n" -le "$max_pods" ] || max_pods=$n
  counts=$(kubectl get rs -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.spec.replicas} {end}')
  [[ " $counts" == *" $RS1=3 "* && $counts =~ =1\  ]] && saw_step=yes
  run_pods
  [ "$(kubectl get deploy web -o jsonpath='{.status.conditions[?(@.type=="Progressing")].reason}/{.status.updatedReplicas}/{.status.replicas}')" = NewReplicaSetAvailable/3/3 ] && break
  sleep 0.2
done
kubectl rollout status deployment/web --timeout=30s > /dev/null || die "the rolling update did not complete"
[ "$max_pods" -eq 4 ] || die "rolling update with maxSurge 1 of 3 peaked at $max_pods pods (want 4)"
[ -n "$saw_step" ] || die "never saw the first step (old ReplicaSet 3, new one 1)"
[ "$(kubectl get rs "$RS1" -o jsonpath='{.spec.replicas}')" = 0 ] || die "the old ReplicaSet $RS1 was not scaled to 0"
RS=$(kubectl get rs -l app=web -o jsonpath='{range .items[?(@.spec.replicas==3)]}{.metadata.name}{end}')

kubectl patch deployment web --type=merge \
  -p '{"spec":{"strategy":{"type":"Recreate","rollingUpdate":null},"template":{"metadata":{"annotations":{"v":"2"}}}}}' > /dev/null
# A third ReplicaSet: both earlier ones are kept (revisionHistoryLimit 10), scaled to 0. (The check
# was "-eq 2" and passed only while it caught the moment before the new one was created.)
until_ok 30 "Recreate did not create a new ReplicaSet" bash -c "[ \"\$(kubectl get rs -l app=web -o name | wc -l)\" -eq 3 ]"
until_ok 30 "Recreate did not scale the old ReplicaSet $RS to 0" bash -c "[ \"\$(kubectl get rs $RS -o jsonpath='{.spec.replicas}')\" = 0 ]"
until_ok 30 "the new ReplicaSet did not get 3 pods" count_pods 3
for p in $(pod_names); do [[ $p != "$RS"-* ]] || die "pod $p of the old ReplicaSet survived the Recreate"; done
run_pods
kubectl rollout status deployment/web --timeout=30s
kubectl get deploy,rs,pods

# The scheduler: a pod made by someone else, without spec.nodeName, is bound to the node
# (pods/binding), as a JobManager's native TaskManager pods are.
kubectl run loose --image=busybox:1 --restart=Never > /dev/null
bound() { [ "$(kubectl get pod loose -o jsonpath='{.spec.nodeName}')" = test-node ]; }
until_ok 30 "the pod loose was not bound to test-node" bound
kubectl delete pod loose --wait=false > /dev/null

kill -TERM "$PID"
status=0
wait "$PID" || status=$?
[ "$status" -eq 0 ] || die "kube-test-controllers exited with $status on SIGTERM"
echo "PASS"
