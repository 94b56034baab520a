#!/usr/bin/env bash
# kube-test-kubelet end to end: kube-test-apiserver + kube-test-kubelet + the real kubectl.
# usage: kubelet_e2e.sh KUBELET APISERVER FLINK_CPP WORK_DIR
# Exit 77 (skipped) when network namespaces cannot be created here or kubectl is missing.
set -euo pipefail
KUBELET=$1 APISERVER=$2 FLINK_CPP=$3 WORK=$4/kubelet-e2e
PREFIX=kte
die() { echo "FAIL: $*" >&2; show "$WORK/kubelet.err" 40; exit 1; }
# shellcheck source=../e2e/lib.sh
source "$(dirname "$0")/../e2e/lib.sh"

command -v kubectl >/dev/null || { echo "SKIP: kubectl not installed"; exit 77; }
probe_ns=kte-probe-$$
ip netns add "$probe_ns" 2>/dev/null || { echo "SKIP: ip netns add not permitted"; exit 77; }
ip netns del "$probe_ns"

rm -rf "$WORK" && mkdir -p "$WORK"
APIPID="" KPID=""
cleanup() {
  [ -n "$KPID" ] && kill -TERM "$KPID" 2>/dev/null && wait "$KPID" 2>/dev/null || true
  [ -n "$APIPID" ] && kill -TERM "$APIPID" 2>/dev/null && wait "$APIPID" 2>/dev/null || true
}
trap cleanup EXIT

"$APISERVER" --port 0 --dir "$WORK/api" > "$WORK/api.out" 2> "$WORK/api.err" & APIPID=$!
for _ in $(seq 100); do grep -q '^ready' "$WORK/api.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/api.out" || die "the API server did not start"
export KUBECONFIG=$WORK/api/kubeconfig KUBECACHEDIR=$WORK/kubecache

"$KUBELET" --flink-cpp "$FLINK_CPP" --work-dir "$WORK/pods" --prefix $PREFIX \
  > "$WORK/kubelet.out" 2> "$WORK/kubelet.err" & KPID=$!
for _ in $(seq 100); do grep -q '^ready' "$WORK/kubelet.out" && break; sleep 0.1; done
grep -q '^ready' "$WORK/kubelet.out" || die "the kubelet did not start"

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(now_ms)" -lt "$limit" ] || { kubectl get pods -o wide >&2 || true; die "timed out: $what"; }
    sleep 0.2
  done
}
field() { kubectl get pod "$1" -o jsonpath="$2"; }

[ "$(kubectl get node test-node -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] ||
  die "node test-node not Ready"

kubectl apply -f - > /dev/null <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: jm-conf}
data: {config.yaml: "rest.port: 8081\n"}
---
apiVersion: v1
kind: Pod
metadata: {name: jm, labels: {app: jm}}
spec:
  nodeName: test-node
  terminationGracePeriodSeconds: 3
  containers:
  - name: jobmanager
    image: flink-cpp:latest
    args: ["jobmanager"]
    readinessProbe: {httpGet: {path: /config, port: 8081}, periodSeconds: 1}
    volumeMounts: [{name: conf, mountPath: /opt/flink/conf}]
  volumes: [{name: conf, configMap: {name: jm-conf}}]
---
apiVersion: v1
kind: Service
metadata: {name: jobmanager}
spec: {selector: {app: jm}, ports: [{port: 8081}]}
---
apiVersion: v1
kind: Pod
metadata: {name: tm}
spec:
  nodeName: test-node
  containers:
  - name: taskmanager
    image: registry.example/flink-cpp:1.0
    args: ["taskmanager", "-D", "jobmanager.rpc.address=$(JM_HOST)"]
    env: [{name: JM_HOST, value: jobmanager.default.svc.cluster.local}]
---
apiVersion: v1
kind: Pod
metadata: {name: pull}
spec:
  nodeName: test-node
  containers: [{name: c, image: busybox, command: [sleep, "60"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: test-node
  restartPolicy: Always
  containers: [{name: c, image: flink-cpp, command: [flink-cpp, no-such-role]}]
---
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  nodeName: test-node
  restartPolicy: Never
  initContainers: [{name: init, image: flink-cpp, command: [flink-cpp, list-jobs]}]
  containers: [{name: c, image: flink-cpp, command: [flink-cpp, list-jobs]}]
YAML

ready() { [ "$(field "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for 30 "jm Running and Ready" ready jm
[ "$(field jm '{.status.phase}')" = Running ] || die "jm not Running"
JM_IP=$(field jm '{.status.podIP}')
[[ $JM_IP =~ ^198\.1[89]\. ]] || die "jm podIP $JM_IP not in 198.18.0.0/15"
kubectl get pods -o wide

wait_for 30 "tm registered at the JobManager by its Service name" \
  grep -q "Registered at the ResourceManager" "$WORK/pods/default/tm/taskmanager.log"
grep -q "jobmanager.default.svc.cluster.local" /etc/netns/$PREFIX-default-tm/hosts || die "no Service in tm's hosts file"

waiting_reason() { field "$1" '{.status.containerStatuses[0].state.waiting.reason}'; }
wait_for 15 "pull: ErrImagePull" test "$(waiting_reason pull)" = ErrImagePull
[ "$(field pull '{.status.phase}')" = Pending ] || die "pull not Pending"

crashing() { [ "$(field crash '{.status.containerStatuses[0].restartCount}')" -gt 0 ] && [ "$(waiting_reason crash)" = CrashLoopBackOff ]; }
wait_for 20 "crash: restartCount > 0 and CrashLoopBackOff" crashing
[ "$(field crash '{.status.containerStatuses[0].lastState.terminated.reason}')" = Error ] || die "crash: lastState not Error"

wait_for 20 "once: Succeeded" test "$(field once '{.status.phase}')" = Succeeded
grep -q . "$WORK/pods/default/once/c.log" || die "once: no output in its log"

# securityContext, hostname and kubectl logs: -c, --tail, -f, --previous, and the errors.
kubectl apply -f - > /dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: {name: who}
spec:
  nodeName: test-node
  securityContext: {runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000}
  containers:
  - name: main
    image: flink-cpp
    command: [sh, -c, 'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) host=$(hostname)"; touch /data/w && echo wrote; i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.3; done']
    workingDir: /data
    env: [{name: GREETING, value: hello}]
    volumeMounts: [{name: data, mountPath: /data}]
  - name: side
    image: flink-cpp
    securityContext: {runAsUser: 1001}
    command: [sh, -c, 'echo "uid=$(id -u) gid=$(id -g)"; exec sleep 3600']
  volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: restarter}
spec:
  nodeName: test-node
  containers:
  - name: c
    image: flink-cpp
    command: [sh, -c, 'n=$(cat /data/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /data/n; echo "run $n"; sleep 6; exit 1']
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: finite}
spec:
  nodeName: test-node
  restartPolicy: Never
  containers:
  - {name: c, image: flink-cpp, command: [sh, -c, 'sleep 1; for i in 1 2 3; do echo "line $i"; sleep 1; done']}
YAML
running() { [ "$(field "$1" "{.status.containerStatuses[?(@.name==\"$2\")].state.running.startedAt}")" != "" ]; }
wait_for 20 "finite running" running finite c
FOLLOW_START=$(now_ms)
follow_out=$(timeout 30 kubectl logs -f finite) || die "kubectl logs -f finite: exit $? (the stream did not end with the container)"
[ "$follow_out" = "$(printf 'line 1\nline 2\nline 3')" ] || die "kubectl logs -f finite: '$follow_out'"
[ $(( $(now_ms) - FOLLOW_START )) -ge 1500 ] || die "kubectl logs -f finite returned before the container wrote its lines"

wait_for 20 "who running" running who main
wait_for 10 "who: ticks in the log" bash -c "kubectl logs who -c main | grep -q 'tick 2'"
who_log=$(kubectl logs who -c main)
grep -qx "uid=1000 gid=3000 groups=3000 2000 host=who" <<< "$who_log" || die "who/main identity or hostname: $(head -1 <<< "$who_log")"
grep -qx wrote <<< "$who_log" || die "who/main could not write its fsGroup emptyDir"
[ "$(kubectl logs who -c side)" = "uid=1001 gid=3000" ] || die "who/side: container runAsUser: $(kubectl logs who -c side)"
tail_out=$(kubectl logs who -c main --tail 1)
[[ $tail_out =~ ^tick\ [0-9]+$ ]] || die "--tail 1: '$tail_out'"
last_tick=${tail_out#tick }
follow_out=$(timeout 2 kubectl logs -f who -c main --tail 1 || true)
follow_last=$(tail -1 <<< "$follow_out")
[ "${follow_last#tick }" -gt $(( last_tick + 2 )) ] 2>/dev/null || die "kubectl logs -f who: no new lines streamed ('$follow_out' after tick $last_tick)"

raw_err=$(kubectl get --raw /api/v1/namespaces/default/pods/who/log 2>&1) && die "pods/log without container answered: $raw_err"
grep -q "a container name must be specified for pod who, choose one of: \[main side\]" <<< "$raw_err" || die "no container: $raw_err"
raw_err=$(kubectl get --raw "/api/v1/namespaces/default/pods/who/log?container=nope" 2>&1) && die "unknown container answered"
grep -q "container nope is not valid for pod who" <<< "$raw_err" || die "unknown container: $raw_err"
err=$(kubectl logs who -c main --previous 2>&1) && die "--previous without a restart answered: $err"
grep -q 'previous terminated container "main" in pod "who" not found' <<< "$err" || die "--previous: $err"
err=$(kubectl logs pull 2>&1) && die "logs of an unpulled image answered: $err"
grep -q 'BadRequest.*container "c" in pod "pull" is waiting to start: image can.t be pulled' <<< "$err" || die "pull: $err"
err=$(kubectl logs nosuch 2>&1) && die "logs of a missing pod answered"
grep -q 'pods "nosuch" not found' <<< "$err" || die "nosuch: $err"
kubectl get --raw /api/v1 | grep -q '"pods/log"' || die "pods/log not in discovery"

second_run() {
  [ "$(field restarter '{.status.containerStatuses[0].restartCount}')" = 1 ] && running restarter c &&
    [ "$(kubectl logs restarter)" = "run 2" ] && [ "$(kubectl logs restarter --previous)" = "run 1" ]
}
wait_for 30 "restarter: current instance 'run 2', --previous 'run 1'" second_run

# kubectl exec (the WebSocket protocol v5.channel.k8s.io, through the API server to the
# kubelet): inside the pod's UTS, network and mount namespaces, as its user, in its working
# directory with its environment; stdout and stderr apart, exit codes, stdin, -c, the errors.
WHO_IP=$(field who '{.status.podIP}')
exec_out=$(kubectl exec who -c main -- sh -c 'hostname; id -u; pwd; echo "$GREETING"; ls /data; ip -4 -o addr show eth0') ||
  die "kubectl exec who: exit $?"
[ "$(sed -n 1,5p <<< "$exec_out")" = "$(printf 'who\n1000\n/data\nhello\nw')" ] || die "exec: hostname, uid, cwd, env, volume: '$exec_out'"
grep -q "inet $WHO_IP/" <<< "$exec_out" || die "exec: not in the pod's network namespace (podIP $WHO_IP): '$exec_out'"
kubectl exec who -c main -- sh -c 'echo out; echo err >&2' > "$WORK/exec.out" 2> "$WORK/exec.err" || die "exec out/err: exit $?"
[ "$(cat "$WORK/exec.out")" = out ] && [ "$(cat "$WORK/exec.err")" = err ] ||
  die "exec: stdout '$(cat "$WORK/exec.out")', stderr '$(cat "$WORK/exec.err")'"
rc=0; kubectl exec who -c main -- sh -c 'exit 3' 2> /dev/null || rc=$?
[ $rc = 3 ] || die "exec 'exit 3': kubectl exited $rc"
[ "$(kubectl exec who -c side -- id -u)" = 1001 ] || die "exec -c side: not the side container's user"
stdin_out=$(printf 'line a\nline b\n' | kubectl exec -i who -c main -- sh -c 'cat; echo end') || die "exec -i: exit $?"
[ "$stdin_out" = "$(printf 'line a\nline b\nend')" ] || die "exec -i (stdin, then its end): '$stdin_out'"
rc=0; err=$(kubectl exec who -c side -- no-such-command 2>&1) || rc=$?
[ $rc = 127 ] && grep -q "no-such-command: No such file or directory" <<< "$err" || die "exec of a missing command: $rc '$err'"
err=$(kubectl exec who -c nope -- true 2>&1) && die "exec in an unknown container answered: $err"
grep -q "container nope is not valid for pod who" <<< "$err" || die "exec -c nope: $err"
err=$(kubectl exec nosuch -- true 2>&1) && die "exec in a missing pod answered: $err"
grep -q 'pods "nosuch" not found' <<< "$err" || die "exec nosuch: $err"
err=$(kubectl exec pull -- true 2>&1) && die "exec in a container that does not run answered: $err"
grep -q 'unable to upgrade connection: container not found ("c")' <<< "$err" || die "exec pull: $err"
if command -v script > /dev/null; then  # -t needs a terminal on kubectl's side
  err=$(script -qec "kubectl exec -it who -c main -- true" /dev/null 2>&1) && die "exec -t answered: $err"
  grep -q "does not allocate a TTY" <<< "$err" || die "exec -t: $err"
fi
timeout 2 kubectl exec who -c main -- sh -c 'sleep 4242' && die "exec sleep 4242 ended by itself"
wait_for 5 "exec: a client that leaves ends its command" bash -c "! pgrep -f 'sleep 424[2]'"
kubectl get --raw /api/v1 | grep -q '"pods/exec"' || die "pods/exec not in discovery"
# The service account volume the API server adds (kube-api-access-*), written by the kubelet.
sa=/var/run/secrets/kubernetes.io/serviceaccount
[ "$(kubectl exec who -c main -- cat $sa/namespace)" = default ] || die "service account volume: namespace"
kubectl exec who -c main -- cat $sa/ca.crt | grep -q "BEGIN CERTIFICATE" || die "service account volume: ca.crt"
[ "$(kubectl exec who -c main -- cat $sa/token)" = "$(cat "$WORK/api/token")" ] || die "service account volume: token"

# kubectl port-forward (SPDY/3.1 streams, tunnelled in a WebSocket by default, through the API
# server to the kubelet, which connects to localhost:port inside the pod's network namespace).
# port_forward NAME TARGET REMOTE [ENV...]: starts it on a free local port; sets PF_PID, PF_PORT.
port_forward() {
  local name=$1 target=$2 remote=$3; shift 3
  env "$@" kubectl port-forward "$target" ":$remote" > "$WORK/pf-$name.out" 2> "$WORK/pf-$name.err" & PF_PID=$!
  wait_for 10 "port-forward $name listening" grep -q '^Forwarding from 127.0.0.1:' "$WORK/pf-$name.out"
  PF_PORT=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$WORK/pf-$name.out" | head -1)
}
port_forward pod pod/jm 8081
direct=$(curl -sSf -m 5 "http://$JM_IP:8081/config") || die "jm's /config directly"
[ "$(curl -sSf -m 5 "http://127.0.0.1:$PF_PORT/config")" = "$direct" ] || die "port-forward pod/jm: /config differs"
curl -sSf -m 5 -o "$WORK/pf-a" "http://127.0.0.1:$PF_PORT/config" & CA=$!
curl -sSf -m 5 -o "$WORK/pf-b" "http://127.0.0.1:$PF_PORT/jobs/overview" & CB=$!
wait $CA && wait $CB || die "port-forward: two concurrent connections"
[ "$(cat "$WORK/pf-a")" = "$direct" ] && grep -q '"jobs"' "$WORK/pf-b" || die "port-forward: concurrent answers '$(cat "$WORK/pf-b")'"
kill "$PF_PID"; wait "$PF_PID" 2>/dev/null || true
port_forward svc svc/jobmanager 8081
[ "$(curl -sSf -m 5 "http://127.0.0.1:$PF_PORT/config")" = "$direct" ] || die "port-forward svc/jobmanager"
kill "$PF_PID"; wait "$PF_PID" 2>/dev/null || true
port_forward spdy pod/jm 8081 KUBECTL_PORT_FORWARD_WEBSOCKETS=false
[ "$(curl -sSf -m 5 "http://127.0.0.1:$PF_PORT/config")" = "$direct" ] || die "port-forward over SPDY (no WebSocket)"
kill "$PF_PID"; wait "$PF_PID" 2>/dev/null || true
port_forward closed pod/jm 9
curl -sS -m 5 "http://127.0.0.1:$PF_PORT/" 2> /dev/null && die "port-forward to a closed port answered"
wait_for 5 "port-forward to a closed port: the error" grep -q 'error forwarding port 9 to pod jm, uid .*connection refused' "$WORK/pf-closed.err"
wait "$PF_PID" 2>/dev/null || true  # kubectl ends a port-forward whose stream reported an error
kubectl get --raw /api/v1 | grep -q '"pods/portforward"' || die "pods/portforward not in discovery"
port_forward gone pod/jm 8081  # ended by the deletion of jm below

JM_PID=$(pgrep -f -- "$FLINK_CPP jobmanager" || true)
[ -n "$JM_PID" ] || die "no jobmanager process"
kubectl delete pod jm --wait=true > /dev/null
wait_for 15 "jm's process ends" bash -c "! kill -0 $JM_PID 2>/dev/null"
wait_for 15 "jm's namespace removed" bash -c "! ip netns list | grep -q '^$PREFIX-default-jm '"
wait_for 5 "port-forward ends with its pod" bash -c "! kill -0 $PF_PID 2>/dev/null"
rc=0; wait "$PF_PID" || rc=$?
[ $rc != 0 ] && grep -q "lost connection to pod" "$WORK/pf-gone.err" || die "port-forward after the pod's deletion: rc $rc, $(cat "$WORK/pf-gone.err")"

kill -TERM "$KPID"
wait "$KPID" || die "the kubelet exited with $?"
KPID=""
leftover=$(ip netns list | grep "^$PREFIX-" || true)
[ -z "$leftover" ] || die "namespaces left: $leftover"
! ip -o link show | grep -q ": $PREFIX" || die "links left behind"
! pgrep -f -- "$FLINK_CPP (jobmanager|taskmanager)" > /dev/null || die "processes left behind"
echo "PASS: kubelet e2e"
