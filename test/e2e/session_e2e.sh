#!/usr/bin/env bash
# A session cluster of real processes on this machine (no Kubernetes): `flink-cpp jobmanager` and
# two `flink-cpp taskmanager` processes (3 slots each), each TaskManager in a working and blob
# directory of its own, run several jobs submitted at run time through Flink's /jars REST API.
#
#   1. GET /jars lists the compiled-in jobs under builtin_flink-cpp-examples; a file that is not a
#      job library is refused with 400 and Flink's {"errors": [...]}.
#   2. The flight-delay job runs from builtin_flink-cpp-examples (POST /jars/{id}/run, parallelism
#      2, checkpoints every 500 ms); the route-counts shared library (SO) is uploaded with
#      `curl -F jarfile=@SO` and run again through `flink-cpp run -m` (which uploads its own copy),
#      parallelism 2, checkpoints too. Sources are throttled so both run for seconds.
#   3. A job whose main() rejects its arguments gets 400 at /run (no job is created); a job with a
#      missing input is accepted, FAILS alone (restart-strategy none), and the others keep running.
#   4. `flink-cpp list -m` shows both jobs RUNNING; the uploaded jar is DELETEd (the running job
#      keeps its library in the BlobServer).
#   5. At a seeded random moment while every task of both jobs runs, one TaskManager gets SIGKILL;
#      a replacement TaskManager (a fresh directory: it can only get the library from the
#      BlobServer) is started, as a Deployment would. The jobs with a task on it restart
#      (numRestarts >= 1); both FINISH; each output equals its sqlite3 oracle, exactly once.
#   6. Afterwards: /overview counts 2 finished and 1 failed job and every slot free; each TaskManager
#      that ran route-counts downloaded it from the BlobServer (checksum verified) and deleted it
#      from its cache once the job ended; DELETE of the CLI's jar works, twice gives 400.
#
# Usage: session_e2e.sh BIN SO WORKDIR
#   BIN      the flink-cpp binary; SO the route-counts job library (build/lib/route-counts.so)
#   WORKDIR  scratch directory; the test works in WORKDIR/session (wiped first)
# Environment: E2E_SEED (kill moment; default: from the clock, printed), E2E_TIMEOUT (seconds per
# wait, default 60), FLIGHTS_DATA (default examples/data/flights-3m.csv.gz next to this repo).
# Needs bash, curl, coreutils and sqlite3 (oracles, and JSON through json_extract).
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BIN SO WORKDIR" >&2
  exit 2
fi
BIN=$(realpath "$1") SO=$(realpath "$2") WORKDIR=$(realpath -m "$3")
CASE=session
export LC_ALL=C
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-60}
SEED=${E2E_SEED:-$(( $(date +%s%N) / 1000 % 1000000 ))}
ROWS=200000
# Records per second per source subtask: ~8 s per job at parallelism 2, so that both still run at
# the kill moment under a sanitizer build on a loaded machine (at 25000/s, 4 s, the flight-delay
# job once finished between the check and the kill).
RATE=12500
DIR=$WORKDIR/session
rm -rf "$DIR"
mkdir -p "$DIR/conf" "$DIR/log"
START=$(now_ms)

die() {
  echo "FAIL $CASE (seed $SEED): $*" >&2
  exit 1
}

declare -A PIDS=()  # name -> pid of the processes this script started
trap stop_pids EXIT
trap 'exit 130' INT TERM

# rest METHOD PATH OUT [curl args]: the status code of a request to the JobManager; body in OUT.
rest() {
  local method=$1 path=$2 out=$3
  shift 3
  curl -s -o "$out" -w '%{http_code}' -X "$method" --max-time 30 "$@" "http://127.0.0.1:$REST_PORT$path" || echo 000
}

# expect_error STATUS WANT OUT TEXT: STATUS is WANT and OUT has Flink's error shape mentioning TEXT.
expect_error() {
  [ "$1" = "$2" ] || die "expected HTTP $2, got $1: $(cat "$3")"
  [ "$(jget "$3" '$.errors[0]')" != "" ] || die "no {\"errors\": [...]} in $(cat "$3")"
  grep -q -F -e "$4" "$3" || die "the error does not mention '$4': $(cat "$3")"
}

# start_taskmanager NAME: a TaskManager working in $DIR/NAME (its blobs in $DIR/NAME/blobs).
start_taskmanager() {
  mkdir -p "$DIR/$1"
  (cd "$DIR/$1" && exec env FLINK_CONF_DIR="$DIR/conf" "$BIN" taskmanager -D "jobmanager.rpc.port=$JM_RPC_PORT" \
     -D "blob.storage.directory=$DIR/$1/blobs" -D "taskmanager.resource-id=$1" > "$DIR/log/$1.log" 2>&1 < /dev/null) &
  PIDS[$1]=$!
}

# job_state ID: STATE of the job and ALL_RUNNING (1 when every task of it runs).
job_state() {
  local body=$DIR/job-$1.json
  STATE="" ALL_RUNNING=0
  [ "$(rest GET "/jobs/$1" "$body")" = 200 ] || return 0
  job_details_state "$body"
}

both_running() {
  job_state "$FD"
  local a=$ALL_RUNNING
  job_state "$RC"
  [ "$a" = 1 ] && [ "$ALL_RUNNING" = 1 ]
}
job_is() {  # job_is ID STATE...: the job is in one of the states (FAILs on another terminal one)
  local id=$1 s
  shift
  job_state "$id"
  for s in "$@"; do [ "$STATE" = "$s" ] && return 0; done
  case "$STATE" in FINISHED|FAILED|CANCELED) show "$DIR/log/jobmanager.log" 40; die "job $id ended $STATE (waiting for $*): $(curl -s "http://127.0.0.1:$REST_PORT/jobs/$id/exceptions")";; esac
  return 1
}
taskmanagers_are() { [ "$(rest GET /overview "$DIR/overview.json")" = 200 ] && [ "$(jget "$DIR/overview.json" '$.taskmanagers')" = "$1" ]; }
slots_free() {
  [ "$(rest GET /overview "$DIR/overview.json")" = 200 ] \
    && [ "$(jget "$DIR/overview.json" '$."slots-available"')" = "$(jget "$DIR/overview.json" '$."slots-total"')" ]
}
# job_hosts ID: the TaskManagers (resource ids) running subtasks of the job, one per line.
job_hosts() {
  local v
  [ "$(rest GET "/jobs/$1" "$DIR/hosts-job.json")" = 200 ] || return 0
  for v in $(sqlite3 -batch :memory: "SELECT json_extract(value, '\$.id') FROM json_each(CAST(readfile('$DIR/hosts-job.json') AS TEXT), '\$.vertices');"); do
    [ "$(rest GET "/jobs/$1/vertices/$v" "$DIR/hosts-vertex.json")" = 200 ] || continue
    sqlite3 -batch :memory: "SELECT json_extract(value, '\$.\"taskmanager-id\"') FROM json_each(CAST(readfile('$DIR/hosts-vertex.json') AS TEXT), '\$.subtasks');"
  done | sort -u
}
job_metric() { [ "$(rest GET "/jobs/$1/metrics?get=$2" "$DIR/metric.json")" = 200 ] && jget "$DIR/metric.json" '$[0].value'; }

# --- inputs and oracles ------------------------------------------------------
echo "  seed $SEED"
prepare_input "$ROWS"  # INPUT (plain CSV) and EXPECTED: the flight-delay job's oracle (origin, 1 h)
FD_EXPECTED=$EXPECTED
route_counts_oracle "$INPUT" "$DIR/routes-expected.txt"
[ -s "$DIR/routes-expected.txt" ] || die "empty route-counts oracle"

# --- the session cluster -----------------------------------------------------
{ printf '%s\n' "jobmanager.rpc.address: 127.0.0.1" "jobmanager.rpc.port: 0" "jobmanager.bind-host: 127.0.0.1" \
    "rest.address: 127.0.0.1" "rest.bind-address: 127.0.0.1" "rest.port: 0" "blob.server.port: 0" \
    "taskmanager.host: 127.0.0.1" "taskmanager.bind-host: 127.0.0.1" "taskmanager.numberOfTaskSlots: 3" \
    "metrics.reporter.prom.port: 0" "web.upload.dir: $(q "$DIR/jobmanager/uploads")" \
    "\$internal.local.port-file: $(q "$DIR/jobmanager.ports")"; } > "$DIR/conf/config.yaml"
mkdir -p "$DIR/jobmanager"
(cd "$DIR/jobmanager" && exec env FLINK_CONF_DIR="$DIR/conf" "$BIN" jobmanager > "$DIR/log/jobmanager.log" 2>&1 < /dev/null) &
PIDS[jobmanager]=$!
wait_jobmanager_ports "$DIR/jobmanager.ports" "${PIDS[jobmanager]}" "$DIR/log/jobmanager.log"
REST_PORT=$JM_REST_PORT
start_taskmanager tm-a
start_taskmanager tm-b
wait_until "2 TaskManagers" taskmanagers_are 2

# 1. The jar listing and an invalid upload.
[ "$(rest GET /jars "$DIR/jars.json")" = 200 ] || die "GET /jars: $(cat "$DIR/jars.json")"
[ "$(jget "$DIR/jars.json" '$.files[0].id')" = builtin_flink-cpp-examples ] || die "no builtin jar first in $(cat "$DIR/jars.json")"
grep -q '"flinkcpp.examples.FlightDelays"' "$DIR/jars.json" || die "the builtin jar does not list FlightDelays"
echo "not a library" > "$DIR/bogus.so"
expect_error "$(rest POST /jars/upload "$DIR/bogus.json" -F "jarfile=@$DIR/bogus.so")" 400 "$DIR/bogus.json" "not a valid job library"

# 2. Two jobs at once: the flight-delay job from the builtin jar, route counts from the library.
run_builtin_flight_delays "$RATE"
status=$(rest POST /jars/upload "$DIR/upload.json" -H "Expect:" -F "jarfile=@$SO")
[ "$status" = 200 ] && [ "$(jget "$DIR/upload.json" '$.status')" = success ] || die "upload of $SO: $status $(cat "$DIR/upload.json")"
CURL_JAR=$(basename "$(jget "$DIR/upload.json" '$.filename')")
"$BIN" run -m "127.0.0.1:$REST_PORT" -p 2 --detached -D "execution.checkpointing.interval=500 ms" \
  -D "state.checkpoints.dir=file://$DIR/checkpoints-rc" "$SO" --input "$INPUT" --output "$DIR/out-rc" \
  --records-per-second "$RATE" > "$DIR/run.out" 2>&1 || { cat "$DIR/run.out"; die "flink-cpp run failed"; }
RC=$(sed -n 's/^Job has been submitted with JobID \([0-9a-f]\{32\}\)$/\1/p' "$DIR/run.out")
[ -n "$RC" ] || die "flink-cpp run printed no JobID: $(cat "$DIR/run.out")"
[ "$(rest GET /jars "$DIR/jars.json")" = 200 ] || die "GET /jars failed"
CLI_JAR=$(sqlite3 -batch :memory: "SELECT json_extract(value, '\$.id') FROM json_each(CAST(readfile('$DIR/jars.json') AS TEXT), '\$.files')
  WHERE json_extract(value, '\$.name') = 'route-counts.so' AND json_extract(value, '\$.id') != '$CURL_JAR';")
[ -n "$CLI_JAR" ] || die "the CLI's upload is not in GET /jars: $(cat "$DIR/jars.json")"
echo "  running: flight-delays $FD (builtin jar), route-counts $RC (flink-cpp run; jars $CURL_JAR, $CLI_JAR)"

# 3. Bad arguments: refused at /run, or a job that fails alone.
status=$(rest POST /jars/builtin_flink-cpp-examples/run "$DIR/bad.json" -H 'Content-Type: application/json' \
  -d '{"entryClass": "flinkcpp.examples.FlightDelays", "programArgs": "--input x --output y --window \"5 weeks\""}')
expect_error "$status" 400 "$DIR/bad.json" "--window"
status=$(rest POST "/jars/$CURL_JAR/run" "$DIR/missing.json" -H 'Content-Type: application/json' \
  -d "{\"programArgsList\": [\"--input\", \"$DIR/no-such-input.csv\", \"--output\", \"$DIR/out-missing\"], \"parallelism\": 1}")
[ "$status" = 200 ] || die "run of the job with a missing input: $status $(cat "$DIR/missing.json")"
BAD=$(jget "$DIR/missing.json" '$.jobid')
wait_until "job $BAD FAILED" job_is "$BAD" FAILED
curl -s "http://127.0.0.1:$REST_PORT/jobs/$BAD/exceptions" | grep -q -F "no-such-input.csv" \
  || die "the failed job's exceptions do not name its missing input"
wait_until "every task of both jobs RUNNING" both_running
echo "  job $BAD (missing input) FAILED alone; both other jobs RUNNING"

# 4. flink-cpp list, and the curl-uploaded jar deleted while its job runs.
"$BIN" list -m "127.0.0.1:$REST_PORT" > "$DIR/list.out" 2>&1 || { cat "$DIR/list.out"; die "flink-cpp list failed"; }
grep -q -E ": $FD : flight-delays \(RUNNING\)$" "$DIR/list.out" && grep -q -E ": $RC : route-counts \(RUNNING\)$" "$DIR/list.out" \
  || { cat "$DIR/list.out"; die "flink-cpp list does not show both jobs RUNNING"; }
grep -q "$BAD" "$DIR/list.out" && { cat "$DIR/list.out"; die "flink-cpp list shows the FAILED job without -a"; }
[ "$(rest DELETE "/jars/$CURL_JAR" "$DIR/delete.json")" = 200 ] || die "DELETE /jars/$CURL_JAR: $(cat "$DIR/delete.json")"

# 5. SIGKILL a TaskManager at a seeded moment while both jobs run; a replacement comes up.
# The victim is drawn among the TaskManagers that run tasks (the scheduler may put a job's slots
# on one TaskManager); every job with a task on it must restart.
RANDOM=$SEED
moment=$((200 + RANDOM % 1300))
sleep_ms "$moment"
declare -A HOSTS
HOSTS[$FD]=$(job_hosts "$FD")
HOSTS[$RC]=$(job_hosts "$RC")
job_state "$FD"; fd_ok=$ALL_RUNNING
job_state "$RC"
[ "$fd_ok" = 1 ] && [ "$ALL_RUNNING" = 1 ] || die "not every task of both jobs RUNNING at the kill moment (+${moment} ms)"
mapfile -t candidates < <(printf '%s\n' "${HOSTS[$FD]}" "${HOSTS[$RC]}" | grep -E '^tm-[ab]$' | sort -u)
[ ${#candidates[@]} -ge 1 ] || die "no subtask of either job on tm-a or tm-b: ${HOSTS[$FD]} / ${HOSTS[$RC]}"
VICTIM=${candidates[$((RANDOM % ${#candidates[@]}))]}
kill -KILL "${PIDS[$VICTIM]}"
wait "${PIDS[$VICTIM]}" 2>/dev/null || true
unset "PIDS[$VICTIM]"
echo "  SIGKILL $VICTIM at +${moment} ms after every task ran (flight-delays on $(echo ${HOSTS[$FD]}), route-counts on $(echo ${HOSTS[$RC]}))"
start_taskmanager tm-c
wait_until "flight-delays FINISHED" job_is "$FD" FINISHED
wait_until "route-counts FINISHED" job_is "$RC" FINISHED
for id in "$FD" "$RC"; do
  grep -qx "$VICTIM" <<< "${HOSTS[$id]}" || continue
  r=$(job_metric "$id" numRestarts)
  [ "${r:-0}" -ge 1 ] || die "job $id: numRestarts ${r:-?} after the SIGKILL (expected >= 1)"
done

# Outputs, exactly once.
EXPECTED=$FD_EXPECTED
compare_output "$DIR/out-fd" flight-delays
fd_rows=$ACTUAL_ROWS
shopt -s nullglob
hidden=("$DIR"/out-rc/.part-*)
shopt -u nullglob
[ "${#hidden[@]}" -eq 0 ] || die "route-counts: uncommitted part files left: ${hidden[*]}"
cat "$DIR"/out-rc/part-* | sort > "$DIR/routes-actual.txt"
diff -q "$DIR/routes-expected.txt" "$DIR/routes-actual.txt" > /dev/null \
  || { diff "$DIR/routes-expected.txt" "$DIR/routes-actual.txt" | head -n 20 >&2; die "route-counts output differs from sqlite3"; }

# 6. Cluster state, blobs and jars after the jobs.
wait_until "every slot free" slots_free
[ "$(rest GET /overview "$DIR/overview.json")" = 200 ] || die "GET /overview failed"
for kv in jobs-finished=2 jobs-failed=1 jobs-running=0 taskmanagers=2; do
  [ "$(jget "$DIR/overview.json" "\$.\"${kv%=*}\"")" = "${kv#*=}" ] || die "/overview: expected ${kv%=*} ${kv#*=}: $(cat "$DIR/overview.json")"
done
downloads=0
for tm in tm-a tm-b tm-c; do
  grep -q "Downloaded blob .* to $DIR/$tm/blobs/" "$DIR/log/$tm.log" 2>/dev/null || continue
  downloads=$((downloads + 1))
  if [ "$tm" != "$VICTIM" ]; then
    wait_until "$tm to drop its cached library" bash -c "! ls -d '$DIR/$tm'/blobs/blobStore-*/*/ > /dev/null 2>&1"
  fi
done
[ "$downloads" -ge 2 ] || die "only $downloads TaskManager(s) downloaded the library from the BlobServer"
grep -q "Downloaded blob" "$DIR/log/tm-c.log" || die "the replacement TaskManager did not get the library from the BlobServer"
[ "$(rest DELETE "/jars/$CLI_JAR" "$DIR/delete.json")" = 200 ] || die "DELETE /jars/$CLI_JAR: $(cat "$DIR/delete.json")"
expect_error "$(rest DELETE "/jars/$CLI_JAR" "$DIR/delete.json")" 400 "$DIR/delete.json" "does not exist"
[ "$(rest GET /jars "$DIR/jars.json")" = 200 ] || die "GET /jars failed"
grep -q "route-counts.so" "$DIR/jars.json" && die "deleted jars still listed: $(cat "$DIR/jars.json")"
echo "PASS $CASE: seed $SEED, flight-delays $fd_rows rows and route-counts $(wc -l < "$DIR/routes-actual.txt") rows = sqlite3 after SIGKILL of $VICTIM; bad job FAILED alone; $downloads blob downloads, $(secs_since "$START")s"
