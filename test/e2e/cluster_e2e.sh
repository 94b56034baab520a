#!/usr/bin/env bash
# The operator on a test cluster whose pods really run (test/cluster: kube-test-apiserver,
# kube-test-controllers, kube-test-kubelet). `kubectl apply` of a FlinkDeployment of the
# flight-delay job: the operator writes the ConfigMap, Services and Deployments; the controllers
# make Pods of them; the kubelet runs them as flink-cpp processes in their own network
# namespaces; the TaskManagers find the JobManager through its Service name; the job runs to the
# end and its committed output equals the sqlite3 oracle, with no uncommitted file left. In the
# middle of the job one TaskManager's process gets SIGKILL (seeded moment): its container
# restarts (restartCount >= 1), the job restarts from its latest checkpoint, and the output is
# still exact.
#
# Case ack-after-end: instead of the kill, the acknowledgements of checkpoint 1 are held back
# past the end of input (flink-cpp.testing.delay-checkpoint-ack, as checkpoint_e2e.sh's case of
# that name): output = oracle, the race really ran (a TaskManager pod's log shows its end of
# input before the held-back acknowledgement), checkpoint 1 settled before FINISHED.
#
# Case suspend: while the job runs, `job.state: suspended` (upgradeMode stateless): the
# JobManager and TaskManager pods go away and the status says SUSPENDED; `job.state: running`
# again: new pods run the job from the start to the end, output = oracle, lifecycle STABLE.
#
# Cases savepoint-upgrade and last-state-upgrade (the job lifecycle): the job runs with that
# upgradeMode; at a seeded moment after its first checkpoint the parallelism changes 2 -> 3. The
# operator stops the job (stop-with-savepoint, or deletes the cluster keeping its checkpoints),
# records that in status, and deploys the new spec: from the savepoint under a new job ID, or
# under the same job ID from the job's own latest checkpoint. The job then runs on 3
# TaskManagers to the end: the committed output across the upgrade equals the oracle (nothing
# lost, nothing duplicated), the new JobManager's log names what it restored from, and status
# shows the savepoint / checkpoint used.
# Case savepoint-suspend: job.state suspended with upgradeMode savepoint: a savepoint in
# status, no pods, SUSPENDED; resumed from that savepoint to output = oracle.
# Case operator-kill: the savepoint upgrade with the operator SIGKILLed at a seeded moment of it
# (0-1.5 s after the spec change, while it stops the job or redeploys) and started again: it finds the step it was in from the status
# (a stop-with-savepoint in flight is polled, not triggered again) and finishes the upgrade;
# output = oracle.
# Case rollback: savepoint mode with kubernetes.operator.deployment.rollback.enabled and a 10 s
# readiness timeout; an upgrade to an entry class that does not exist never becomes ready: the
# operator rolls back to the last stable spec (ROLLED_BACK), which resumes from the upgrade's
# savepoint: output = oracle.
# Case snapshots: savepointTriggerNonce 1, 2, 3 with kubernetes.operator.savepoint.history.max.count
# 2: three savepoints, the oldest disposed through the JobManager (exactly 2 savepoint
# directories left on disk, 2 in savepointHistory); checkpointTriggerNonce: a checkpoint
# (CheckpointCreated); a FlinkStateSnapshot resource (savepoint, disposeOnDelete): COMPLETED with
# a path on disk, which goes when the resource is deleted; the job's output is still exact.
# Case restart-failed: last-state mode, restart-strategy none and
# kubernetes.operator.job.restart.failed: a TaskManager SIGKILLed (seeded moment) fails the job
# for good; the operator sees FAILED, redeploys the cluster under the same job ID, the new
# JobManager resumes from the job's latest checkpoint: output = oracle.
# Case ha: Kubernetes HA (high-availability.type kubernetes, storageDir on the shared directory,
# short leader-election timings) with jobManager.replicas 2 (a standby) and last-state: the
# leader's process is SIGKILLed twice at seeded moments, and the operator once between them;
# each time a JobManager (the restarted container or the standby) takes the leadership, the job
# goes on under the same job ID from the checkpoint its HA ConfigMap points to; output = oracle.
# The HA ConfigMaps hold the leader and the checkpoint pointers while the job runs; deleting the
# FlinkDeployment removes them.
# Case ha-native: the same in native mode: each new leader deletes the TaskManager pods of the
# earlier attempt and creates its own.
# Case delete-savepoint: kubernetes.operator.job.savepoint-on-deletion; `kubectl delete` of the
# running FlinkDeployment waits for the finalizer: the job stops with a savepoint (one savepoint
# directory with _metadata on disk), then the pods and the resource are gone.
# Case native: spec.mode native. The operator creates no TaskManager Deployment; the
# JobManager creates its TaskManager pods (flight-delays-taskmanager-<attempt>-<n>, labels
# app/component/type=flink-native-kubernetes, owned by the JobManager Deployment, restartPolicy
# Never) through the API server with its service account; the test scheduler binds them. One
# TaskManager's process gets SIGKILL at a seeded moment after the first checkpoint: its pod
# fails, the JobManager deletes it and creates a replacement, the job restarts and finishes with
# output = oracle; then the idle TaskManagers are released (resourcemanager.taskmanager-timeout
# 5 s): no TaskManager pod is left.
#
# usage: cluster_e2e.sh BIN_DIR SOURCE_DIR WORKDIR [kill|ack-after-end|suspend|savepoint-upgrade|last-state-upgrade|savepoint-suspend|operator-kill|rollback|delete-savepoint|snapshots|restart-failed|scale-logging|session-job|ha|native|ha-native]
#   BIN_DIR holds flink-cpp, kube-test-apiserver, kube-test-controllers and kube-test-kubelet.
# Exit 77 (skipped) without kubectl or where network namespaces cannot be created.
# Environment: E2E_SEED (the kill moment, default 20240601), E2E_TIMEOUT (seconds, default 180).
#
# Real mode: with E2E_KUBECONFIG=/path/to/kubeconfig every case runs on that cluster instead
# (its current context), in a fresh namespace cluster-e2e-<case>-<pid>, deleted at the end.
# It needs (else exit 77): helm and kubectl here; E2E_OPERATOR_IMAGE and E2E_RUNTIME_IMAGE
# (images/: the operator and runtime images, pullable by the nodes or loaded into them);
# E2E_SHARED_DIR, an absolute directory this host and every node see at the same path (kind:
# an extraMounts entry with hostPath = containerPath = that directory; a single node, or a
# shared file system), where the run's input, output, checkpoints and savepoints go
# (E2E_SHARED_DIR/cluster-e2e-<case>, mounted into the pods as a hostPath volume at that path;
# the pods write as uid 9999, so run as root to reuse it); rights to create namespaces, to
# install the chart (namespaced RBAC: Roles, RoleBindings, ServiceAccounts) and to apply crds/.
# The operator runs in the namespace (charts/flink-operator, reaching the JobManagers by their
# Services); the test reads the REST API through kubectl port-forward and the pods' logs with
# kubectl logs; the TaskManager's flink-cpp is SIGKILLed through kubectl exec (its pods share a
# PID namespace, so it is not the namespace's init, which no signal from inside can kill), and
# operator-kill force-deletes the operator pod (its Deployment starts another). The functions
# that differ are in cluster_target.sh.
set -euo pipefail
BIN_DIR=$(cd "$1" && pwd) ROOT=$(cd "$2" && pwd) WORKDIR=$3 VARIANT=${4:-kill}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CASE=cluster-$VARIANT
case "$VARIANT" in
  kill|ack-after-end|suspend|savepoint-upgrade|last-state-upgrade|savepoint-suspend|operator-kill|rollback|delete-savepoint|snapshots|restart-failed|scale-logging|session-job|ha|native|ha-native) ;;
  *) echo "unknown case '$VARIANT' (kill, ack-after-end, suspend, savepoint-upgrade, last-state-upgrade, savepoint-suspend, operator-kill, rollback, delete-savepoint, snapshots, restart-failed, scale-logging, session-job, ha, native, ha-native)" >&2; exit 2 ;;
esac
# ha-native: the ha case in native mode (the new leader replaces the TaskManager pods).
NATIVE=""
if [ "$VARIANT" = native ]; then NATIVE=1; fi
if [ "$VARIANT" = ha-native ]; then VARIANT=ha NATIVE=1; fi
UPGRADE_MODE=stateless
case "$VARIANT" in savepoint-*|operator-kill|rollback|delete-savepoint|snapshots|scale-logging) UPGRADE_MODE=savepoint ;; last-state-*|restart-failed|ha) UPGRADE_MODE=last-state ;; esac
die() { echo "FAIL $CASE: $*" >&2; exit 1; }
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=../cluster/cluster.sh
. "$HERE/../cluster/cluster.sh"
# shellcheck source=cluster_target.sh
. "$HERE/cluster_target.sh"
export LC_ALL=C
SEED=${E2E_SEED:-20240601}
TIMEOUT=${E2E_TIMEOUT:-180}
DATA=$ROOT/examples/data/flights-3m.csv.gz

target_check

mkdir -p "$WORKDIR"
WORKDIR=$(cd "$WORKDIR" && pwd)
DIR=$(target_dir "$WORKDIR" "cluster-e2e-${CASE#cluster-}")
rm -rf "$DIR" || die "cannot remove the previous run's $DIR (the pods' files: remove it as root)"
mkdir -p "$DIR"
CASE_START=$(now_ms)
trap target_down EXIT

# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
  local limit=$(( $(now_ms) + $1 * 1000 )) what=$2
  shift 2
  until "$@" > /dev/null 2>&1; do
    if [ "$(now_ms)" -ge "$limit" ]; then
      kubectl get pods -o wide >&2 || true
      target_operator_log
      show "$DIR/operator.log" 15
      die "timed out after $((limit / 1000 - CASE_START / 1000))s: $what"
    fi
    sleep 0.2
  done
}

# wait_for_quiet SECONDS COMMAND...: as wait_for, but returns 1 on timeout (the caller reports).
wait_for_quiet() {
  local limit=$(( $(now_ms) + $1 * 1000 ))
  shift
  until "$@" > /dev/null 2>&1; do
    [ "$(now_ms)" -lt "$limit" ] || return 1
    sleep 0.2
  done
}

target_up "$BIN_DIR" "cluster-e2e-${CASE#cluster-}-$$"
ON="test-cluster pods"
[ -z "$REAL_CLUSTER" ] || ON="pods of namespace $NAMESPACE"
target_start_operator

# 200 k rows, throttled so that the job runs for several seconds and checkpoints complete.
prepare_input 200000
EXTRA_CONF=""
if [ "$VARIANT" = ack-after-end ]; then
  RANDOM=$SEED
  ACK_DELAY=$((2500 + RANDOM % 2000))
  EXTRA_CONF="flink-cpp.testing.delay-checkpoint-ack: \"1:$ACK_DELAY\""
  echo "  seed $SEED: acknowledgements of checkpoint 1 held back ${ACK_DELAY} ms"
fi
case "$VARIANT" in
  rollback) EXTRA_CONF="kubernetes.operator.deployment.rollback.enabled: \"true\"
kubernetes.operator.deployment.readiness.timeout: \"10 s\"" ;;
  delete-savepoint) EXTRA_CONF="kubernetes.operator.job.savepoint-on-deletion: \"true\"" ;;
  snapshots) EXTRA_CONF="kubernetes.operator.savepoint.history.max.count: \"2\"" ;;
  restart-failed) EXTRA_CONF="kubernetes.operator.job.restart.failed: \"true\"" ;;
  ha) EXTRA_CONF="high-availability.type: kubernetes
high-availability.storageDir: $(q "file://$DIR/ha")
high-availability.kubernetes.leader-election.lease-duration: \"3 s\"
high-availability.kubernetes.leader-election.renew-deadline: \"2 s\"
high-availability.kubernetes.leader-election.retry-period: \"300 ms\"" ;;
  native) EXTRA_CONF="resourcemanager.taskmanager-timeout: \"5 s\"" ;;
esac
# restart-failed: no restart strategy, so that a lost TaskManager fails the job for good.
RESTART_CONF="restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.delay: \"1 s\""
[ "$VARIANT" != restart-failed ] || RESTART_CONF="restart-strategy.type: none"
flight_delays_manifest flight-delays 2 "execution.checkpointing.interval: \"1 s\"
state.checkpoints.dir: $(q "file://$DIR/checkpoints")
state.savepoints.dir: $(q "file://$DIR/savepoints")
$RESTART_CONF
heartbeat.interval: \"1 s\"
heartbeat.timeout: \"5 s\"${EXTRA_CONF:+
$EXTRA_CONF}" --input "$INPUT" --output "$DIR/out" --key origin --window "1 h" \
  --records-per-second "$(case "$VARIANT" in kill) echo 20000 ;; ack-after-end) echo 50000 ;; snapshots|scale-logging|session-job|ha) echo 4000 ;; savepoint-upgrade|last-state-upgrade) echo 5000 ;; *) echo 10000 ;; esac)" \
  | sed -e "s/upgradeMode: stateless/upgradeMode: $UPGRADE_MODE/" \
        -e "$([ -n "$NATIVE" ] && echo 's/^spec:$/spec:\n  mode: native/' || echo 's/^$//')" > "$DIR/flight-delays.yaml"
# (E2E_JM_REPLICAS: 1 for no standby, as bench/ha_failover_bench.sh compares.)
[ "$VARIANT" != ha ] || sed -i "s/^  jobManager:\$/  jobManager:\n    replicas: ${E2E_JM_REPLICAS:-2}/" "$DIR/flight-delays.yaml"
target_pod_template >> "$DIR/flight-delays.yaml"  # DIR shared with the pods at the same path
[ "$VARIANT" = session-job ] || kubectl apply -f "$DIR/flight-delays.yaml" > /dev/null

ready_pods() {  # ready_pods COMPONENT N: N pods of the component are Ready (and not terminating)
  [ "$(kubectl get pods -l "app=flight-delays,component=$1" \
        -o jsonpath='{range .items[*]}{.metadata.deletionTimestamp}{","}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
        grep -c '^,True$')" -ge "$2" ]
}
jm_pod() {  # the JobManager pod (the newest one not terminating; with HA standbys: the Ready one, the leader)
  if [ "$VARIANT" = ha ]; then
    kubectl get pods -l app=flight-delays,component=jobmanager \
      -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
      awk '$2 == "True" { print $1; exit }'
    return 0
  fi
  kubectl get pods -l app=flight-delays,component=jobmanager --sort-by=.metadata.creationTimestamp \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.deletionTimestamp}{"\n"}{end}' | awk 'NF == 1 { p = $1 } END { print p }'
}
find_rest() { target_rest "$(jm_pod)"; }
# (On a real cluster through kubectl port-forward, which restarts after a dropped connection:
# a refused connection is retried a few times.)
rest_get() { curl -sf --max-time 2 ${REAL_CLUSTER:+--retry 4 --retry-connrefused --retry-delay 1} "$REST$1" > "$DIR/rest.json"; }
if [ "$VARIANT" = session-job ]; then
  # A session cluster (the same configuration, no spec.job, 2 TaskManagers x 2 slots) and two
  # FlinkSessionJobs on it, the builtin flight-delay job keyed by origin and by destination,
  # submitted by the operator through the JobManager's jar API. At a seeded moment the first is
  # upgraded (parallelism 1 -> 2, upgradeMode savepoint: stop-with-savepoint, its successor runs
  # from it) while the second runs on untouched; then a TaskManager is SIGKILLed and both jobs
  # recover. Each output equals its oracle (exactly once through the upgrade and the kill).
  # Deleting the cluster first is blocked (CleanupFailed) until the session jobs are gone.
  sed -e '/^  job:/,$d' -e 's/^  taskManager:$/  taskManager:\n    replicas: 2/' \
      -e 's/taskmanager.numberOfTaskSlots: "1"/taskmanager.numberOfTaskSlots: "2"/' "$DIR/flight-delays.yaml" > "$DIR/session.yaml"
  target_pod_template >> "$DIR/session.yaml"
  session_job() {  # session_job NAME KEY OUTDIR PARALLELISM
    local args
    args=$(grep '^    args: ' "$DIR/flight-delays.yaml" | sed -e "s|\"$DIR/out\"|$(q "$3")|" -e "s|\"--key\", \"origin\"|\"--key\", \"$2\"|")
    grep -q -- "\"--key\", \"$2\"" <<< "$args" || die "cannot set --key $2 in the job args: $args"
    cat <<YAML
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata:
  name: $1
spec:
  deploymentName: flight-delays
  job:
    jarURI: builtin://flink-cpp-examples
    entryClass: flinkcpp.examples.FlightDelays
$args
    parallelism: $4
    upgradeMode: savepoint
YAML
  }
  oracle_by_key "$INPUT" destination "$DIR/expected-destination.txt"
  EXPECTED_ORIGIN=$EXPECTED
  kubectl apply -f "$DIR/session.yaml" > /dev/null
  wait_for "$TIMEOUT" "the session cluster's JobManager pod Ready" ready_pods jobmanager 1
  wait_for "$TIMEOUT" "2 TaskManager pods Ready" ready_pods taskmanager 2
  find_rest
  session_job by-origin origin "$DIR/out" 1 | kubectl apply -f - > /dev/null
  session_job by-destination destination "$DIR/out-destination" 2 | kubectl apply -f - > /dev/null
  sj_status() { kubectl get flinksessionjob "$1" -o "jsonpath=$2"; }
  job_state() { rest_get "/jobs/$1" && jget "$DIR/rest.json" '$.state'; }
  session_job_running() {  # session_job_running NAME: RUNNING with a completed checkpoint, STABLE
    local jid
    jid=$(sj_status "$1" '{.status.jobStatus.jobId}')
    [ -n "$jid" ] && [ "$(job_state "$jid")" = RUNNING ] && rest_get "/jobs/$jid/checkpoints" &&
      [ "$(jget "$DIR/rest.json" '$.counts.completed')" -ge 1 ] && [ "$(sj_status "$1" '{.status.lifecycleState}')" = STABLE ]
  }
  wait_for "$TIMEOUT" "by-origin RUNNING with a completed checkpoint" session_job_running by-origin
  wait_for "$TIMEOUT" "by-destination RUNNING with a completed checkpoint" session_job_running by-destination
  kubectl get flinksessionjobs > "$DIR/flinksessionjobs.txt"
  [ "$(grep -c ' RUNNING *STABLE ' "$DIR/flinksessionjobs.txt")" = 2 ] ||
    die "kubectl get flinksessionjobs does not show both RUNNING/STABLE: $(cat "$DIR/flinksessionjobs.txt")"
  OLD_JOB=$(sj_status by-origin '{.status.jobStatus.jobId}')
  OTHER_JOB=$(sj_status by-destination '{.status.jobStatus.jobId}')
  echo "  two session jobs RUNNING after $(secs_since "$CASE_START")s: by-origin $OLD_JOB, by-destination $OTHER_JOB"
  RANDOM=$SEED
  sleep_ms $((RANDOM % 1500))
  CHANGE_AT=$(now_ms)
  kubectl patch flinksessionjob by-origin --type=merge -p '{"spec":{"job":{"parallelism":2}}}' > /dev/null
  echo "  seed $SEED: by-origin parallelism 1 -> 2 (savepoint) at +$(secs_since "$CASE_START")s"
  upgraded() {
    local jid
    jid=$(sj_status by-origin '{.status.jobStatus.jobId}')
    [ -n "$jid" ] && [ "$jid" != "$OLD_JOB" ] && [ -n "$(sj_status by-origin '{.status.jobStatus.upgradeSavepointPath}')" ] &&
      case "$(job_state "$jid")" in RUNNING|FINISHED) true ;; *) false ;; esac
  }
  wait_for 90 "the by-origin successor running from the upgrade savepoint" upgraded
  NEW_JOB=$(sj_status by-origin '{.status.jobStatus.jobId}')
  SAVEPOINT=$(sj_status by-origin '{.status.jobStatus.upgradeSavepointPath}')
  [ -f "${SAVEPOINT#file://}/_metadata" ] || die "the upgrade savepoint $SAVEPOINT has no _metadata on disk"
  [ "$(job_state "$OLD_JOB")" = FINISHED ] || die "the old job $OLD_JOB is $(job_state "$OLD_JOB"), expected FINISHED (stop-with-savepoint)"
  [ "$(sj_status by-destination '{.status.jobStatus.jobId}')" = "$OTHER_JOB" ] || die "the by-origin upgrade changed by-destination's job"
  case "$(job_state "$OTHER_JOB")" in RUNNING|FINISHED) ;; *) die "by-destination is $(job_state "$OTHER_JOB") after the other's upgrade" ;; esac
  echo "  by-origin $NEW_JOB running from $SAVEPOINT $(secs_since "$CHANGE_AT")s after the change; by-destination untouched"
  # SIGKILL a TaskManager while both run (if they still do).
  TM_POD=$(kubectl get pods -l app=flight-delays,component=taskmanager -o jsonpath='{.items[0].metadata.name}')
  sleep_ms $((RANDOM % 1000))
  target_kill_main_container "$TM_POD"
  echo "  seed $SEED: SIGKILL TaskManager $TM_POD (pid $KILLED_PID) with by-origin $(job_state "$NEW_JOB"), by-destination $(job_state "$OTHER_JOB")"
  both_finished() { [ "$(job_state "$NEW_JOB")" = FINISHED ] && [ "$(job_state "$OTHER_JOB")" = FINISHED ]; }
  wait_for "$TIMEOUT" "both session jobs FINISHED" both_finished
  EXPECTED=$EXPECTED_ORIGIN
  compare_output "$DIR/out" "$CASE-origin"
  ORIGIN_ROWS=$ACTUAL_ROWS
  EXPECTED=$DIR/expected-destination.txt
  compare_output "$DIR/out-destination" "$CASE-destination"
  # The cluster goes only after its session jobs.
  kubectl delete flinkdeployment flight-delays --wait=false > /dev/null
  blocked() { kubectl get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -qx CleanupFailed; }
  wait_for 30 "the deletion of the session cluster blocked (a CleanupFailed event)" blocked
  kubectl get flinkdeployment flight-delays > /dev/null 2>&1 || die "the session cluster went while session jobs were on it"
  ready_pods jobmanager 1 || die "the blocked deletion took the session cluster's JobManager down"
  kubectl delete flinksessionjob by-origin by-destination --wait=false > /dev/null
  sj_gone() { [ -z "$(kubectl get flinksessionjobs -o name)" ]; }
  wait_for 60 "the FlinkSessionJobs gone after their cleanup" sj_gone
  fd_gone() { ! kubectl get flinkdeployment flight-delays > /dev/null 2>&1; }
  wait_for 60 "the session cluster gone once its jobs went" fd_gone
  no_cluster_pods() { [ -z "$(kubectl get pods -l app=flight-delays -o name)" ]; }
  wait_for 60 "the session cluster's pods gone" no_cluster_pods
  echo "PASS $CASE: two FlinkSessionJobs on one session cluster, one upgraded 1 -> 2 with a savepoint, a TaskManager killed; $ORIGIN_ROWS and $ACTUAL_ROWS rows = oracles; the cluster deleted after its jobs, $(secs_since "$CASE_START")s"
  exit 0
fi
wait_for "$TIMEOUT" "the JobManager pod Ready" ready_pods jobmanager 1
wait_for "$TIMEOUT" "2 TaskManager pods Ready" ready_pods taskmanager 2
find_rest
echo "  pods Ready after $(secs_since "$CASE_START")s; JobManager REST API at $REST ($([ -n "$REAL_CLUSTER" ] && echo kubectl port-forward || echo pod network))"

job_field() { rest_get /jobs/overview && jget "$DIR/rest.json" "\$.jobs[0].$1"; }
job_running_with_checkpoint() {
  [ "$(job_field state)" = RUNNING ] || return 1
  local jid
  jid=$(job_field jid)
  rest_get "/jobs/$jid/checkpoints" && [ "$(jget "$DIR/rest.json" '$.counts.completed')" -ge 1 ]
}

finished() { [ "$(job_field state)" = FINISHED ]; }
fd_status() { kubectl get flinkdeployment flight-delays -o "jsonpath=$1"; }
lifecycle_is() { [ "$(fd_status '{.status.lifecycleState}')" = "$1" ]; }
# The operator observed the job through the JobManager's REST API: status.jobStatus says
# FINISHED with the job's id, and the lifecycle is STABLE (kubectl get shows both).
expect_operator_status() {
  operator_saw_finished() { [ "$(fd_status '{.status.jobStatus.state}')" = FINISHED ]; }
  wait_for 60 "status.jobStatus.state FINISHED (the operator's observer)" operator_saw_finished
  [ "$(fd_status '{.status.jobStatus.jobId}')" = "$(job_field jid)" ] || die "status.jobStatus.jobId is not the job's id"
  [ "$(fd_status '{.status.lifecycleState}')" = STABLE ] || die "lifecycleState $(fd_status '{.status.lifecycleState}'), expected STABLE"
  [ -n "$(fd_status '{.status.reconciliationStatus.lastStableSpec}')" ] || die "no lastStableSpec"
  kubectl get flinkdeployment flight-delays > "$DIR/flinkdeployment.txt"
}
if [ "$VARIANT" = suspend ]; then
  wait_for "$TIMEOUT" "the job RUNNING with a completed checkpoint" job_running_with_checkpoint
  OLD_JOB=$(job_field jid)
  kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"state":"suspended"}}}' > /dev/null
  no_cluster_pods() { [ -z "$(kubectl get pods -l app=flight-delays -o name)" ]; }
  wait_for 60 "the JobManager and TaskManager pods gone after the suspend" no_cluster_pods
  wait_for 30 "lifecycleState SUSPENDED" lifecycle_is SUSPENDED
  [ "$(fd_status '{.status.jobStatus.state}')" = SUSPENDED ] || die "jobStatus.state $(fd_status '{.status.jobStatus.state}') while suspended"
  # Stateless: the job was cancelled before its pods went, and the JobManager removed its
  # checkpoints (execution.checkpointing.externalized-checkpoint-retention is not RETAIN_ON_CANCELLATION).
  [ "$(cat "$DIR/checkpoints/$OLD_JOB/job-result" 2> /dev/null)" = CANCELED ] \
    || die "job $OLD_JOB was not cancelled by the stateless suspend (job-result '$(cat "$DIR/checkpoints/$OLD_JOB/job-result" 2> /dev/null)')"
  LEFT=$(find "$DIR/checkpoints/$OLD_JOB" -mindepth 1 -maxdepth 1 -name 'chk-*' | wc -l)
  [ "$LEFT" = 0 ] || die "$LEFT checkpoint(s) of the cancelled job $OLD_JOB left in $DIR/checkpoints/$OLD_JOB"
  echo "  suspended at +$(secs_since "$CASE_START")s: job cancelled, its checkpoints removed, no pods, lifecycle SUSPENDED"
  kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"state":"running"}}}' > /dev/null
  wait_for "$TIMEOUT" "the JobManager pod Ready again" ready_pods jobmanager 1
  find_rest
  wait_for "$TIMEOUT" "the resumed job FINISHED" finished
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  echo "PASS $CASE: suspended (pods deleted, SUSPENDED) and resumed (stateless: from the start), $ACTUAL_ROWS rows = oracle, lifecycle STABLE, $(secs_since "$CASE_START")s"
  exit 0
fi
# new_cluster_ready N: the operator deployed the stopped job's successor (lastReconciledSpec
# not suspended, with parallelism N), its JobManager and N TaskManager pods are Ready; sets REST
# to the new JobManager.
# With OLD_JM_POD (new_cluster_ready N OLD_JM_POD) also waits until another JobManager pod than
# that one runs (a restart with an unchanged spec: lastReconciledSpec alone cannot tell).
new_cluster_ready() {
  NEW_PARALLELISM=$1
  if [ -n "${2:-}" ]; then
    OLD_JM_POD=$2
    another_jobmanager() { local p; p=$(jm_pod); [ -n "$p" ] && [ "$p" != "$OLD_JM_POD" ]; }
    wait_for 90 "a JobManager pod other than $OLD_JM_POD" another_jobmanager
  fi
  redeployed() {
    local spec
    spec=$(fd_status '{.status.reconciliationStatus.lastReconciledSpec}')
    ! grep -q '"suspended"' <<< "$spec" && grep -q "\"parallelism\":$NEW_PARALLELISM" <<< "$spec"
  }
  wait_for 90 "the operator deploying the new spec" redeployed
  wait_for "$TIMEOUT" "the new JobManager pod Ready" ready_pods jobmanager 1
  wait_for "$TIMEOUT" "$1 TaskManager pods Ready" ready_pods taskmanager "$1"
  find_rest
}
# jm_log_says TEXT: the JobManager pod that runs now logged TEXT.
jm_log_says() {
  grep -q "$1" "$(target_pod_log "$(jm_pod)")"
}
if [ "$VARIANT" = scale-logging ]; then
  # kubectl scale sets spec.taskManager.replicas through the scale subresource (the Apache
  # operator's unit: TaskManager pods, parallelism = replicas x slots); the operator upgrades the
  # job with a savepoint to 3 TaskManagers and parallelism 3. Then a spec.logConfiguration with
  # rootLogger.level = DEBUG reaches the new pods: their output has DEBUG lines.
  wait_for "$TIMEOUT" "the job RUNNING with a completed checkpoint" job_running_with_checkpoint
  ! grep -q ' DEBUG ' "$(target_pod_log "$(jm_pod)")" || die "DEBUG lines in the JobManager's output before the level was set"
  CHANGE_AT=$(now_ms)
  kubectl scale flinkdeployment/flight-delays --replicas=3 > /dev/null || die "kubectl scale was refused"
  scaled() { grep -q '"replicas":3' <<< "$(fd_status '{.status.reconciliationStatus.lastReconciledSpec}')"; }
  wait_for 90 "the operator deploying taskManager.replicas 3" scaled
  wait_for "$TIMEOUT" "the new JobManager pod Ready" ready_pods jobmanager 1
  wait_for "$TIMEOUT" "3 TaskManager pods Ready" ready_pods taskmanager 3
  find_rest
  vertex_parallelism() {  # the job's vertices' parallelism, one line each
    local jid
    jid=$(job_field jid) && rest_get "/jobs/$jid" &&
      sqlite3 -batch :memory: "SELECT json_extract(value, '\$.parallelism') FROM json_each(json_extract(CAST(readfile('$DIR/rest.json') AS TEXT), '\$.vertices'));"
  }
  parallelism_3() { [ "$(job_field state)" = RUNNING ] && [ "$(vertex_parallelism | sort -u)" = 3 ]; }
  wait_for 60 "the job RUNNING with every vertex at parallelism 3" parallelism_3
  wait_for 30 "the new JobManager restoring the upgrade savepoint" jm_log_says "restores from savepoint"
  echo "  kubectl scale --replicas=3: 3 TaskManagers, job at parallelism 3 from a savepoint, $(secs_since "$CHANGE_AT")s"
  SCALED_JM=$(jm_pod)
  LOG_AT=$(now_ms)
  kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"logConfiguration":{"log4j-console.properties":"rootLogger.level = DEBUG\nrootLogger.appenderRef.console.ref = ConsoleAppender\n"}}}' > /dev/null
  another_jobmanager() { local p; p=$(jm_pod); [ -n "$p" ] && [ "$p" != "$SCALED_JM" ]; }
  wait_for 90 "a JobManager pod with the new logConfiguration" another_jobmanager
  wait_for "$TIMEOUT" "the new JobManager pod Ready" ready_pods jobmanager 1
  find_rest
  wait_for 60 "DEBUG lines (checkpoint acknowledgements) in the new JobManager's output" \
    jm_log_says 'DEBUG .*Received acknowledge message for checkpoint'
  echo "  logConfiguration rootLogger.level = DEBUG: DEBUG lines in the new JobManager's output, $(secs_since "$LOG_AT")s"
  wait_for "$TIMEOUT" "the job FINISHED" finished
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  echo "PASS $CASE: kubectl scale 2 -> 3 TaskManagers (parallelism 3) and a DEBUG log level, each through a savepoint upgrade; $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
  exit 0
fi
case "$VARIANT" in savepoint-upgrade|last-state-upgrade|savepoint-suspend|operator-kill|rollback|delete-savepoint|snapshots)
  wait_for "$TIMEOUT" "the job RUNNING with a completed checkpoint" job_running_with_checkpoint
  OLD_JOB=$(job_field jid)
  [ "$(fd_status '{.status.jobStatus.jobId}')" = "$OLD_JOB" ] || die "status.jobStatus.jobId is not the running job's id $OLD_JOB"
  RANDOM=$SEED
  sleep_ms $((RANDOM % 1500))
  STATE_AT_CHANGE=$(job_field state)
  [ "$STATE_AT_CHANGE" = RUNNING ] || die "the job was $STATE_AT_CHANGE before the change: slow the input (--records-per-second)"
  CHANGE_AT=$(now_ms)
  if [ "$VARIANT" = savepoint-suspend ]; then
    kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"state":"suspended"}}}' > /dev/null
    echo "  seed $SEED: suspended at +$(secs_since "$CASE_START")s"
    no_cluster_pods() { [ -z "$(kubectl get pods -l app=flight-delays -o name)" ]; }
    wait_for 60 "the JobManager and TaskManager pods gone after the suspend" no_cluster_pods
    wait_for 30 "lifecycleState SUSPENDED" lifecycle_is SUSPENDED
    SAVEPOINT=$(fd_status '{.status.jobStatus.savepointInfo.lastSavepoint.location}')
    [ -n "$SAVEPOINT" ] || die "no savepointInfo.lastSavepoint in status after the suspend"
    [ -f "${SAVEPOINT#file://}/_metadata" ] || die "the savepoint $SAVEPOINT in status has no _metadata on disk"
    echo "  suspended with savepoint $SAVEPOINT after $(secs_since "$CHANGE_AT")s: no pods, SUSPENDED"
    RESUME_AT=$(now_ms)
    kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"state":"running"}}}' > /dev/null
    new_cluster_ready 2
    echo "  resumed: pods Ready $(secs_since "$RESUME_AT")s after job.state running"
  elif [ "$VARIANT" = snapshots ]; then
    for n in 1 2 3; do
      kubectl patch flinkdeployment flight-delays --type=merge -p "{\"spec\":{\"job\":{\"savepointTriggerNonce\":$n}}}" > /dev/null
      savepoint_done() { [ "$(fd_status '{.status.jobStatus.savepointInfo.lastSavepoint.triggerNonce}')" = "$n" ]; }
      wait_for 60 "the savepoint of savepointTriggerNonce $n" savepoint_done
    done
    kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"checkpointTriggerNonce":1}}}' > /dev/null
    checkpoint_done() {
      kubectl get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -qx CheckpointCreated
    }
    wait_for 60 "the checkpoint of checkpointTriggerNonce 1 (a CheckpointCreated event)" checkpoint_done
    echo "  3 savepoints and 1 checkpoint by nonce in $(secs_since "$CHANGE_AT")s"
    # Recorded as FlinkStateSnapshots (kubernetes.operator.snapshot.resource.enabled, the default):
    # the two the history keeps, COMPLETED, at paths on disk.
    manual_snapshots() {
      kubectl get flinkstatesnapshots -l job-reference.name=flight-delays,snapshot.trigger-type=MANUAL \
        -o jsonpath='{range .items[*]}{.status.state} {.status.path}{"\n"}{end}'
    }
    two_completed() { [ "$(manual_snapshots | grep -c '^COMPLETED ')" = 2 ] && [ "$(manual_snapshots | wc -l)" = 2 ]; }
    wait_for 30 "2 FlinkStateSnapshots of the manual savepoints, COMPLETED" two_completed
    while read -r _ path; do
      [ -f "${path#file://}/_metadata" ] || die "FlinkStateSnapshot path $path has no _metadata on disk"
    done < <(manual_snapshots)
    # A FlinkStateSnapshot resource: a savepoint of the job, disposed when the resource is deleted.
    cat > "$DIR/snapshot.yaml" <<'YAML'
apiVersion: flink.apache.org/v1beta1
kind: FlinkStateSnapshot
metadata:
  name: flight-delays-snapshot
spec:
  backoffLimit: 3
  jobReference:
    kind: FlinkDeployment
    name: flight-delays
  savepoint:
    disposeOnDelete: true
YAML
    kubectl apply -f "$DIR/snapshot.yaml" > /dev/null
    snapshot_completed() { [ "$(kubectl get flinkstatesnapshot flight-delays-snapshot -o 'jsonpath={.status.state}')" = COMPLETED ]; }
    wait_for 60 "the FlinkStateSnapshot COMPLETED" snapshot_completed
    SNAPSHOT_PATH=$(kubectl get flinkstatesnapshot flight-delays-snapshot -o 'jsonpath={.status.path}')
    [ -f "${SNAPSHOT_PATH#file://}/_metadata" ] || die "the FlinkStateSnapshot's path $SNAPSHOT_PATH has no _metadata"
    kubectl delete flinkstatesnapshot flight-delays-snapshot --wait=false > /dev/null
    snapshot_gone() { ! kubectl get flinkstatesnapshot flight-delays-snapshot > /dev/null 2>&1; }
    wait_for 30 "the FlinkStateSnapshot gone after its disposal" snapshot_gone
    [ ! -e "${SNAPSHOT_PATH#file://}" ] || die "the FlinkStateSnapshot was deleted but its savepoint $SNAPSHOT_PATH is still on disk"
    echo "  FlinkStateSnapshot COMPLETED at $SNAPSHOT_PATH, disposed with the resource"
    [ "$(job_field state)" = RUNNING ] || die "the job is $(job_field state) after the savepoints: slow the input"
    SAVEPOINTS=$(find "$DIR/savepoints" -mindepth 2 -maxdepth 2 -name _metadata | wc -l)
    [ "$SAVEPOINTS" = 2 ] || die "expected 2 savepoint directories on disk (history max.count 2), found $SAVEPOINTS"
    HISTORY=$(fd_status '{.status.jobStatus.savepointInfo.savepointHistory[*].location}' | wc -w)
    [ "$HISTORY" = 2 ] || die "expected 2 entries in savepointHistory, found $HISTORY"
    for loc in $(fd_status '{.status.jobStatus.savepointInfo.savepointHistory[*].location}'); do
      [ -f "${loc#file://}/_metadata" ] || die "savepointHistory names $loc, which is not on disk"
    done
    wait_for "$TIMEOUT" "the job FINISHED" finished
    compare_output "$DIR/out" "$CASE"
    echo "PASS $CASE: 3 savepoints by nonce, the oldest disposed (2 on disk = history), a checkpoint by nonce; $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
    exit 0
  elif [ "$VARIANT" = delete-savepoint ]; then
    kubectl delete flinkdeployment flight-delays --wait=false > /dev/null
    echo "  seed $SEED: kubectl delete at +$(secs_since "$CASE_START")s"
    fd_gone() { ! kubectl get flinkdeployment flight-delays > /dev/null 2>&1; }
    wait_for 60 "the FlinkDeployment gone after its cleanup" fd_gone
    no_cluster_pods() { [ -z "$(kubectl get pods -l app=flight-delays -o name)" ]; }
    wait_for 60 "the JobManager and TaskManager pods gone" no_cluster_pods
    SAVEPOINTS=$(find "$DIR/savepoints" -mindepth 2 -maxdepth 2 -name _metadata 2> /dev/null | wc -l)
    [ "$SAVEPOINTS" = 1 ] || die "expected one savepoint with _metadata under $DIR/savepoints, found $SAVEPOINTS"
    kubectl get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' > "$DIR/events.txt"
    grep -qx Cleanup "$DIR/events.txt" || die "no Cleanup event"
    grep -qx SavepointCreated "$DIR/events.txt" || die "no SavepointCreated event"
    echo "PASS $CASE: deleted with a savepoint ($(find "$DIR/savepoints" -mindepth 1 -maxdepth 1)), $(secs_since "$CHANGE_AT")s from kubectl delete to resource and pods gone; $(secs_since "$CASE_START")s"
    exit 0
  elif [ "$VARIANT" = rollback ]; then
    kubectl patch flinkdeployment flight-delays --type=merge \
      -p '{"spec":{"job":{"parallelism":3,"entryClass":"flinkcpp.examples.DoesNotExist"}}}' > /dev/null
    echo "  seed $SEED: upgrade to a missing entry class at +$(secs_since "$CASE_START")s"
    wait_for 90 "lifecycleState ROLLED_BACK" lifecycle_is ROLLED_BACK
    echo "  ROLLED_BACK $(secs_since "$CHANGE_AT")s after the change"
    wait_for "$TIMEOUT" "the rolled-back JobManager pod Ready" ready_pods jobmanager 1
    wait_for "$TIMEOUT" "2 TaskManager pods Ready" ready_pods taskmanager 2
    find_rest
    grep -q '"parallelism":3' <<< "$(fd_status '{.status.reconciliationStatus.lastReconciledSpec}')" \
      || die "lastReconciledSpec is not the failed spec"
    wait_for "$TIMEOUT" "the rolled-back job FINISHED" finished
    [ "$(job_field jid)" = "$(fd_status '{.status.jobStatus.jobId}')" ] || die "the JobManager runs another job than status says"
    compare_output "$DIR/out" "$CASE"
    [ "$(fd_status '{.status.lifecycleState}')" = ROLLED_BACK ] || die "lifecycleState $(fd_status '{.status.lifecycleState}') after the rollback, expected ROLLED_BACK"
    echo "PASS $CASE: a broken upgrade rolled back to the last stable spec (ROLLED_BACK), resumed from the upgrade's savepoint; $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
    exit 0
  else
    # (A job that already ended would be upgraded statelessly: the case would test nothing.)
    [ "$(job_field state)" = RUNNING ] || die "the job was $(job_field state) before the upgrade: slow the input"
    kubectl patch flinkdeployment flight-delays --type=merge -p '{"spec":{"job":{"parallelism":3}}}' > /dev/null
    echo "  seed $SEED: parallelism 2 -> 3 ($UPGRADE_MODE) at +$(secs_since "$CASE_START")s"
    if [ "$VARIANT" = operator-kill ]; then
      sleep_ms $((RANDOM % 1500))
      target_kill_operator
      echo "  operator $([ -n "$REAL_CLUSTER" ] && echo "pod force-deleted" || echo SIGKILLed) $(secs_since "$CHANGE_AT")s after the change (lifecycle $(fd_status '{.status.lifecycleState}'), savepoint trigger '$(fd_status '{.status.jobStatus.savepointInfo.triggerId}')')"
      target_start_operator
    fi
    new_cluster_ready 3
  fi
  NEW_JOB=$(fd_status '{.status.jobStatus.jobId}')
  if [ "$UPGRADE_MODE" = savepoint ]; then
    SAVEPOINT=$(fd_status '{.status.jobStatus.savepointInfo.lastSavepoint.location}')
    [ -n "$SAVEPOINT" ] || die "no savepointInfo.lastSavepoint in status"
    [ "$(fd_status '{.status.jobStatus.upgradeSavepointPath}')" = "$SAVEPOINT" ] || die "upgradeSavepointPath is not the savepoint $SAVEPOINT"
    [ "$NEW_JOB" != "$OLD_JOB" ] || die "a savepoint redeploy kept the job id $OLD_JOB"
    wait_for 30 "the new JobManager restoring savepoint $SAVEPOINT" jm_log_says "restores from savepoint ${SAVEPOINT#file://}"
    USED="savepoint $SAVEPOINT"
  else
    [ "$NEW_JOB" = "$OLD_JOB" ] || die "a last-state upgrade changed the job id $OLD_JOB to $NEW_JOB"
    CHECKPOINT=$(fd_status '{.status.jobStatus.checkpointInfo.lastCheckpoint.id}')
    [ -n "$CHECKPOINT" ] || die "no checkpointInfo.lastCheckpoint in status"
    wait_for 30 "the new JobManager resuming from its own checkpoint" jm_log_says "resumes from its own checkpoint"
    USED="its own checkpoint (>= $CHECKPOINT, job id kept)"
  fi
  echo "  new cluster RUNNING $(secs_since "$CHANGE_AT")s after the change, from $USED"
  wait_for "$TIMEOUT" "the upgraded job FINISHED" finished
  [ "$(job_field jid)" = "$NEW_JOB" ] || die "the JobManager runs job $(job_field jid), status says $NEW_JOB"
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  if [ "$VARIANT" = operator-kill ]; then
    TRIGGERS=$(kubectl get events -o jsonpath='{range .items[?(@.reason=="SavepointTriggered")]}{.count}{"\n"}{end}' |
      awk '{ n += $1 } END { print n + 0 }')
    # (0 when the operator died between its trigger and the event: the restarted one finds the
    # job stopped by that savepoint.)
    [ "$TRIGGERS" -le 1 ] || die "the stop-with-savepoint was triggered $TRIGGERS times (SavepointTriggered events), expected once"
    SAVEPOINTS=$(find "$DIR/savepoints" -mindepth 2 -maxdepth 2 -name _metadata | wc -l)
    [ "$SAVEPOINTS" = 1 ] || die "expected exactly one savepoint on disk, found $SAVEPOINTS"
  fi
  echo "PASS $CASE: $UPGRADE_MODE $( [ "$VARIANT" = savepoint-suspend ] && echo suspend/resume || echo "upgrade 2 -> 3" ) from $USED; $ACTUAL_ROWS rows = oracle, lifecycle STABLE, $(secs_since "$CASE_START")s"
  exit 0
  ;;
esac
if [ "$VARIANT" = ack-after-end ]; then
  wait_for "$TIMEOUT" "the job FINISHED" finished
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  mapfile -t TM_LOGS < <(target_pod_logs flight-delays-taskmanager-)
  expect_race "$(target_pod_log "$(jm_pod)")" "${TM_LOGS[@]}"
  echo "PASS $CASE: FlinkDeployment on $ON, checkpoint 1 acknowledged ${ACK_DELAY} ms late, after the end of input ($RACE_OUTCOME before FINISHED); $ACTUAL_ROWS rows = oracle, no uncommitted file, $(secs_since "$CASE_START")s"
  exit 0
fi

if [ "$VARIANT" = ha ]; then
  leader_pod() { jm_pod; }
  cm_data() { kubectl get configmap "$1" -o json > "$DIR/cm.json" && jget "$DIR/cm.json" "\$.data.\"$2\""; }
  leader_holder() {
    kubectl get configmap flight-delays-cluster-config-map -o jsonpath='{.metadata.annotations.control-plane\.alpha\.kubernetes\.io/leader}' > "$DIR/leader.json" &&
      jget "$DIR/leader.json" '$.holderIdentity'
  }
  wait_for "$TIMEOUT" "the job RUNNING with a completed checkpoint" job_running_with_checkpoint
  JOB_ID=$(job_field jid)
  [ "$(kubectl get pods -l app=flight-delays,component=jobmanager -o name | wc -l)" = "${E2E_JM_REPLICAS:-2}" ] || die "not ${E2E_JM_REPLICAS:-2} JobManager pods"
  pointer_recorded() { [ -n "$(kubectl get configmap "flight-delays-$JOB_ID-config-map" -o jsonpath='{.data}' | grep -o 'checkpointID-[0-9]*' | head -1)" ]; }
  wait_for 30 "a checkpoint pointer in ConfigMap flight-delays-$JOB_ID-config-map" pointer_recorded
  [ "$(leader_holder)" = "$(leader_pod)" ] || die "the leader annotation names '$(leader_holder)', the Ready JobManager is '$(leader_pod)'"
  [ -n "$(cm_data flight-delays-cluster-config-map "executionPlan-$JOB_ID")" ] || die "no executionPlan-$JOB_ID in the cluster ConfigMap"
  kubectl get configmaps -l app=flight-delays,configmap-type=high-availability -o yaml > "$DIR/ha-configmaps.yaml"
  echo "  job $JOB_ID RUNNING; leader $(leader_pod); HA ConfigMaps: $(kubectl get configmaps -l configmap-type=high-availability -o name | tr '\n' ' ')"
  RANDOM=$SEED
  resumed() {  # the job RUNNING again under JOB_ID on a JobManager that recovered it
    local p
    p=$(leader_pod)
    [ -n "$p" ] && target_rest "$p" > /dev/null 2>&1 && [ "$(job_field jid)" = "$JOB_ID" ] &&
      case "$(job_field state)" in RUNNING|FINISHED) true ;; *) false ;; esac
  }
  for round in 1 2; do
    sleep_ms $((RANDOM % 2000))
    LEADER=$(leader_pod)
    [ "$(job_field state)" = RUNNING ] || die "the job was $(job_field state) before kill $round: slow the input"
    KILL_AT=$(now_ms)
    target_kill_jobmanager "$LEADER"
    echo "  seed $SEED: SIGKILL JobManager $LEADER (pid $KILLED_PID), kill $round at +$(secs_since "$CASE_START")s"
    if [ "$round" = 1 ]; then
      sleep_ms $((RANDOM % 1500))
      target_kill_operator
      echo "  SIGKILL the operator too; started again"
      target_start_operator
    fi
    wait_for 90 "the job RUNNING again under $JOB_ID after kill $round" resumed
    find_rest_leader() { REST_POD=$(leader_pod); target_rest "$REST_POD"; }
    find_rest_leader
    grep -q "Kubernetes HA: recovering job $JOB_ID" "$(target_pod_log "$REST_POD")" || die "the new leader $REST_POD did not recover job $JOB_ID from the HA ConfigMaps"
    echo "  kill $round: job $JOB_ID $(job_field state) again on $REST_POD $(secs_since "$KILL_AT")s after the kill (leader $(leader_holder))"
  done
  wait_for "$TIMEOUT" "the job FINISHED" finished
  grep -q "resumes from" "$(target_pod_log "$REST_POD")" || die "the last leader's log does not say which checkpoint it resumed from"
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  [ "$(fd_status '{.status.jobStatus.jobId}')" = "$JOB_ID" ] || die "the job ID changed"
  kubectl delete flinkdeployment flight-delays --wait=false > /dev/null
  ha_gone() { [ -z "$(kubectl get configmaps -l app=flight-delays,configmap-type=high-availability -o name)" ] && ! kubectl get flinkdeployment flight-delays > /dev/null 2>&1; }
  if ! wait_for_quiet 90 ha_gone; then
    kubectl get flinkdeployments,configmaps -o yaml > "$DIR/left.yaml" 2>&1 || true
    die "the FlinkDeployment or its HA ConfigMaps still there 90 s after the deletion: $(kubectl get flinkdeployments,configmaps -o name | tr '\n' ' ') ($DIR/left.yaml)"
  fi
  echo "PASS $CASE: the leading JobManager SIGKILLed twice (and the operator once): job $JOB_ID resumed each time from its HA checkpoint pointer; $ACTUAL_ROWS rows = oracle; HA ConfigMaps deleted with the FlinkDeployment, $(secs_since "$CASE_START")s"
  exit 0
fi

if [ "$VARIANT" = restart-failed ]; then
  wait_for "$TIMEOUT" "the job RUNNING with a completed checkpoint" job_running_with_checkpoint
  JOB_ID=$(job_field jid)
  RANDOM=$SEED
  sleep_ms $((RANDOM % 1500))
  TM_POD=$(kubectl get pods -l app=flight-delays,component=taskmanager -o jsonpath='{.items[0].metadata.name}')
  [ "$(job_field state)" = RUNNING ] || die "the job was $(job_field state) before the kill: slow the input"
  OLD_JM=$(jm_pod)
  KILL_AT=$(now_ms)
  target_kill_main_container "$TM_POD"
  echo "  seed $SEED: SIGKILL TaskManager $TM_POD (pid $KILLED_PID); restart-strategy none"
  restart_event() { kubectl get events -o jsonpath='{range .items[*]}{.reason}{"\n"}{end}' | grep -qx RestartFailedJob; }
  wait_for 60 "the operator restarting the FAILED job (a RestartFailedJob event)" restart_event
  new_cluster_ready 2 "$OLD_JM"
  [ "$(fd_status '{.status.jobStatus.jobId}')" = "$JOB_ID" ] || die "the restarted job has another job id than $JOB_ID (last-state keeps it)"
  wait_for 30 "the new JobManager resuming from its own checkpoint" jm_log_says "resumes from its own checkpoint"
  echo "  the FAILED job redeployed (last-state, job $JOB_ID) $(secs_since "$KILL_AT")s after the kill"
  wait_for "$TIMEOUT" "the restarted job FINISHED" finished
  compare_output "$DIR/out" "$CASE"
  expect_operator_status
  echo "PASS $CASE: the job FAILED on a lost TaskManager (no restart strategy); kubernetes.operator.job.restart.failed redeployed it from its latest checkpoint; $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
  exit 0
fi

if [ "$VARIANT" = native ]; then
  kubectl get deployment flight-delays-taskmanager > /dev/null 2>&1 && die "a TaskManager Deployment exists in native mode"
  JM_UID=$(kubectl get deployment flight-delays -o jsonpath='{.metadata.uid}')
  # tm_pods: name, type label, owner kind/name/uid/controller, restartPolicy of each TaskManager pod
  tm_pods() {
    kubectl get pods -l app=flight-delays,component=taskmanager -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.metadata.labels.type}{" "}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}/{.metadata.ownerReferences[0].uid}/{.metadata.ownerReferences[0].controller}{" "}{.spec.restartPolicy}{" "}{.metadata.deletionTimestamp}{"\n"}{end}'
  }
  tm_pods > "$DIR/tm-pods.txt"
  [ "$(grep -cE "^flight-delays-taskmanager-1-[0-9]+ flink-native-kubernetes Deployment/flight-delays/$JM_UID/false Never \$" "$DIR/tm-pods.txt")" = 2 ] ||
    die "the TaskManager pods are not the JobManager's native pods (owner uid $JM_UID): $(cat "$DIR/tm-pods.txt")"
fi

wait_for "$TIMEOUT" "the job RUNNING through the Service name, with a completed checkpoint" job_running_with_checkpoint
JOB_ID=$(job_field jid)
# SIGKILL one TaskManager's process at a seeded moment after the first checkpoint.
RANDOM=$SEED
sleep_ms $((RANDOM % 1500))
TM_POD=$(kubectl get pods -l app=flight-delays,component=taskmanager -o jsonpath='{.items[0].metadata.name}')
STATE_AT_KILL=$(job_field state)
KILL_AT=$(now_ms)
target_kill_main_container "$TM_POD"
echo "  seed $SEED: SIGKILL TaskManager $TM_POD (pid $KILLED_PID) with the job $STATE_AT_KILL"
if [ "$VARIANT" = native ]; then
  # restartPolicy Never: the pod fails; the JobManager deletes it and, while the job needs its
  # slot, creates a new one (a higher <n>) in its place. (A kill that lands just after the job's
  # last task finished needs no replacement: the job then ends without a restart.)
  replaced() {
    ! kubectl get pod "$TM_POD" > /dev/null 2>&1 && ready_pods taskmanager 2 &&
      [ "$(tm_pods | grep -cE "^flight-delays-taskmanager-1-([3-9]|[1-9][0-9]+) ")" -ge 1 ]
  }
  replaced_or_finished() { replaced || finished; }
  wait_for 60 "the failed TaskManager pod $TM_POD replaced by the JobManager" replaced_or_finished
  REPLACEMENT=$(tm_pods | awk '$1 ~ /-1-([3-9]|[1-9][0-9]+)$/ { print $1 }' | head -n 1)
  echo "  $TM_POD replaced by ${REPLACEMENT:-nothing (the job FINISHED)} $(secs_since "$KILL_AT")s after the kill"
else
  restarted() { [ "$(kubectl get pod "$TM_POD" -o jsonpath='{.status.containerStatuses[0].restartCount}')" -ge 1 ]; }
  wait_for 60 "restartCount >= 1 on $TM_POD" restarted
fi

wait_for "$TIMEOUT" "the job FINISHED" finished
rest_get "/jobs/$JOB_ID/metrics?get=numRestarts" || die "no numRestarts"
RESTARTS=$(jget "$DIR/rest.json" '$[0].value')
[ "${RESTARTS:-0}" -ge 1 ] || [ "$STATE_AT_KILL" != RUNNING ] || die "the job did not restart after the TaskManager was killed (numRestarts ${RESTARTS:-?})"
compare_output "$DIR/out" "$CASE"
expect_operator_status
if [ "$VARIANT" = native ]; then
  [ -n "$REPLACEMENT" ] || [ "${RESTARTS:-0}" = 0 ] || die "the job restarted (numRestarts $RESTARTS) but no replacement pod was seen"
  FINISHED_AT=$(now_ms)
  no_tm_pods() { [ -z "$(kubectl get pods -l app=flight-delays,component=taskmanager -o name)" ]; }
  wait_for 60 "the idle TaskManager pods released after the job ended" no_tm_pods
  ready_pods jobmanager 1 || die "the JobManager pod is not Ready after the release"
  echo "PASS $CASE: native mode, TaskManager pods created by the JobManager (no TaskManager Deployment), one killed and replaced by ${REPLACEMENT:-nothing} (job restarts ${RESTARTS:-?}), $ACTUAL_ROWS rows = oracle, TaskManagers released $(secs_since "$FINISHED_AT")s after the end, $(secs_since "$CASE_START")s"
  exit 0
fi
kubectl get pods -l app=flight-delays > "$DIR/pods.txt"
echo "PASS $CASE: FlinkDeployment on $ON, TaskManager killed and restarted (restartCount >= 1, job restarts ${RESTARTS:-?}), $ACTUAL_ROWS rows = oracle, $(secs_since "$CASE_START")s"
