#!/usr/bin/env bash
# Benchmark of the operator: N FlinkDeployments applied at once (default 1000) against the
# project's test API server; prints the time until all are reconciled (children created and
# status written), the operator's peak RSS and CPU seconds, reconcile latency p50/p99 (from
# its histogram) and API requests per resource. Prints figures only.
# usage: bench/operator_bench.sh [BIN] [APISERVER] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/flink-cpp}
APISERVER=${2:-build/bin/kube-test-apiserver}
N=${3:-1000}
WORK=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$APISERVER" --port 0 --dir "$WORK/api" --threads 256 > "$WORK/api.log" 2>&1 &
pids+=($!)
until grep -q '^ready' "$WORK/api.log"; do sleep 0.1; done
export KUBECONFIG=$WORK/api/kubeconfig KUBECACHEDIR=$WORK/kcache
kubectl apply -f crds/ > /dev/null
for i in $(seq 1 "$N"); do
  sed "s/^  name: flight-delays$/  name: fd-$i/" examples/flight-delays.yaml
  echo "---"
done > "$WORK/all.yaml"
"$BIN" operator --metrics-port 0 --workers "${WORKERS:-4}" > "$WORK/operator.log" 2>&1 &
op=$!
pids+=($op)
until grep -q 'operator started' "$WORK/operator.log"; do sleep 0.1; done
port=$(sed -n 's/.*metrics on :\([0-9]*\).*/\1/p' "$WORK/operator.log")
t0=$(date +%s%N)
kubectl create -f "$WORK/all.yaml" > /dev/null
t1=$(date +%s%N)
while :; do
  done_count=$(kubectl get flinkdeployments -o jsonpath='{range .items[*]}{.status.jobManagerDeploymentStatus}{"\n"}{end}' | grep -c . || true)
  [ "$done_count" -ge "$N" ] && break
  sleep 0.5
done
t2=$(date +%s%N)
metrics=$(curl -s "http://127.0.0.1:$port/metrics" 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3; cat <&3))
rss=$(awk '/VmHWM/{print $2/1024}' "/proc/$op/status")
cpu=$(awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$op/stat")
requests=$(grep '^flink_operator_api_requests_total' <<<"$metrics" | awk '{s+=$2} END{print s}')
# p50/p99 from the reconcile duration histogram buckets.
quantile() {
  grep '^flink_operator_reconcile_duration_seconds_bucket' <<<"$metrics" | sed 's/.*le="\([^"]*\)"} \(.*\)/\1 \2/' |
    awk -v q="$1" '{le[NR]=$1; c[NR]=$2} END{total=c[NR]; for(i=1;i<=NR;i++) if (c[i] >= q*total) {print le[i]; exit}}'
}
echo "operator benchmark: $N FlinkDeployments, ${WORKERS:-4} workers, $(nproc) cores"
echo "  kubectl create of all: $(( (t1 - t0) / 1000000 )) ms"
echo "  all reconciled (children + status) after: $(( (t2 - t0) / 1000000 )) ms from the start of the apply"
echo "  operator peak RSS: ${rss} MB, CPU: ${cpu} s"
echo "  reconcile latency: p50 <= $(quantile 0.5) s, p99 <= $(quantile 0.99) s (histogram bucket bounds)"
echo "  API requests: $requests total, $(awk -v r="$requests" -v n="$N" 'BEGIN{printf "%.1f", r/n}') per FlinkDeployment"
