#!/usr/bin/env bash
# Benchmark of native Kubernetes mode on the test cluster (test/cluster: test API server,
# controllers with the scheduler, test kubelet running flink-cpp pods in network namespaces;
# needs root): for each slot count S (default 2 8 32) and N runs (default 3), kubectl apply of a
# FlinkDeployment with spec.mode native, parallelism S and one slot per TaskManager, then the
# seconds until
#   JobManager Ready       its pod's Ready condition (the operator, the Deployment, the kubelet)
#   all TMs registered     the JobManager's /overview counts S TaskManagers: it asked the API
#                          server for S pods, the scheduler bound them, the kubelet started them
#                          and each registered
# and the share of the second after the first. The job reads slowly (50 rows/s per subtask), so
# it runs through the measurement; each FlinkDeployment is deleted and its pods gone before the
# next. Takes /tmp/cluster-e2e.lock (one test cluster per machine). Prints figures only;
# asserts nothing.
# usage: bench/native_bench.sh [BUILD_DIR] [N] [SLOTS...]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN_DIR=$(cd "${1:-$ROOT/build}/bin" && pwd)
N=${2:-3}
shift $(( $# > 2 ? 2 : $# ))
SLOT_COUNTS=("$@")
[ ${#SLOT_COUNTS[@]} -gt 0 ] || SLOT_COUNTS=(2 8 32)
die() { echo "native_bench: $*" >&2; exit 1; }
# shellcheck source=../test/e2e/lib.sh
. "$ROOT/test/e2e/lib.sh"
# shellcheck source=../test/cluster/cluster.sh
. "$ROOT/test/cluster/cluster.sh"
cluster_netns_permitted || die "network namespaces are not permitted here (run as root)"
exec 9> /tmp/cluster-e2e.lock
flock 9
DIR=$(mktemp -d)
OPERATOR_PID=""
cleanup() {
  [ -z "$OPERATOR_PID" ] || { kill -TERM "$OPERATOR_PID" 2> /dev/null || true; wait "$OPERATOR_PID" 2> /dev/null || true; }
  cluster_down
  rm -rf "$DIR"
}
trap cleanup EXIT
wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2
  shift 2
  until "$@" > /dev/null 2>&1; do
    [ "$(now_ms)" -lt "$limit" ] || { kubectl get pods -o wide >&2 || true; die "timed out: $what"; }
    sleep 0.1
  done
}
cluster_up "$BIN_DIR" "$DIR/cluster"
kubectl apply -f "$ROOT/crds/" > /dev/null
wait_until 30 "the FlinkDeployment API" kubectl get flinkdeployments
"$BIN_DIR/flink-cpp" operator --namespaces default --metrics-port 0 --jobmanager-address pod-ip >> "$DIR/operator.log" 2>&1 &
OPERATOR_PID=$!
wait_until 30 "the operator" grep -q 'operator started' "$DIR/operator.log"

jm_ready() {
  [ "$(kubectl get pods -l "app=$1,component=jobmanager" -o jsonpath='{.items[*].status.conditions[?(@.type=="Ready")].status}')" = True ]
}
registered() {  # registered NAME S: the JobManager's /overview counts S TaskManagers
  local ip
  ip=$(kubectl get pods -l "app=$1,component=jobmanager" -o jsonpath='{.items[0].status.podIP}')
  [ -n "$ip" ] && [ "$(curl -sf --max-time 1 "http://$ip:8081/overview" | jq -r .taskmanagers)" = "$2" ]
}
no_pods() { [ -z "$(kubectl get pods -l "app=$1" -o name)" ]; }

printf '%6s %4s %18s %20s %14s\n' slots run "JobManager Ready" "all TMs registered" "TM share"
declare -A totals
for s in "${SLOT_COUNTS[@]}"; do
  for run in $(seq 1 "$N"); do
    name=native-$s-$run
    flight_delays_manifest "$name" "$s" "" --input "$ROOT/examples/data/flights-3m.csv.gz" --output "$DIR/out-$name" \
      --key origin --window "1 h" --records-per-second 50 | sed 's/^spec:$/spec:\n  mode: native/' > "$DIR/$name.yaml"
    start=$(now_ms)
    kubectl apply -f "$DIR/$name.yaml" > /dev/null
    wait_until 120 "$name: the JobManager Ready" jm_ready "$name"
    jm=$(now_ms)
    wait_until 300 "$name: $s TaskManagers registered" registered "$name" "$s"
    done_at=$(now_ms)
    printf '%6s %4s %17ss %19ss %13ss\n' "$s" "$run" "$(ms_to_s $((jm - start)))" \
      "$(ms_to_s $((done_at - start)))" "$(ms_to_s $((done_at - jm)))"
    totals[$s]+="$(ms_to_s $((done_at - start))) "
    kubectl delete flinkdeployment "$name" --wait=false > /dev/null
    wait_until 300 "$name: its pods gone" no_pods "$name"
  done
done
for s in "${SLOT_COUNTS[@]}"; do
  tr ' ' '\n' <<< "${totals[$s]}" | sed '/^$/d' | sort -g | awk -v s="$s" '
    { v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "slots %3s: submission -> all TaskManagers registered, median %.2fs (min %.2fs, max %.2fs, n %d)\n", s, m, v[1], v[NR], NR }'
done
