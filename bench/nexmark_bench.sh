#!/usr/bin/env bash
# Nexmark benchmark: each query (and the generator alone) for a fixed number of events, at
# parallelism 1 and 2, without checkpoints and with exactly-once checkpoints every 1 s, on the
# local cluster (one JobManager, one TaskManager per slot). Prints a table and writes it, with
# the machine's description, to bench/results/nexmark-YYYY-MM-DD.md. Prints figures only.
#
# usage: bench/nexmark_bench.sh [BIN] [EVENTS] [RUNS]
#   BIN     flink-cpp binary (default build/bin/flink-cpp)
#   EVENTS  events per run (default 10000000)
#   RUNS    runs per setting; the table shows the run with the median job time (default 3)
# Environment: NEXMARK_TPS (event-time rate, default 10000000), NEXMARK_QUERIES (default
# "source q0 q1 q2 q3 q5 q7 q8 q11"), NEXMARK_PARALLELISM (default "1 2"), NEXMARK_CHECKPOINTS (default
# "off 1s"), NEXMARK_LATENCY_SECONDS (length of the q1 latency run, default 10; 0 skips it),
# NEXMARK_RESULTS (output file; "-" for none), NEXMARK_CONF (extra flinkConfiguration lines,
# "key: value" each, e.g. the security.ssl.internal.* keys of bench/tls_bench.sh).
#
# Columns:
#   job s        JobManager log: first task deployment to the job's FINISHED (excludes the
#                cluster's start-up and shutdown; run-local's own "wall time" includes them)
#   events/s     EVENTS / job s
#   cpu s        CPU seconds (utime + stime) of the JobManager and TaskManager processes, start-up
#                included: the cumulative times of the children run-local reaped, from its /proc
#                stat (see run_once); run-local's own REST polling is not included
#   cores        cpu s / job s
#   ev/s/core    EVENTS / cpu s: per core used, generator included
#   +ns/ev       the query's CPU cost per event on top of the generator's: (cpu s - cpu s of
#                "source" at the same setting) / EVENTS, where "source" is the source-only job
#                (flinkcpp.nexmark.Generate without --output: every event into a DiscardingSink)
#   excl. gen    events/s per core without the generator: 1e9 / +ns/ev; "-" when +ns/ev is
#                below 3 ns, within the noise of two CPU measurements
#   RSS MB       peak RSS (VmHWM) of the JobManager / each TaskManager, from run-local's summary
#   ckpt         completed checkpoints; p50/p99 of their durations in ms, from the JobManager
#                log lines "Completed checkpoint N for job ... (B bytes in D ms)", over all runs
# Latency (q1, parallelism 2, no checkpoints): the generator is rate-limited to half of q1's
# measured events/s, uses wall-clock event time (--base-time wallclock: event n is due at its
# event time) and no delayed events (they are late by design); the DiscardingSink samples
# (now - event time) for every 100th record. This is the time from when an event is due at the
# source to when the sink has it, including up to ~1 ms of the source's pacing (it sleeps 1 ms
# when it is ahead of schedule).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/flink-cpp}
EVENTS=${2:-10000000}
RUNS=${3:-3}
TPS=${NEXMARK_TPS:-10000000}
QUERIES=${NEXMARK_QUERIES:-"source q0 q1 q2 q3 q5 q7 q8 q11"}
PARALLELISMS=${NEXMARK_PARALLELISM:-"1 2"}
CHECKPOINTS=${NEXMARK_CHECKPOINTS:-"off 1s"}
LATENCY_SECONDS=${NEXMARK_LATENCY_SECONDS:-10}
RESULTS=${NEXMARK_RESULTS:-bench/results/nexmark-$(date +%F).md}
[ -x "$BIN" ] || { echo "no binary at $BIN: run make build first" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export TMPDIR=$WORK  # run-local's configuration and logs
TICKS=$(getconf CLK_TCK)

entry_class() {
  case "$1" in
    source) echo flinkcpp.nexmark.Generate ;;
    q*) echo "flinkcpp.nexmark.Q${1#q}" ;;
  esac
}

# manifest FILE QUERY PARALLELISM CHECKPOINTING EXTRA_ARGS...
manifest() {
  local file=$1 query=$2 p=$3 ckpt=$4
  shift 4
  local args="\"--events.num\", \"$EVENTS\", \"--tps\", \"$TPS\"" a
  for a in "$@"; do args+=", \"$a\""; done
  local conf="    taskmanager.numberOfTaskSlots: \"1\""
  if [ "$ckpt" != off ]; then
    conf+=$'\n'"    execution.checkpointing.interval: \"${ckpt%s} s\""
    conf+=$'\n'"    execution.checkpointing.mode: EXACTLY_ONCE"
    conf+=$'\n'"    state.checkpoints.dir: file://$WORK/checkpoints"
  fi
  [ -z "${NEXMARK_CONF:-}" ] || conf+=$'\n'"$(sed 's/^/    /' <<<"$NEXMARK_CONF")"
  cat > "$file" <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: nexmark-bench-$query
spec:
  flinkConfiguration:
$conf
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: $(entry_class "$query")
    args: [$args]
    parallelism: $p
YAML
}

ms_of_day() {  # "YYYY-MM-DD HH:MM:SS.mmm ..." -> ms since midnight
  awk '{ sub(",", ".", $2); split($2, t, ":"); printf "%.0f\n", (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }'
}

# run_once MANIFEST: runs it; sets JOB_S CPU_S RUNNER_S RSS CKPT_DURATIONS(array) CKPTS LOGS
# run-local is started under a `sleep` that never reaps it: once it exited, its /proc stat still
# holds its own CPU times (utime, stime) and those of the children it reaped, the JobManager
# and the TaskManagers (cutime, cstime). Then the sleep is killed and init reaps it.
run_once() {
  local m=$1 log=$WORK/run.log holder pid stat
  rm -f "$WORK/pid"
  BIN="$BIN" M="$m" LOG="$log" PIDFILE="$WORK/pid" \
    sh -c '"$BIN" run-local "$M" --quiet > "$LOG" 2>&1 & echo $! > "$PIDFILE"; exec sleep 86400' &
  holder=$!
  until [ -s "$WORK/pid" ]; do sleep 0.02; done
  pid=$(cat "$WORK/pid")
  while stat=$(cat "/proc/$pid/stat" 2>/dev/null) && [ "$(cut -d' ' -f3 <<<"$stat")" != Z ]; do sleep 0.1; done
  kill "$holder" 2>/dev/null || true
  wait "$holder" 2>/dev/null || true
  [ -n "$stat" ] || { echo "lost run-local's /proc entry" >&2; exit 1; }
  grep -q '^Job .* FINISHED$' "$log" || { echo "job did not finish:" >&2; tail -n 20 "$log" >&2; exit 1; }
  LOGS=$(sed -n 's/^  logs: //p' "$log" | tail -n 1)
  local jm=$LOGS/jobmanager.log start end
  start=$(grep -m 1 ' Deploying ' "$jm" | ms_of_day)
  end=$(grep -m 1 'switched from state RUNNING to FINISHED' "$jm" | ms_of_day)
  [ "$end" -ge "$start" ] || end=$((end + 86400000))
  JOB_S=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
  CPU_S=$(awk -v t="$TICKS" '{ printf "%.2f", ($16 + $17) / t }' <<<"$stat")
  RUNNER_S=$(awk -v t="$TICKS" '{ printf "%.2f", ($14 + $15) / t }' <<<"$stat")
  RSS=$(sed -n 's/^  peak RSS: //p' "$log" | sed -E 's/jobmanager ([0-9.]+) MB/\1/; s/taskmanager-[0-9]+ ([0-9.]+) MB/\1/g; s/, /\//g')
  CKPTS=$(sed -n 's/^  checkpoints: \([0-9]*\) completed.*/\1/p' "$log")
  CKPT_DURATIONS=()
  while read -r ms; do CKPT_DURATIONS+=("$ms"); done < <(
    sed -n 's/.*Completed checkpoint [0-9]* for job [0-9a-f]* ([0-9]* bytes in \([0-9]*\) ms).*/\1/p' "$jm")
}

pct() {  # pct P < numbers: nearest-rank percentile
  { grep -v '^$' || true; } | sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print a[i] }'
}

MACHINE="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(uname -srm), $(awk '/MemTotal/ { printf "%.1f GB RAM", $2 / 1048576 }' /proc/meminfo)"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
HEADER=$(printf '| %-6s | %2s | %4s | %7s | %12s | %6s | %5s | %12s | %6s | %12s | %-22s | %-17s |' \
  query p ckpt "job s" events/s "cpu s" cores ev/s/core "+ns/ev" "excl. gen" "RSS MB (JM/TMs)" "ckpt n p50/p99 ms")
SEP=$(sed -E 's/[^|]/-/g' <<<"$HEADER")
echo "Nexmark benchmark: $EVENTS events per run at $TPS events/s of event time, $RUNS runs per setting"
echo "machine: $MACHINE; load average $LOAD_BEFORE"
echo "$HEADER"
echo "$SEP"
ROWS=()
declare -A SOURCE_CPU Q1_RATE
for query in $QUERIES; do
  for p in $PARALLELISMS; do
    for ckpt in $CHECKPOINTS; do
      manifest "$WORK/m.yaml" "$query" "$p" "$ckpt"
      jobs=() cpus=() rss=() durations=() counts=()
      for _ in $(seq 1 "$RUNS"); do
        run_once "$WORK/m.yaml"
        jobs+=("$JOB_S") cpus+=("$CPU_S") rss+=("$RSS") counts+=("${CKPTS:-0}")
        durations+=("${CKPT_DURATIONS[@]}")
        rm -rf "$WORK/checkpoints" "$LOGS"
      done
      # The run with the median job time.
      mid=$(for i in "${!jobs[@]}"; do echo "${jobs[$i]} $i"; done | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2) { print $2 }')
      job=${jobs[$mid]} cpu=$(printf '%s\n' "${cpus[@]}" | pct 50)
      rate=$(awk -v e="$EVENTS" -v j="$job" 'BEGIN { printf "%.0f", e / j }')
      cores=$(awk -v c="$cpu" -v j="$job" 'BEGIN { printf "%.2f", c / j }')
      percore=$(awk -v e="$EVENTS" -v c="$cpu" 'BEGIN { printf "%.0f", e / c }')
      key="$p/$ckpt"
      excl=- extra=-
      if [ "$query" = source ]; then
        SOURCE_CPU[$key]=$cpu
      elif [ -n "${SOURCE_CPU[$key]:-}" ]; then
        extra=$(awk -v e="$EVENTS" -v c="$cpu" -v s="${SOURCE_CPU[$key]}" 'BEGIN { printf "%.1f", (c - s) * 1e9 / e }')
        excl=$(awk -v x="$extra" 'BEGIN { if (x >= 3) printf "%.0f", 1e9 / x; else print "-" }')
      fi
      [ "$query" = q1 ] && [ "$ckpt" = off ] && Q1_RATE[$p]=$rate
      ck=-
      if [ "$ckpt" != off ]; then
        ck="$(printf '%s\n' "${counts[@]}" | pct 50) $(printf '%s\n' "${durations[@]}" | pct 50)/$(printf '%s\n' "${durations[@]}" | pct 99)"
      fi
      row=$(printf '| %-6s | %2s | %4s | %7.2f | %12s | %6.2f | %5s | %12s | %6s | %12s | %-22s | %-17s |' \
        "$query" "$p" "$ckpt" "$job" "$rate" "$cpu" "$cores" "$percore" "$extra" "$excl" "${rss[$mid]}" "$ck")
      echo "$row"
      ROWS+=("$row")
    done
  done
done

LATENCY=""
if [ "$LATENCY_SECONDS" != 0 ] && [ -n "${Q1_RATE[2]:-}" ]; then
  rate=$(( Q1_RATE[2] / 2 ))
  n=$(( rate * LATENCY_SECONDS ))
  mkdir -p "$WORK/latency"
  EVENTS_SAVED=$EVENTS
  EVENTS=$n TPS=$rate manifest "$WORK/lat.yaml" q1 2 off --rate.limited true --base-time wallclock \
    --prob-delayed-event 0 --latency-file "$WORK/latency/q1" --latency-sample 100
  EVENTS=$EVENTS_SAVED
  run_once "$WORK/lat.yaml"
  samples=$(cat "$WORK"/latency/q1.* | wc -l)
  p50=$(cat "$WORK"/latency/q1.* | pct 50) p99=$(cat "$WORK"/latency/q1.* | pct 99)
  achieved=$(awk -v e="$n" -v j="$JOB_S" 'BEGIN { printf "%.0f", e / j }')
  LATENCY=$(printf 'q1 end-to-end latency at half its maximum rate (%s events/s, parallelism 2, %s s, %s samples): p50 %.2f ms, p99 %.2f ms (achieved %s events/s, %s CPU s)' \
    "$rate" "$LATENCY_SECONDS" "$samples" "$(awk -v u="$p50" 'BEGIN { print u / 1000 }')" \
    "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" "$achieved" "$CPU_S")
  echo "$LATENCY"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average after: $LOAD_AFTER"

if [ "$RESULTS" != - ]; then
  mkdir -p "$(dirname "$RESULTS")"
  {
    echo "# Nexmark on flink-cpp, $(date +%F)"
    echo
    echo "Produced by \`bench/nexmark_bench.sh $BIN $EVENTS $RUNS\` (columns explained in the script's header)."
    echo
    echo "- machine: $MACHINE"
    echo "- load average before / after: $LOAD_BEFORE / $LOAD_AFTER"
    echo "- $EVENTS events per run at $TPS events/s of event time (Nexmark's tps); median of $RUNS runs per setting"
    echo "- checkpoints: exactly-once, every 1 s, to a local file:// directory"
    echo
    echo "$HEADER"
    echo "$SEP"
    printf '%s\n' "${ROWS[@]}"
    echo
    [ -n "$LATENCY" ] && echo "$LATENCY" && echo
  } > "$RESULTS"
  echo "results written to $RESULTS"
fi
