#!/usr/bin/env bash
# Benchmark of the operator: N FlinkDeployments created at once (default 1000) against the
# project's test API server (or a real cluster: APISERVER=kubeconfig:PATH); prints the time
# until all are reconciled (children created and status written) from the start and from the
# end of the create, the operator's peak RSS and CPU seconds, reconcile latency p50/p99 (from
# its histogram), API requests per resource, the writes during a resync of the unchanged
# resources (RESYNC seconds, default 20; 0 skips it) and the latency from a spec change of one
# resource to the operator's first status write for it (SAMPLES changes, default 30; 0 skips).
# Prints figures only.
# usage: bench/operator_bench.sh [BIN] [APISERVER|kubeconfig:PATH] [N]
#   env: WORKERS (--workers; default: the operator's), RESYNC, SAMPLES, TOOL (apiserver-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/flink-cpp}
APISERVER=${2:-build/bin/kube-test-apiserver}
N=${3:-1000}
RESYNC=${RESYNC:-20}
SAMPLES=${SAMPLES:-30}
TOOL=${TOOL:-$(dirname "$BIN")/apiserver-bench}
WORK=$(mktemp -d)
pids=()
real=""
cleanup() {
  if [ -n "$real" ]; then
    # A real cluster: delete what the benchmark made while the operator still runs (finalizers).
    kubectl delete flinkdeployments -l bench=operator --wait=false > /dev/null 2>&1 || true
    for _ in $(seq 1 120); do
      [ "$(kubectl get flinkdeployments -l bench=operator -o name 2>/dev/null | wc -l)" -eq 0 ] && break
      sleep 1
    done
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
if [[ $APISERVER == kubeconfig:* ]]; then
  real=1
  export KUBECONFIG=${APISERVER#kubeconfig:}
else
  "$APISERVER" --port 0 --dir "$WORK/api" --threads 256 --history 400000 > "$WORK/api.log" 2>&1 &
  pids+=($!)
  until grep -q '^ready' "$WORK/api.log"; do sleep 0.1; done
  export KUBECONFIG=$WORK/api/kubeconfig KUBECACHEDIR=$WORK/kcache
fi
kubectl apply -f crds/ > /dev/null
for i in $(seq 1 "$N"); do
  sed -e "s/^  name: flight-delays$/  name: fd-$i\n  labels: {bench: operator}/" examples/flight-delays.yaml
  echo "---"
done > "$WORK/all.yaml"
"$BIN" operator --metrics-port 0 --resync-seconds "$((RESYNC > 0 ? RESYNC : 3600))" ${WORKERS:+--workers "$WORKERS"} \
  > "$WORK/operator.log" 2>&1 &
op=$!
pids+=($op)
until grep -q 'operator started' "$WORK/operator.log"; do sleep 0.1; done
port=$(sed -n 's/.*metrics on :\([0-9]*\).*/\1/p' "$WORK/operator.log")
metrics() { curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3); }
# Requests that change something (everything but GET and WATCH).
writes() { grep '^flink_operator_api_requests_total' | grep -v 'verb="GET"\|verb="WATCH"' | awk '{s+=$2} END{print s+0}'; }
reconciles() { grep '^flink_operator_reconcile_total' | awk '{s+=$2} END{print s+0}'; }
t0=$(date +%s%N)
kubectl create -f "$WORK/all.yaml" > /dev/null
t1=$(date +%s%N)
while :; do
  done_count=$(kubectl get flinkdeployments -l bench=operator -o jsonpath='{range .items[*]}{.status.jobManagerDeploymentStatus}{"\n"}{end}' | grep -c . || true)
  [ "$done_count" -ge "$N" ] && break
  sleep 0.5
done
t2=$(date +%s%N)
m=$(metrics)
rss=$(awk '/VmHWM/{print $2/1024}' "/proc/$op/status")
cpu=$(awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$op/stat")
requests=$(grep '^flink_operator_api_requests_total' <<<"$m" | grep -v 'verb="WATCH"' | awk '{s+=$2} END{print s}')
# p50/p99 from the reconcile duration histogram buckets.
quantile() {
  grep '^flink_operator_reconcile_duration_seconds_bucket' <<<"$m" | sed 's/.*le="\([^"]*\)"} \(.*\)/\1 \2/' |
    awk -v q="$1" '{le[NR]=$1; c[NR]=$2} END{total=c[NR]; for(i=1;i<=NR;i++) if (c[i] >= q*total) {print le[i]; exit}}'
}
echo "operator benchmark: $N FlinkDeployments, ${WORKERS:-default} workers, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  kubectl create of all: $(( (t1 - t0) / 1000000 )) ms"
echo "  all reconciled (children + status) after: $(( (t2 - t0) / 1000000 )) ms from the start of the create, $(( (t2 - t1) / 1000000 )) ms after it finished"
echo "  operator peak RSS: ${rss} MB, CPU: ${cpu} s"
echo "  reconcile latency: p50 <= $(quantile 0.5) s, p99 <= $(quantile 0.99) s (histogram bucket bounds)"
echo "  API requests (without watches): $requests total, $(awk -v r="$requests" -v n="$N" 'BEGIN{printf "%.1f", r/n}') per FlinkDeployment"
if [ "$RESYNC" -gt 0 ]; then
  sleep 3  # the last status writes settle
  m=$(metrics); w0=$(writes <<<"$m"); r0=$(reconciles <<<"$m")
  sleep "$((RESYNC + 5))"
  m=$(metrics); w1=$(writes <<<"$m"); r1=$(reconciles <<<"$m")
  echo "  resync of the $N unchanged resources ($((RESYNC + 5)) s, resync every $RESYNC s): $((r1 - r0)) reconciles, $((w1 - w0)) writes"
fi
if [ "$SAMPLES" -gt 0 ]; then
  echo "  $("$TOOL" "$KUBECONFIG" --spec-change-latency "$N" "$SAMPLES" default fd-)"
fi
echo "  operator peak RSS at the end: $(awk '/VmHWM/{print $2/1024}' "/proc/$op/status") MB, CPU: $(awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$op/stat") s"
