#!/usr/bin/env bash
# Benchmark: split-based file sources (issue 15). The flight-delay job on the 3 M rows at
# parallelism 1, 2 and 4 over (a) the rows as 4 gzip parts (a directory: one split per file) and
# (b) the rows as one plain-text file (8 MiB byte-range splits), through `run-local` (real
# JobManager and TaskManager processes, 1 slot each). Prints, per case, the median over RUNS of
# the wall time and the CPU time (user + sys) of run-local and all its processes. With OLD_BIN (a
# flink-cpp built before split-based sources, where subtask i of p reads every p-th line of one
# file), the same job over the single .csv.gz and .csv files with that binary, for comparison.
# A first row per parallelism runs the job over a 1-row file: the fixed cost of the processes,
# which grows with the number of TaskManagers whatever the input. Not a test: it prints figures
# and asserts nothing about them.
#
# usage: bench/file_splits_bench.sh [BIN] [RUNS]
# env:   BENCH_DIR (inputs and outputs, default $TMPDIR/flink-cpp-file-splits-bench; never the
#        repository), FLIGHTS_DATA (default examples/data/flights-3m.csv.gz), OLD_BIN, PARALLELISMS
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/bin/flink-cpp}")
RUNS=${2:-3}
DATA=$(realpath "${FLIGHTS_DATA:-examples/data/flights-3m.csv.gz}")
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/flink-cpp-file-splits-bench}
PARALLELISMS=${PARALLELISMS:-1 2 4}
OLD_BIN=${OLD_BIN:-}
[ -x "$BIN" ] || { echo "no binary at $BIN: run make build first" >&2; exit 2; }
export LC_ALL=C

# --- inputs: 4 gzip parts of 750 000 rows (each with the header) and the plain file ---------
mkdir -p "$BENCH_DIR"
stamp="$(stat -c '%s %Y' "$DATA") v2"
if [ "$(cat "$BENCH_DIR/stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -rf "$BENCH_DIR/gz4" "$BENCH_DIR/plain"
  mkdir -p "$BENCH_DIR/gz4" "$BENCH_DIR/plain"
  gzip -dc "$DATA" > "$BENCH_DIR/plain/flights-3m.csv"
  header=$(head -n 1 "$BENCH_DIR/plain/flights-3m.csv")
  tail -n +2 "$BENCH_DIR/plain/flights-3m.csv" | awk -v dir="$BENCH_DIR/gz4" -v header="$header" '
    { part = int((NR - 1) / 750000)
      if (!started || part != last) { if (started) close(file); file = dir "/part-" part ".csv"; print header > file; last = part; started = 1 }
      print > file }'
  gzip -6 "$BENCH_DIR"/gz4/part-*.csv
  cp "$DATA" "$BENCH_DIR/flights-3m.csv.gz"
  head -n 2 "$BENCH_DIR/plain/flights-3m.csv" > "$BENCH_DIR/one-row.csv"
  echo "$stamp" > "$BENCH_DIR/stamp"
fi

# flight_delays_manifest NAME P CONF ARGS... (the e2e tests' manifest of the flight-delay job).
. test/e2e/lib.sh
manifest() {  # manifest NAME P INPUT
  flight_delays_manifest "$1" "$2" "" --input "$3" --output "$BENCH_DIR/out/$1" --key origin --window "1 h"
}

ticks=$(getconf CLK_TCK)
children_cpu() { awk '{print $16+$17}' /proc/$$/stat; }  # cutime + cstime of this shell (ticks)

# run_case LABEL BIN INPUT P: RUNS runs; prints the medians.
run_case() {
  local label=$1 bin=$2 input=$3 p=$4 i walls=() cpus=() log start end c0 c1 records=""
  manifest "bench-p$p" "$p" "$input" > "$BENCH_DIR/manifest.yaml"
  for i in $(seq 1 "$RUNS"); do
    log=$BENCH_DIR/run.log
    c0=$(children_cpu)
    start=$(date +%s%N)
    "$bin" run-local "$BENCH_DIR/manifest.yaml" --quiet > "$log" 2>&1 || { cat "$log" >&2; exit 1; }
    end=$(date +%s%N)
    c1=$(children_cpu)
    grep -q "FINISHED" "$log" || { cat "$log" >&2; exit 1; }
    records=$(awk '/^  records in:/{print $3}' "$log")
    walls+=("$(awk -v a="$end" -v b="$start" 'BEGIN{printf "%.2f", (a-b)/1e9}')")
    cpus+=("$(awk -v a="$c1" -v b="$c0" -v t="$ticks" 'BEGIN{printf "%.2f", (a-b)/t}')")
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  mc=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '| %-34s | %2s | %9s | %8s | %8s | %-24s | %-24s |\n' "$label" "$p" "$records" "$mw" "$mc" \
    "$(echo "${walls[*]}")" "$(echo "${cpus[*]}")"
}

echo "file-splits benchmark: $RUNS runs per case, $(nproc) cores, $(uname -srm), load $(cut -d ' ' -f 1-3 /proc/loadavg)"
printf '| %-34s | %2s | %9s | %8s | %8s | %-24s | %-24s |\n' input p records "wall s" "CPU s" "wall, each run" "CPU, each run"
echo "|------------------------------------|----|-----------|----------|----------|--------------------------|--------------------------|"
for p in $PARALLELISMS; do
  # The fixed cost of the run at this parallelism (processes, job graph, deployment, sockets):
  # the same job over one row.
  run_case "fixed cost: a 1-row file" "$BIN" "$BENCH_DIR/one-row.csv" "$p"
  run_case "splits: 4 gzip parts (directory)" "$BIN" "$BENCH_DIR/gz4" "$p"
  run_case "splits: plain text, 8 MiB ranges" "$BIN" "$BENCH_DIR/plain/flights-3m.csv" "$p"
  if [ -n "$OLD_BIN" ]; then
    run_case "every p-th line: one .csv.gz" "$OLD_BIN" "$BENCH_DIR/flights-3m.csv.gz" "$p"
    run_case "every p-th line: one plain .csv" "$OLD_BIN" "$BENCH_DIR/plain/flights-3m.csv" "$p"
  fi
done
echo "load at the end: $(cut -d ' ' -f 1-3 /proc/loadavg)"
rm -rf "$BENCH_DIR/out"
