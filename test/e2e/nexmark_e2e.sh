#!/usr/bin/env bash
# End-to-end test of the Nexmark jobs (flinkcpp.nexmark.*, examples/jobs/nexmark_*.cc).
#
# Usage: nexmark_e2e.sh BIN WORKDIR CASE
#   BIN      the flink-cpp binary (e.g. build/bin/flink-cpp)
#   WORKDIR  scratch directory; the case works in WORKDIR/nexmark-CASE (wiped first)
#   CASE     q0 | q1 | q2 | q3 | q5 | q7 | q8 | q11 | generate | QUERY-failover
#
# A query case generates the events with flinkcpp.nexmark.Generate (examples/nexmark/generate.yaml,
# parallelism 1) as CSV, runs the query's example manifest (examples/nexmark/CASE.yaml, parallelism
# 2 on two TaskManagers) with the same generator arguments and --output, and diffs its part files
# (sorted) against the query's SQL evaluated by sqlite3 over the CSV (windows as GROUP BY on
# computed window starts). The `generate` case checks the generator: the event mix, and that two
# source subtasks write exactly the events of one. QUERY-failover (e.g. q5-failover) runs the
# query with exactly-once checkpoints every 200 ms, each source subtask throttled to 20000
# events/s, SIGKILLs one of its TaskManagers after the first completed checkpoint, and requires
# a restart from a checkpoint and the same output as the oracle.
#
# Environment: NEXMARK_E2E_EVENTS (default 100000), NEXMARK_E2E_SEED (default 0),
# E2E_TIMEOUT (seconds per run-local, default 300).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() { echo "FAIL nexmark ${CASE:-?}: $*" >&2; exit 1; }

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BIN WORKDIR q0|q1|q2|q3|q5|q7|q8|q11|generate|QUERY-failover" >&2
  exit 2
fi
BIN=$1 WORKDIR=$2 CASE=$3
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLES=$SCRIPT_DIR/../../examples/nexmark
EVENTS=${NEXMARK_E2E_EVENTS:-100000}
SEED=${NEXMARK_E2E_SEED:-0}
TIMEOUT=${E2E_TIMEOUT:-300}

QUERY=${CASE%-failover}
FAILOVER=0
[ "$QUERY" != "$CASE" ] && FAILOVER=1
[ "$FAILOVER" = 1 ] && [ "$QUERY" = generate ] && { echo "no generate-failover case" >&2; exit 2; }

# Event-time rate per case: enough windows for q5 (10 s sliding by 2 s) and q7 (10 s) to matter.
case "$QUERY" in
  q0|q1|q2|q3|generate) TPS=10000 ;;
  q5) TPS=500 ;;    # 100 K events span 200 s: ~100 sliding windows
  q7) TPS=100 ;;    # 1000 s: ~100 tumbling windows
  q8) TPS=1000 ;;   # 100 s: 10 windows, each spanning the hot seller of ~2 batches of 100 people
  q11) TPS=200 ;;   # 500 s: bidders come and go, sessions of 10 s gaps end and start
  *) echo "unknown case '$CASE' (q0|q1|q2|q3|q5|q7|q8|q11|generate|QUERY-failover)" >&2; exit 2 ;;
esac

command -v sqlite3 >/dev/null || die "sqlite3 not found"
if [[ "$BIN" == */* ]]; then
  [ -x "$BIN" ] || die "binary not executable: $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
else
  command -v "$BIN" >/dev/null || die "binary not found: $BIN"
fi

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$WORKDIR/nexmark-$CASE
rm -rf "$DIR"
mkdir -p "$DIR/tmp"
export TMPDIR=$DIR/tmp   # run-local's configuration and logs

GEN_ARGS=("--events.num" "$EVENTS" "--tps" "$TPS" "--seed" "$SEED")

yaml_list() { local out="" a; for a in "$@"; do out+="${out:+, }$(q "$a")"; done; printf '[%s]' "$out"; }

# manifest EXAMPLE OUT PARALLELISM ARGS...: the example manifest with its args (and parallelism)
# replaced, and the lines of $EXTRA_CONF added to its flinkConfiguration.
EXTRA_CONF=""
manifest() {
  local example=$1 out=$2 parallelism=$3
  shift 3
  grep -q '^    args: \[.*\]$' "$example" || die "$example no longer has a one-line args list"
  grep -q '^    parallelism: [0-9]*$' "$example" || die "$example no longer has a parallelism line"
  grep -q '^  flinkConfiguration:$' "$example" || die "$example no longer has a flinkConfiguration"
  local args
  args=$(yaml_list "$@")
  awk -v args="    args: $args" -v p="    parallelism: $parallelism" -v conf="$EXTRA_CONF" '
    /^    args: \[/ { print args; next }
    /^    parallelism: / { print p; next }
    /^  flinkConfiguration:$/ { print; if (conf != "") print conf; next }
    { print }' "$example" > "$out"
}

# run NAME MANIFEST: run-local, output in DIR/NAME.log; fails unless FINISHED with all events read.
run() {
  local name=$1 m=$2 rc=0
  timeout "$TIMEOUT" "$BIN" run-local "$m" --quiet > "$DIR/$name.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "--- last lines of $DIR/$name.log ---" >&2
    tail -n 30 "$DIR/$name.log" >&2
    [ "$rc" -eq 124 ] && die "$name: run-local timed out after ${TIMEOUT}s"
    die "$name: run-local exited $rc"
  fi
  check_summary "$name"
}

# check_summary NAME: DIR/NAME.log says FINISHED, all events read (unless restarted), none late.
check_summary() {
  local name=$1
  grep -q '^Job .* FINISHED$' "$DIR/$name.log" || die "$name: job did not finish (see $DIR/$name.log)"
  local records_in late
  records_in=$(sed -nE 's/^[[:space:]]*records in: ([0-9]+).*/\1/p' "$DIR/$name.log" | tail -n 1)
  if ! grep -q 'records in: .*(since the last restore)' "$DIR/$name.log"; then
    [ "$records_in" = "$EVENTS" ] || die "$name: summary says 'records in: $records_in', expected $EVENTS"
  fi
  late=$(sed -nE 's/^[[:space:]]*late records: ([0-9]+).*/\1/p' "$DIR/$name.log" | tail -n 1)
  [ "$late" = "0" ] || die "$name: $late late records (the oracle counts every event)"
}

# collect OUTDIR FILE: the part files, sorted, into FILE; echoes the row count.
collect() {
  shopt -s nullglob
  local parts=("$1"/part-*) hidden=("$1"/.part-*)
  shopt -u nullglob
  [ "${#parts[@]}" -gt 0 ] || die "no part files in $1"
  # Exactly once: a FINISHED job leaves no uncommitted (in-progress or pending) part file.
  [ "${#hidden[@]}" -eq 0 ] || die "uncommitted part files left in $1: ${hidden[*]}"
  cat "${parts[@]}" | sort > "$2"
  wc -l < "$2"
}

# --- events ------------------------------------------------------------------
manifest "$EXAMPLES/generate.yaml" "$DIR/generate.yaml" 1 "${GEN_ARGS[@]}" --output "$DIR/events"
run generate "$DIR/generate.yaml"
n=$(collect "$DIR/events" "$DIR/events.csv")
[ "$n" -eq "$EVENTS" ] || die "the generator wrote $n rows, expected $EVENTS"

# The 1 : 3 : 46 mix: event n is a person if n % 50 < 1, an auction if < 4, else a bid.
full=$((EVENTS / 50)) rest=$((EVENTS % 50))
persons=$((full + (rest > 0 ? 1 : 0)))
auctions=$((3 * full + (rest > 4 ? 3 : (rest > 1 ? rest - 1 : 0))))
bids=$((EVENTS - persons - auctions))
mix=$(cut -d, -f1 "$DIR/events.csv" | sort | uniq -c | awk '{printf "%s%s:%s", (NR > 1 ? " " : ""), $2, $1}')
[ "$mix" = "0:$persons 1:$auctions 2:$bids" ] || die "event mix $mix, expected 0:$persons 1:$auctions 2:$bids"

if [ "$CASE" = generate ]; then
  # Two subtasks write exactly the events of one.
  manifest "$EXAMPLES/generate.yaml" "$DIR/generate-p2.yaml" 2 "${GEN_ARGS[@]}" --output "$DIR/events-p2"
  run generate-p2 "$DIR/generate-p2.yaml"
  [ "$(ls "$DIR/events-p2"/part-* | wc -l)" -eq 2 ] || die "expected 2 part files from 2 subtasks"
  collect "$DIR/events-p2" "$DIR/events-p2.csv" > /dev/null
  cmp -s "$DIR/events.csv" "$DIR/events-p2.csv" || die "parallelism 2 generated other events than parallelism 1"
  # Person and auction ids count up from 1000; ids are unique.
  first=$(awk -F, '$1 == 0 { print $2; exit }' "$DIR/events.csv")
  dup=$(awk -F, '$1 == 1 { print $10 }' "$DIR/events.csv" | sort | uniq -d | head -n 1)
  [ -z "$dup" ] || die "auction id $dup generated twice"
  pmax=$(awk -F, '$1 == 0 { if ($2 > m) m = $2 } END { print m }' "$DIR/events.csv")
  amax=$(awk -F, '$1 == 1 { if ($10 > m) m = $10 } END { print m }' "$DIR/events.csv")
  [ "$pmax" -eq $((1000 + persons - 1)) ] || die "largest person id $pmax, expected $((1000 + persons - 1))"
  [ "$amax" -eq $((1000 + auctions - 1)) ] || die "largest auction id $amax, expected $((1000 + auctions - 1))"
  [ -n "$first" ] || die "no person events"
  echo "PASS nexmark generate: $EVENTS events (persons $persons, auctions $auctions, bids $bids), parallelism 1 = parallelism 2"
  exit 0
fi

# --- oracle (sqlite3) ----------------------------------------------------------
sqlite3 "$DIR/oracle.db" <<EOF || die "sqlite3 failed to import $DIR/events.csv"
CREATE TABLE events(
  type INTEGER,
  p_id INTEGER, p_name TEXT, p_email TEXT, p_credit_card TEXT, p_city TEXT, p_state TEXT, p_date_time INTEGER, p_extra TEXT,
  a_id INTEGER, a_item_name TEXT, a_description TEXT, a_initial_bid INTEGER, a_reserve INTEGER, a_date_time INTEGER,
  a_expires INTEGER, a_seller INTEGER, a_category INTEGER, a_extra TEXT,
  b_auction INTEGER, b_bidder INTEGER, b_price INTEGER, b_date_time INTEGER, b_extra TEXT);
.import --csv "$DIR/events.csv" events
CREATE VIEW bid AS
  SELECT b_auction AS auction, b_bidder AS bidder, b_price AS price, b_date_time AS dateTime, b_extra AS extra
  FROM events WHERE type = 2;
CREATE VIEW person AS
  SELECT p_id AS id, p_name AS name, p_city AS city, p_state AS state, p_date_time AS dateTime
  FROM events WHERE type = 0;
CREATE VIEW auction AS
  SELECT a_id AS id, a_seller AS seller, a_category AS category, a_date_time AS dateTime
  FROM events WHERE type = 1;
EOF
[ "$(sqlite3 "$DIR/oracle.db" 'SELECT count(*) FROM bid WHERE typeof(price) = "integer" AND typeof(dateTime) = "integer";')" -eq "$bids" ] \
  || die "oracle does not see $bids well-typed bids"

case "$QUERY" in
  q0) SQL="SELECT auction, bidder, price, dateTime, extra FROM bid;" ;;
  q1) SQL="SELECT auction, bidder, printf('%d.%03d', price * 908 / 1000, price * 908 % 1000), dateTime, extra FROM bid;" ;;
  q2) SQL="SELECT auction, price FROM bid WHERE auction % 123 = 0;" ;;
  q3) SQL="
SELECT P.name, P.city, P.state, A.id FROM auction AS A JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');" ;;
  q8) SQL="
WITH P AS (SELECT id, name, dateTime - dateTime % 10000 AS starttime FROM person GROUP BY 1, 2, 3),
  A AS (SELECT seller, dateTime - dateTime % 10000 AS starttime FROM auction GROUP BY 1, 2)
SELECT P.id, P.name, P.starttime FROM P JOIN A ON P.id = A.seller AND P.starttime = A.starttime;" ;;
  q11) SQL="
WITH s AS (
    -- a bid starts a session when the bidder's previous bid is more than the gap before it
    SELECT bidder, dateTime,
           CASE WHEN dateTime - LAG(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) <= 10000 THEN 0 ELSE 1 END AS first
    FROM bid),
  t AS (SELECT bidder, dateTime, SUM(first) OVER (PARTITION BY bidder ORDER BY dateTime ROWS UNBOUNDED PRECEDING) AS session FROM s)
SELECT bidder, count(*), min(dateTime), max(dateTime) + 10000 FROM t GROUP BY bidder, session;" ;;
  q5) SQL="
WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 10000 / 2000 - 1),
  -- the 5 windows [ws, ws + 10 s) sliding by 2 s that contain each bid
  w AS (SELECT dateTime - dateTime % 2000 - k * 2000 AS ws, auction FROM bid, k),
  c AS (SELECT ws, auction, count(*) AS num FROM w GROUP BY ws, auction),
  m AS (SELECT ws, max(num) AS maxn FROM c GROUP BY ws)
SELECT c.ws, c.ws + 10000, c.auction, c.num FROM c JOIN m ON c.ws = m.ws AND c.num = m.maxn;" ;;
  q7) SQL="
WITH w AS (SELECT dateTime - dateTime % 10000 AS ws, * FROM bid),
  m AS (SELECT ws, max(price) AS maxp FROM w GROUP BY ws)
SELECT w.auction, w.bidder, w.price, w.dateTime, w.extra FROM w JOIN m ON w.ws = m.ws AND w.price = m.maxp;" ;;
esac
sqlite3 -batch -noheader -list -separator , "$DIR/oracle.db" "$SQL" > "$DIR/expected.unsorted" || die "sqlite3 oracle query failed"
sort "$DIR/expected.unsorted" > "$DIR/expected.txt"

# --- the query -------------------------------------------------------------------
start=$(date +%s)
if [ "$FAILOVER" = 0 ]; then
  manifest "$EXAMPLES/$QUERY.yaml" "$DIR/$CASE.yaml" 2 "${GEN_ARGS[@]}" --output "$DIR/out"
  run "$CASE" "$DIR/$CASE.yaml"
else
  EXTRA_CONF="    execution.checkpointing.interval: \"200 ms\"
    state.checkpoints.dir: \"file://$DIR/checkpoints\"
    restart-strategy.fixed-delay.delay: \"100 ms\""
  manifest "$EXAMPLES/$QUERY.yaml" "$DIR/$CASE.yaml" 2 "${GEN_ARGS[@]}" --output "$DIR/out" --records-per-second 20000
  "$BIN" run-local "$DIR/$CASE.yaml" > "$DIR/$CASE.log" 2>&1 &
  runner=$!
  deadline=$(( $(date +%s) + TIMEOUT ))
  abort() { kill "$runner" 2>/dev/null || true; wait "$runner" 2>/dev/null || true; tail -n 30 "$DIR/$CASE.log" >&2; die "$1"; }
  # After the first completed checkpoint, SIGKILL one of this run's TaskManagers.
  logs=""
  until [ -n "$logs" ] && grep -q 'Completed checkpoint' "$logs/jobmanager.log" 2>/dev/null; do
    kill -0 "$runner" 2>/dev/null || abort "run-local ended before a checkpoint completed"
    [ "$(date +%s)" -lt "$deadline" ] || abort "no checkpoint completed within ${TIMEOUT}s"
    logs=$(sed -n 's/^  logs: //p' "$DIR/$CASE.log" | head -n 1)
    sleep 0.05
  done
  victim=$(pgrep -P "$runner" -f 'flink-cpp taskmanager' | head -n 1 || true)
  [ -n "$victim" ] || abort "no TaskManager process of run-local $runner found"
  kill -9 "$victim"
  while kill -0 "$runner" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || abort "run-local did not finish within ${TIMEOUT}s"
    sleep 0.2
  done
  rc=0
  wait "$runner" || rc=$?
  [ "$rc" -eq 0 ] || { tail -n 30 "$DIR/$CASE.log" >&2; die "run-local exited $rc after the TaskManager was killed"; }
  check_summary "$CASE"
  restarts=$(sed -nE 's/^[[:space:]]*restarts: ([0-9]+).*/\1/p' "$DIR/$CASE.log" | tail -n 1)
  [ "${restarts:-0}" -ge 1 ] || die "expected a restart after killing TaskManager $victim (restarts: ${restarts:-?})"
  grep -q 'Restoring job .* from checkpoint' "$logs/jobmanager.log" || die "the job did not restore from a checkpoint"
fi
secs=$(( $(date +%s) - start ))
parts=$(ls "$DIR/out"/part-* | wc -l)
if [ "$FAILOVER" = 0 ]; then
  [ "$parts" -eq 2 ] || die "expected part files from 2 sink subtasks, found $parts"
else
  [ "$parts" -ge 2 ] || die "expected part files from both attempts, found $parts"
fi
act_n=$(collect "$DIR/out" "$DIR/actual.txt")
exp_n=$(wc -l < "$DIR/expected.txt")
[ "$exp_n" -gt 0 ] || die "oracle produced no rows"
if ! diff -u "$DIR/expected.txt" "$DIR/actual.txt" > "$DIR/diff.txt"; then
  {
    echo "output differs from the sqlite3 oracle: expected $exp_n rows, got $act_n"
    echo "(- expected/oracle, + actual/job; full diff in $DIR/diff.txt)"
    sed -n '3,$p' "$DIR/diff.txt" | grep -E '^[-+]' | head -n 20 | cut -c1-200
  } >&2
  die "output mismatch"
fi
if [ "$FAILOVER" = 0 ]; then
  records_out=$(sed -nE 's/^[[:space:]]*records out: ([0-9]+).*/\1/p' "$DIR/$CASE.log" | tail -n 1)
  [ "$records_out" = "$act_n" ] || die "summary says 'records out: $records_out' but part files hold $act_n rows"
fi

extra=""
[ "$FAILOVER" = 1 ] && extra=", TaskManager killed after the first checkpoint, $restarts restart(s)"
case "$QUERY" in
  q5) extra+=", $(cut -d, -f1 "$DIR/expected.txt" | sort -u | wc -l) windows" ;;
  q11) extra+=", $(cut -d, -f1 "$DIR/expected.txt" | sort -u | wc -l) bidders" ;;
  q7) extra+=", $(awk -F, '{ printf "%.0f\n", $4 - $4 % 10000 }' "$DIR/expected.txt" | sort -u | wc -l) windows" ;;
esac
echo "PASS nexmark $CASE: $EVENTS events at $TPS events/s of event time, $act_n rows = oracle rows$extra, parallelism 2, ${secs}s"
