#!/usr/bin/env bash
# The chart against the project's test API server (test/apiserver), with the real kubectl:
#   - `kubectl apply` of the chart's CRDs, then of `helm template` (watchNamespaces, monitors
#     and alerts on; stand-in monitoring.coreos.com CRDs) is accepted, and every object reads
#     back. Kinds the server does not serve (it has no rbac.authorization.k8s.io) are listed
#     and left out; the same for a release installed with the Apache operator chart's values
#     file (apache-operator-values.yaml) in another namespace;
#   - the operator runs with exactly the container args and env of the applied Deployment
#     (the metrics port swapped for a free one, a kubeconfig instead of the in-cluster
#     account), FLINK_CONF_DIR holding the files of the Apache values' ConfigMap as the pod
#     would mount them: /healthz and /readyz answer, it takes the leader Lease named by the chart in
#     the release namespace, and reconciles examples/flight-delays.yaml in a watched namespace
#     into a JobManager Deployment running the chart's default image, while a FlinkDeployment
#     in an unwatched namespace is left alone;
#   - the admission webhook (webhook.create, the chart default): the operator makes its
#     certificate (Secret flink-operator-webhook-secret, signed by its CA, naming the Service)
#     and writes the CA into both webhook configurations' caBundle; the API server calls it
#     through the webhook Service (an EndpointSlice to the operator on 127.0.0.1): `kubectl
#     apply` of invalid FlinkDeployments is refused with the field, a FlinkSessionJob gets its
#     target.session label, a 15 s certificate is renewed and served without a refusal
#     changing, and with the operator stopped failurePolicy Fail refuses writes.
# usage: apiserver_test.sh SOURCE_DIR KUBE_TEST_APISERVER FLINK_CPP
SRC=$(cd "$1" && pwd)
APISERVER=$(realpath "$2")
FLINK_CPP=$(realpath "$3")
source "$SRC/test/packaging/lib.sh"
tools helm kubectl js-yaml node
[ -x "$APISERVER" ] || fail "no test API server at $APISERVER"
[ -x "$FLINK_CPP" ] || fail "no flink-cpp at $FLINK_CPP"

export HOME="$WORK/home" KUBECACHEDIR="$WORK/kube-cache"
mkdir -p "$HOME"

# wait_for DESCRIPTION SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds;
# says what it waited for and returns 1 after SECONDS.
wait_for() {
  local what=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out after ${secs}s waiting for: $what"; return 1; }
    sleep 0.2
  done
}
# http_get PORT PATH: prints the status code and the body (bash's /dev/tcp, no curl needed).
http_get() {
  local reply
  exec 7<> "/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" >&7
  reply=$(cat <&7)
  exec 7>&-
  printf '%s\n' "$reply" | head -n 1 | awk '{print $2}'
  printf '%s\n' "$reply" | sed '1,/^\r\{0,1\}$/d'
}
status_is() { [ "$(http_get "$1" "$2" | head -n 1)" = "$3" ]; }

step "start the test API server"
mkdir -p "$WORK/server"
"$APISERVER" --port 0 --dir "$WORK/server" > "$WORK/server/stdout" 2> "$WORK/server/stderr" &
SERVER_PID=$!
CLEANUP+=("kill $SERVER_PID 2> /dev/null; wait $SERVER_PID 2> /dev/null")
wait_for "the test API server" 30 grep -q '^ready https://' "$WORK/server/stdout" ||
  fail "the test API server did not start: $(tail -n 5 "$WORK/server/stderr")"
export KUBECONFIG="$WORK/server/kubeconfig"
k() { kubectl "$@"; }

WATCH=(team-a team-b)
for ns in "$RELEASE_NS" "${WATCH[@]}" unwatched; do k create namespace "$ns" > /dev/null || fail "create namespace $ns"; done

step "kubectl apply the chart's CRDs (helm installs crds/ first)"
k apply -f "$CHART/crds/" > /dev/null || fail "the chart's CRDs were not accepted"
k apply -f "$SRC/test/packaging/monitoring-crds.yaml" > /dev/null || fail "the monitoring CRDs were not accepted"
wait_for "the FlinkDeployment API" 30 k get flinkdeployments -A || fail "no FlinkDeployment API"
wait_for "the PrometheusRule API" 30 k get prometheusrules -A || fail "no PrometheusRule API"

# apply_rendered NAME: kubectl apply of $WORK/NAME.yaml, the kinds the server serves; every
# object reads back, and a second apply changes nothing.
apply_rendered() {
  local name=$1 out kind ns obj
  node -e '
    const fs = require("fs"), yaml = require("js-yaml");
    const [file, servedFile, out, skippedOut, listOut] = process.argv.slice(1);
    const served = new Set(fs.readFileSync(servedFile, "utf8").split("\n"));
    const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d && d.kind);
    const keep = docs.filter((d) => served.has(`${d.apiVersion}/${d.kind}`));
    const skip = docs.filter((d) => !served.has(`${d.apiVersion}/${d.kind}`));
    fs.writeFileSync(out, keep.map((d) => yaml.dump(d, { lineWidth: -1 })).join("---\n"));
    fs.writeFileSync(skippedOut, skip.map((d) => `${d.apiVersion}/${d.kind}`).sort().join("\n") + "\n");
    fs.writeFileSync(listOut, keep.map((d) => `${d.kind.toLowerCase()}.${d.apiVersion.includes("/") ? d.apiVersion.split("/")[0] : ""} ${d.metadata.namespace || "-"} ${d.metadata.name}`).join("\n") + "\n");
  ' "$WORK/$name.yaml" "$WORK/served.txt" "$WORK/$name-apply.yaml" "$WORK/$name-skipped.txt" "$WORK/$name-objects.txt" ||
    fail "splitting the rendered objects of $name"
  if [ "$(tr -d '\n' < "$WORK/$name-skipped.txt")" != "" ]; then
    echo "   not served by the test API server, not applied: $(sort "$WORK/$name-skipped.txt" | uniq -c | awk '{printf "%s %s, ", $1, $2}' | sed 's/, $//')"
  fi
  out=$(k apply -f "$WORK/$name-apply.yaml" 2>&1) || fail "kubectl apply of the rendered chart ($name):"$'\n'"$out"
  echo "   applied $(grep -c . "$WORK/$name-objects.txt") objects"
  while read -r kind ns obj; do
    k get "${kind%.}" $([ "$ns" = - ] || echo "-n $ns") "$obj" > /dev/null 2>&1 || fail "$kind $ns/$obj does not read back ($name)"
  done < "$WORK/$name-objects.txt"
  # Applying again changes nothing (the rendered objects are stable under the server's defaulting).
  out=$(k apply -f "$WORK/$name-apply.yaml" 2>&1) || fail "second kubectl apply ($name):"$'\n'"$out"
  ! grep -v ' unchanged$' <<< "$out" | grep -q . || fail "a second apply changed objects ($name):"$'\n'"$(grep -v ' unchanged$' <<< "$out")"
}

step "helm template | kubectl apply -f -"
render release --set "watchNamespaces={team-a,team-b}" --set metrics.serviceMonitor.enabled=true \
  --set metrics.podMonitor.enabled=true --set prometheusRule.enabled=true
# What the server serves, as apiVersion/kind (the last columns of api-resources).
k api-resources --no-headers | awk '{print $(NF-2) "/" $NF}' | sort -u > "$WORK/served.txt"
apply_rendered release

step "helm template -f <the Apache operator chart's values> | kubectl apply -f - (namespace apache-system)"
for ns in apache-system flink; do k create namespace "$ns" > /dev/null || fail "create namespace $ns"; done
render apache -f "$SRC/test/packaging/apache-operator-values.yaml" --namespace apache-system
apply_rendered apache
cm=$(k -n apache-system get configmap flink-operator-config -o jsonpath='{.data.config\.yaml}')
grep -q '^kubernetes.operator.reconcile.interval: 15 s$' <<< "$cm" || fail "the Apache values' flink-conf.yaml is not in the applied ConfigMap: $cm"
k -n flink get serviceaccount flink > /dev/null 2>&1 || fail "no job ServiceAccount flink in the Apache values' watched namespace"

step "run the operator with the Deployment's args and env"
DEPLOY=$(k -n "$RELEASE_NS" get deployments -o name | head -n 1)
[ -n "$DEPLOY" ] || fail "no operator Deployment in $RELEASE_NS"
k -n "$RELEASE_NS" get "$DEPLOY" -o json > "$WORK/deployment.json"
mapfile -t ARGS < <(node -e '
  const d = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const c = d.spec.template.spec.containers[0];
  const args = c.args.slice();
  for (const flag of ["--metrics-port", "--webhook-port"]) {
    const i = args.indexOf(flag);
    if (i >= 0) args[i + 1] = "0";  // a free port instead of the chart default
  }
  // Short-lived webhook certificates (15 s, renewed with 5 s left), to see a renewal.
  args.push("--webhook-cert-validity", "15");
  console.log(args.join("\n"));
' "$WORK/deployment.json")
WATCH_ENV=$(node -e '
  const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).spec.template.spec.containers[0];
  const e = (c.env || []).find((x) => x.name === "WATCH_NAMESPACES");
  console.log(e ? e.value : "");
' "$WORK/deployment.json")
LEASE=$(node -e '
  const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).spec.template.spec.containers[0].args;
  console.log(a[a.indexOf("--lease-name") + 1]);
' "$WORK/deployment.json")
DEFAULT_IMAGE=$(node -e '
  const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).spec.template.spec.containers[0].args;
  console.log(a[a.indexOf("--default-image") + 1]);
' "$WORK/deployment.json")
[ "${ARGS[0]}" = operator ] || fail "the Deployment's args do not start with operator: ${ARGS[*]}"
echo "   flink-cpp ${ARGS[*]}"
# The configuration directory as the ConfigMap volume would fill it (one file per key).
mkdir -p "$WORK/conf"
k -n apache-system get configmap flink-operator-config -o json | node -e '
  const cm = JSON.parse(require("fs").readFileSync(0, "utf8"));
  for (const [f, text] of Object.entries(cm.data)) require("fs").writeFileSync(`${process.argv[1]}/${f}`, text);
' "$WORK/conf" || fail "writing the configuration directory"
(cd "$WORK" && exec env OPERATOR_NAMESPACE="$RELEASE_NS" WATCH_NAMESPACES="$WATCH_ENV" FLINK_CONF_DIR="$WORK/conf" \
   "$FLINK_CPP" "${ARGS[@]}" --kubeconfig "$KUBECONFIG" > "$WORK/operator.log" 2>&1) &
OPERATOR_PID=$!
CLEANUP=("kill $OPERATOR_PID 2> /dev/null; wait $OPERATOR_PID 2> /dev/null" "${CLEANUP[@]}")
operator_fail() { echo "--- operator log"; tail -n 30 "$WORK/operator.log"; fail "$*"; }
operator_started() { grep -q 'metrics on :[0-9]' "$WORK/operator.log" || ! kill -0 $OPERATOR_PID; }
wait_for "the operator's metrics port in its log" 30 operator_started && grep -q 'metrics on :[0-9]' "$WORK/operator.log" ||
  operator_fail "no metrics port"
PORT=$(sed -n 's/.*metrics on :\([0-9]*\).*/\1/p' "$WORK/operator.log" | head -n 1)
kill -0 $OPERATOR_PID 2> /dev/null || operator_fail "the operator exited"
status_is "$PORT" /healthz 200 || operator_fail "/healthz is not 200"
wait_for "/readyz 200 (informers synced)" 30 status_is "$PORT" /readyz 200 || operator_fail "/readyz"
wait_for "the leader Lease $RELEASE_NS/$LEASE" 30 k -n "$RELEASE_NS" get lease "$LEASE" || operator_fail "no Lease"
wait_for "flink_operator_is_leader 1" 30 bash -c "exec 7<>/dev/tcp/127.0.0.1/$PORT && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&7 && grep -q '^flink_operator_is_leader 1' <&7" ||
  operator_fail "not leader"

step "the admission webhook: certificate, caBundle, refusals with the field"
# The API server reaches the webhook Service through its EndpointSlice, as kube-apiserver with
# endpoint routing does; in a cluster the endpoints controller writes it for the operator pod.
grep -q 'admission webhook on :[0-9]' "$WORK/operator.log" || operator_fail "the chart's --webhook-port did not start the webhook"
WEBHOOK_PORT=$(sed -n 's/.*admission webhook on :\([0-9]*\).*/\1/p' "$WORK/operator.log" | head -n 1)
k apply -f - > /dev/null <<EOF || fail "EndpointSlice of the webhook Service"
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: flink-operator-webhook-service-local
  namespace: $RELEASE_NS
  labels: {kubernetes.io/service-name: flink-operator-webhook-service}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
ports: [{name: webhook, port: $WEBHOOK_PORT, protocol: TCP}]
EOF
WEBHOOK_CONFIG=flink-operator-$RELEASE_NS-webhook-configuration
ca_bundle() { k get "$1" "$WEBHOOK_CONFIG" -o jsonpath='{.webhooks[0].clientConfig.caBundle}'; }
secret_field() { k -n "$RELEASE_NS" get secret flink-operator-webhook-secret -o jsonpath="{.data.$1}" | base64 -d; }
for kind in validatingwebhookconfiguration mutatingwebhookconfiguration; do
  wait_for "the caBundle of the $kind" 30 test -n "$(ca_bundle $kind)" || operator_fail "no caBundle in $kind $WEBHOOK_CONFIG"
  [ "$(ca_bundle $kind | base64 -d)" = "$(secret_field 'ca-bundle\.crt')" ] || fail "the $kind caBundle is not the Secret's CA bundle"
done
# The served certificate is the Secret's, signed by its CA, and names the Service.
served_cert() {
  openssl s_client -connect "127.0.0.1:$WEBHOOK_PORT" -servername "flink-operator-webhook-service.$RELEASE_NS.svc" \
    < /dev/null 2> /dev/null | openssl x509 -noout -fingerprint 2> /dev/null
}
secret_fingerprint() { secret_field 'tls\.crt' | openssl x509 -noout -fingerprint; }
secret_field 'tls\.crt' | openssl verify -CAfile <(secret_field 'ca\.crt') > /dev/null || fail "tls.crt is not signed by ca.crt"
secret_field 'tls\.crt' | openssl x509 -noout -ext subjectAltName | grep -q "DNS:flink-operator-webhook-service.$RELEASE_NS.svc" ||
  fail "the webhook certificate does not name flink-operator-webhook-service.$RELEASE_NS.svc"
# Each invalid FlinkDeployment is refused by `kubectl apply` with the field and the reason.
refused() {  # refused NAME FIELD YAML-FILE
  local out
  if out=$(k -n team-a apply -f "$3" 2>&1); then fail "kubectl apply of an invalid FlinkDeployment ($1) was accepted"; fi
  grep -qF "admission webhook \"validationwebhook.flink.apache.org\" denied the request: $2" <<< "$out" ||
    fail "the refusal of $1 does not name $2: $out"
  ! k -n team-a get flinkdeployment "$1" > /dev/null 2>&1 || fail "the refused FlinkDeployment $1 was stored"
}
invalid() {  # invalid NAME SED-EXPRESSION: examples/flight-delays.yaml renamed and changed; prints the file
  sed -e "s/^  name: flight-delays$/  name: $1/" -e "$2" "$SRC/examples/flight-delays.yaml" > "$WORK/$1.yaml"
  echo "$WORK/$1.yaml"
}
refused bad-namespace spec.flinkConfiguration.kubernetes.namespace \
  "$(invalid bad-namespace 's/^  flinkConfiguration:$/  flinkConfiguration:\n    kubernetes.namespace: other/')"
refused no-service-account spec.serviceAccount "$(invalid no-service-account '/^  serviceAccount:/d')"
refused zero-parallelism spec.job.parallelism "$(invalid zero-parallelism 's/^    parallelism: .*/    parallelism: 0/')"
refused no-version spec.flinkVersion "$(invalid no-version '/^  flinkVersion:/d')"
refused cluster-id spec.flinkConfiguration.kubernetes.cluster-id \
  "$(invalid cluster-id 's/^  flinkConfiguration:$/  flinkConfiguration:\n    kubernetes.cluster-id: other/')"
refused last-state-no-dir spec.flinkConfiguration.state.checkpoints.dir \
  "$(invalid last-state-no-dir 's/^    upgradeMode: stateless/    upgradeMode: last-state/')"
refused bad-memory spec.jobManager.resource.memory "$(invalid bad-memory '0,/^      memory: .*/s//      memory: "lots"/')"
refused a-name-much-longer-than-the-forty-five-characters-allowed metadata.name \
  "$(invalid a-name-much-longer-than-the-forty-five-characters-allowed '')"
# A FlinkSessionJob gets the target.session label from the mutating webhook.
k -n team-a apply -f - > /dev/null <<EOF || fail "apply a FlinkSessionJob"
apiVersion: flink.apache.org/v1beta1
kind: FlinkSessionJob
metadata: {name: session-job}
spec:
  deploymentName: shared-session
  job: {jarURI: "local:///opt/flink/usrlib/job.so", parallelism: 1, upgradeMode: stateless}
EOF
[ "$(k -n team-a get flinksessionjob session-job -o jsonpath='{.metadata.labels.target\.session}')" = shared-session ] ||
  fail "the mutating webhook did not label the FlinkSessionJob with target.session"
# The certificate is renewed with a third of its 15 s left, and served; the API server keeps trusting it.
first=$(secret_fingerprint)
cert_renewed() { [ "$(secret_fingerprint)" != "$first" ]; }
wait_for "a renewed webhook certificate in the Secret" 20 cert_renewed ||
  operator_fail "the webhook certificate was not renewed"
renewed_served() { [ "$(served_cert)" = "$(secret_fingerprint)" ] && [ "$(served_cert)" != "$first" ]; }
wait_for "the webhook serving the renewed certificate" 10 renewed_served || operator_fail "the webhook does not serve the renewed certificate"
refused after-renewal spec.serviceAccount "$(invalid after-renewal '/^  serviceAccount:/d')"

step "the operator reconciles a watched namespace only"
k -n team-a apply -f "$SRC/examples/flight-delays.yaml" > /dev/null || fail "apply flight-delays in team-a"
sed 's/^  image: .*$//' "$SRC/examples/flight-delays.yaml" > "$WORK/no-image.yaml"
k -n team-b apply -f "$WORK/no-image.yaml" > /dev/null || fail "apply flight-delays in team-b"
k -n unwatched apply -f "$SRC/examples/flight-delays.yaml" > /dev/null || fail "apply flight-delays in unwatched"
wait_for "the JobManager Deployment in team-a" 30 k -n team-a get deployment flight-delays || operator_fail "team-a not reconciled"
wait_for "the JobManager Deployment in team-b" 30 k -n team-b get deployment flight-delays || operator_fail "team-b not reconciled"
sa=$(k -n team-a get deployment flight-delays -o jsonpath='{.spec.template.spec.serviceAccountName}')
k -n team-a get serviceaccount "$sa" > /dev/null 2>&1 || fail "the JobManager's service account '$sa' is not the chart's (jobServiceAccount)"
# The operator's defaultConfiguration lands under the FlinkDeployment's own configuration.
conf=$(k -n team-a get configmap flink-config-flight-delays -o jsonpath='{.data.config\.yaml}')
grep -q '^kubernetes.operator.reconcile.interval: "\{0,1\}15 s"\{0,1\}$' <<< "$conf" ||
  fail "the operator's defaultConfiguration (the Apache values' flink-conf.yaml) is not in the cluster configuration:"$'\n'"$conf"
img=$(k -n team-b get deployment flight-delays -o jsonpath='{.spec.template.spec.containers[0].image}')
[ "$img" = "$DEFAULT_IMAGE" ] || fail "a FlinkDeployment without spec.image runs '$img', not the chart's flinkImage $DEFAULT_IMAGE"
sleep 2
! k -n unwatched get deployment flight-delays > /dev/null 2>&1 || fail "the operator reconciled an unwatched namespace"

step "with the operator stopped, failurePolicy Fail refuses FlinkDeployment writes"
kill $OPERATOR_PID; wait $OPERATOR_PID 2> /dev/null
out=$(k -n team-a apply -f "$WORK/no-version.yaml" 2>&1) && fail "a FlinkDeployment was accepted with the webhook down"
grep -qF 'failed calling webhook "validationwebhook.flink.apache.org"' <<< "$out" || fail "unexpected refusal with the webhook down: $out"

echo "PASS: chart on the test API server"
