#!/usr/bin/env bash
# Benchmark: the flight-delay job on the 3 M rows (examples/flight-delays.yaml) on the local
# cluster, several runs. Prints records/s, wall time and the peak RSS of each process, and
# the CPU time of the whole run. Not a test: it prints figures and asserts nothing about them.
#
# usage: bench/flight_delays_bench.sh [BIN] [RUNS] [MANIFEST]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/flink-cpp}
RUNS=${2:-3}
MANIFEST=${3:-examples/flight-delays.yaml}
[ -x "$BIN" ] || { echo "no binary at $BIN: run make build first" >&2; exit 2; }

echo "flight-delays benchmark: $MANIFEST, $RUNS runs, $(nproc) cores, $(uname -srm)"
printf '%-4s %10s %12s %10s  %s\n' run wall_s records/s cpu_s "peak RSS per process"
walls=()
for i in $(seq 1 "$RUNS"); do
  log=$(mktemp)
  start=$(date +%s.%N)
  # CPU seconds of the runner and all its children (JobManager, TaskManagers).
  cpu0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  "$BIN" run-local "$MANIFEST" --quiet >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc -l 2>/dev/null || awk -v a="$end" -v b="$start" 'BEGIN{print a-b}')
  ticks=$(getconf CLK_TCK)
  cpu1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  cpu=$(awk -v a="$cpu1" -v b="$cpu0" -v t="$ticks" 'BEGIN{printf "%.2f", (a-b)/t}')
  records=$(awk '/^  records in:/{print $3}' "$log")
  rss=$(sed -n 's/^  peak RSS: //p' "$log")
  rate=$(awk -v r="$records" -v w="$wall" 'BEGIN{printf "%.0f", r/w}')
  printf '%-4s %10.2f %12s %10s  %s\n' "$i" "$wall" "$rate" "$cpu" "$rss"
  walls+=("$wall")
  rm -f "$log"
done
median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
echo "median wall time: ${median} s for ${records} records ($(awk -v r="$records" -v w="$median" 'BEGIN{printf "%.2f", r/w/1e6}') M records/s)"
