#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for a while, one at a time, from the seed corpus
# in test/fuzz/corpus/<target> (read only: new inputs go to a scratch corpus in the build dir)
# with the dictionary test/fuzz/dict/<target>.dict when there is one.
# Usage: run.sh BUILD_DIR SECONDS [TARGET...]   (FUZZ_RUNS=N: stop a target after N executions
# instead, SECONDS then being an upper bound)   Prints one line per target:
#   <target> <executions> execs <exec/s> exec/s cov <cov> ft <ft>
# and exits non-zero when a target crashed (its input is kept as BUILD_DIR/fuzz-artifacts/*).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$1"; seconds="$2"; shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$build"/bin/*_fuzz; do targets+=("$(basename "$f")"); done
fi
mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
failed=()
for t in "${targets[@]}"; do
  seeds="$here/corpus/$t"
  scratch="$build/fuzz-corpus/$t"
  mkdir -p "$seeds" "$scratch"
  args=(-max_total_time="$seconds" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1
        -artifact_prefix="$build/fuzz-artifacts/$t-")
  [ -f "$here/dict/$t.dict" ] && args+=(-dict="$here/dict/$t.dict")
  [ -n "${FUZZ_RUNS:-}" ] && args+=(-runs="$FUZZ_RUNS")
  log="$build/fuzz-logs/$t.log"
  # The flink-cpp log lines of the targets that start jobs go to the log, not the terminal.
  start=$(date +%s)
  (cd "$build" && "$build/bin/$t" "${args[@]}" "$scratch" "$seeds") >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  printf '%-24s %10s execs %8s exec/s cov %6s ft %6s %6s s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$(($(date +%s) - start))"
  if [ $rc -ne 0 ]; then
    echo "  FAILED (exit $rc): see $log" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2
    failed+=("$t")
  fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz targets failed: ${failed[*]}" >&2; exit 1; }
