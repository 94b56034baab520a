# Helpers shared by the end-to-end scripts (sourced). They use the caller's now_ms, show and die.

# wait_jobmanager_ports PORTS_FILE PID LOG: waits (30 s at most) until the JobManager process
# PID, started with `$internal.local.port-file: PORTS_FILE`, wrote its ports; sets JM_REST_PORT
# and JM_RPC_PORT. FAILs with LOG shown when the process exits first or nothing comes.
wait_jobmanager_ports() {
  local ports=$1 pid=$2 log=$3 start
  JM_REST_PORT="" JM_RPC_PORT=""
  start=$(now_ms)
  while :; do
    if [ -f "$ports" ]; then
      JM_REST_PORT=$(sed -n 's/^rest.port=//p' "$ports")
      JM_RPC_PORT=$(sed -n 's/^rpc.port=//p' "$ports")
    fi
    [ -n "$JM_REST_PORT" ] && [ -n "$JM_RPC_PORT" ] && return 0
    kill -0 "$pid" 2>/dev/null || { show "$log"; die "the JobManager exited during start-up"; }
    [ $(( $(now_ms) - start )) -lt 30000 ] || { show "$log"; die "the JobManager wrote no ports in 30 s"; }
    sleep 0.05
  done
}

# raw_http PORT REQUEST: sends REQUEST (raw bytes, e.g. a request without Content-Length) to
# 127.0.0.1:PORT and prints the response's status code; "000" when no answer came within 5 s.
raw_http() {
  local out
  out=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; printf "%b" "$2" >&3; head -n 1 <&3' _ "$1" "$2" 2>/dev/null) || true
  out=$(cut -d ' ' -f 2 <<< "$out")
  echo "${out:-000}"
}

# stop_run_local PID: stops a run-local started in the background (it cancels the job and stops
# its cluster on SIGTERM; its children die with it): SIGTERM, up to 10 s, then SIGKILL; reaps it.
stop_run_local() {
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# q STRING: STRING as a double-quoted YAML/JSON string.
q() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# show FILE [N]: the last N (25) lines of FILE on stderr.
show() {
  echo "--- last lines of $1 ---" >&2
  tail -n "${2:-25}" "$1" >&2 || true
}

# jget FILE JSONPATH: json_extract of FILE's JSON through sqlite3 (empty for a missing value or invalid JSON).
jget() {
  local f=${1//\'/\'\'}
  sqlite3 -batch :memory: "SELECT json_extract(CAST(readfile('$f') AS TEXT), '$2');" 2>/dev/null || true
}

# secs_since START_MS: seconds since START_MS, two decimals.
secs_since() {
  local d=$(( $(now_ms) - $1 ))
  printf '%d.%02d' $((d / 1000)) $(((d % 1000) / 10))
}
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
# sleep_ms MS: sleeps MS milliseconds (nothing for MS <= 0).
sleep_ms() { [ "$1" -le 0 ] || sleep "$(ms_to_s "$1")"; }

# --- the flight-delay job's input and its sqlite3 oracle (key origin, 1 h windows) -------------

# prepare_input ROWS: sets INPUT (the 3 M rows: the .gz itself; fewer: the first ROWS rows as
# plain CSV) and EXPECTED (sorted sqlite3 aggregate per 1 h window and origin). The oracle is
# computed once and cached in WORKDIR/flights-oracle (keyed by the data file, the row count
# and this file). Uses the caller's DATA (flights-3m.csv.gz), DIR (scratch), WORKDIR and die.
prepare_input() {
  local rows=$1 clean cache stamp rc=0 good
  if [ "$rows" -eq 3000000 ]; then
    INPUT=$DATA
  else
    INPUT=$DIR/input-$rows.csv
  fi
  cache=$WORKDIR/flights-oracle
  stamp="$(stat -c '%s %Y' "$DATA") $rows $(cksum < "${BASH_SOURCE[0]}")"
  EXPECTED=$cache/expected-$rows.txt
  if [ "$INPUT" != "$DATA" ]; then
    gzip -dc "$DATA" | head -n "$((rows + 1))" > "$INPUT" || rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 141 ] || die "could not read $DATA (exit $rc)"
    [ "$(wc -l < "$INPUT")" -eq "$((rows + 1))" ] || die "expected $((rows + 1)) lines from $DATA"
  fi
  if [ -s "$EXPECTED" ] && [ "$(cat "$EXPECTED.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "  oracle: $(wc -l < "$EXPECTED") rows (cached $EXPECTED)"
    return 0
  fi
  mkdir -p "$cache"
  local t0 tmp=$cache/tmp.$$
  t0=$(now_ms)
  rm -rf "$tmp"
  mkdir -p "$tmp"
  clean=$tmp/clean.csv
  rc=0
  gzip -dc "$DATA" | head -n "$((rows + 1))" > "$clean" || rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 141 ] || die "could not read $DATA (exit $rc)"
  [ "$(head -n 1 "$clean")" = "date,delay,distance,origin,destination" ] || die "unexpected header in $DATA"
  # The same oracle as flight_delays_e2e.sh (key origin, 1 h windows).
  oracle_by_key "$clean" origin "$tmp/expected.txt" "$rows"
  mv "$tmp/expected.txt" "$EXPECTED"
  echo "$stamp" > "$EXPECTED.stamp"
  rm -rf "$tmp"
  echo "  oracle: $(wc -l < "$EXPECTED") rows for $rows input rows (sqlite3, $(secs_since "$t0")s)"
}

# oracle_by_key CSV KEY OUT [ROWS]: the flight-delay job's expected output (sorted) for key KEY
# (origin or destination) and 1 h windows over CSV (header + rows), by sqlite3; with ROWS, checks
# that every row is good. Uses the caller's die.
oracle_by_key() {
  local csv=$1 key=$2 out=$3 rows=${4:-} db good
  db=$out.db
  rm -f "$db"
  sqlite3 "$db" <<EOF || die "sqlite3 failed to import $csv"
CREATE TABLE f(date TEXT, delay INTEGER, distance INTEGER, origin TEXT, destination TEXT);
.import --csv --skip 1 "$csv" f
CREATE VIEW good AS
  SELECT rowid AS seq, CAST(strftime('%s', date) AS INTEGER) AS ts, delay, origin, destination
  FROM f
  WHERE length(date) = 16 AND strftime('%s', date) IS NOT NULL
    AND typeof(delay) = 'integer' AND destination IS NOT NULL;
EOF
  if [ -n "$rows" ]; then
    good=$(sqlite3 "$db" 'SELECT count(*) FROM good;')
    [ "$good" -eq "$rows" ] || die "oracle sees $good good rows, expected $rows"
  fi
  sqlite3 -batch -noheader -list -separator , "$db" <<EOF | sort > "$out" || die "sqlite3 oracle query failed"
SELECT strftime('%Y-%m-%dT%H:%M', ws, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M', ws + 3600, 'unixepoch'),
       k, count(*), sum(delay), max(delay)
FROM (SELECT (ts / 3600) * 3600 AS ws, $key AS k, delay FROM good)
GROUP BY ws, k;
EOF
  rm -f "$db"
  [ -s "$out" ] || die "oracle produced no rows"
}

# job_details_state FILE: from a GET /jobs/{id} answer in FILE, STATE (the job's state) and
# ALL_RUNNING (1 when the job is RUNNING with every subtask of every vertex RUNNING).
job_details_state() {
  local body=$1 v n p r
  STATE=$(jget "$body" '$.state') ALL_RUNNING=0
  [ "$STATE" = RUNNING ] || return 0
  n=$(sqlite3 -batch :memory: "SELECT json_array_length(CAST(readfile('$body') AS TEXT), '\$.vertices');" 2>/dev/null || echo 0)
  [ "${n:-0}" -gt 0 ] || return 0
  for ((v = 0; v < n; v++)); do
    p=$(jget "$body" "\$.vertices[$v].parallelism")
    r=$(jget "$body" "\$.vertices[$v].tasks.RUNNING")
    [ -n "$p" ] && [ "${r:-0}" -eq "$p" ] || return 0
  done
  ALL_RUNNING=1
}

# route_counts_oracle CSV OUT: the route-counts job's expected output (flights per day and
# origin-destination, sorted) over CSV (with its header), by sqlite3.
route_counts_oracle() {
  local db=$2.db
  rm -f "$db"
  sqlite3 -batch "$db" <<SQL > /dev/null || die "sqlite3 failed to import $1"
.mode csv
.import $1 flights
SQL
  sqlite3 -batch -csv "$db" \
    "SELECT CAST(strftime('%s', substr(date,1,10)) AS INTEGER) * 1000, origin || '-' || destination, COUNT(*)
     FROM flights GROUP BY 1, 2;" | tr -d '\r' | LC_ALL=C sort > "$2"
  rm -f "$db"
  [ -s "$2" ] || die "empty route-counts oracle"
}

# compare_output OUTDIR LABEL [OUTDIR2]: the committed part files (sorted, of one or two output
# directories) equal the oracle; sets ACTUAL_ROWS.
compare_output() {
  local out=$1 label=$2 actual=$DIR/$2.actual.txt
  shopt -s nullglob
  local parts=("$out"/part-*) hidden=("$out"/.part-*)
  shopt -u nullglob
  [ "${#parts[@]}" -gt 0 ] || die "$label: no part files in $out"
  [ "${#hidden[@]}" -eq 0 ] \
    || die "$label: ${#hidden[@]} uncommitted part file(s) left in $out after the job FINISHED: $(cd "$out" && ls -d .part-* | head -n 5 | paste -s -d ' ' -)"
  cat "${parts[@]}" | sort > "$actual"
  ACTUAL_ROWS=$(wc -l < "$actual")
  if ! diff -u "$EXPECTED" "$actual" > "$DIR/$label.diff"; then
    local dups
    dups=$(uniq -d "$actual" | wc -l)
    {
      echo "$label: output differs from the sqlite3 oracle: expected $(wc -l < "$EXPECTED") rows, got $ACTUAL_ROWS ($dups rows more than once; ${#parts[@]} part files in $out)"
      echo "(- expected/oracle, + actual/job; full diff in $DIR/$label.diff)"
      sed -n '3,$p' "$DIR/$label.diff" | grep -E '^[-+]' | head -n 20 || true  # SIGPIPE from head
    } >&2
    die "$label: output mismatch"
  fi
}

# expect_race JMLOG TMLOG...: the race was really run (a task's input ended while the
# acknowledgement of checkpoint 1 was held back: some TaskManager log has "reached the end of its
# input" before "acknowledging checkpoint 1 after the injected delay"), and the JobManager settled
# checkpoint 1 (completed or aborted) before the job went FINISHED.
expect_race() {
  local jm=$1 tm ended acked raced=0 settled finished
  shift
  for tm in "$@"; do
    ended=$(grep -n -m 1 "reached the end of its input" "$tm" | cut -d: -f1)
    acked=$(grep -n "acknowledging checkpoint 1 after the injected delay" "$tm" | tail -n 1 | cut -d: -f1)
    [ -n "$ended" ] && [ -n "$acked" ] && [ "$ended" -lt "$acked" ] && raced=1
  done
  [ "$raced" = 1 ] || { show "$tm" 40; die "no task's input ended while checkpoint 1 was held back: the race was not run (input too short?)"; }
  settled=$(grep -n -m 1 -E "Completed checkpoint 1 for job|Checkpoint 1 of job [0-9a-f]+ aborted" "$jm" | cut -d: -f1)
  finished=$(grep -n -m 1 "switched from state RUNNING to FINISHED" "$jm" | cut -d: -f1)
  [ -n "$finished" ] || { show "$jm" 40; die "the JobManager log has no FINISHED"; }
  [ -n "$settled" ] && [ "$settled" -lt "$finished" ] \
    || { show "$jm" 40; die "the job went FINISHED before checkpoint 1 was completed or aborted"; }
  RACE_OUTCOME=$(grep -m 1 -o -E "Completed checkpoint 1|Checkpoint 1 of job [0-9a-f]+ aborted" "$jm" | sed -E 's/ of job [0-9a-f]+//')
}

# flight_delays_manifest NAME PARALLELISM CONFIG_LINES ARG...: a FlinkDeployment (the shape of
# examples/flight-delays.yaml) running the flight-delay job; CONFIG_LINES are extra
# flinkConfiguration entries ("key: value" lines). The image is MANIFEST_IMAGE (default
# flink-cpp:latest, which the test kubelet runs as build/bin/flink-cpp).
flight_delays_manifest() {
  local name=$1 p=$2 conf=$3 args="" a
  shift 3
  for a in "$@"; do args+="${args:+, }$(q "$a")"; done
  cat <<EOF
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: $name
spec:
  image: ${MANIFEST_IMAGE:-flink-cpp:latest}
  flinkVersion: v1_19
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
$(sed 's/^/    /' <<< "$conf")
  serviceAccount: flink
  jobManager:
    resource: {memory: "1024m", cpu: ${MANIFEST_CPU:-1}}
  taskManager:
    resource: {memory: "1024m", cpu: ${MANIFEST_CPU:-1}}
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: [$args]
    parallelism: $p
    upgradeMode: stateless
EOF
}

# session_checkpoint_conf NAME: the flinkConfiguration of a /jars/.../run body: checkpoints every
# 500 ms into $DIR/checkpoints-NAME.
session_checkpoint_conf() { printf '"flinkConfiguration": {"execution.checkpointing.interval": "500 ms", "state.checkpoints.dir": "file://%s"}' "$DIR/checkpoints-$1"; }
# run_builtin_flight_delays RATE: submits the builtin flight-delay job to the session cluster
# (through the caller's rest function) at parallelism 2, reading $INPUT, writing $DIR/out-fd,
# RATE records per second per source subtask; sets FD to its job id.
run_builtin_flight_delays() {
  local status
  cat > "$DIR/fd-run.json" <<EOF
{"entryClass": "flinkcpp.examples.FlightDelays", "parallelism": 2, $(session_checkpoint_conf fd),
 "programArgsList": ["--input", "$INPUT", "--output", "$DIR/out-fd", "--key", "origin", "--window", "1 h", "--records-per-second", "$1"]}
EOF
  status=$(rest POST /jars/builtin_flink-cpp-examples/run "$DIR/fd.json" -H 'Content-Type: application/json' --data-binary "@$DIR/fd-run.json")
  [ "$status" = 200 ] || die "POST /jars/builtin_flink-cpp-examples/run: $status $(cat "$DIR/fd.json")"
  FD=$(jget "$DIR/fd.json" '$.jobid')
}

# The processes a session-cluster script started: name -> pid (declare -A PIDS=() first, and
# `trap stop_pids EXIT`). stop_pids sends each SIGTERM and reaps them all.
stop_pids() {
  local name
  for name in "${!PIDS[@]}"; do kill -TERM "${PIDS[$name]}" 2>/dev/null || true; done
  for name in "${!PIDS[@]}"; do wait "${PIDS[$name]}" 2>/dev/null || true; done
}

# wait_until WHAT COMMAND...: polls COMMAND until it succeeds; FAILs after TIMEOUT s or when the
# JobManager (PIDS[jobmanager], its log $DIR/log/jobmanager.log) exits first.
wait_until() {
  local what=$1 start
  shift
  start=$(now_ms)
  until "$@"; do
    kill -0 "${PIDS[jobmanager]}" 2>/dev/null || { show "$DIR/log/jobmanager.log"; die "the JobManager exited while waiting for $what"; }
    [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || { show "$DIR/log/jobmanager.log" 40; die "timed out after ${TIMEOUT}s waiting for $what"; }
    sleep 0.05
  done
}
