#!/usr/bin/env bash
# The embedded default with a session cluster: `flink-cpp run-local` of one manifest holding a
# session FlinkDeployment (no spec.job) and two FlinkSessionJobs on it, submitted through the
# JobManager's jar API as the operator submits them: the builtin flight-delay job (by origin, 1 h
# windows) and the route-counts job from a shared library (local://, uploaded to the JobManager
# and shipped to the TaskManagers). Both run at once on the cluster's slots; each output equals
# its sqlite3 oracle. Also: a session cluster without session jobs, and a session job naming
# another cluster, are refused with the field.
# usage: session_local_e2e.sh BIN SO WORKDIR
set -euo pipefail
BIN=$(realpath "$1") SO=$(realpath "$2") WORKDIR=$3
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CASE=session-local
die() { echo "FAIL $CASE: $*" >&2; exit 1; }
# shellcheck source=lib.sh
. "$HERE/lib.sh"
export LC_ALL=C
DATA=$ROOT/examples/data/flights-3m.csv.gz
mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$WORKDIR/$CASE
rm -rf "$DIR" && mkdir -p "$DIR"
prepare_input 100000

session_manifest() {  # the session cluster, then the given session jobs' YAML
  cat <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkDeployment
metadata:
  name: shared-session
spec:
  image: flink-cpp:latest
  flinkVersion: v1_19
  serviceAccount: flink
  flinkConfiguration:
    taskmanager.numberOfTaskSlots: "2"
    execution.checkpointing.interval: "1 s"
  jobManager:
    resource: {memory: "1024m", cpu: 1}
  taskManager:
    replicas: 2
    resource: {memory: "1024m", cpu: 1}
YAML
  cat
}
session_manifest > "$DIR/manifest.yaml" <<YAML
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata:
  name: delays-by-origin
spec:
  deploymentName: shared-session
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: [--input, $(q "$INPUT"), --output, $(q "$DIR/out-delays"), --key, origin, --window, "1 h"]
    parallelism: 2
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata:
  name: route-counts
spec:
  deploymentName: shared-session
  job:
    jarURI: local://$SO
    entryClass: com.example.RouteCounts
    args: [--input, $(q "$INPUT"), --output, $(q "$DIR/out-routes")]
    parallelism: 2
YAML
t0=$(now_ms)
"$BIN" run-local "$DIR/manifest.yaml" --quiet > "$DIR/run.log" 2>&1 || { show "$DIR/run.log" 40; die "run-local exited non-zero"; }
grep -q '^  FlinkSessionJob delays-by-origin: job [0-9a-f]\{32\}$' "$DIR/run.log" || { show "$DIR/run.log"; die "no job id for delays-by-origin"; }
grep -q '^  FlinkSessionJob route-counts: job [0-9a-f]\{32\}$' "$DIR/run.log" || { show "$DIR/run.log"; die "no job id for route-counts"; }
compare_output "$DIR/out-delays" delays-by-origin
DELAY_ROWS=$ACTUAL_ROWS
# The route-counts oracle: flights per (day, origin-destination), as shared_library_job_e2e.sh.
compgen -G "$DIR/out-routes/.part-*" > /dev/null && die "uncommitted part files left in $DIR/out-routes"
cat "$DIR"/out-routes/part-* | sort > "$DIR/routes.actual.txt"
route_counts_oracle "$INPUT" "$DIR/routes.expected.txt"
diff -q "$DIR/routes.expected.txt" "$DIR/routes.actual.txt" > /dev/null ||
  { diff "$DIR/routes.expected.txt" "$DIR/routes.actual.txt" | head -20; die "route-counts output differs from sqlite3"; }

# Refusals: a session cluster without jobs; a session job on another cluster.
session_manifest > "$DIR/empty.yaml" < /dev/null
rc=0; "$BIN" run-local "$DIR/empty.yaml" > "$DIR/empty.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'is a session cluster (no spec.job)' "$DIR/empty.log" || { show "$DIR/empty.log"; die "a session cluster without jobs was not refused (exit $rc)"; }
sed 's/deploymentName: shared-session/deploymentName: elsewhere/' "$DIR/manifest.yaml" > "$DIR/elsewhere.yaml"
rc=0; "$BIN" run-local "$DIR/elsewhere.yaml" > "$DIR/elsewhere.log" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q 'spec.deploymentName: elsewhere' "$DIR/elsewhere.log" || { show "$DIR/elsewhere.log"; die "a session job on another cluster was not refused (exit $rc)"; }
echo "PASS $CASE: two FlinkSessionJobs on one local session cluster (builtin and uploaded library); $DELAY_ROWS and $(wc -l < "$DIR/routes.actual.txt") rows = sqlite3, $(secs_since "$t0")s"
