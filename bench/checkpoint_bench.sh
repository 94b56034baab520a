#!/usr/bin/env bash
# Benchmark of exactly-once checkpoints on the flight-delay job (3 M rows, parallelism 2):
#   1. throughput without checkpoints, with a checkpoint every 1 s and every 100 ms
#      (overhead %), and the checkpoints' duration p50/p99 and size (from the JobManager log);
#   2. recovery time: a TaskManager is killed with SIGKILL while a throttled run is RUNNING;
#      measured from the kill until the source reads records again after the restart.
# Prints figures only. usage: bench/checkpoint_bench.sh [BIN] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(cd "$(dirname "${1:-build/bin/flink-cpp}")" && pwd)/$(basename "${1:-build/bin/flink-cpp}")
RUNS=${2:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DATA=$PWD/examples/data/flights-3m.csv.gz

manifest() {  # manifest FILE INTERVAL [RATE]
  local conf="    taskmanager.numberOfTaskSlots: \"1\""
  [ -n "$2" ] && conf+=$'\n'"    execution.checkpointing.interval: \"$2\""$'\n'"    state.checkpoints.dir: file://$WORK/checkpoints"
  local rate=""
  [ -n "${3:-}" ] && rate=", \"--records-per-second\", \"$3\""
  cat > "$1" <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: checkpoint-bench
spec:
  flinkConfiguration:
$conf
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: ["--input", "$DATA", "--output", "$WORK/out"$rate]
    parallelism: 2
YAML
}

median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

echo "checkpoint benchmark: flight-delays on 3 M rows, parallelism 2, $RUNS runs per setting, $(nproc) cores"
printf '%-22s %10s %12s %10s %14s %14s %12s\n' setting wall_s records/s overhead checkpoints dur_p50/p99_ms size_bytes
base=""
for interval in ${BENCH_INTERVALS:-"" "1 s" "100 ms"}; do
  manifest "$WORK/m.yaml" "$interval"
  walls=() durations=() sizes=() counts=()
  for _ in $(seq 1 "$RUNS"); do
    out=$("$BIN" run-local "$WORK/m.yaml" --quiet)
    walls+=("$(sed -n 's/^  wall time: \([0-9.]*\) s.*/\1/p' <<<"$out")")
    counts+=("$(sed -n 's/^  checkpoints: \([0-9]*\) completed.*/\1/p' <<<"$out")")
    logs=$(sed -n 's/^  logs: //p' <<<"$out" | tail -1)
    while read -r bytes ms; do durations+=("$ms"); sizes+=("$bytes"); done < <(
      sed -n 's/.*Completed checkpoint [0-9]* for job [0-9a-f]* (\([0-9]*\) bytes in \([0-9]*\) ms).*/\1 \2/p' "$logs/jobmanager.log")
  done
  wall=$(printf '%s\n' "${walls[@]}" | median)
  [ -z "$base" ] && base=$wall
  overhead=$(awk -v w="$wall" -v b="$base" 'BEGIN{printf "%+.1f%%", (w-b)/b*100}')
  p50=- p99=- size=-
  if [ ${#durations[@]} -gt 0 ]; then
    p50=$(printf '%s\n' "${durations[@]}" | median)
    p99=$(printf '%s\n' "${durations[@]}" | sort -n | awk '{a[NR]=$1} END{i=int(NR*0.99); if(i<1)i=1; print a[i]}')
    size=$(printf '%s\n' "${sizes[@]}" | median)
  fi
  printf '%-22s %10.2f %12.0f %10s %14s %14s %12s\n' "interval ${interval:-off}" "$wall" \
    "$(awk -v w="$wall" 'BEGIN{print 3000000/w}')" "$overhead" "$(printf '%s\n' "${counts[@]}" | median)" "$p50/$p99" "$size"
done

# Recovery time after SIGKILL of a TaskManager: from the kill to the JobManager's log line
# "switched from state RESTARTING to RUNNING" plus the redeployment of every task (the time
# includes restart-strategy.fixed-delay.delay, set to 0 here to measure the runtime itself).
manifest "$WORK/m.yaml" "1 s" 300000
sed -i 's|    taskmanager.numberOfTaskSlots: "1"|    taskmanager.numberOfTaskSlots: "1"\n    restart-strategy.fixed-delay.delay: "0 ms"|' "$WORK/m.yaml"
recoveries=()
for _ in $(seq 1 "$RUNS"); do
  "$BIN" run-local "$WORK/m.yaml" > "$WORK/run.log" 2>&1 &
  runner=$!
  until grep -q 'REST API' "$WORK/run.log"; do sleep 0.05; done
  sleep 2
  victim=$(pgrep -P "$runner" -f 'flink-cpp taskmanager' | head -1)
  t0=$(date +%s%N)
  kill -9 "$victim"
  wait "$runner" || true
  logs=$(sed -n 's/^  logs: //p' "$WORK/run.log" | tail -1)
  # The last "Deploying" line of the new attempt marks every task sent to its TaskManager.
  line=$(grep 'attempt #1' "$logs/jobmanager.log" | tail -1 | cut -c1-23)
  if [ -z "$line" ]; then
    echo "  (run without a restart: the kill came too late)"
    continue
  fi
  t1=$(date -u -d "$line" +%s%N)
  recoveries+=("$(( (t1 - t0) / 1000000 ))")
done
if [ ${#recoveries[@]} -gt 0 ]; then
  echo "recovery from SIGKILL of a TaskManager to all tasks redeployed from the last checkpoint (restart delay 0): $(printf '%s ' "${recoveries[@]}")ms, median $(printf '%s\n' "${recoveries[@]}" | median) ms"
fi
