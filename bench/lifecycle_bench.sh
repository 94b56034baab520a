#!/usr/bin/env bash
# Benchmark of the job lifecycle on the test cluster (test/cluster: test API server, workload
# controllers, test kubelet running flink-cpp pods in network namespaces; needs root): runs the
# cluster end-to-end cases N times each (default 5, seeds 1..N) and prints, per step, the median
# and range of the seconds from the user's action to the outcome:
#   apply -> pods Ready          kubectl apply of the FlinkDeployment until the JobManager and 2
#                                TaskManager pods are Ready (case savepoint-upgrade)
#   upgrade (savepoint)          parallelism 2 -> 3 until the new cluster's pods are Ready, the
#   upgrade (last-state)         JobManager answering (stop-with-savepoint / keep checkpoints)
#   suspend (savepoint)          job.state suspended until no pod is left and status SUSPENDED
#   resume                       job.state running until the resumed cluster's pods are Ready
#   failed job restart           a TaskManager SIGKILLed with restart-strategy none until the
#                                operator's redeployed cluster (last-state, same job ID) is Ready
#                                (case restart-failed, kubernetes.operator.job.restart.failed)
# The Apache operator's floor for the same steps is its 10 s observe interval plus the 10 s
# readiness delay of its JobManager probe. Prints figures only; asserts nothing.
# usage: bench/lifecycle_bench.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=$(cd "${1:-build}" && pwd)
N=${2:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
run() {  # run CASE SEED: the case's output
  E2E_SEED=$2 bash test/e2e/cluster_e2e.sh "$BUILD/bin" . "$WORK" "$1" 2>&1 || { echo "FAILED $1 seed $2" >&2; true; }
}
declare -A samples
add() { samples[$1]+="$2 "; }
for seed in $(seq 1 "$N"); do
  out=$(run savepoint-upgrade "$seed")
  add "apply -> pods Ready" "$(sed -n 's/.*pods Ready after \([0-9.]*\)s.*/\1/p' <<< "$out")"
  add "upgrade (savepoint)" "$(sed -n 's/.*new cluster RUNNING \([0-9.]*\)s after the change.*/\1/p' <<< "$out")"
  out=$(run last-state-upgrade "$seed")
  add "upgrade (last-state)" "$(sed -n 's/.*new cluster RUNNING \([0-9.]*\)s after the change.*/\1/p' <<< "$out")"
  out=$(run savepoint-suspend "$seed")
  add "suspend (savepoint)" "$(sed -n 's/.*suspended with savepoint .* after \([0-9.]*\)s:.*/\1/p' <<< "$out")"
  add "resume" "$(sed -n 's/.*resumed: pods Ready \([0-9.]*\)s after job.state running.*/\1/p' <<< "$out")"
  out=$(run restart-failed "$seed")
  add "failed job restart" "$(sed -n 's/.*redeployed (last-state, job [0-9a-f]*) \([0-9.]*\)s after the kill.*/\1/p' <<< "$out")"
done
printf '%-24s %8s %8s %8s %4s\n' step median min max n
for step in "apply -> pods Ready" "upgrade (savepoint)" "upgrade (last-state)" "suspend (savepoint)" "resume" \
            "failed job restart"; do
  tr ' ' '\n' <<< "${samples[$step]:-}" | sed '/^$/d' | sort -g | awk -v step="$step" '
    { v[NR] = $1 }
    END { if (NR == 0) { printf "%-24s %8s\n", step, "-"; exit }
          m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%-24s %7.2fs %7.2fs %7.2fs %4d\n", step, m, v[1], v[NR], NR }'
done
