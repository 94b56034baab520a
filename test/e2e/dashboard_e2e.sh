#!/usr/bin/env bash
# The JobManager's web dashboard in a real browser: headless Chromium (Debian's chromium) driven
# by playwright-core (test/dashboard/dashboard_test.mjs) against a job that keeps running under
# run-local. Screenshots of every page go to WORKDIR/dashboard-CASE/screenshots.
#
# Usage: dashboard_e2e.sh BIN SRC WORKDIR CASE
#   CASE  flight-delays  the flight-delay job (throttled sources, checkpoints every 1 s, fixed-delay
#                        restarts): overview, job graph against /plan, live rates, subtasks,
#                        checkpoints, a TaskManager SIGKILL shown in the exceptions tab and as a
#                        restore in the checkpoints tab, TaskManager and JobManager pages with
#                        their logs, and the cancel button cancelling the job
#         nexmark-q5     Nexmark q5 on an unbounded, throttled generator with web.cancel.enable:
#                        false: overview, job graph, live rates, no cancel button, and the
#                        stop-with-savepoint button stopping the job with a savepoint
#         session-submit a session cluster (one throttled FlinkSessionJob): the "Submit new job"
#                        page uploads a job library (route-counts.so, ROUTE_COUNTS_SO) and runs
#                        the builtin flight-delay job, which then has its own job page
# (The application-mode cases check that there is no "Submit new job" page: web-submit is off.)
# Every page is checked with axe-core (no serious or critical finding) and for console errors.
# Exit 77 (skipped) when the binary was built without its dashboard (no npm at build time).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() { echo "FAIL dashboard ${CASE:-?}: $*" >&2; exit 1; }

[ "$#" -eq 4 ] || { echo "usage: $0 BIN SRC WORKDIR flight-delays|nexmark-q5|session-submit" >&2; exit 2; }
BIN=$1 SRC=$(cd "$2" && pwd) WORKDIR=$3 CASE=$4
TIMEOUT=${E2E_TIMEOUT:-300}
DIR=$WORKDIR/dashboard-$CASE
rm -rf "$DIR"
mkdir -p "$DIR/tmp" "$DIR/screenshots"
DIR=$(cd "$DIR" && pwd)
export TMPDIR=$DIR/tmp   # run-local's configuration and logs

WEB=$SRC/runtime/dashboard
[ -f "$WEB/node_modules/playwright-core/package.json" ] && [ -f "$WEB/node_modules/axe-core/axe.min.js" ] || {
  echo "SKIP: runtime/dashboard/node_modules is not installed (the build had no npm): no dashboard to test"
  exit 77
}
bash "$SRC/scripts/install-tools.sh" chromium node || die "scripts/install-tools.sh chromium node failed"

RUN_PID=""
trap 'stop_run_local "$RUN_PID"' EXIT
trap 'exit 130' INT TERM

case "$CASE" in
  flight-delays)
    # 5000 rows/s per source subtask: the 3 M rows take minutes, the test far less.
    flight_delays_manifest dashboard-flights 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/checkpoints")
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: \"10\"
restart-strategy.fixed-delay.delay: \"1 s\"" \
      --input "$SRC/examples/data/flights-3m.csv.gz" --output "$DIR/out" --key origin --window "1 h" \
      --records-per-second 5000 > "$DIR/manifest.yaml"
    EXPECT_CANCEL=1 ;;
  nexmark-q5)
    sed -e 's|^    args: \[.*\]$|    args: ["--events.num", "0", "--tps", "1000", "--records-per-second", "2000"]|' \
        -e 's|^    taskmanager.numberOfTaskSlots: "1"$|&\n    web.cancel.enable: "false"\n    state.savepoints.dir: "file://'"$DIR"'/savepoints"|' \
        "$SRC/examples/nexmark/q5.yaml" > "$DIR/manifest.yaml"
    grep -q '"--records-per-second", "2000"' "$DIR/manifest.yaml" && grep -q 'web.cancel.enable' "$DIR/manifest.yaml" ||
      die "examples/nexmark/q5.yaml no longer has the one-line args and slots the test rewrites"
    EXPECT_CANCEL=0 ;;
  session-submit)
    # A session cluster kept up by one throttled FlinkSessionJob; the page submits another job.
    flight_delays_manifest dashboard-session 2 "" > "$DIR/session.yaml"
    sed -e '/^  job:$/,$d' "$DIR/session.yaml" > "$DIR/manifest.yaml"
    cat >> "$DIR/manifest.yaml" <<YAML
---
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata:
  name: kept-running
spec:
  deploymentName: dashboard-session
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
    args: [--input, $(q "$SRC/examples/data/flights-3m.csv.gz"), --output, $(q "$DIR/out"), --records-per-second, "2000"]
    parallelism: 1
    upgradeMode: stateless
YAML
    EXPECT_CANCEL=1 ;;
  *) echo "unknown case '$CASE'" >&2; exit 2 ;;
esac

RUN_LOG=$DIR/run-local.log
: > "$RUN_LOG"
"$BIN" run-local "$DIR/manifest.yaml" > "$RUN_LOG" 2>&1 < /dev/null &
RUN_PID=$!
start=$(now_ms)
REST_PORT="" JOB_ID="" DASHBOARD=""
while [ -z "$DASHBOARD" ] || [ -z "$REST_PORT" ] || [ -z "$JOB_ID" ]; do
  # An application cluster's line names its job; a session cluster's session jobs follow it.
  REST_PORT=$(sed -n 's/^  JobManager REST API: http:\/\/127\.0\.0\.1:\([0-9]*\).*$/\1/p' "$RUN_LOG")
  JOB_ID=$(sed -n -e 's/^  JobManager REST API: http:\/\/127\.0\.0\.1:[0-9]*  job \([0-9a-f]*\)$/\1/p' \
                  -e 's/^  FlinkSessionJob kept-running: job \([0-9a-f]*\)$/\1/p' "$RUN_LOG")
  DASHBOARD=$(sed -n 's/^  Web dashboard: \(http:.*\)$/\1/p' "$RUN_LOG")
  kill -0 "$RUN_PID" 2>/dev/null || { show "$RUN_LOG"; die "run-local exited before printing its addresses"; }
  [ $(( $(now_ms) - start )) -lt 30000 ] || { show "$RUN_LOG"; die "run-local printed no dashboard URL in 30 s"; }
  sleep 0.05
done
[ "$DASHBOARD" = "http://127.0.0.1:$REST_PORT/" ] || die "the dashboard URL $DASHBOARD is not the REST address's /"
echo "  job $JOB_ID, dashboard $DASHBOARD"

rc=0
ROUTE_COUNTS_SO=${ROUTE_COUNTS_SO:-$(dirname "$BIN")/../lib/route-counts.so} \
SUBMIT_INPUT=$SRC/examples/data/flights-3m.csv.gz SUBMIT_OUTPUT=$DIR/out-submitted \
DASHBOARD_URL=$DASHBOARD JOB_ID=$JOB_ID RUN_PID=$RUN_PID CASE=$CASE EXPECT_CANCEL=$EXPECT_CANCEL \
  ARTIFACTS=$DIR/screenshots WEB_DIR=$WEB CHROMIUM=/usr/bin/chromium \
  timeout "$TIMEOUT" node "$SRC/test/dashboard/dashboard_test.mjs" || rc=$?
if [ "$rc" -ne 0 ]; then
  show "$RUN_LOG"
  die "the browser test failed (exit $rc); screenshots in $DIR/screenshots"
fi

if [ "$CASE" = session-submit ]; then
  echo "PASS dashboard $CASE: screenshots in $DIR/screenshots ($(ls "$DIR/screenshots" | wc -l) files)"
  exit 0  # the EXIT trap stops run-local (it cancels the jobs)
fi
# The cancel button (flight-delays) or the stop-with-savepoint button (nexmark-q5) ended the
# job: run-local reports it CANCELED, or FINISHED with a savepoint written, and exits.
while kill -0 "$RUN_PID" 2>/dev/null; do
  [ $(( $(now_ms) - start )) -lt $((TIMEOUT * 1000)) ] || die "run-local still runs after the cancel or stop"
  sleep 0.1
done
wait "$RUN_PID" || true
RUN_PID=""
if [ "$EXPECT_CANCEL" = 1 ]; then
  grep -q -E "^Job .* \\($JOB_ID\\) CANCELED" "$RUN_LOG" || { show "$RUN_LOG"; die "run-local does not report the job CANCELED"; }
else
  grep -q -E "^Job .* \\($JOB_ID\\) FINISHED" "$RUN_LOG" || { show "$RUN_LOG"; die "run-local does not report the stopped job FINISHED"; }
  compgen -G "$DIR/savepoints/savepoint-*/_metadata" > /dev/null || die "no savepoint in $DIR/savepoints"
fi
echo "PASS dashboard $CASE: screenshots in $DIR/screenshots ($(ls "$DIR/screenshots" | wc -l) files)"
