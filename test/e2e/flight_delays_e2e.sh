#!/usr/bin/env bash
# End-to-end test of the flight-delay example job (flinkcpp.examples.FlightDelays).
#
# Usage: flight_delays_e2e.sh BIN WORKDIR CASE
#   BIN      the flink-cpp binary (e.g. build/bin/flink-cpp)
#   WORKDIR  scratch directory; the case works in WORKDIR/CASE (wiped first)
#   CASE     origin-1h | destination-15min-shuffled | bad-records | example-3m
#            (example-3m runs examples/flight-delays.yaml, the manifest of `make run`, on
#            all 3 M rows, with only its --input and --output paths made absolute)
#
# Generates the input and a FlinkDeployment manifest, runs `BIN run-local`, and
# diffs the job's part files against the same aggregates computed by sqlite3.
#
# Environment: FLIGHTS_DATA (default examples/data/flights-3m.csv.gz next to this
# repo), E2E_TIMEOUT (seconds for the run, default 900), E2E_SEED (shuffle seed).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() { echo "FAIL ${CASE:-?}: $*" >&2; exit 1; }

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BIN WORKDIR origin-1h|destination-15min-shuffled|bad-records" >&2
  exit 2
fi
BIN=$1 WORKDIR=$2 CASE=$3
export LC_ALL=C

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${FLIGHTS_DATA:-$SCRIPT_DIR/../../examples/data/flights-3m.csv.gz}
TIMEOUT=${E2E_TIMEOUT:-900}
SEED=${E2E_SEED:-20010101}
SHUFFLE_DISTANCE=500   # a row moves at most this many positions

case "$CASE" in
  origin-1h)
    ROWS=200000 KEY=origin WINDOW="1 h" WINDOW_S=3600 ;;
  destination-15min-shuffled)
    ROWS=200000 KEY=destination WINDOW="15 min" WINDOW_S=900 ;;
  bad-records)
    ROWS=50000 KEY=origin WINDOW="1 h" WINDOW_S=3600 ;;
  example-3m)
    ROWS=3000000 KEY=origin WINDOW="1 h" WINDOW_S=3600 ;;
  *)
    echo "unknown case '$CASE' (origin-1h|destination-15min-shuffled|bad-records|example-3m)" >&2
    exit 2 ;;
esac

command -v sqlite3 >/dev/null || die "sqlite3 not found"
[ -r "$DATA" ] || die "input data not found: $DATA"
if [[ "$BIN" == */* ]]; then
  [ -x "$BIN" ] || die "binary not executable: $BIN"
  BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
else
  command -v "$BIN" >/dev/null || die "binary not found: $BIN"
fi

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$WORKDIR/$CASE
rm -rf "$DIR"
mkdir -p "$DIR"
OUTDIR=$DIR/out            # not created here: the job's sink creates it
MANIFEST=$DIR/manifest.yaml
CLEAN=$DIR/clean.csv       # header + good rows, in the order the job sees them

# --- input -------------------------------------------------------------------
# Header plus the first ROWS data rows. gzip gets SIGPIPE when head stops reading,
# so accept 141 from it, then check the row count.
rc=0
gzip -dc "$DATA" | head -n "$((ROWS + 1))" > "$DIR/head.csv" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 141 ] || die "could not read $DATA (exit $rc)"
n=$(wc -l < "$DIR/head.csv")
[ "$n" -eq "$((ROWS + 1))" ] || die "expected $((ROWS + 1)) lines from $DATA, got $n"
[ "$(head -n 1 "$DIR/head.csv")" = "date,delay,distance,origin,destination" ] \
  || die "unexpected header in $DATA"

OOO="0 ms"
BAD_EXPECTED=0
case "$CASE" in
  origin-1h)
    mv "$DIR/head.csv" "$CLEAN"
    INPUT=$CLEAN ;;

  example-3m)
    mv "$DIR/head.csv" "$CLEAN"
    INPUT=$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA") ;;

  destination-15min-shuffled)
    # Bounded shuffle: sort key = i + U[0,D) moves every row by at most D positions
    # (rows more than D apart keep their order). Deterministic for a given awk and seed.
    { head -n 1 "$DIR/head.csv"
      awk -v seed="$SEED" -v d="$SHUFFLE_DISTANCE" \
        'BEGIN { srand(seed) } NR > 1 { printf "%.6f\t%s\n", NR + rand() * d, $0 }' \
        "$DIR/head.csv" | sort -s -t "$(printf '\t')" -k1,1n | cut -f 2-
    } > "$CLEAN"
    rm -f "$DIR/head.csv"
    [ "$(wc -l < "$CLEAN")" -eq "$((ROWS + 1))" ] || die "shuffle lost rows"
    INPUT=$DIR/input.csv.gz
    gzip -c "$CLEAN" > "$INPUT" ;;

  bad-records)
    # Three malformed lines: before the first data row, in the middle, after the last.
    # Each is a copy of its neighbouring row with one defect, so a job that accepted
    # it would change the output (same key, same window, not late).
    awk -v rows="$ROWS" '
      function defect(line, what,   f) {
        split(line, f, ",")
        if (what == "columns") return f[1] "," f[2] "," f[3] "," f[4]             # 4 columns
        if (what == "delay")   return f[1] ",12x," f[3] "," f[4] "," f[5]        # non-numeric delay
        return substr(f[1], 1, 5) "13" substr(f[1], 8) "," f[2] "," f[3] "," f[4] "," f[5] # month 13
      }
      NR == 2            { print defect($0, "columns") }
      NR == 3 + rows / 2 { print defect(prev, "delay") }
                         { print; prev = $0 }
      END                { print defect(prev, "date") }
    ' "$DIR/head.csv" > "$DIR/input.csv"
    mv "$DIR/head.csv" "$CLEAN"
    INPUT=$DIR/input.csv
    BAD_EXPECTED=3
    [ "$(wc -l < "$INPUT")" -eq "$((ROWS + 4))" ] || die "injection failed" ;;
esac

# --- oracle (sqlite3) --------------------------------------------------------
# The table keeps the file's row order in rowid; rows whose date does not parse or
# whose delay is not an integer are excluded (the clean input has none).
sqlite3 "$DIR/oracle.db" <<EOF || die "sqlite3 failed to import $CLEAN"
CREATE TABLE f(date TEXT, delay INTEGER, distance INTEGER, origin TEXT, destination TEXT);
.import --csv --skip 1 "$CLEAN" f
CREATE VIEW good AS
  SELECT rowid AS seq, CAST(strftime('%s', date) AS INTEGER) AS ts, delay, origin, destination
  FROM f
  WHERE length(date) = 16 AND strftime('%s', date) IS NOT NULL
    AND typeof(delay) = 'integer' AND destination IS NOT NULL;
EOF
good_rows=$(sqlite3 "$DIR/oracle.db" 'SELECT count(*) FROM good;')
[ "$good_rows" -eq "$ROWS" ] || die "oracle sees $good_rows good rows, expected $ROWS"

DISORDER_S=0
if [ "$CASE" = destination-15min-shuffled ]; then
  # max over rows of (max event time seen so far - this row's event time)
  DISORDER_S=$(sqlite3 "$DIR/oracle.db" \
    'SELECT max(m - ts) FROM (SELECT ts, max(ts) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING) AS m FROM good);')
  [ "$DISORDER_S" -gt 0 ] || die "shuffled input has no disorder ($DISORDER_S s)"
  # Event times have minute resolution; round up to whole minutes anyway.
  OOO="$(( (DISORDER_S + 59) / 60 )) min"
fi

sqlite3 -batch -noheader -list -separator , "$DIR/oracle.db" > "$DIR/expected.unsorted" <<EOF \
  || die "sqlite3 oracle query failed"
SELECT strftime('%Y-%m-%dT%H:%M', ws, 'unixepoch'),
       strftime('%Y-%m-%dT%H:%M', ws + $WINDOW_S, 'unixepoch'),
       k, count(*), sum(delay), max(delay)
FROM (SELECT (ts / $WINDOW_S) * $WINDOW_S AS ws, $KEY AS k, delay FROM good)
GROUP BY ws, k;
EOF
sort "$DIR/expected.unsorted" > "$DIR/expected.txt"

# --- manifest ----------------------------------------------------------------
if [ "$CASE" = example-3m ]; then
  EXAMPLE=$SCRIPT_DIR/../../examples/flight-delays.yaml
  grep -q '^      - examples/data/flights-3m.csv.gz$' "$EXAMPLE" && grep -q '^      - out/flight-delays$' "$EXAMPLE" \
    || die "examples/flight-delays.yaml no longer has the expected --input/--output lines"
  sed -e "s|^      - examples/data/flights-3m.csv.gz\$|      - $INPUT|" \
      -e "s|^      - out/flight-delays\$|      - $OUTDIR|" "$EXAMPLE" > "$MANIFEST"
fi
[ "$CASE" = example-3m ] || cat > "$MANIFEST" <<EOF
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: flight-delays-e2e-$CASE
spec:
  image: flink-cpp:latest
  flinkVersion: v1_19
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
  serviceAccount: flink
  jobManager:
    resource: {memory: "1024m", cpu: 1}
  taskManager:
    resource: {memory: "1024m", cpu: 1}
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: [$(q --input), $(q "$INPUT"), $(q --output), $(q "$OUTDIR"), $(q --key), $(q "$KEY"), $(q --window), $(q "$WINDOW"), $(q --max-out-of-orderness), $(q "$OOO")]
    parallelism: 2
    upgradeMode: stateless
EOF

# --- run ---------------------------------------------------------------------
start=$(date +%s)
rc=0
timeout "$TIMEOUT" "$BIN" run-local "$MANIFEST" > "$DIR/run.log" 2>&1 || rc=$?
secs=$(( $(date +%s) - start ))
if [ "$rc" -ne 0 ]; then
  echo "--- last lines of $DIR/run.log ---" >&2
  tail -n 30 "$DIR/run.log" >&2
  [ "$rc" -eq 124 ] && die "run-local timed out after ${TIMEOUT}s"
  die "run-local exited $rc"
fi

bad_line=$(grep -E '^[[:space:]]*bad records:' "$DIR/run.log" | tail -n 1 || true)
if [ "$CASE" = bad-records ]; then
  grep -Eq "^[[:space:]]*bad records: ${BAD_EXPECTED}[[:space:]]*\$" "$DIR/run.log" \
    || die "expected 'bad records: $BAD_EXPECTED' in the summary, got '${bad_line:-no such line}' (see $DIR/run.log)"
elif [ -n "$bad_line" ] && ! [[ "$bad_line" =~ bad\ records:\ 0[[:space:]]*$ ]]; then
  die "clean input but summary says '$bad_line' (see $DIR/run.log)"
fi

# --- compare -----------------------------------------------------------------
shopt -s nullglob
parts=("$OUTDIR"/part-*)
hidden=("$OUTDIR"/.part-*)
shopt -u nullglob
[ "${#parts[@]}" -gt 0 ] || die "no part files in $OUTDIR (see $DIR/run.log)"
# Exactly once: a FINISHED job leaves no uncommitted (in-progress or pending) part file.
[ "${#hidden[@]}" -eq 0 ] || die "uncommitted part files left in $OUTDIR: ${hidden[*]}"
cat "${parts[@]}" | sort > "$DIR/actual.txt"

exp_n=$(wc -l < "$DIR/expected.txt")
act_n=$(wc -l < "$DIR/actual.txt")
[ "$exp_n" -gt 0 ] || die "oracle produced no rows"
[ "$act_n" -gt 0 ] || die "job produced no rows (${#parts[@]} empty part files in $OUTDIR)"

if ! diff -u "$DIR/expected.txt" "$DIR/actual.txt" > "$DIR/diff.txt"; then
  {
    echo "output differs from the sqlite3 oracle: expected $exp_n rows, got $act_n"
    echo "(- expected/oracle, + actual/job; full diff in $DIR/diff.txt)"
    sed -n '3,$p' "$DIR/diff.txt" | grep -E '^[-+]' | head -n 20
  } >&2
  die "output mismatch"
fi

records_out=$(sed -nE 's/^[[:space:]]*records out: ([0-9]+).*/\1/p' "$DIR/run.log" | tail -n 1)
[ -n "$records_out" ] || die "no 'records out:' line in the summary (see $DIR/run.log)"
[ "$records_out" -eq "$act_n" ] || die "summary says 'records out: $records_out' but part files hold $act_n rows"
records_in=$(sed -nE 's/^[[:space:]]*records in: ([0-9]+).*/\1/p' "$DIR/run.log" | tail -n 1)
[ "$records_in" = "$((ROWS + BAD_EXPECTED))" ] || die "summary says 'records in: $records_in', expected $((ROWS + BAD_EXPECTED))"

extra=""
[ "$CASE" = destination-15min-shuffled ] && extra=", disorder ${DISORDER_S}s (--max-out-of-orderness $OOO)"
[ "$CASE" = bad-records ] && extra=", bad records $BAD_EXPECTED"
echo "PASS $CASE: $ROWS input rows, $act_n output rows = oracle rows (key $KEY, window $WINDOW$extra), ${secs}s"
