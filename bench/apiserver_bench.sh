#!/usr/bin/env bash
# Benchmark of the test API server's write path: N creates (FlinkDeployments, whose CRD has a
# structural schema, and ConfigMaps) from C concurrent keep-alive clients, while W watches of
# the FlinkDeployments stream (the operator's informers), repeated R times on a fresh server;
# prints creates/s per run and the median. Prints figures only.
# usage: bench/apiserver_bench.sh [BUILD_DIR] [N] [C] [R] [W]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
N=${2:-5000}
C=${3:-32}
R=${4:-3}
W=${5:-2}
WORK=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
echo "apiserver benchmark: $N creates per kind, $C clients, $W watches, $R runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in flinkdeployment configmap; do
  rates=()
  for run in $(seq 1 "$R"); do
    rm -rf "$WORK/api"
    "$BUILD/bin/kube-test-apiserver" --port 0 --dir "$WORK/api" --threads 256 > "$WORK/api.log" 2>&1 &
    api=$!
    pids+=($api)
    until grep -q '^ready' "$WORK/api.log"; do sleep 0.1; done
    export KUBECONFIG=$WORK/api/kubeconfig KUBECACHEDIR=$WORK/kcache
    kubectl apply -f crds/ > /dev/null
    watchers=()
    for w in $(seq 1 "$W"); do
      kubectl get flinkdeployments --watch -o name > /dev/null 2>&1 &
      watchers+=($!)
      pids+=($!)
    done
    sleep 0.5
    out=$("$BUILD/bin/apiserver-bench" "$KUBECONFIG" "$N" "$C" "$kind")
    echo "  run $run: $out"
    rates+=("$(sed -n 's/.* \([0-9]*\) creates\/s.*/\1/p' <<<"$out")")
    rss=$(awk '/VmHWM/{print $2/1024}' "/proc/$api/status")
    echo "    server peak RSS ${rss} MB, CPU $(awk -v t="$(getconf CLK_TCK)" '{print ($14+$15)/t}' "/proc/$api/stat") s"
    for p in "${watchers[@]}" "$api"; do kill "$p" 2>/dev/null || true; done
    wait "$api" 2>/dev/null || true
  done
  median=$(printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  echo "$kind: median $median creates/s"
done
