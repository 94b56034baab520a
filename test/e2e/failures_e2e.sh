#!/usr/bin/env bash
# End-to-end tests of failure paths: what flink-cpp does with bad input, bad manifests, bad job
# arguments, an unreachable JobManager and a TaskManager that dies while a job runs.
#
# Usage: failures_e2e.sh BIN WORKDIR CASE
#   BIN      the flink-cpp binary (e.g. build/bin/flink-cpp)
#   WORKDIR  scratch directory; the case works in WORKDIR/CASE (wiped first)
#   CASE     missing-input | bad-manifest | bad-job-args | taskmanager-retry | kill-taskmanager
#
# Cases:
#   missing-input      run-local on a manifest whose --input does not exist: exits non-zero and
#                      names the missing path.
#   bad-manifest       run-local on broken manifests (invalid YAML twice, no spec.job.jarURI,
#                      spec.job.parallelism "two", wrong kind): each exits 2, names the file and
#                      the field (the line for YAML errors), starts nothing and leaves no process.
#   bad-job-args       --window "5 weeks": run-local and a standalone-job JobManager exit
#                      non-zero with a message naming --window.
#   taskmanager-retry  a TaskManager pointed at a port nobody listens on logs its connection
#                      attempts with backoff (capped by cluster.registration.max-timeout) and
#                      exits 0 on SIGTERM.
#   kill-taskmanager   a standalone-job JobManager and 2 TaskManagers run the flight-delay job on
#                      the 3 M rows; one TaskManager gets SIGKILL while the tasks run: the job
#                      ends FAILED (restart-strategy.type: none) with a root exception naming the
#                      lost TaskManager, and the JobManager keeps serving REST.
#
# Needs only bash (HTTP through /dev/tcp), coreutils and sqlite3 (JSON through json_extract).
# Environment: FLIGHTS_DATA (default examples/data/flights-3m.csv.gz next to this repo),
# E2E_TIMEOUT (seconds for each wait, default 120), KILL_TM_WINDOW (--window of the
# kill-taskmanager job, default "1 min": many small windows keep the job running for seconds).
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BIN WORKDIR missing-input|bad-manifest|bad-job-args|taskmanager-retry|kill-taskmanager" >&2
  exit 2
fi
BIN=$1 WORKDIR=$2 CASE=$3
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-120}
KILL_TM_WINDOW=${KILL_TM_WINDOW:-1 min}

case "$CASE" in
  missing-input|bad-manifest|bad-job-args|taskmanager-retry|kill-taskmanager) ;;
  *)
    echo "unknown case '$CASE' (missing-input|bad-manifest|bad-job-args|taskmanager-retry|kill-taskmanager)" >&2
    exit 2 ;;
esac

# --- helpers -----------------------------------------------------------------

declare -A PIDS=()    # name -> pid of the processes this script started in the background

die() {
  echo "FAIL $CASE: $*" >&2
  exit 1
}


# Stops every background process still running: SIGTERM, then SIGKILL after 5 s.
cleanup() {
  local name pid i
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[$name]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for name in "${!PIDS[@]}"; do
    pid=${PIDS[$name]}
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM



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
  # Body: everything after the first empty (CRLF) line.
  sed '1,/^\r$/d' "$raw" > "$3"
  local status
  status=$(head -n 1 "$raw" | cut -d ' ' -f 2)
  echo "${status:-000}"
}


# Processes (pids) whose FLINK_CONF_DIR lies under $DIR: what run-local or this script started.
leftover_processes() {
  local e p
  for e in /proc/[0-9]*/environ; do
    p=${e#/proc/}
    p=${p%/environ}
    [ "$p" = "$$" ] && continue
    [ -r "$e" ] || continue
    if tr '\0' '\n' 2>/dev/null < "$e" \
         | awk -v d="FLINK_CONF_DIR=$DIR" '$0 == d || index($0, d "/") == 1 { found = 1 } END { exit !found }'; then
      echo "$p"
    fi
  done
}

expect_no_leftovers() {
  local left
  left=$(leftover_processes | paste -s -d, -)
  if [ -n "$left" ]; then
    ps -o pid,ppid,args -p "$left" >&2 || true
    die "processes started with FLINK_CONF_DIR under $DIR still run after $1: $left"
  fi
}

# run_local NAME MANIFEST: runs BIN run-local, output to $DIR/NAME.log; sets RC and OUT.
run_local() {
  local log=$DIR/$1.log
  RC=0
  timeout "$TIMEOUT" "$BIN" run-local "$2" --quiet > "$log" 2>&1 || RC=$?
  [ "$RC" -ne 124 ] || { show "$log"; die "$1: run-local timed out after ${TIMEOUT}s"; }
  OUT=$(cat "$log")
}

# expect_output NAME TEXT...: every TEXT occurs (as a fixed string) in $OUT.
expect_output() {
  local name=$1 t
  shift
  for t in "$@"; do
    if ! grep -q -F -e "$t" <<< "$OUT"; then
      show "$DIR/$name.log"
      die "$name: output does not contain '$t'"
    fi
  done
}


# manifest NAME ARG...: a FlinkDeployment (the shape of examples/flight-delays.yaml) running the
# flight-delay job with the given arguments, parallelism 2 on 2 TaskManagers of 1 slot.
manifest() {
  local name=$1
  shift
  flight_delays_manifest "$name" 2 "" "$@"
}

# small_input FILE ROWS: header plus the first ROWS rows of DATA as plain CSV.
small_input() {
  local rc=0
  [ -r "$DATA" ] || die "input data not found: $DATA"
  gzip -dc "$DATA" | head -n "$(($2 + 1))" > "$1" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 141 ] || die "could not read $DATA (exit $rc)"
  [ "$(wc -l < "$1")" -eq "$(($2 + 1))" ] || die "expected $(($2 + 1)) lines from $DATA"
}

# start_bg NAME CONF_DIR ARG...: starts BIN ARG... in the background with FLINK_CONF_DIR=CONF_DIR,
# output to $DIR/log/NAME.log; its pid lands in PIDS[NAME].
start_bg() {
  local name=$1 conf=$2
  shift 2
  FLINK_CONF_DIR=$conf "$BIN" "$@" > "$DIR/log/$name.log" 2>&1 < /dev/null &
  PIDS[$name]=$!
}

alive() { kill -0 "${PIDS[$1]}" 2>/dev/null; }

# exit_status NAME: how a background process that is no longer alive ended ("exit N" or
# "signal NAME").
exit_status() {
  local rc=0
  wait "${PIDS[$1]}" 2>/dev/null || rc=$?
  if [ "$rc" -gt 128 ]; then
    echo "signal $(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
  else
    echo "exit $rc"
  fi
}

# expect_alive NAME WHEN: FAILs (with the log and the exit status) if NAME has exited.
expect_alive() {
  alive "$1" && return 0
  local how
  how=$(exit_status "$1")
  show "$DIR/log/$1.log"
  unset "PIDS[$1]"
  die "$1 exited ($how) $2"
}

# stop_bg NAME SECONDS: SIGTERM, then waits up to SECONDS for the exit; sets STOP_RC and
# STOP_MS (FAILs if it did not exit in time).
stop_bg() {
  local name=$1 limit=$2 pid=${PIDS[$1]} start
  start=$(now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ $(( $(now_ms) - start )) -gt $((limit * 1000)) ]; then
      show "$DIR/log/$name.log"
      die "$name did not exit within ${limit}s of SIGTERM"
    fi
    sleep 0.05
  done
  STOP_RC=0
  wait "$pid" || STOP_RC=$?
  STOP_MS=$(( $(now_ms) - start ))
  unset "PIDS[$name]"
}

# --- setup -------------------------------------------------------------------

if [[ "$BIN" == */* ]]; then
  [ -x "$BIN" ] || die "binary not executable: $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
else
  BIN=$(command -v "$BIN") || die "binary not found: $1"
fi
command -v sqlite3 >/dev/null || die "sqlite3 not found"

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$WORKDIR/$CASE
rm -rf "$DIR"
mkdir -p "$DIR/tmp" "$DIR/log"
export TMPDIR=$DIR/tmp   # run-local keeps its cluster's configuration and logs under $TMPDIR
CASE_START=$(now_ms)

# --- cases -------------------------------------------------------------------

case_missing_input() {
  local missing=$DIR/no-such-dir/flights.csv
  manifest missing-input --input "$missing" --output "$DIR/out" > "$DIR/manifest.yaml"
  run_local run-local "$DIR/manifest.yaml"
  [ "$RC" -ne 0 ] || { show "$DIR/run-local.log"; die "run-local exited 0 for a missing input"; }
  expect_output run-local "$missing" "FAILED"
  expect_no_leftovers "run-local"
  echo "PASS $CASE: run-local exited $RC naming $missing, $(secs_since "$CASE_START")s"
}

case_bad_manifest() {
  local good=$DIR/good.yaml m line
  manifest bad-manifest --input "$DIR/flights.csv" --output "$DIR/out" > "$good"

  # name|manifest|expected text (besides the file name)...
  m=$DIR/invalid-yaml.yaml           # a plain scalar with ": " inside a block map
  sed 's#jarURI: builtin://flink-cpp-examples#jarURI: builtin://x: y#' "$good" > "$m"
  line=$(grep -n 'jarURI: builtin://x: y' "$m" | cut -d: -f1)
  check_manifest invalid-yaml "$m" "$m:$line:" "YAML"

  m=$DIR/invalid-yaml-tab.yaml       # a tab in the indentation
  sed 's#^    entryClass: #\t  entryClass: #' "$good" > "$m"
  line=$(grep -n "$(printf '\t')  entryClass:" "$m" | cut -d: -f1)
  check_manifest invalid-yaml-tab "$m" "$m:$line:" "YAML"

  m=$DIR/no-jar-uri.yaml
  sed '/jarURI:/d' "$good" > "$m"
  check_manifest no-jar-uri "$m" "$m:" "spec.job.jarURI"

  m=$DIR/parallelism-two.yaml
  sed 's#parallelism: 2#parallelism: "two"#' "$good" > "$m"
  line=$(grep -n 'parallelism: "two"' "$m" | cut -d: -f1)
  check_manifest parallelism-two "$m" "$m:$line:" "spec.job.parallelism" "two"

  m=$DIR/wrong-kind.yaml
  sed 's#^kind: FlinkDeployment#kind: FlinkSessionJob#' "$good" > "$m"
  check_manifest wrong-kind "$m" "$m:" "kind" "FlinkSessionJob" "FlinkDeployment"

  echo "PASS $CASE: 5 manifests rejected with exit 2 naming file and field, nothing started, $(secs_since "$CASE_START")s"
}

# check_manifest NAME MANIFEST TEXT...: run-local exits 2, prints every TEXT, starts nothing.
check_manifest() {
  local name=$1 m=$2
  shift 2
  run_local "$name" "$m"
  [ "$RC" -eq 2 ] || { show "$DIR/$name.log"; die "$name: run-local exited $RC, expected 2 (manifest error)"; }
  expect_output "$name" "$@"
  if grep -q -e '^Running FlinkDeployment' <<< "$OUT"; then
    die "$name: run-local started a cluster for an invalid manifest"
  fi
  if [ -n "$(ls -A "$DIR/tmp")" ]; then
    die "$name: run-local created $(ls "$DIR/tmp") for an invalid manifest"
  fi
  expect_no_leftovers "$name"
  echo "  ok $name: $(head -n 1 "$DIR/$name.log")"
}

case_bad_job_args() {
  small_input "$DIR/flights.csv" 1000
  manifest bad-job-args --input "$DIR/flights.csv" --output "$DIR/out" --window "5 weeks" > "$DIR/manifest.yaml"
  run_local run-local "$DIR/manifest.yaml"
  [ "$RC" -ne 0 ] || { show "$DIR/run-local.log"; die "run-local exited 0 for --window '5 weeks'"; }
  expect_output run-local "--window" "5 weeks"
  expect_no_leftovers "run-local"

  # The same job in application mode: the JobManager fails the submission and, with
  # execution.shutdown-on-application-finish (default true), exits non-zero.
  mkdir -p "$DIR/conf"
  printf '%s\n' "jobmanager.rpc.port: 0" "jobmanager.bind-host: 127.0.0.1" "rest.port: 0" \
    "rest.bind-address: 127.0.0.1" > "$DIR/conf/config.yaml"
  local rc=0
  FLINK_CONF_DIR=$DIR/conf timeout "$TIMEOUT" "$BIN" standalone-job --job-classname flinkcpp.examples.FlightDelays \
    --input "$DIR/flights.csv" --output "$DIR/out" --window "5 weeks" > "$DIR/log/standalone-job.log" 2>&1 || rc=$?
  [ "$rc" -ne 124 ] || { show "$DIR/log/standalone-job.log"; die "standalone-job did not exit within ${TIMEOUT}s"; }
  [ "$rc" -ne 0 ] || { show "$DIR/log/standalone-job.log"; die "standalone-job exited 0 for --window '5 weeks'"; }
  grep -q -F -e "--window" "$DIR/log/standalone-job.log" \
    || { show "$DIR/log/standalone-job.log"; die "standalone-job log does not name --window"; }
  echo "PASS $CASE: run-local exited $RC and standalone-job exited $rc naming --window, $(secs_since "$CASE_START")s"
}

# A port in 1024..32767 (below the ephemeral range) that nobody listens on.
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no free port found"
}

case_taskmanager_retry() {
  local port log=$DIR/log/taskmanager.log pattern n start delays
  port=$(free_port)
  mkdir -p "$DIR/conf"   # a clean configuration directory: no config.yaml at all
  start_bg taskmanager "$DIR/conf" taskmanager -D jobmanager.rpc.address=127.0.0.1 -D "jobmanager.rpc.port=$port" \
    -D cluster.registration.max-timeout=200ms
  pattern="Could not connect to the JobManager at 127.0.0.1:$port"
  start=$(now_ms)
  while :; do
    n=$(grep -c -F -e "$pattern" "$log" || true)
    [ "$n" -ge 4 ] && break
    expect_alive taskmanager "while the JobManager was unreachable"
    [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] \
      || { show "$log"; die "fewer than 4 '$pattern' lines after ${TIMEOUT}s"; }
    sleep 0.05
  done
  grep -F -e "$pattern" "$log" | grep -q -i "retrying" \
    || { show "$log"; die "the connection failures do not say the TaskManager is retrying"; }
  # Backoff: the announced delays never shrink, grow at least once and stay <= max-timeout.
  delays=$(grep -F -e "$pattern" "$log" | sed -n 's/.*retrying in \([0-9][0-9]*\) ms.*/\1/p' | tr '\n' ' ')
  local -a d
  read -r -a d <<< "$delays"
  [ "${#d[@]}" -ge 2 ] || { show "$log"; die "no 'retrying in N ms' delays in the log"; }
  local i grew=0
  for ((i = 1; i < ${#d[@]}; i++)); do
    [ "${d[i]}" -ge "${d[i - 1]}" ] || die "retry delays shrink: $delays"
    [ "${d[i]}" -gt "${d[i - 1]}" ] && grew=1
  done
  for i in "${d[@]}"; do [ "$i" -le 200 ] || die "retry delay $i ms exceeds cluster.registration.max-timeout (200ms): $delays"; done
  [ "$grew" -eq 1 ] || die "retry delays do not grow (no backoff): $delays"

  stop_bg taskmanager 5
  [ "$STOP_RC" -eq 0 ] || { show "$log"; die "the TaskManager exited $STOP_RC on SIGTERM, expected 0"; }
  echo "PASS $CASE: ${#d[@]} connection attempts to 127.0.0.1:$port, delays ${delays% } ms; exit 0 ${STOP_MS} ms after SIGTERM, $(secs_since "$CASE_START")s"
}

case_kill_taskmanager() {
  [ -r "$DATA" ] || die "input data not found: $DATA"
  local jid ports=$DIR/jobmanager.ports rest="" rpc="" start body=$DIR/body.json status state
  jid=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  mkdir -p "$DIR/conf"
  cat > "$DIR/conf/config.yaml" <<EOF
jobmanager.rpc.address: 127.0.0.1
jobmanager.rpc.port: 0
jobmanager.bind-host: 127.0.0.1
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: 0
taskmanager.host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
taskmanager.numberOfTaskSlots: 1
parallelism.default: 2
execution.shutdown-on-application-finish: false
restart-strategy.type: none
\$internal.local.port-file: $(q "$ports")
\$internal.pipeline.job-id: $jid
EOF
  start_bg jobmanager "$DIR/conf" standalone-job --job-classname flinkcpp.examples.FlightDelays \
    --input "$DATA" --output "$DIR/out" --window "$KILL_TM_WINDOW"
  wait_jobmanager_ports "$ports" "${PIDS[jobmanager]}" "$DIR/log/jobmanager.log"
  rest=$JM_REST_PORT rpc=$JM_RPC_PORT
  start_bg taskmanager-0 "$DIR/conf" taskmanager -D "jobmanager.rpc.port=$rpc"
  start_bg taskmanager-1 "$DIR/conf" taskmanager -D "jobmanager.rpc.port=$rpc"

  # Wait until every task runs and the sources have emitted records.
  local running=0 src="" emitted=0 job_start
  job_start=$(now_ms)
  while :; do
    status=$(http_get "$rest" "/jobs/$jid" "$body")
    if [ "$status" = 200 ]; then
      state=$(jget "$body" '$.state')
      case "$state" in
        FINISHED|FAILED|CANCELED)
          show "$DIR/log/jobmanager.log"
          die "the job ended $state before a TaskManager could be killed ($(secs_since "$job_start")s; try a smaller KILL_TM_WINDOW or a larger FLIGHTS_DATA)" ;;
      esac
      running=$(jget "$body" '$."status-counts".RUNNING')
      src=$(jget "$body" '$.vertices[0].id')
      if [ "${running:-0}" -eq 2 ] && [ -n "$src" ]; then
        status=$(http_get "$rest" "/jobs/$jid/vertices/$src/metrics?get=numRecordsIn" "$DIR/metrics.json")
        emitted=$(jget "$DIR/metrics.json" '$[0].value')
        [ "${emitted:-0}" -gt 0 ] && break
      fi
    fi
    for p in jobmanager taskmanager-0 taskmanager-1; do
      expect_alive "$p" "before the kill"
    done
    [ $(( $(now_ms) - job_start )) -lt $((TIMEOUT * 1000)) ] \
      || { show "$DIR/log/jobmanager.log"; die "tasks not RUNNING after ${TIMEOUT}s (last GET /jobs/$jid: $status $(head -c 300 "$body"))"; }
    sleep 0.05
  done

  local victim tm_id kill_time
  victim=taskmanager-1
  tm_id=$(sed -n 's/.*TaskManager \([0-9a-f]\{32\}\) started.*/\1/p' "$DIR/log/$victim.log" | head -n 1)
  [ -n "$tm_id" ] || { show "$DIR/log/$victim.log"; die "no resource id in $victim's log"; }
  kill -KILL "${PIDS[$victim]}"
  wait "${PIDS[$victim]}" 2>/dev/null || true
  unset "PIDS[$victim]"
  kill_time=$(now_ms)
  echo "  killed $victim ($tm_id) with SIGKILL $(secs_since "$job_start")s after start, sources had emitted $emitted records"

  # The job fails: no restart strategy.
  while :; do
    status=$(http_get "$rest" "/jobs/$jid" "$body")
    [ "$status" = 200 ] || { show "$DIR/log/jobmanager.log"; die "GET /jobs/$jid answered $status after the kill"; }
    state=$(jget "$body" '$.state')
    case "$state" in
      FAILED) break ;;
      FINISHED|CANCELED) show "$DIR/log/jobmanager.log"; die "the job ended $state, expected FAILED" ;;
    esac
    expect_alive jobmanager "after the kill"
    [ $(( $(now_ms) - kill_time )) -lt $((TIMEOUT * 1000)) ] \
      || { show "$DIR/log/jobmanager.log"; die "job still $state ${TIMEOUT}s after the kill"; }
    sleep 0.05
  done
  local failed_after
  failed_after="$(( $(now_ms) - kill_time )) ms"

  # Every subtask ended FAILED or CANCELED, and at least one FAILED. Which ones failed depends
  # on what the JobManager hears of first: the TaskManager loss (its subtasks FAILED, the others
  # cancelled) or a surviving subtask whose data connection broke (that one FAILED, the others -
  # those on the lost TaskManager included - cancelled).
  local v f c nf=0
  for v in 0 1; do
    f=$(jget "$body" "\$.vertices[$v].tasks.FAILED")
    c=$(jget "$body" "\$.vertices[$v].tasks.CANCELED")
    [ $((f + c)) -eq 2 ] \
      || die "vertex $v: expected its 2 subtasks FAILED or CANCELED, got FAILED=$f CANCELED=$c ($(head -c 3000 "$body"))"
    nf=$((nf + f))
  done
  [ "$nf" -ge 1 ] || die "no subtask FAILED ($(head -c 3000 "$body"))"

  status=$(http_get "$rest" "/jobs/$jid/exceptions" "$DIR/exceptions.json")
  [ "$status" = 200 ] || die "GET /jobs/$jid/exceptions answered $status"
  local root
  root=$(jget "$DIR/exceptions.json" '$."root-exception"')
  # The root exception is the first failure the JobManager hears of. Usually that is the loss
  # of the TaskManager's RPC connection ("TaskManager <id> was lost: ..."). But the surviving
  # TaskManager's tasks see their data connections to the dead one break at the same moment, and
  # their failure report sometimes arrives first; today those messages ("network connection
  # [to producer] lost: ...", "connection to HOST:PORT is closed", "cannot send to HOST:PORT: ...")
  # do not name the remote TaskManager. Accepted (with a NOTE) unless E2E_STRICT_ROOT_CAUSE=1,
  # provided the JobManager did register the loss.
  local note="" network_error='failed: (network connection|connection to [^ ]+ is closed|cannot send to )'
  [ -n "$root" ] || die "no root-exception in /jobs/$jid/exceptions: $(cat "$DIR/exceptions.json")"
  if [[ "$root" != *"TaskManager $tm_id"*lost* ]]; then
    if [ "${E2E_STRICT_ROOT_CAUSE:-0}" = 1 ] || ! [[ "$root" =~ $network_error ]]; then
      die "root exception does not name the lost TaskManager $tm_id: '$root'"
    fi
    grep -q -F -e "TaskManager $tm_id lost" "$DIR/log/jobmanager.log" \
      || { show "$DIR/log/jobmanager.log"; die "the JobManager log does not record the loss of TaskManager $tm_id"; }
    note=" (NOTE: the root exception is the surviving TaskManager's network error, not the TaskManager loss)"
  fi

  # The JobManager keeps serving REST, with the lost TaskManager gone and the slot of the
  # surviving one free again.
  sleep 1
  expect_alive jobmanager "after the job failed"
  expect_alive taskmanager-0 "after the job failed (the surviving TaskManager must keep running)"
  status=$(http_get "$rest" /overview "$DIR/overview.json")
  [ "$status" = 200 ] || die "GET /overview answered $status after the failure"
  local tms slots free failed
  tms=$(jget "$DIR/overview.json" '$.taskmanagers')
  slots=$(jget "$DIR/overview.json" '$."slots-total"')
  free=$(jget "$DIR/overview.json" '$."slots-available"')
  failed=$(jget "$DIR/overview.json" '$."jobs-failed"')
  [ "$tms" = 1 ] && [ "$slots" = 1 ] && [ "$free" = 1 ] && [ "$failed" = 1 ] \
    || die "/overview after the failure: expected 1 TaskManager, 1 slot, 1 free, 1 failed job: $(cat "$DIR/overview.json")"
  status=$(http_get "$rest" /jobs/overview "$DIR/jobs.json")
  [ "$status" = 200 ] && [ "$(jget "$DIR/jobs.json" '$.jobs[0].state')" = FAILED ] \
    || die "GET /jobs/overview after the failure: $status $(cat "$DIR/jobs.json")"

  stop_bg taskmanager-0 10
  [ "$STOP_RC" -eq 0 ] || { show "$DIR/log/taskmanager-0.log"; die "taskmanager-0 exited $STOP_RC on SIGTERM"; }
  stop_bg jobmanager 10
  [ "$STOP_RC" -eq 0 ] || { show "$DIR/log/jobmanager.log"; die "the JobManager exited $STOP_RC on SIGTERM"; }
  expect_no_leftovers "the cluster stopped"
  echo "PASS $CASE: FAILED ${failed_after} after SIGKILL of $victim ($nf subtasks FAILED); root exception: $root$note; REST still up; $(secs_since "$CASE_START")s"
}

case "$CASE" in
  missing-input) case_missing_input ;;
  bad-manifest) case_bad_manifest ;;
  bad-job-args) case_bad_job_args ;;
  taskmanager-retry) case_taskmanager_retry ;;
  kill-taskmanager) case_kill_taskmanager ;;
esac
