#!/usr/bin/env bash
# JobManager failover with Kubernetes HA on the test cluster (test/cluster: test API server,
# workload controllers, test kubelet; needs root): runs the cluster case `ha` N times (default
# 3, seeds 1..N) with jobManager.replicas 1 (the killed container restarts and takes the
# leadership back) and 2 (a standby besides), and prints the median and range of the seconds
# from the SIGKILL of the leading JobManager's process to the job RUNNING again under the same
# job ID (each run kills twice: two samples). Lease 3 s, renew deadline 2 s, retry 300 ms, as
# the case sets them; Flink's defaults (15 s / 15 s / 5 s) bound a standby's takeover by the
# lease. Prints figures only; asserts nothing.
# usage: bench/ha_failover_bench.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
stats() {  # stats SAMPLES...: median (min-max)
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "no samples"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f s (%.2f-%.2f, %d samples)\n", m, v[1], v[NR], NR }'
}
for replicas in 1 2; do
  samples=()
  for seed in $(seq 1 "$N"); do
    out=$(E2E_SEED=$seed E2E_JM_REPLICAS=$replicas bash test/e2e/cluster_e2e.sh "$BUILD/bin" . "$WORK" ha 2>&1) ||
      echo "FAILED replicas $replicas seed $seed" >&2
    while read -r s; do samples+=("$s"); done < <(sed -n 's/.* again on .* \([0-9.]*\)s after the kill.*/\1/p' <<< "$out")
  done
  echo "JobManager failover, jobManager.replicas $replicas: $(stats "${samples[@]}")"
done
