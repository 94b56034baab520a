#!/usr/bin/env bash
# A job packaged as a shared library (examples/jobs/route_counts.cc) runs through run-local:
# its output equals sqlite3's count of flights per route and day over the same input.
# usage: shared_library_job_e2e.sh BIN SO WORKDIR
set -euo pipefail
BIN=$1 SO=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR="$WORK/shared-library-job"
rm -rf "$DIR" && mkdir -p "$DIR"
{ zcat "$ROOT/examples/data/flights-3m.csv.gz" || true; } | head -n 100001 > "$DIR/in.csv"
cat > "$DIR/manifest.yaml" <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: route-counts-e2e
spec:
  flinkVersion: v1_19
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "1"
  job:
    jarURI: local://$SO
    entryClass: com.example.RouteCounts
    args: ["--input", "$DIR/in.csv", "--output", "$DIR/out"]
    parallelism: 2
YAML
"$BIN" run-local "$DIR/manifest.yaml" --quiet > "$DIR/run.log" 2>&1 || { cat "$DIR/run.log"; echo "FAIL: run-local exited non-zero"; exit 1; }
if compgen -G "$DIR/out/.part-*" > /dev/null; then
  echo "FAIL: uncommitted part files left in $DIR/out after the job finished: $(cd "$DIR/out" && echo .part-*)"
  exit 1
fi
cat "$DIR"/out/part-* | LC_ALL=C sort > "$DIR/actual.txt"
sqlite3 -batch "$DIR/oracle.db" <<SQL > /dev/null
.mode csv
.import $DIR/in.csv flights
SQL
sqlite3 -batch -csv "$DIR/oracle.db" \
  "SELECT CAST(strftime('%s', substr(date,1,10)) AS INTEGER) * 1000, origin || '-' || destination, COUNT(*)
   FROM flights GROUP BY 1, 2;" | tr -d '\r' | LC_ALL=C sort > "$DIR/expected.txt"
[ -s "$DIR/expected.txt" ] || { echo "FAIL: empty oracle"; exit 1; }
if ! diff -q "$DIR/expected.txt" "$DIR/actual.txt" > /dev/null; then
  diff "$DIR/expected.txt" "$DIR/actual.txt" | head -20
  echo "FAIL: shared-library job output differs from sqlite3 ($DIR)"
  exit 1
fi
echo "PASS shared-library-job: $(wc -l < "$DIR/actual.txt") route-days = sqlite3"
