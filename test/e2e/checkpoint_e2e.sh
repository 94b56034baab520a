#!/usr/bin/env bash
# End-to-end tests of exactly-once checkpointing: the flight-delay job (flinkcpp.examples.FlightDelays)
# run through `BIN run-local` with checkpoints, TaskManagers killed, savepoints, rescaling and
# broken checkpoint storage; the committed part files are diffed against sqlite3's aggregate.
#
# Usage: checkpoint_e2e.sh BIN WORKDIR CASE
#   BIN      the flink-cpp binary (e.g. build/bin/flink-cpp)
#   WORKDIR  scratch directory; the case works in WORKDIR/checkpoint-CASE (wiped first)
#   CASE     kill-recovery | savepoint-rescale | splits-kill-recovery | splits-rescale | splits-monitor | corrupt-metadata | unwritable-dir | bad-savepoint |
#            ack-after-end | ack-after-end-processes | jobmanager-restart
#
# Cases:
#   kill-recovery      3 M rows, checkpoints every 1 s, sources throttled; 3 runs, each SIGKILLs a
#                      TaskManager of that run at a different (seeded) random moment while every task
#                      is RUNNING; one run kills a second time once the replacement TaskManager runs
#                      and the job is RUNNING again. Each run: exit 0, `restarts:` >= kills, output
#                      = oracle.
#   savepoint-rescale  parallelism 2, `flink-cpp stop --savepointPath` after ~2 s (the run must end
#                      FINISHED with partial output), then `--fromSavepoint PATH -p 3`: the part files
#                      of both runs together = oracle.
#   splits-kill-recovery  kill-recovery with the 3 M rows as a directory of split files (see
#                      prepare_split_input: 2 gzip parts, 2 plain parts cut into byte ranges, an empty
#                      and a hidden file): the split enumerator's state in _metadata and the readers'
#                      split positions restore exactly once after each SIGKILL.
#   splits-rescale     the same input as a glob; p2 stopped with a savepoint after ~2 s, resumed at
#                      p3 and stopped with a savepoint again, resumed at p1 to the end: the part
#                      files of the three runs together = oracle.
#   splits-monitor     continuous monitoring: --monitor-interval 300 ms over a directory holding
#                      part-0.csv.gz; once the job is RUNNING, part-1.csv is moved in; once the
#                      JobManager logged its discovery, stop --drain with a savepoint: FINISHED, and
#                      the output = oracle of the first 1.6 M rows (both parts).
#   corrupt-metadata   num-retained 2, interval 500 ms; right after a checkpoint completes (>= 2
#                      exist) its `_metadata` gets bytes flipped and a TaskManager SIGKILL: the job
#                      restores from the previous checkpoint (the JobManager log says the corrupt one
#                      was skipped) and output = oracle. A checkpoint completing between the flip and
#                      the failover hides the corruption (race): the attempt is repeated, at most 3.
#   unwritable-dir     state.checkpoints.dir below a regular file, tolerable failures 1000000,
#                      restart-strategy none, 200 k rows throttled: the job finishes, output =
#                      oracle, the summary counts failed checkpoints (> 0) and none completed.
#   bad-savepoint      --fromSavepoint of a path that does not exist: non-zero exit naming the path;
#                      a savepoint of the flight-delay job restored into the route-counts job (a
#                      shared library): non-zero exit naming an operator id of the savepoint that the
#                      new job lacks; with --allowNonRestoredState the same restore runs to FINISHED.
#   ack-after-end      the race of a checkpoint still in flight when the input ends: 200 k rows
#                      throttled (~2 s), checkpoints every 300 ms, and the fault-injection key
#                      flink-cpp.testing.delay-checkpoint-ack "1:<ms>" holds the acknowledgements
#                      of checkpoint 1 until after the end of input (seeded delay 2.5-4.5 s). The
#                      part files checkpoint 1 prepared must be committed although the input ended
#                      before the checkpoint was acknowledged: output = oracle; a TaskManager log
#                      shows a task's end of input before the held-back acknowledgement (the race
#                      was really run) and the JobManager settles checkpoint 1 before FINISHED.
#   ack-after-end-processes  the same with a standalone-job JobManager and two TaskManager
#                      processes (as the pods of a Kubernetes deployment run them).
#   jobmanager-restart the JobManager restart of a last-state upgrade: standalone-job + two
#                      TaskManager processes with a fixed job id, checkpoints every 500 ms, 200 k rows
#                      throttled (~9 s). Once the job is RUNNING with >= 1 completed checkpoint (REST)
#                      and a seeded 0-2 s later, all three processes get SIGKILL (the job must still be
#                      RUNNING: one that FINISHED first fails the case), then start again with the same
#                      configuration (job id, checkpoint and output directories). The new JobManager's
#                      log says it resumes from its own checkpoint, the newest complete chk-N the
#                      killed one left; its first completed checkpoint (REST history) has an id above
#                      every chk-N on disk at the kill (so above the highest completed before it);
#                      the job FINISHES with output = oracle.
#
# Every comparison with the oracle also requires that no uncommitted (hidden) part file is left
# in the output directory of a FINISHED job.
#
# Needs bash (HTTP through /dev/tcp), coreutils, awk, gzip and sqlite3 (JSON via json_extract).
# TaskManagers are found as children of this script's own run-local process (/proc/PID/task/PID/children).
# Environment: FLIGHTS_DATA (default examples/data/flights-3m.csv.gz next to this repo),
# E2E_TIMEOUT (seconds per run-local, default 300), E2E_SEED (kill moments, default 20240601),
# ROUTE_COUNTS_SO (default BIN/../../lib/route-counts.so, i.e. build/lib next to build/bin).
set -euo pipefail

CASES="kill-recovery|savepoint-rescale|splits-kill-recovery|splits-rescale|splits-monitor|corrupt-metadata|unwritable-dir|bad-savepoint|ack-after-end|ack-after-end-processes|jobmanager-restart"
if [ "$#" -ne 3 ]; then
  echo "usage: $0 BIN WORKDIR $CASES" >&2
  exit 2
fi
BIN=$1 WORKDIR=$2 CASE=$3
export LC_ALL=C
case "|$CASES|" in
  *"|$CASE|"*) ;;
  *) echo "unknown case '$CASE' ($CASES)" >&2; exit 2 ;;
esac

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-300}
SEED=${E2E_SEED:-20240601}

die() { echo "FAIL $CASE: $*" >&2; exit 1; }

command -v sqlite3 >/dev/null || die "sqlite3 not found"
[ -r "$DATA" ] || die "input data not found: $DATA"
DATA=$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")
if [[ "$BIN" == */* ]]; then
  [ -x "$BIN" ] || die "binary not executable: $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
else
  command -v "$BIN" >/dev/null || die "binary not found: $BIN"
  BIN=$(command -v "$BIN")
fi

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$WORKDIR/checkpoint-$CASE
rm -rf "$DIR"
mkdir -p "$DIR/tmp"
# run-local puts its configuration and logs under $TMPDIR (as does the default checkpoint dir):
# keep them in the case directory.
export TMPDIR=$DIR/tmp
CASE_START=$(date +%s%3N)

# --- helpers -----------------------------------------------------------------


# http_get PORT PATH OUT: GET http://127.0.0.1:PORT/PATH; the body goes to OUT, the status code
# to stdout ("000" when nothing answered).
http_get() {
  local raw=$3.raw
  if ! timeout 10 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n" "$2" "$1" >&3
      cat <&3' _ "$1" "$2" > "$raw" 2>/dev/null; then
    : > "$3"
    echo 000
    return 0
  fi
  sed '1,/^\r$/d' "$raw" > "$3"
  local status
  status=$(head -n 1 "$raw" | cut -d ' ' -f 2)
  echo "${status:-000}"
}



# Processes whose FLINK_CONF_DIR lies under $DIR: what this case's run-local started.
leftover_processes() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    [ "$p" = "$$" ] && continue
    [ -r "$e" ] || continue
    if tr '\0' '\n' 2>/dev/null < "$e" \
         | awk -v d="FLINK_CONF_DIR=$DIR" 'index($0, d "/") == 1 { found = 1 } END { exit !found }'; then
      echo "$p"
    fi
  done
}
expect_no_leftovers() {
  local left
  left=$(leftover_processes | paste -s -d, -)
  [ -z "$left" ] || die "processes of this case's cluster still run after $1: $left"
}

# --- run-local in the background ---------------------------------------------

RUN_PID="" RUN_LOG="" RUN_NAME="" REST_PORT="" JOB_ID="" LOG_DIR=""
CLUSTER_PIDS=()  # the standalone cluster's processes (stop_cluster)

cleanup() {
  stop_cluster
  stop_run_local "$RUN_PID"
  RUN_PID=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_run NAME MANIFEST [ARG...]: starts BIN run-local MANIFEST --quiet ARG... in the
# background (log $DIR/NAME.log) and waits for its REST port, job id and log directory.
start_run() {
  RUN_NAME=$1 RUN_LOG=$DIR/$1.log
  local m=$2 start
  shift 2
  : > "$RUN_LOG"  # the background job opens it asynchronously
  "$BIN" run-local "$m" --quiet "$@" > "$RUN_LOG" 2>&1 < /dev/null &
  RUN_PID=$!
  RUN_START=$(now_ms)
  REST_PORT="" JOB_ID="" LOG_DIR=""
  start=$(now_ms)
  while [ -z "$REST_PORT" ]; do
    REST_PORT=$(sed -n 's/^  JobManager REST API: http:\/\/127\.0\.0\.1:\([0-9]*\)  job [0-9a-f]*$/\1/p' "$RUN_LOG")
    JOB_ID=$(sed -n 's/^  JobManager REST API: http:\/\/127\.0\.0\.1:[0-9]*  job \([0-9a-f]*\)$/\1/p' "$RUN_LOG")
    [ -n "$REST_PORT" ] && break
    kill -0 "$RUN_PID" 2>/dev/null || { show "$RUN_LOG"; die "$RUN_NAME: run-local exited before printing its REST address"; }
    [ $(( $(now_ms) - start )) -lt 30000 ] || { show "$RUN_LOG"; die "$RUN_NAME: no REST address after 30 s"; }
    sleep 0.02
  done
  LOG_DIR=$(sed -n 's/^  logs: //p' "$RUN_LOG" | head -n 1 || true)
  [ -d "$LOG_DIR" ] || die "$RUN_NAME: no logs directory in $RUN_LOG"
}

# finish_run: waits for run-local to exit (at most E2E_TIMEOUT s since it started); sets RUN_RC.
finish_run() {
  while kill -0 "$RUN_PID" 2>/dev/null; do
    if [ $(( $(now_ms) - RUN_START )) -ge $((TIMEOUT * 1000)) ]; then
      show "$RUN_LOG"
      cleanup
      die "$RUN_NAME: run-local did not finish within ${TIMEOUT}s"
    fi
    sleep 0.1
  done
  RUN_RC=0
  wait "$RUN_PID" || RUN_RC=$?
  RUN_PID=""
}

# job_state: STATE of the job and ALL_RUNNING=1 when every subtask of every vertex is RUNNING.
job_state() {
  local body=$DIR/job.json status
  STATE="" ALL_RUNNING=0
  status=$(http_get "$REST_PORT" "/jobs/$JOB_ID" "$body")
  [ "$status" = 200 ] || return 0
  job_details_state "$body"
}

# wait_all_running WHAT: until the job is RUNNING with every subtask RUNNING.
wait_all_running() {
  local start
  start=$(now_ms)
  while :; do
    job_state
    [ "$ALL_RUNNING" = 1 ] && return 0
    case "$STATE" in
      FINISHED|FAILED|CANCELED)
        show "$RUN_LOG"
        die "$RUN_NAME: the job ended $STATE while waiting for its tasks to run ($1); a slower --records-per-second would help" ;;
    esac
    kill -0 "$RUN_PID" 2>/dev/null || { show "$RUN_LOG"; die "$RUN_NAME: run-local exited while waiting ($1)"; }
    [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || { show "$RUN_LOG"; die "$RUN_NAME: tasks not RUNNING after ${TIMEOUT}s ($1)"; }
    sleep 0.02
  done
}

job_metric() {  # job_metric NAME -> value ("" if unavailable)
  local body=$DIR/metrics.json
  [ "$(http_get "$REST_PORT" "/jobs/$JOB_ID/metrics?get=$1" "$body")" = 200 ] || return 0
  jget "$body" '$[0].value'
}

# taskmanager_pids: live TaskManager processes of the current run (children of our run-local), sorted.
taskmanager_pids() {
  local c p cmd
  c=$(cat "/proc/$RUN_PID/task/$RUN_PID/children" 2>/dev/null || true)
  for p in $c; do
    awk '{ exit !($3 != "Z") }' "/proc/$p/stat" 2>/dev/null || continue  # not a zombie
    cmd=$(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null || true)
    [[ "$cmd" =~ (^|/)flink-cpp\ taskmanager(\ |$) ]] && echo "$p"
  done | sort -n
}

# kill_taskmanager: SIGKILLs a (seeded) random TaskManager of the current run; sets VICTIM.
kill_taskmanager() {
  local -a tms
  mapfile -t tms < <(taskmanager_pids)
  [ "${#tms[@]}" -gt 0 ] || die "$RUN_NAME: no TaskManager process found under run-local $RUN_PID"
  local pid=${tms[$((RANDOM % ${#tms[@]}))]} name
  name=$(basename "$(readlink "/proc/$pid/fd/1" 2>/dev/null || echo "pid-$pid")" .log)
  kill -KILL "$pid"
  VICTIM="$name (pid $pid)"
}

# summary_value LABEL: the number after "LABEL:" in the run's summary.
summary_value() { sed -nE "s/^  $1: ([0-9]+).*/\\1/p" "$RUN_LOG" | tail -n 1; }

expect_finished_ok() {  # expect_finished_ok LABEL: exit 0 and "Job ... FINISHED"
  if [ "$RUN_RC" -ne 0 ]; then
    show "$RUN_LOG" 30
    [ -n "$LOG_DIR" ] && show "$LOG_DIR/jobmanager.log" 30
    die "$1: run-local exited $RUN_RC"
  fi
  grep -q -E "^Job .* \\($JOB_ID\\) FINISHED\$" "$RUN_LOG" || { show "$RUN_LOG"; die "$1: the summary does not say FINISHED"; }
}

# prepare_split_input: prepare_input 3000000, then SPLIT_DIR holds the 3 M rows as split files,
# each with the header: part-0.csv.gz (rows 1-800000), part-1.csv (800001-1600000, plain: cut
# into 8 MiB byte ranges), part-2.csv.gz (1600001-2400000), part-3.csv (the rest, plain), plus
# an empty file and a hidden one (.in-progress, garbage: the source must ignore it). Cached in
# WORKDIR/flights-splits by the data file's stamp.
prepare_split_input() {
  prepare_input 3000000
  SPLIT_DIR=$WORKDIR/flights-splits/parts
  local stamp
  stamp="$(stat -c '%s %Y' "$DATA") $(cksum < "${BASH_SOURCE[0]}" | cut -d ' ' -f 1) v1"
  if [ -f "$SPLIT_DIR/../stamp" ] && [ "$(cat "$SPLIT_DIR/../stamp")" = "$stamp" ]; then return 0; fi
  rm -rf "$WORKDIR/flights-splits"
  mkdir -p "$SPLIT_DIR"
  local t0 header
  t0=$(now_ms)
  header=$(gzip -dc "$DATA" | head -n 1 || true)
  gzip -dc "$DATA" | tail -n +2 | awk -v dir="$SPLIT_DIR" -v header="$header" '
    { part = int((NR - 1) / 800000); if (part > 3) part = 3
      if (!started || part != last) { if (started) close(file); file = dir "/part-" part ".csv"; print header > file; last = part; started = 1 }
      print > file }'
  gzip -1 "$SPLIT_DIR/part-0.csv" "$SPLIT_DIR/part-2.csv"
  : > "$SPLIT_DIR/part-4-empty.csv"
  printf 'not,a,flight\n' > "$SPLIT_DIR/.in-progress"
  echo "$stamp" > "$SPLIT_DIR/../stamp"
  echo "  split input: $(ls "$SPLIT_DIR" | paste -s -d ' ' -) ($(secs_since "$t0")s)"
}

# --- cases -------------------------------------------------------------------

case_kill_recovery() {
  local rate=300000 rows=3000000
  if [ "${SPLITS:-0}" = 1 ]; then
    # Slower: a subtask whose splits run out waits for the others, so the tail of a run has
    # less parallelism; the second kill needs the job still running after the first restart.
    rate=150000
    prepare_split_input
    INPUT=$SPLIT_DIR
  else
    prepare_input "$rows"
  fi
  RANDOM=$SEED
  # Three different moments (ms after every task runs), one from each third of [300, 3600),
  # assigned to the runs in a seeded random order; the run with the earliest first kill also
  # kills a second time (it has the most work left for it).
  local -a moments=() order=(0 1 2)
  local i j t
  for i in 0 1 2; do moments[i]=$((300 + i * 1100 + RANDOM % 1100)); done
  for ((i = 2; i > 0; i--)); do j=$((RANDOM % (i + 1))); t=${order[i]}; order[i]=${order[j]}; order[j]=$t; done
  local double=0
  for i in 0 1 2; do [ "${moments[order[i]]}" -lt "${moments[order[double]]}" ] && double=$i; done
  echo "  seed $SEED: kill moments $(for i in 0 1 2; do printf '%s ' "run$((i + 1))=+$(ms_to_s "${moments[order[i]]}")s"; done)(run$((double + 1)) kills twice)"

  local run kills first second restarts ckpts summary="" restored_any=0
  for run in 0 1 2; do
    local name=kill-run$((run + 1))
    flight_delays_manifest "$name" 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/$name/checkpoints")" \
      --input "$INPUT" --output "$DIR/$name/out" --key origin --window "1 h" --records-per-second "$rate" \
      > "$DIR/$name.yaml"
    start_run "$name" "$DIR/$name.yaml"
    wait_all_running "before the first kill"
    local t0
    t0=$(now_ms)
    first=${moments[order[run]]}
    sleep_ms $((first - ($(now_ms) - t0)))
    job_state
    [ "$ALL_RUNNING" = 1 ] || { show "$RUN_LOG"; die "$name: the job is $STATE (not every task RUNNING) at the kill moment +$(ms_to_s "$first")s"; }
    kill_taskmanager
    kills=1
    echo "  $name: SIGKILL $VICTIM at +$(secs_since "$t0")s after all tasks ran (job $JOB_ID)"
    if [ "$run" -eq "$double" ]; then
      # Second kill: after the replacement TaskManager runs and the job is RUNNING again.
      local start
      start=$(now_ms)
      while :; do
        restarts=$(job_metric numRestarts)
        job_state
        if [ "${restarts:-0}" -ge 1 ] && [ "$ALL_RUNNING" = 1 ] && [ "$(taskmanager_pids | wc -l)" -ge 2 ]; then break; fi
        case "$STATE" in FINISHED|FAILED|CANCELED) show "$RUN_LOG"; die "$name: the job ended $STATE before the second kill";; esac
        [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || { show "$RUN_LOG"; die "$name: not RUNNING again ${TIMEOUT}s after the first kill"; }
        sleep 0.02
      done
      local back
      back=$(secs_since "$t0")
      second=$((200 + RANDOM % 800))
      sleep_ms "$second"
      job_state
      [ "$ALL_RUNNING" = 1 ] || { show "$RUN_LOG"; die "$name: the job is $STATE (not every task RUNNING) at the second kill"; }
      kill_taskmanager
      kills=2
      echo "  $name: RUNNING again (restart 1, replacement TaskManager up) at +${back}s; second SIGKILL $VICTIM $(ms_to_s "$second")s later"
    fi
    finish_run
    expect_finished_ok "$name"
    restarts=$(summary_value restarts)
    [ -n "$restarts" ] || die "$name: no 'restarts:' in the summary"
    [ "$restarts" -ge "$kills" ] || { show "$RUN_LOG"; die "$name: restarts: $restarts, expected >= $kills (one per SIGKILL)"; }
    ckpts=$(sed -nE 's/^  checkpoints: ([0-9]+) completed.*/\1/p' "$RUN_LOG" | tail -n 1)
    # Which checkpoint each restart restored ("fresh" when none had completed yet).
    local restored
    restored=$(sed -nE 's/.*Restoring job .* from checkpoint ([0-9]+) .*/chk-\1/p' "$LOG_DIR/jobmanager.log" | paste -s -d, -)
    [ -n "$restored" ] && restored_any=1
    compare_output "$DIR/$name/out" "$name"
    expect_no_leftovers "$name"
    echo "  $name: FINISHED, $kills kill(s), restarts $restarts (restored from: ${restored:-no checkpoint, started fresh}), $ckpts checkpoints completed, $ACTUAL_ROWS rows = oracle, $(secs_since "$RUN_START")s"
    summary+="${summary:+; }$name ${kills}x kill restarts $restarts"
  done
  # A kill in the first second may come before any checkpoint (a fresh restart); the later
  # moments (>= 1.4 s, checkpoints every 1 s) must have restored one.
  [ "$restored_any" = 1 ] || die "no run restored from a checkpoint (every restart started fresh)"
  echo "PASS $CASE: 3 runs of $rows rows ($summary), output = oracle each time, $(secs_since "$CASE_START")s"
}

case_savepoint_rescale() {
  local rate=300000 rows=3000000 name=rescale-p2 sp out=$DIR/out
  prepare_input "$rows"
  flight_delays_manifest savepoint-rescale 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/checkpoints")" \
    --input "$INPUT" --output "$out" --key origin --window "1 h" --records-per-second "$rate" > "$DIR/manifest.yaml"
  start_run "$name" "$DIR/manifest.yaml"
  wait_all_running "before the savepoint"
  local t0 rc=0
  t0=$(now_ms)
  sleep 2
  timeout 120 "$BIN" stop -m "127.0.0.1:$REST_PORT" --savepointPath "$DIR/savepoints" "$JOB_ID" > "$DIR/stop.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { show "$DIR/stop.log"; show "$RUN_LOG"; die "flink-cpp stop exited $rc"; }
  sp=$(sed -n 's/^Savepoint completed\. Path: \(.*\)$/\1/p' "$DIR/stop.log" | tail -n 1)
  [ -n "$sp" ] || { show "$DIR/stop.log"; die "flink-cpp stop did not print 'Savepoint completed. Path: ...'"; }
  local spdir=${sp#file://}
  [ -f "$spdir/_metadata" ] || die "savepoint $sp has no _metadata"
  [[ "$(basename "$spdir")" =~ ^savepoint-${JOB_ID:0:6}-[0-9a-f]{12}$ ]] || die "savepoint directory name $(basename "$spdir") is not savepoint-<6 hex of the job id>-<12 hex>"
  echo "  $name: stop with savepoint at +$(secs_since "$t0")s: $sp"
  finish_run
  expect_finished_ok "$name"
  shopt -s nullglob
  local first=("$out"/part-*)
  shopt -u nullglob
  local first_rows=0
  [ "${#first[@]}" -eq 0 ] || first_rows=$(cat "${first[@]}" | wc -l)
  local exp_rows
  exp_rows=$(wc -l < "$EXPECTED")
  [ "$first_rows" -lt "$exp_rows" ] || die "$name: the stopped run already wrote all $exp_rows rows: the savepoint came too late to test anything"
  echo "  $name: FINISHED after the savepoint with $first_rows of $exp_rows rows committed"

  name=rescale-p3
  start_run "$name" "$DIR/manifest.yaml" -p 3 --fromSavepoint "$sp"
  grep -q "parallelism 3" "$RUN_LOG" || { show "$RUN_LOG"; die "$name: run-local does not report parallelism 3"; }
  finish_run
  expect_finished_ok "$name"
  grep -q -F "restores from savepoint $spdir" "$LOG_DIR/jobmanager.log" \
    || { show "$LOG_DIR/jobmanager.log"; die "$name: the JobManager log does not say it restores from $spdir"; }
  compare_output "$out" "$name"
  compgen -G "$out/part-${JOB_ID:0:8}0-2-*" > /dev/null \
    || die "$name: no part file of subtask 3/3 (part-${JOB_ID:0:8}0-2-*) in $out: not rescaled to 3?"
  expect_no_leftovers "$name"
  echo "PASS $CASE: p2 stopped with savepoint after ~2 s ($first_rows rows), p3 resumed; union $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
}

# stop_with_savepoint LABEL: flink-cpp stop --savepointPath of the current run; sets SP.
stop_with_savepoint() {
  local rc=0
  timeout 120 "$BIN" stop -m "127.0.0.1:$REST_PORT" --savepointPath "$DIR/savepoints" "$JOB_ID" > "$DIR/stop-$1.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { show "$DIR/stop-$1.log"; show "$RUN_LOG"; die "$1: flink-cpp stop exited $rc"; }
  SP=$(sed -n 's/^Savepoint completed\. Path: \(.*\)$/\1/p' "$DIR/stop-$1.log" | tail -n 1)
  [ -n "$SP" ] || { show "$DIR/stop-$1.log"; die "$1: flink-cpp stop did not print 'Savepoint completed. Path: ...'"; }
  [ -f "${SP#file://}/_metadata" ] || die "$1: savepoint $SP has no _metadata"
  grep -q '"coordinators"' "${SP#file://}/_metadata" || die "$1: savepoint $SP has no split enumerator state in its _metadata"
}

committed_rows() {  # committed_rows DIR: lines in the visible part files
  shopt -s nullglob
  local f=("$1"/part-*)
  shopt -u nullglob
  if [ "${#f[@]}" -eq 0 ]; then echo 0; else cat "${f[@]}" | wc -l; fi
}

# run_until_savepoint NAME SECONDS OUT EXPECTED_ROWS [RUN-LOCAL ARG...]: runs $DIR/manifest.yaml,
# stops it with a savepoint SECONDS after every task runs (sets SP), and checks that it FINISHED
# with fewer than EXPECTED_ROWS rows committed in OUT (sets ROWS).
run_until_savepoint() {
  local name=$1 secs=$2 out=$3 exp_rows=$4
  shift 4
  start_run "$name" "$DIR/manifest.yaml" "$@"
  wait_all_running "before the savepoint"
  sleep "$secs"
  stop_with_savepoint "$name"
  finish_run
  expect_finished_ok "$name"
  ROWS=$(committed_rows "$out")
  [ "$ROWS" -lt "$exp_rows" ] || die "$name: wrote all $exp_rows rows before the savepoint: nothing left to test"
  echo "  $name: stopped with savepoint $SP ($ROWS of $exp_rows rows committed)"
}

case_splits_rescale() {
  local rate=150000 out=$DIR/out exp_rows rows1 rows2  # slow enough that p3 still runs 1.5 s after it started on a loaded machine
  prepare_split_input
  exp_rows=$(wc -l < "$EXPECTED")
  flight_delays_manifest splits-rescale 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/checkpoints")" \
    --input "$SPLIT_DIR/part-*" --output "$out" --key origin --window "1 h" --records-per-second "$rate" > "$DIR/manifest.yaml"
  run_until_savepoint rescale-p2 2 "$out" "$exp_rows"
  rows1=$ROWS
  run_until_savepoint rescale-p3 1.5 "$out" "$exp_rows" -p 3 --fromSavepoint "$SP"
  rows2=$ROWS
  grep -q "parallelism 3" "$RUN_LOG" || { show "$RUN_LOG"; die "rescale-p3: run-local does not report parallelism 3"; }
  grep -q -E "split enumerator of Source: flights.* restored from checkpoint" "$LOG_DIR/jobmanager.log" \
    || { show "$LOG_DIR/jobmanager.log"; die "rescale-p3: the JobManager log does not say the split enumerator was restored"; }
  start_run rescale-p1 "$DIR/manifest.yaml" -p 1 --fromSavepoint "$SP"
  finish_run
  expect_finished_ok rescale-p1
  compare_output "$out" splits-rescale
  expect_no_leftovers splits-rescale
  echo "PASS $CASE: p2 -> savepoint -> p3 -> savepoint -> p1 over the split files ($rows1, $rows2 rows after each stop); union $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
}

case_splits_monitor() {
  local out=$DIR/out in=$DIR/in start rc=0
  prepare_split_input
  prepare_input 1600000  # EXPECTED: the oracle of part-0 and part-1
  mkdir -p "$in"
  cp "$SPLIT_DIR/part-0.csv.gz" "$in/"
  flight_delays_manifest splits-monitor 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/checkpoints")" \
    --input "$in" --output "$out" --key origin --window "1 h" --monitor-interval "300 ms" > "$DIR/manifest.yaml"
  start_run splits-monitor "$DIR/manifest.yaml"
  wait_all_running "before the second file"
  cp "$SPLIT_DIR/part-1.csv" "$in/.part-1.csv.tmp"  # hidden while it is written
  mv "$in/.part-1.csv.tmp" "$in/part-1.csv"
  start=$(now_ms)
  until [ "$(grep -c 'new file(s)' "$LOG_DIR/jobmanager.log")" -ge 2 ]; do
    [ $(( $(now_ms) - start )) -lt 30000 ] || { show "$LOG_DIR/jobmanager.log"; die "part-1.csv was not discovered within 30 s"; }
    job_state
    [ "$STATE" = RUNNING ] || { show "$RUN_LOG"; die "the unbounded job is $STATE before the second file was read"; }
    sleep 0.1
  done
  echo "  splits-monitor: part-1.csv discovered $(secs_since "$start")s after it was moved in"
  sleep 2
  timeout 120 "$BIN" stop -m "127.0.0.1:$REST_PORT" --drain --savepointPath "$DIR/savepoints" "$JOB_ID" > "$DIR/stop.log" 2>&1 || rc=$?
  finish_run
  expect_finished_ok splits-monitor
  # With drain the job FINISHES right after the savepoint and run-local stops its JobManager: the
  # CLI may find it gone before it read the savepoint's status. The JobManager's log tells.
  grep -q "Completed savepoint" "$LOG_DIR/jobmanager.log" \
    || { show "$DIR/stop.log"; show "$LOG_DIR/jobmanager.log"; die "no completed savepoint (flink-cpp stop --drain exited $rc)"; }
  compare_output "$out" splits-monitor
  expect_no_leftovers splits-monitor
  echo "PASS $CASE: an unbounded directory source read a file moved in while it ran; stopped with drain, $ACTUAL_ROWS rows = oracle of both files, $(secs_since "$CASE_START")s"
}

# flip_bytes FILE OFFSET COUNT: inverts COUNT bytes of FILE from OFFSET, in place.
flip_bytes() {
  local f=$1 off=$2 n=$3 i b
  for ((i = 0; i < n; i++)); do
    b=$(od -An -tu1 -j $((off + i)) -N1 "$f" | tr -d ' ')
    [ -n "$b" ] || die "cannot read byte $((off + i)) of $f"
    # shellcheck disable=SC2059
    printf "\\$(printf '%03o' $((b ^ 255)))" | dd of="$f" bs=1 seek=$((off + i)) conv=notrunc status=none
  done
}

# completed_checkpoints JOBDIR: N of every chk-N with a _metadata, ascending.
completed_checkpoints() {
  local d
  for d in "$1"/chk-*; do
    [ -f "$d/_metadata" ] && echo "${d##*/chk-}"
  done | sort -n
}

case_corrupt_metadata() {
  local rate=300000 rows=3000000 attempt skipped=0 name
  prepare_input "$rows"
  for attempt in 1 2 3; do
    name=corrupt-attempt$attempt
    local chkroot=$DIR/$name/checkpoints
    flight_delays_manifest "$name" 2 "execution.checkpointing.interval: \"500 ms\"
state.checkpoints.num-retained: \"2\"
state.checkpoints.dir: $(q "file://$chkroot")" \
      --input "$INPUT" --output "$DIR/$name/out" --key origin --window "1 h" --records-per-second "$rate" \
      > "$DIR/$name.yaml"
    start_run "$name" "$DIR/$name.yaml"
    wait_all_running "before the corruption"
    # Wait for >= 2 completed checkpoints, then act right after the next one completes (the
    # largest margin before another one completes and hides the corruption).
    local jobdir=$chkroot/$JOB_ID start newest="" prev="" count
    start=$(now_ms)
    while :; do
      mapfile -t done_ids < <(completed_checkpoints "$jobdir" 2>/dev/null)
      count=${#done_ids[@]}
      newest=""
      [ "$count" -eq 0 ] || newest=${done_ids[count - 1]}
      if [ "$count" -ge 2 ] && [ -n "$prev" ] && [ "$newest" != "$prev" ]; then break; fi
      [ "$count" -ge 1 ] && prev=$newest
      job_state
      [ "$ALL_RUNNING" = 1 ] || { show "$RUN_LOG"; die "$name: the job is $STATE (not every task RUNNING) before 2 checkpoints completed"; }
      [ $(( $(now_ms) - start )) -lt 60000 ] || { show "$RUN_LOG"; die "$name: fewer than 2 completed checkpoints after 60 s"; }
      sleep 0.01
    done
    local meta=$jobdir/chk-$newest/_metadata
    flip_bytes "$meta" 20 8
    kill_taskmanager
    echo "  $name: flipped bytes 20..27 of chk-$newest/_metadata (completed: ${done_ids[*]}), SIGKILL $VICTIM at +$(secs_since "$start")s"
    finish_run
    expect_finished_ok "$name"
    local restarts
    restarts=$(summary_value restarts)
    [ "${restarts:-0}" -ge 1 ] || { show "$RUN_LOG"; die "$name: restarts: ${restarts:-?}, expected >= 1"; }
    local jm=$LOG_DIR/jobmanager.log
    local skipline
    skipline=$(grep -E "cannot be used|skipping checkpoint" "$jm" | grep -F "chk-$newest" || true)
    if [ -n "$skipline" ]; then
      skipped=1
      { grep -E "cannot be used|skipping checkpoint" "$jm" | grep -F "chk-$newest" | head -n 1 | sed 's/^/  JobManager: /'
        grep -E "Restoring job .* from checkpoint" "$jm" | head -n 3 | sed 's/^/  JobManager: /'; } || true
    fi
    compare_output "$DIR/$name/out" "$name"
    expect_no_leftovers "$name"
    if [ "$skipped" = 1 ]; then
      echo "PASS $CASE: attempt $attempt: corrupt chk-$newest skipped, restored from the previous checkpoint, $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
      return 0
    fi
    echo "  $name: output = oracle but the JobManager log does not show chk-$newest skipped (a newer checkpoint completed first?): retrying"
  done
  die "in 3 attempts the JobManager log never showed the corrupt checkpoint skipped ('cannot be used' / 'skipping checkpoint')"
}

case_unwritable_dir() {
  local rows=200000 rate=25000 name=unwritable
  prepare_input "$rows"
  echo "a regular file, not a directory" > "$DIR/blocker"
  flight_delays_manifest "$name" 2 "execution.checkpointing.interval: \"500 ms\"
execution.checkpointing.tolerable-failed-checkpoints: \"1000000\"
restart-strategy.type: none
state.checkpoints.dir: $(q "file://$DIR/blocker/checkpoints")" \
    --input "$INPUT" --output "$DIR/out" --key origin --window "1 h" --records-per-second "$rate" > "$DIR/$name.yaml"
  start_run "$name" "$DIR/$name.yaml"
  finish_run
  expect_finished_ok "$name"
  local line completed failed
  line=$(grep -E '^  checkpoints: ' "$RUN_LOG" | tail -n 1)
  completed=$(sed -nE 's/^  checkpoints: ([0-9]+) completed, ([0-9]+) failed.*/\1/p' <<< "$line")
  failed=$(sed -nE 's/^  checkpoints: ([0-9]+) completed, ([0-9]+) failed.*/\2/p' <<< "$line")
  [ -n "$failed" ] || { show "$RUN_LOG"; die "no 'checkpoints: N completed, M failed' in the summary"; }
  [ "$failed" -gt 0 ] || { show "$RUN_LOG"; die "summary '$line': expected failed checkpoints > 0"; }
  [ "$completed" -eq 0 ] || die "summary '$line': no checkpoint can complete below a regular file"
  grep -q -F "$DIR/blocker/checkpoints" "$LOG_DIR/jobmanager.log" \
    || { show "$LOG_DIR/jobmanager.log"; die "the JobManager log does not name the unusable checkpoint directory"; }
  compare_output "$DIR/out" "$name"
  expect_no_leftovers "$name"
  echo "PASS $CASE: FINISHED with '${line#  }', $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
}

case_bad_savepoint() {
  local rows=200000 rate=25000 so=${ROUTE_COUNTS_SO:-$(dirname "$BIN")/../lib/route-counts.so}
  [ -r "$so" ] || die "route-counts shared library not found: $so (set ROUTE_COUNTS_SO)"
  so=$(cd "$(dirname "$so")" && pwd)/$(basename "$so")
  prepare_input "$rows"

  # 1. A savepoint path that does not exist.
  flight_delays_manifest bad-savepoint 2 "" --input "$INPUT" --output "$DIR/out-missing" > "$DIR/flight-delays.yaml"
  local missing=/nonexistent/savepoint-x rc=0
  timeout "$TIMEOUT" "$BIN" run-local "$DIR/flight-delays.yaml" --quiet --fromSavepoint "$missing" > "$DIR/missing.log" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || die "run-local --fromSavepoint $missing timed out"
  [ "$rc" -ne 0 ] || { show "$DIR/missing.log"; die "run-local --fromSavepoint $missing exited 0"; }
  grep -q -F "$missing" <(grep -v -E '^  restoring from: ' "$DIR/missing.log") \
    || { show "$DIR/missing.log"; die "the error for --fromSavepoint $missing does not name the path"; }
  echo "  missing savepoint: exit $rc, $(grep -m 1 -F "$missing" <(grep -v -E '^  restoring from: ' "$DIR/missing.log"))"
  expect_no_leftovers "the missing-savepoint run"

  # 2. A savepoint of the flight-delay job (taken while it runs; the job then finishes).
  flight_delays_manifest flight-delays-sp 2 "" --input "$INPUT" --output "$DIR/out-fd" --records-per-second "$rate" > "$DIR/fd.yaml"
  start_run fd "$DIR/fd.yaml"
  wait_all_running "before the savepoint"
  sleep 1
  rc=0
  timeout 120 "$BIN" savepoint -m "127.0.0.1:$REST_PORT" "$JOB_ID" "$DIR/savepoints" > "$DIR/savepoint.log" 2>&1 || rc=$?
  [ "$rc" -eq 0 ] || { show "$DIR/savepoint.log"; die "flink-cpp savepoint exited $rc"; }
  local sp
  sp=$(sed -n 's/^Savepoint completed\. Path: \(.*\)$/\1/p' "$DIR/savepoint.log" | tail -n 1)
  [ -n "$sp" ] || { show "$DIR/savepoint.log"; die "flink-cpp savepoint did not print 'Savepoint completed. Path: ...'"; }
  finish_run
  expect_finished_ok fd
  compare_output "$DIR/out-fd" fd
  local spdir=${sp#file://}
  # Operator ids of the savepoint: the JSON after _metadata's 16-byte header.
  tail -c +17 "$spdir/_metadata" > "$DIR/savepoint-metadata.json"
  local -a ids
  mapfile -t ids < <(sqlite3 -batch :memory: \
    "SELECT key FROM json_each(CAST(readfile('$DIR/savepoint-metadata.json') AS TEXT), '\$.operators');")
  [ "${#ids[@]}" -ge 2 ] || die "savepoint $sp: cannot read its operator ids"
  echo "  savepoint of the flight-delay job: $sp (operators ${ids[*]})"

  # 3. Restored into the route-counts job: its operators differ.
  local rcm=$DIR/route-counts.yaml
  cat > "$rcm" <<EOF
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: route-counts-from-fd
spec:
  image: flink-cpp:latest
  flinkVersion: v1_19
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
  serviceAccount: flink
  jobManager:
    resource: {memory: "1024m", cpu: 1}
  taskManager:
    resource: {memory: "1024m", cpu: 1}
  job:
    jarURI: $(q "$so")
    entryClass: com.example.RouteCounts
    args: ["--input", $(q "$INPUT"), "--output", $(q "$DIR/out-rc")]
    parallelism: 2
    upgradeMode: stateless
EOF
  rc=0
  timeout "$TIMEOUT" "$BIN" run-local "$rcm" --quiet --fromSavepoint "$sp" > "$DIR/unmapped.log" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || die "run-local of route-counts --fromSavepoint timed out"
  [ "$rc" -ne 0 ] || { show "$DIR/unmapped.log"; die "route-counts restored from the flight-delay savepoint exited 0 (operators do not map)"; }
  local id named=""
  for id in "${ids[@]}"; do
    grep -q -F "$id" "$DIR/unmapped.log" && named+="${named:+, }$id"
  done
  [ -n "$named" ] || { show "$DIR/unmapped.log"; die "the error does not name any operator id of the savepoint (${ids[*]})"; }
  echo "  route-counts --fromSavepoint: exit $rc, names operator(s) $named"
  expect_no_leftovers "the unmapped-state run"

  # 4. The same with --allowNonRestoredState runs to the end.
  start_run allow "$rcm" --fromSavepoint "$sp" --allowNonRestoredState
  finish_run
  expect_finished_ok "route-counts --allowNonRestoredState"
  shopt -s nullglob
  local parts=("$DIR/out-rc"/part-*)
  shopt -u nullglob
  [ "${#parts[@]}" -gt 0 ] && [ "$(cat "${parts[@]}" | wc -l)" -gt 0 ] || die "route-counts --allowNonRestoredState wrote no output"
  grep -q -F "restores from savepoint $spdir" "$LOG_DIR/jobmanager.log" \
    || { show "$LOG_DIR/jobmanager.log"; die "the route-counts JobManager does not log the restore from $spdir"; }
  expect_no_leftovers "the --allowNonRestoredState run"
  echo "PASS $CASE: missing path named, unmapped operator(s) $named named, --allowNonRestoredState FINISHED, $(secs_since "$CASE_START")s"
}

# ack_after_end_config MS: flinkConfiguration lines of the ack-after-end cases.
ack_after_end_config() {
  printf '%s\n' "execution.checkpointing.interval: \"300 ms\"" \
    "state.checkpoints.dir: $(q "file://$DIR/checkpoints")" \
    "flink-cpp.testing.delay-checkpoint-ack: \"1:$1\""
}

case_ack_after_end() {
  local rows=200000 rate=50000 name=ack-after-end delay
  RANDOM=$SEED
  delay=$((2500 + RANDOM % 2000))
  echo "  seed $SEED: acknowledgements of checkpoint 1 held back ${delay} ms"
  prepare_input "$rows"
  flight_delays_manifest "$name" 2 "$(ack_after_end_config "$delay")" \
    --input "$INPUT" --output "$DIR/out" --key origin --window "1 h" --records-per-second "$rate" > "$DIR/$name.yaml"
  start_run "$name" "$DIR/$name.yaml"
  finish_run
  expect_finished_ok "$name"
  compare_output "$DIR/out" "$name"
  expect_race "$LOG_DIR/jobmanager.log" "$LOG_DIR"/taskmanager-*.log
  expect_no_leftovers "$name"
  echo "PASS $CASE: checkpoint 1 acknowledged ${delay} ms late, after the end of input ($RACE_OUTCOME before FINISHED); $ACTUAL_ROWS rows = oracle, no uncommitted file, $(secs_since "$CASE_START")s"
}

# --- a standalone cluster: `standalone-job` and two `taskmanager` processes ----------------------
# (what the JobManager pod and the TaskManager pods of a Kubernetes application deployment run)

# cluster_config CONFIG_LINES: writes $DIR/conf/config.yaml: JobManager and TaskManagers on
# 127.0.0.1 with ephemeral ports (the JobManager writes its own to $DIR/jobmanager.ports), one
# slot per TaskManager, parallelism 2, a fresh random job id (sets JOB_ID), plus CONFIG_LINES.
cluster_config() {
  JOB_ID=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$DIR/conf" "$DIR/log"
  { printf '%s\n' "jobmanager.rpc.address: 127.0.0.1" "jobmanager.rpc.port: 0" "jobmanager.bind-host: 127.0.0.1" \
      "rest.address: 127.0.0.1" "rest.bind-address: 127.0.0.1" "rest.port: 0" "taskmanager.host: 127.0.0.1" \
      "taskmanager.bind-host: 127.0.0.1" "taskmanager.numberOfTaskSlots: 1" "parallelism.default: 2" \
      "metrics.reporter.prom.port: 0" "execution.shutdown-on-application-finish: false" \
      "\$internal.local.port-file: $(q "$DIR/jobmanager.ports")" "\$internal.pipeline.job-id: $JOB_ID"
    printf '%s\n' "$1"; } > "$DIR/conf/config.yaml"
}

# start_cluster TAG RATE: starts `BIN standalone-job` on $DIR/conf running the flight-delay job
# ($INPUT into $DIR/out, --records-per-second RATE; log $DIR/log/jobmanager-TAG.log), waits for
# its ports, then starts two TaskManagers (log/taskmanager-TAG-{0,1}.log); sets CLUSTER_PIDS
# (the JobManager first), REST_PORT and JM_LOG.
start_cluster() {
  local ports=$DIR/jobmanager.ports i
  JM_LOG=$DIR/log/jobmanager-$1.log
  rm -f "$ports"  # a restarted JobManager writes new ports
  FLINK_CONF_DIR=$DIR/conf "$BIN" standalone-job --job-classname flinkcpp.examples.FlightDelays \
    --input "$INPUT" --output "$DIR/out" --key origin --window "1 h" --records-per-second "$2" \
    > "$JM_LOG" 2>&1 < /dev/null &
  CLUSTER_PIDS=($!)
  wait_jobmanager_ports "$ports" "${CLUSTER_PIDS[0]}" "$JM_LOG"
  REST_PORT=$JM_REST_PORT
  for i in 0 1; do
    FLINK_CONF_DIR=$DIR/conf "$BIN" taskmanager -D "jobmanager.rpc.port=$JM_RPC_PORT" \
      > "$DIR/log/taskmanager-$1-$i.log" 2>&1 < /dev/null &
    CLUSTER_PIDS+=($!)
  done
}

# stop_cluster [SIGNAL]: sends SIGNAL (default TERM) to every process of the cluster and reaps them.
stop_cluster() {
  local p
  for p in "${CLUSTER_PIDS[@]}"; do kill "-${1:-TERM}" "$p" 2>/dev/null || true; done
  for p in "${CLUSTER_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  CLUSTER_PIDS=()
}

# cluster_state: STATE of the job through the cluster's REST API ("" when it does not answer);
# FAILs when the JobManager process is gone.
cluster_state() {
  STATE=""
  [ "$(http_get "$REST_PORT" "/jobs/$JOB_ID" "$DIR/job.json")" = 200 ] && STATE=$(jget "$DIR/job.json" '$.state')
  kill -0 "${CLUSTER_PIDS[0]}" 2>/dev/null || { show "$JM_LOG"; die "the JobManager exited (job ${STATE:-unknown})"; }
}

# wait_cluster_finished [HOOK]: polls until the job is FINISHED (FAILs when it ends FAILED or
# CANCELED, or after E2E_TIMEOUT s); HOOK (a command) runs after every poll.
wait_cluster_finished() {
  local start
  start=$(now_ms)
  while :; do
    cluster_state
    [ -z "${1:-}" ] || "$1"
    case "$STATE" in FINISHED) return 0 ;; FAILED|CANCELED) show "$JM_LOG"; die "the job ended $STATE" ;; esac
    [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || { show "$JM_LOG"; die "the job is still ${STATE:-unknown} after ${TIMEOUT}s"; }
    sleep 0.1
  done
}

case_ack_after_end_processes() {
  local rows=200000 rate=50000 delay
  RANDOM=$SEED
  delay=$((2500 + RANDOM % 2000))
  echo "  seed $SEED: acknowledgements of checkpoint 1 held back ${delay} ms"
  prepare_input "$rows"
  cluster_config "$(ack_after_end_config "$delay")"
  start_cluster 1 "$rate"
  wait_cluster_finished
  stop_cluster
  compare_output "$DIR/out" ack-after-end-processes
  expect_race "$JM_LOG" "$DIR"/log/taskmanager-1-*.log
  expect_no_leftovers "the cluster was stopped"
  echo "PASS $CASE: standalone-job + 2 TaskManager processes, checkpoint 1 acknowledged ${delay} ms late, after the end of input ($RACE_OUTCOME before FINISHED); $ACTUAL_ROWS rows = oracle, no uncommitted file, $(secs_since "$CASE_START")s"
}

# checkpoint_stats: GETs /jobs/JOB_ID/checkpoints into $DIR/checkpoints.json; sets COMPLETED
# (.counts.completed), LATEST (.latest.completed.id) and OLDEST (the smallest id of a COMPLETED
# checkpoint in .history, at most 10 entries); "" for what is missing.
checkpoint_stats() {
  local body=$DIR/checkpoints.json
  COMPLETED="" LATEST="" OLDEST=""
  [ "$(http_get "$REST_PORT" "/jobs/$JOB_ID/checkpoints" "$body")" = 200 ] || return 0
  IFS='|' read -r COMPLETED LATEST OLDEST < <(sqlite3 -batch :memory: "
    WITH j(t) AS (SELECT CAST(readfile('$body') AS TEXT))
    SELECT json_extract(t, '\$.counts.completed'), json_extract(t, '\$.latest.completed.id'),
           (SELECT min(json_extract(h.value, '\$.id')) FROM json_each(t, '\$.history') AS h
            WHERE json_extract(h.value, '\$.status') = 'COMPLETED')
    FROM j;" 2>/dev/null) || true
}

# track_first_checkpoint (a wait_cluster_finished hook): FIRST_NEW = the smallest checkpoint id
# the current JobManager has completed (polled often enough that the 10-entry history never
# drops it before it is seen).
track_first_checkpoint() {
  checkpoint_stats
  if [ -n "$OLDEST" ] && { [ -z "$FIRST_NEW" ] || [ "$OLDEST" -lt "$FIRST_NEW" ]; }; then FIRST_NEW=$OLDEST; fi
}

case_jobmanager_restart() {
  local rows=200000 rate=11000 delay start chkroot=$DIR/checkpoints
  RANDOM=$SEED
  delay=$((RANDOM % 2001))
  echo "  seed $SEED: SIGKILL of the cluster ${delay} ms after the first completed checkpoint"
  prepare_input "$rows"
  cluster_config "execution.checkpointing.interval: \"500 ms\"
state.checkpoints.dir: $(q "file://$chkroot")"
  start_cluster 1 "$rate"
  # RUNNING with >= 1 completed checkpoint, then the seeded delay.
  start=$(now_ms)
  while :; do
    cluster_state
    case "$STATE" in FINISHED|FAILED|CANCELED) show "$JM_LOG"; die "the job ended $STATE before its first checkpoint completed; slow the input (--records-per-second)" ;; esac
    if [ "$STATE" = RUNNING ]; then
      checkpoint_stats
      if [ "${COMPLETED:-0}" -ge 1 ]; then break; fi
    fi
    [ $(( $(now_ms) - start )) -lt 60000 ] || { show "$JM_LOG"; die "no completed checkpoint of a RUNNING job after 60 s"; }
    sleep 0.05
  done
  local first_ckpt
  first_ckpt=$(secs_since "$start")
  sleep_ms "$delay"
  cluster_state
  checkpoint_stats
  [ "$STATE" = RUNNING ] \
    || { show "$JM_LOG"; die "the job is ${STATE:-not answering} (not RUNNING) at the kill moment: it must still run when killed; slow the input (--records-per-second)"; }
  local rest_latest=$LATEST
  stop_cluster KILL
  ! grep -q "switched from state RUNNING to FINISHED" "$JM_LOG" \
    || die "the job went FINISHED before the SIGKILL reached the JobManager: the kill must hit a RUNNING job; slow the input (--records-per-second)"
  # What the killed JobManager left on disk: the newest chk-N with a _metadata (what the next
  # JobManager must restore) and the highest chk-N of any kind (no new checkpoint may reuse it).
  local jobdir=$chkroot/$JOB_ID d newest=0 highest=0 n
  for d in "$jobdir"/chk-*; do
    [ -d "$d" ] || continue
    n=${d##*/chk-}
    if [ "$n" -gt "$highest" ]; then highest=$n; fi
    if [ -f "$d/_metadata" ] && [ "$n" -gt "$newest" ]; then newest=$n; fi
  done
  if [ -z "$rest_latest" ] || [ "$newest" -lt "$rest_latest" ]; then
    die "REST reported checkpoint ${rest_latest:-none} completed before the kill, but the newest complete chk-N in $jobdir is chk-$newest"
  fi
  local committed
  committed=$(cat "$DIR"/out/part-* 2>/dev/null | wc -l)
  echo "  job $JOB_ID: first checkpoint at +${first_ckpt}s; SIGKILL JobManager + 2 TaskManagers while RUNNING at +$(secs_since "$start")s ($committed rows committed; REST: checkpoint $rest_latest completed; on disk: newest complete chk-$newest, highest chk-$highest)"

  # The same configuration again: the JobManager must resume from chk-$newest.
  start=$(now_ms)
  start_cluster 2 "$rate"
  FIRST_NEW=""
  wait_cluster_finished track_first_checkpoint
  local rerun resumed
  rerun=$(secs_since "$start")
  resumed=$(sed -nE 's/.*resumes from its own checkpoint ([0-9]+) .*/\1/p' "$JM_LOG" | head -n 1)
  stop_cluster
  compare_output "$DIR/out" jobmanager-restart
  [ -n "$resumed" ] || { show "$JM_LOG"; die "the restarted JobManager's log does not say it 'resumes from its own checkpoint'"; }
  [ "$resumed" -eq "$newest" ] || die "the restarted JobManager resumed from checkpoint $resumed, not from the newest complete one, chk-$newest"
  # Checkpoint ids continue: the restarted JobManager's first completed checkpoint (REST history)
  # lies after every chk-N the killed one left (so also after the newest it completed).
  [ -n "$FIRST_NEW" ] || die "the restarted JobManager completed no checkpoint (REST /jobs/$JOB_ID/checkpoints)"
  [ "$FIRST_NEW" -gt "$highest" ] \
    || die "the restarted JobManager's first completed checkpoint is $FIRST_NEW, not after chk-$highest of the killed one (checkpoint ids restarted?)"
  expect_no_leftovers "the cluster was stopped"
  echo "PASS $CASE: killed while RUNNING after checkpoint $newest, restarted JobManager resumed from chk-$resumed, FINISHED ${rerun}s later, first new checkpoint $FIRST_NEW > $highest; $ACTUAL_ROWS rows = oracle, no uncommitted file, $(secs_since "$CASE_START")s"
}

case "$CASE" in
  ack-after-end) case_ack_after_end ;;
  ack-after-end-processes) case_ack_after_end_processes ;;
  jobmanager-restart) case_jobmanager_restart ;;
  kill-recovery) case_kill_recovery ;;
  splits-kill-recovery) SPLITS=1 case_kill_recovery ;;
  splits-rescale) case_splits_rescale ;;
  splits-monitor) case_splits_monitor ;;
  savepoint-rescale) case_savepoint_rescale ;;
  corrupt-metadata) case_corrupt_metadata ;;
  unwritable-dir) case_unwritable_dir ;;
  bad-savepoint) case_bad_savepoint ;;
esac
