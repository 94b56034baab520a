#!/usr/bin/env bash
# Metrics as users watch them: `promtool check metrics` passes on the runtime's (JobManager,
# TaskManager) and the operator's /metrics, and a real Prometheus server on loopback scrapes a
# running flight-delay job and the operator: its HTTP API returns
# flink_taskmanager_job_task_numRecordsIn for the job and the Apache operator's
# flink_k8soperator_namespace_Count and the lifecycle timers' summaries for the operator's
# FlinkDeployment.
# usage: prometheus_test.sh SRC FLINK_CPP KUBE_TEST_APISERVER
SRC=$1 BIN=$2 APISERVER=$3
# shellcheck source=lib.sh
source "$SRC/test/packaging/lib.sh"
tools promtool kubectl
command -v prometheus > /dev/null || fail "the prometheus server is not installed (Debian package prometheus)"

# promtool check metrics: the exposition must parse and pass every lint except the one about
# camelCase names, which Flink's metric names (numRecordsIn, ...) have by design and which the
# project keeps for compatibility with Flink's dashboards and alerts.
check_metrics() {  # check_metrics FILE LABEL
  local out=$WORK/check-$2.txt
  promtool check metrics < "$1" > "$out" 2>&1 || true
  if grep -v "should be written in 'snake_case' not 'camelCase'" "$out" | grep -q .; then
    fail "promtool check metrics ($2): $(grep -v "camelCase" "$out" | head -5)"
  fi
}
http_get() {  # http_get PORT PATH: prints the body
  timeout 10 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3; cat <&3' _ "$1" "$2" | sed '1,/^\r$/d'
}
free_port() { for p in $(shuf -i 20000-60000 -n 50); do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }; done; }

step "a throttled flight-delay job on the local cluster"
cat > "$WORK/job.yaml" <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: metrics-test
spec:
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: ["--input", "$SRC/examples/data/flights-3m.csv.gz", "--output", "$WORK/out", "--records-per-second", "100000"]
    parallelism: 2
YAML
TMPDIR=$WORK "$BIN" run-local "$WORK/job.yaml" > "$WORK/run.log" 2>&1 &
runner=$!
CLEANUP+=("kill $runner 2>/dev/null; wait $runner 2>/dev/null")
for _ in $(seq 1 100); do grep -q 'JobManager metrics' "$WORK/run.log" && break; sleep 0.1; done
jm_port=$(sed -n 's/.*JobManager metrics: http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$WORK/run.log")
[ -n "$jm_port" ] || fail "no JobManager metrics port in the run-local output: $(cat "$WORK/run.log")"
logs=$(sed -n 's/^  logs: //p' "$WORK/run.log" | head -1)
tm_ports=()
for _ in $(seq 1 100); do
  mapfile -t tm_ports < <(sed -n 's/.*Prometheus metrics on port \([0-9]*\).*/\1/p' "$logs"/taskmanager-*.log 2>/dev/null)
  [ ${#tm_ports[@]} -ge 2 ] && break
  sleep 0.1
done
[ ${#tm_ports[@]} -ge 2 ] || fail "TaskManager metrics ports not found in $logs"
sleep 1.5  # let the tasks run and the TaskManagers sample their rates

step "promtool check metrics on the JobManager and the TaskManagers"
for p in "$jm_port" "${tm_ports[@]}"; do
  http_get "$p" /metrics > "$WORK/m-$p.txt"
  [ -s "$WORK/m-$p.txt" ] || fail "empty /metrics on port $p"
  check_metrics "$WORK/m-$p.txt" "port-$p"
done
grep -q '^flink_jobmanager_numRunningJobs 1' "$WORK/m-$jm_port.txt" || fail "flink_jobmanager_numRunningJobs is not 1"
grep -q '^flink_taskmanager_job_task_numRecordsIn{' "$WORK/m-${tm_ports[0]}.txt" || fail "no task numRecordsIn on a TaskManager"

step "promtool check metrics on the operator"
"$APISERVER" --port 0 --dir "$WORK/api" > "$WORK/api.log" 2>&1 &
api=$!
CLEANUP+=("kill $api 2>/dev/null; wait $api 2>/dev/null")
for _ in $(seq 1 100); do grep -q '^ready' "$WORK/api.log" && break; sleep 0.1; done
export KUBECONFIG=$WORK/api/kubeconfig KUBECACHEDIR=$WORK/kcache
kubectl apply -f "$SRC/crds/" > /dev/null
"$BIN" operator --metrics-port 0 > "$WORK/operator.log" 2>&1 &
op=$!
CLEANUP+=("kill $op 2>/dev/null; wait $op 2>/dev/null")
for _ in $(seq 1 100); do grep -q 'metrics on :' "$WORK/operator.log" && break; sleep 0.1; done
op_port=$(sed -n 's/.*metrics on :\([0-9]*\).*/\1/p' "$WORK/operator.log")
kubectl apply -f "$SRC/examples/flight-delays.yaml" > /dev/null
sleep 2
http_get "$op_port" /metrics > "$WORK/operator-metrics.txt"
check_metrics "$WORK/operator-metrics.txt" operator
grep -q '^flink_operator_reconcile_total{result="success"}' "$WORK/operator-metrics.txt" || fail "the operator reported no successful reconcile"
grep -q '^flink_k8soperator_namespace_Lifecycle_State_DEPLOYED_Count{.*resourcens="default".*} 1' "$WORK/operator-metrics.txt" \
  || fail "no flink_k8soperator_namespace_Lifecycle_State_DEPLOYED_Count 1 (the Apache operator's name)"
grep -q '^flink_k8soperator_namespace_Lifecycle_Transition_Submission_TimeSeconds_count{.*resourcens="default".*} 0' "$WORK/operator-metrics.txt" \
  || fail "no flink_k8soperator_namespace_Lifecycle_Transition_Submission_TimeSeconds (the Apache operator's lifecycle timer)"
grep -q '^flink_k8soperator_FlinkDeployment_Lifecycle_State_CREATED_TimeSeconds{.*quantile="0.999".*}' "$WORK/operator-metrics.txt" \
  || fail "no flink_k8soperator_FlinkDeployment_Lifecycle_State_CREATED_TimeSeconds quantiles"
grep -q '^flink_k8soperator_namespace_resource_JOSDK_Reconciliation_finished_Count{.*resourcename="flight-delays".*} [1-9]' "$WORK/operator-metrics.txt" \
  || fail "no flink_k8soperator_namespace_resource_JOSDK_Reconciliation_finished_Count of flight-delays (the Apache operator's JOSDK counter)"
grep -q '^flink_k8soperator_namespace_resource_JOSDK_Resource_Event_ADDED_Count{.*resourcename="flight-delays".*} 1' "$WORK/operator-metrics.txt" \
  || fail "no flink_k8soperator_namespace_resource_JOSDK_Resource_Event_ADDED_Count 1 of flight-delays"
step "a real Prometheus server scrapes the job"
prom_port=$(free_port)
targets=$(printf '"127.0.0.1:%s",' "$jm_port" "${tm_ports[@]}")
cat > "$WORK/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: flink
    static_configs:
      - targets: [${targets%,}]
  - job_name: flink-operator
    static_configs:
      - targets: ["127.0.0.1:$op_port"]
YAML
promtool check config "$WORK/prometheus.yml" > /dev/null || fail "promtool check config"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" > "$WORK/prometheus.log" 2>&1 &
prom=$!
CLEANUP+=("kill $prom 2>/dev/null; wait $prom 2>/dev/null")
# prom_query QUERY PATTERN...: polls Prometheus's HTTP API (30 s) until the answer to QUERY
# (URL-encoded) matches every grep PATTERN; false with the last answer in $body otherwise.
prom_query() {
  local query=$1 p ok
  shift
  for _ in $(seq 1 60); do
    body=$(http_get "$prom_port" "/api/v1/query?query=$query" 2>/dev/null || true)
    ok=1
    for p in '"status":"success"' "$@"; do grep -q "$p" <<<"$body" || ok=""; done
    [ -n "$ok" ] && return 0
    sleep 0.5
  done
  return 1
}
prom_query 'flink_taskmanager_job_task_numRecordsIn%7Bjob_name%3D%22flight-delays%22%7D' '"job_name":"flight-delays"' \
  || fail "Prometheus did not return flink_taskmanager_job_task_numRecordsIn (log: $(tail -5 "$WORK/prometheus.log"))"
# The Apache operator's metric names, as its users' dashboards and alerts query them.
prom_query 'flink_k8soperator_namespace_Count%7Bresourcetype%3D%22FlinkDeployment%22%7D' '"resourcens":"default"' \
  '"value":\[[0-9.]*,"1"\]' \
  || fail "Prometheus did not return flink_k8soperator_namespace_Count 1 for the FlinkDeployment (last answer: ${body:0:300})"
prom_query 'flink_k8soperator_namespace_Lifecycle_State_STABLE_TimeSeconds_count%7Bresourcetype%3D%22FlinkDeployment%22%7D' \
  '"resourcens":"default"' \
  || fail "Prometheus did not return the lifecycle timer flink_k8soperator_namespace_Lifecycle_State_STABLE_TimeSeconds_count (last answer: ${body:0:300})"

echo "PASS prometheus: promtool accepts the JobManager, TaskManager and operator metrics; Prometheus scraped numRecordsIn and the Apache operator metric names"
