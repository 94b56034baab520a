#!/usr/bin/env bash
# Kubernetes HA of a session cluster, with real processes on this machine against an API server
# (run under test/apiserver/with-apiserver.sh: the test API server, or E2E_KUBECONFIG's cluster).
# Two `flink-cpp jobmanager` processes with high-availability.type kubernetes campaign for the
# leadership of ConfigMap ha-session-<pid>-cluster-config-map; the standby opens no port. Two
# TaskManagers (2 slots each) find the leader at the fixed RPC port.
#
#   1. Two jobs are submitted through /jars: the flight-delay job from the builtin jar and route
#      counts from an uploaded library (SO), both checkpointing every 500 ms. The cluster
#      ConfigMap lists both (executionPlan-<job-id>), and each job's ConfigMap gets checkpoint
#      pointers (checkpointID-<n>).
#   2. Twice, at seeded moments, the leader is SIGKILLed; the standby takes over (after the
#      lease), recovers both jobs under the same job IDs from their HA ConfigMaps (the uploaded
#      library from the HA storage), and the killed one is started again as the new standby (as
#      a pod's restart would).
#   3. Both jobs FINISH; each output equals its sqlite3 oracle, exactly once; the jobs' HA
#      ConfigMaps and executionPlan entries are gone.
#
# Usage: ha_session_e2e.sh BIN SO WORKDIR
# Environment: KUBECONFIG (set by with-apiserver.sh), E2E_SEED, E2E_TIMEOUT (seconds per wait,
# default 60). Needs kubectl, curl, sqlite3.
set -euo pipefail
[ "$#" -eq 3 ] || { echo "usage: $0 BIN SO WORKDIR" >&2; exit 2; }
BIN=$(realpath "$1") SO=$(realpath "$2") WORKDIR=$(realpath -m "$3")
CASE=ha-session
export LC_ALL=C
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-60}
SEED=${E2E_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
RANDOM=$SEED
DIR=$WORKDIR/ha-session
CLUSTER_ID=ha-session-$$
rm -rf "$DIR"
mkdir -p "$DIR/conf" "$DIR/log"
START=$(now_ms)
command -v kubectl > /dev/null || { echo "SKIP $CASE: no kubectl"; exit 77; }
[ -n "${KUBECONFIG:-}" ] || { echo "usage: run under test/apiserver/with-apiserver.sh (KUBECONFIG)" >&2; exit 2; }
NS=$(kubectl config view --minify -o jsonpath='{..namespace}')
NS=${NS:-default}

die() { echo "FAIL $CASE (seed $SEED): $*" >&2; exit 1; }
declare -A PIDS=()
cleanup() {
  local name
  for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2> /dev/null || true; done
  for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2> /dev/null || true; done
  kubectl delete configmaps -l "app=$CLUSTER_ID" > /dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port: a TCP port nothing listens on (checked by connecting).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null || { echo "$p"; return 0; }
  done
}
RPC_PORT=$(free_port) REST_PORT=$(free_port)
rest() {  # rest METHOD PATH OUT [curl args]: the status code; body in OUT
  local method=$1 path=$2 out=$3
  shift 3
  curl -s -o "$out" -w '%{http_code}' -X "$method" --max-time 10 "$@" "http://127.0.0.1:$REST_PORT$path" || echo 000
}
wait_until() {  # wait_until WHAT COMMAND...
  local what=$1 start
  shift
  start=$(now_ms)
  until "$@" > /dev/null 2>&1; do
    [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || { show "$DIR/log/jm-$LEADER.log" 30; die "timed out after ${TIMEOUT}s waiting for $what"; }
    sleep 0.05
  done
}

{ printf '%s\n' "jobmanager.rpc.address: 127.0.0.1" "jobmanager.rpc.port: $RPC_PORT" "jobmanager.bind-host: 127.0.0.1" \
    "rest.address: 127.0.0.1" "rest.bind-address: 127.0.0.1" "rest.port: $REST_PORT" "blob.server.port: 0" \
    "taskmanager.host: 127.0.0.1" "taskmanager.bind-host: 127.0.0.1" "taskmanager.numberOfTaskSlots: 2" \
    "metrics.reporter.prom.port: 0" "heartbeat.interval: 1 s" "heartbeat.timeout: 5 s" \
    "high-availability.type: kubernetes" "high-availability.storageDir: $(q "file://$DIR/ha")" \
    "kubernetes.cluster-id: $CLUSTER_ID" "kubernetes.namespace: $NS" \
    "high-availability.kubernetes.leader-election.lease-duration: 2 s" \
    "high-availability.kubernetes.leader-election.renew-deadline: 1500 ms" \
    "high-availability.kubernetes.leader-election.retry-period: 200 ms"; } > "$DIR/conf/config.yaml"

# start_jobmanager N: JobManager N (its own upload directory and port file).
start_jobmanager() {
  mkdir -p "$DIR/jm-$1"
  rm -f "$DIR/jm-$1.ports"
  (cd "$DIR/jm-$1" && exec env FLINK_CONF_DIR="$DIR/conf" "$BIN" jobmanager -D "web.upload.dir=$DIR/jm-$1/uploads" \
     -D "\$internal.local.port-file=$DIR/jm-$1.ports" >> "$DIR/log/jm-$1.log" 2>&1 < /dev/null) &
  PIDS[jm-$1]=$!
}
start_taskmanager() {
  mkdir -p "$DIR/$1"
  (cd "$DIR/$1" && exec env FLINK_CONF_DIR="$DIR/conf" "$BIN" taskmanager -D "blob.storage.directory=$DIR/$1/blobs" \
     > "$DIR/log/$1.log" 2>&1 < /dev/null) &
  PIDS[$1]=$!
}
leader_is() { [ -f "$DIR/jm-$1.ports" ]; }  # only a leader opens its ports (and writes the file)
job_state() {  # job_state ID: STATE and ALL_RUNNING
  STATE="" ALL_RUNNING=0
  [ "$(rest GET "/jobs/$1" "$DIR/job-$1.json")" = 200 ] || return 0
  job_details_state "$DIR/job-$1.json"
}
both_running() {  # every task of both jobs RUNNING (under the current leader)
  job_state "$FD"
  local a=$ALL_RUNNING
  job_state "$RC"
  [ "$a" = 1 ] && [ "$ALL_RUNNING" = 1 ]
}
both_finished() { job_state "$FD"; [ "$STATE" = FINISHED ] || return 1; job_state "$RC"; [ "$STATE" = FINISHED ]; }
cm_keys() { kubectl get configmap "$1" -o jsonpath='{.data}' 2> /dev/null | grep -o "\"$2[^\"]*\"" | tr -d '"'; }
pointer_of() { [ -n "$(cm_keys "$CLUSTER_ID-$1-config-map" checkpointID-)" ]; }

echo "  seed $SEED; cluster id $CLUSTER_ID in namespace $NS"
prepare_input 200000
FD_EXPECTED=$EXPECTED
route_counts_oracle "$INPUT" "$DIR/routes-expected.txt"

start_jobmanager 1
LEADER=1
wait_until "JobManager 1 leading" leader_is 1
start_jobmanager 2
STANDBY=2
start_taskmanager tm-a
start_taskmanager tm-b
taskmanagers_are() { [ "$(rest GET /overview "$DIR/overview.json")" = 200 ] && [ "$(jget "$DIR/overview.json" '$.taskmanagers')" = "$1" ]; }
wait_until "2 TaskManagers" taskmanagers_are 2

run_builtin_flight_delays 6000
status=$(rest POST /jars/upload "$DIR/upload.json" -H "Expect:" -F "jarfile=@$SO")
[ "$status" = 200 ] || die "upload of $SO: $status $(cat "$DIR/upload.json")"
JAR=$(basename "$(jget "$DIR/upload.json" '$.filename')")
status=$(rest POST "/jars/$JAR/run" "$DIR/rc.json" -H 'Content-Type: application/json' \
  -d "{\"parallelism\": 2, $(session_checkpoint_conf rc), \"programArgsList\": [\"--input\", \"$INPUT\", \"--output\", \"$DIR/out-rc\", \"--records-per-second\", \"6000\"]}")
[ "$status" = 200 ] || die "run of route-counts: $status $(cat "$DIR/rc.json")"
RC=$(jget "$DIR/rc.json" '$.jobid')
wait_until "every task of both jobs RUNNING" both_running
wait_until "a checkpoint pointer of $FD" pointer_of "$FD"
wait_until "a checkpoint pointer of $RC" pointer_of "$RC"
PLANS=$(cm_keys "$CLUSTER_ID-cluster-config-map" executionPlan- | sort | tr '\n' ' ')
[ "$PLANS" = "$(printf 'executionPlan-%s\n' "$FD" "$RC" | sort | tr '\n' ' ')" ] || die "the cluster ConfigMap lists '$PLANS'"
echo "  jobs $FD (builtin) and $RC (uploaded) RUNNING on JobManager $LEADER; HA ConfigMaps hold both job graphs and checkpoint pointers"

for round in 1 2; do
  sleep_ms $((300 + RANDOM % 1500))
  KILL_AT=$(now_ms)
  kill -KILL "${PIDS[jm-$LEADER]}"
  wait "${PIDS[jm-$LEADER]}" 2> /dev/null || true
  echo "  seed $SEED: SIGKILL JobManager $LEADER (leader), kill $round at +$(secs_since "$START")s"
  rm -f "$DIR/jm-$LEADER.ports"
  KILLED=$LEADER LEADER=$STANDBY
  wait_until "JobManager $LEADER taking over" leader_is "$LEADER"
  start_jobmanager "$KILLED"  # the killed pod's restart: the new standby
  STANDBY=$KILLED
  wait_until "both jobs RUNNING again on JobManager $LEADER" both_running
  grep -q "Kubernetes HA: recovering job $FD" "$DIR/log/jm-$LEADER.log" && grep -q "Kubernetes HA: recovering job $RC" "$DIR/log/jm-$LEADER.log" \
    || die "JobManager $LEADER did not recover both jobs from the HA ConfigMaps"
  echo "  kill $round: JobManager $LEADER leads; both jobs RUNNING again $(secs_since "$KILL_AT")s after the kill"
done
wait_until "both jobs FINISHED" both_finished
grep -q "resumes from" "$DIR/log/jm-$LEADER.log" || die "the last leader's log names no checkpoint it resumed from"
EXPECTED=$FD_EXPECTED
compare_output "$DIR/out-fd" "$CASE-flight-delays"
FD_ROWS=$ACTUAL_ROWS
EXPECTED=$DIR/routes-expected.txt
compare_output "$DIR/out-rc" "$CASE-route-counts"
job_cms_gone() {
  ! kubectl get configmap "$CLUSTER_ID-$FD-config-map" && ! kubectl get configmap "$CLUSTER_ID-$RC-config-map" &&
    [ -z "$(cm_keys "$CLUSTER_ID-cluster-config-map" executionPlan-)" ]
}
wait_until "the finished jobs' HA data removed" job_cms_gone
echo "PASS $CASE: the leading JobManager SIGKILLed twice; the standby recovered both session jobs (one from an uploaded library) from the HA ConfigMaps each time; $FD_ROWS and $ACTUAL_ROWS rows = oracles; the jobs' HA data removed after FINISHED, $(secs_since "$START")s"
