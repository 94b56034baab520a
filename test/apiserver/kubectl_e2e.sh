#!/usr/bin/env bash
# The real kubectl against kube-test-apiserver: discovery, apply (client- and server-side),
# get with printer columns, describe, patches, edit, watch, optimistic concurrency, garbage
# collection, finalizers, namespaces, 401 and 410, CRDs (and, when crds/ holds them, the
# project's FlinkDeployment CRD with examples/flight-delays.yaml).
# usage: kubectl_e2e.sh SERVER_BINARY SOURCE_DIR
#
# With E2E_KUBECONFIG=/path/to/kubeconfig the same checks run against that (real) cluster in a
# fresh namespace, except those that only hold for the controller-less test server (they are
# marked on_test_server); the project CRDs are applied there only with E2E_APPLY_CRDS=1.
set -euo pipefail
BIN=$1
SRC=$2
KUBECTL=${KUBECTL:-kubectl}
command -v "$KUBECTL" > /dev/null || { echo "SKIP: kubectl not found"; exit 77; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/kube-test-apiserver-e2e.XXXXXX")
SERVER_PIDS=()
BACKGROUND_PIDS=()
cleanup() {
  local p
  for p in "${BACKGROUND_PIDS[@]}" "${SERVER_PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
  for p in "${BACKGROUND_PIDS[@]}" "${SERVER_PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
  if [ -n "${E2E_KUBECONFIG:-}" ] && [ -n "${NS:-}" ]; then
    "$KUBECTL" --kubeconfig "$WORK/kubeconfig" delete namespace "$NS" --wait=false > /dev/null 2>&1 || true
    "$KUBECTL" --kubeconfig "$WORK/kubeconfig" delete crd widgets.example.com --ignore-not-found > /dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
export KUBECACHEDIR="$WORK/kube-cache"
export HOME="$WORK/home"  # keeps kubectl away from the user's ~/.kube
mkdir -p "$HOME"

LOG=""
fail() {
  echo "FAIL: $*"
  if [ -n "$LOG" ] && [ -f "$LOG" ]; then
    echo "--- last requests ($LOG)"
    tail -n 40 "$LOG"
  fi
  exit 1
}
step() { echo "== $*"; }
k() { "$KUBECTL" "$@"; }
# expect_contains TEXT PATTERN MESSAGE: TEXT must contain the extended regex PATTERN.
expect_contains() { grep -Eq -- "$2" <<< "$1" || fail "$3: expected /$2/ in:"$'\n'"$1"; }
expect_not_contains() { ! grep -Eq -- "$2" <<< "$1" || fail "$3: unexpected /$2/ in:"$'\n'"$1"; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
# must_fail CMD...: CMD fails; its combined output is in $OUT.
must_fail() { if OUT=$("$@" 2>&1); then fail "expected failure: $*"$'\n'"$OUT"; fi; }
# eventually SECONDS CMD...: retries CMD every 0.1 s until it succeeds.
eventually() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" > /dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.1
  done
}

# start_server DIR [ARGS...]: starts the server, waits for "ready", sets SERVER_PID and URL.
start_server() {
  local dir=$1; shift
  mkdir -p "$dir"
  "$BIN" --port 0 --dir "$dir" --verbose "$@" > "$dir/stdout" 2> "$dir/requests.log" &
  SERVER_PID=$!
  SERVER_PIDS+=("$SERVER_PID")
  local i
  for i in $(seq 200); do
    grep -q '^ready https://127.0.0.1:[0-9]*$' "$dir/stdout" && break
    kill -0 "$SERVER_PID" 2> /dev/null || fail "server exited: $(cat "$dir/requests.log")"
    sleep 0.05
  done
  URL=$(sed -n 's/^ready //p' "$dir/stdout")
  [ -n "$URL" ] || fail "server did not print ready"
  [ -s "$dir/kubeconfig" ] || fail "no kubeconfig in $dir"
}

# on_test_server: checks that only hold against kube-test-apiserver (no controllers, its logs).
if [ -n "${E2E_KUBECONFIG:-}" ]; then
  TARGET=cluster
  SLOW=120  # seconds for asynchronous work (garbage collection, namespace deletion)
  cp "$E2E_KUBECONFIG" "$WORK/kubeconfig"
  export KUBECONFIG="$WORK/kubeconfig"
  NS=kta-e2e-$$-$RANDOM
  k create namespace "$NS" > /dev/null
  k config set-context --current --namespace="$NS" > /dev/null
else
  TARGET=test-server
  SLOW=5
  start_server "$WORK/main"
  LOG="$WORK/main/requests.log"
  export KUBECONFIG="$WORK/main/kubeconfig"
  NS=default
fi
on_test_server() { [ "$TARGET" = test-server ]; }
M="$WORK/manifests"
mkdir -p "$M"

step "kubectl version and discovery"
OUT=$(k version)
expect_contains "$OUT" "Server Version: v1\.[0-9]+" "kubectl version"
OUT=$(k api-resources)
expect_contains "$OUT" "deployments +deploy +apps/v1 +true +Deployment" "api-resources deployments"
expect_contains "$OUT" "leases +coordination.k8s.io/v1 +true +Lease" "api-resources leases"
expect_contains "$OUT" "customresourcedefinitions +crd,crds +apiextensions.k8s.io/v1 +false" "api-resources crds"
if on_test_server; then
OUT=$(k config view --minify -o jsonpath='{.clusters[0].cluster.server}')
expect_eq "$OUT" "$URL" "kubeconfig server"

step "401 without the bearer token"
sed '/token:/d' "$KUBECONFIG" > "$WORK/notoken.kubeconfig"
# (kubectl answers a 401 to a credential-less request by prompting for a username.)
must_fail k --kubeconfig "$WORK/notoken.kubeconfig" get configmaps < /dev/null
expect_contains "$OUT" "Unauthorized|Username" "no token"
expect_contains "$(tail -n 3 "$LOG")" "GET /.* -> 401" "no token gets 401"
if command -v curl > /dev/null; then
  OUT=$(curl -s --cacert "$WORK/main/ca.crt" "$URL/api/v1/configmaps")
  expect_contains "$OUT" '"kind":"Status"' "401 body is a Status"
  expect_contains "$OUT" '"code":401' "401 Status code"
fi
fi
must_fail k --token wrong-token get --raw /api/v1/namespaces
expect_contains "$OUT" "Unauthorized" "wrong token"

step "kubectl apply -f: ConfigMap, Deployment, Service"
cat > "$M/cm.yaml" << 'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
  labels: {app: web}
data:
  a: "1"
  b: two
EOF
cat > "$M/deploy.yaml" << 'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: MODE, value: blue}
EOF
cat > "$M/svc.yaml" << 'EOF'
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
EOF
OUT=$(k apply -f "$M/cm.yaml" -f "$M/deploy.yaml" -f "$M/svc.yaml")
expect_contains "$OUT" "configmap/app-config created" "apply cm"
expect_contains "$OUT" "deployment.apps/web created" "apply deployment"
expect_contains "$OUT" "service/web created" "apply service"
OUT=$(k apply -f "$M/cm.yaml")
expect_contains "$OUT" "configmap/app-config unchanged" "re-apply unchanged"

step "kubectl get deploy,svc,cm (server-side printer columns)"
OUT=$(k get deploy,svc,cm)
expect_contains "$OUT" "NAME +READY +UP-TO-DATE +AVAILABLE +AGE" "deployment columns"
expect_contains "$OUT" "deployment.apps/web +[0-9]+/2 +[0-9]+ +[0-9]+ +[0-9]+s" "deployment row"
expect_contains "$OUT" "NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE" "service columns"
expect_contains "$OUT" "service/web +ClusterIP +10\.96\.[0-9]+\.[0-9]+ +<none> +80/TCP" "service row"
on_test_server && expect_contains "$OUT" "service/kubernetes +ClusterIP +10\.96\.0\.1 " "kubernetes service"
expect_contains "$OUT" "configmap/app-config +2 +[0-9]+s" "configmap row"
OUT=$(k get deploy web -o wide)
expect_contains "$OUT" "CONTAINERS +IMAGES +SELECTOR" "wide columns"
expect_contains "$OUT" "nginx +nginx:1\.25 +app=web" "wide row"

step "kubectl get cm -o json fields"
OUT=$(k get cm app-config -o json)
expect_contains "$OUT" '"kind": "ConfigMap"' "json kind"
expect_contains "$OUT" '"uid": "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"' "json uid"
expect_contains "$OUT" '"resourceVersion": "[0-9]+"' "json resourceVersion"
expect_contains "$OUT" '"creationTimestamp": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z"' "json creationTimestamp"
expect_contains "$OUT" 'kubectl.kubernetes.io/last-applied-configuration' "last-applied annotation"
expect_eq "$(k get cm app-config -o jsonpath='{.data.a},{.data.b},{.metadata.labels.app},{.metadata.namespace}')" "1,two,web,$NS" "json data"
OUT=$(k get cm app-config -o yaml --show-managed-fields)
expect_contains "$OUT" "manager: kubectl-client-side-apply" "managedFields manager"
expect_contains "$OUT" "operation: Update" "managedFields operation"

step "re-apply a modified Deployment: strategic merge patch, generation"
expect_eq "$(k get deploy web -o jsonpath='{.metadata.generation}')" "1" "initial generation"
# A container added by someone else must survive the re-apply (containers merge by name).
k patch deploy web -p '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}' > /dev/null
expect_eq "$(k get deploy web -o jsonpath='{.metadata.generation}')" "2" "generation after patch"
sed -e 's/replicas: 2/replicas: 3/' -e 's/nginx:1.25/nginx:1.26/' -e 's/value: blue/value: green/' "$M/deploy.yaml" > "$M/deploy2.yaml"
OUT=$(k apply -f "$M/deploy2.yaml" -v=6 2>&1)
expect_contains "$OUT" "deployment.apps/web configured" "re-apply"
expect_contains "$OUT" "PATCH https://.*/deployments/web.* 200 OK" "re-apply sends a PATCH"
if on_test_server; then
  grep -q "PATCH /apis/apps/v1/namespaces/default/deployments/web.*(application/strategic-merge-patch+json)" "$LOG" ||
    fail "re-apply did not use a strategic merge patch"
fi
expect_eq "$(k get deploy web -o jsonpath='{.spec.replicas}')" "3" "replicas after re-apply"
expect_eq "$(k get deploy web -o jsonpath='{.metadata.generation}')" "3" "generation after re-apply"
expect_eq "$(k get deploy web -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.image};{end}')" \
  "nginx=nginx:1.26;sidecar=busybox:1.36;" "containers merged by name"
expect_eq "$(k get deploy web -o jsonpath='{.spec.template.spec.containers[0].env[0].value}')" "green" "env merged by name"
expect_eq "$(k get deploy web -o jsonpath='{.spec.template.spec.containers[0].ports[0].protocol}')" "TCP" "defaulted protocol"
# Status changes through /status do not bump the generation (no deployment controller here).
if on_test_server; then
k patch deploy web --subresource=status --type=merge -p '{"status":{"replicas":3,"readyReplicas":1}}' > /dev/null
expect_eq "$(k get deploy web -o jsonpath='{.metadata.generation}')" "3" "generation after status patch"
expect_contains "$(k get deploy web)" "web +1/3 " "READY from status"
# ...and status in a main-resource update is ignored.
k patch deploy web --type=merge -p '{"status":{"readyReplicas":3}}' > /dev/null
expect_eq "$(k get deploy web -o jsonpath='{.status.readyReplicas}')" "1" "status ignored on main resource"
fi

step "kubectl describe deployment"
OUT=$(k describe deployment web)
expect_contains "$OUT" "^Name: +web" "describe name"
expect_contains "$OUT" "Replicas: +3 desired" "describe replicas"
expect_contains "$OUT" "StrategyType: +RollingUpdate" "describe defaulted strategy"
expect_contains "$OUT" "Image: +nginx:1\.26" "describe image"
expect_contains "$OUT" "MODE: +green" "describe env"
on_test_server && expect_contains "$OUT" "Events: +<none>" "describe events"
# Events about the Deployment show up in describe (fieldSelector on involvedObject).
DEP_UID=$(k get deploy web -o jsonpath='{.metadata.uid}')
k create -f - > /dev/null << EOF
apiVersion: v1
kind: Event
metadata: {name: web.scaled}
involvedObject: {apiVersion: apps/v1, kind: Deployment, name: web, namespace: $NS, uid: $DEP_UID}
reason: ScalingReplicaSet
message: Scaled up replica set web-abc to 3
type: Normal
count: 1
firstTimestamp: "2024-01-01T00:00:00Z"
lastTimestamp: "2024-01-01T00:00:00Z"
source: {component: deployment-controller}
EOF
OUT=$(k describe deployment web)
expect_contains "$OUT" "Normal +ScalingReplicaSet .*Scaled up replica set web-abc to 3" "describe shows events"
expect_contains "$(k get events)" "Normal +ScalingReplicaSet +deployment/web" "get events"

step "kubectl patch --type=merge / --type=json, kubectl edit, label"
k patch cm app-config --type=merge -p '{"data":{"c":"3","a":null}}' > /dev/null
expect_eq "$(k get cm app-config -o jsonpath='{.data}')" '{"b":"two","c":"3"}' "merge patch"
k patch cm app-config --type=json -p '[{"op":"replace","path":"/data/b","value":"TWO"},{"op":"add","path":"/data/d","value":"4"},{"op":"remove","path":"/data/c"}]' > /dev/null
expect_eq "$(k get cm app-config -o jsonpath='{.data}')" '{"b":"TWO","d":"4"}' "json patch"
must_fail k patch cm app-config --type=json -p '[{"op":"test","path":"/data/b","value":"nope"}]'
expect_eq "$(k get cm app-config -o jsonpath='{.data}')" '{"b":"TWO","d":"4"}' "failed json patch test changes nothing"
EDITOR="sed -i s/nginx:1.26/nginx:1.27/" k edit deploy web > /dev/null
expect_eq "$(k get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')" "nginx:1.27" "kubectl edit"
k label cm app-config tier=frontend > /dev/null
expect_eq "$(k get cm -l 'tier=frontend,app in (web,api)' -o name)" "configmap/app-config" "label selector"
expect_eq "$(k get cm -l 'app,tier!=frontend' -o name)" "" "label selector exists and !="
expect_eq "$(k get cm --field-selector metadata.name=app-config -o name)" "configmap/app-config" "field selector"

step "kubectl apply --server-side"
cat > "$M/ssa.yaml" << 'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa-config
  labels: {owner: ssa}
data:
  one: "1"
  two: "2"
EOF
OUT=$(k apply --server-side -f "$M/ssa.yaml")
expect_contains "$OUT" "configmap/ssa-config serverside-applied" "server-side apply create"
sed -e 's/two: "2"/three: "3"/' "$M/ssa.yaml" > "$M/ssa2.yaml"
k apply --server-side -f "$M/ssa2.yaml" > /dev/null
expect_eq "$(k get cm ssa-config -o jsonpath='{.data}')" '{"one":"1","three":"3"}' "apply removes fields it no longer applies"
OUT=$(k get cm ssa-config -o yaml --show-managed-fields)
expect_contains "$OUT" "operation: Apply" "managedFields Apply"
RV=$(k get cm ssa-config -o jsonpath='{.metadata.resourceVersion}')
k apply --server-side -f "$M/ssa2.yaml" > /dev/null
expect_eq "$(k get cm ssa-config -o jsonpath='{.metadata.resourceVersion}')" "$RV" "no-op apply keeps resourceVersion"
k patch cm ssa-config --type=merge -p '{"data":{"one":"uno"}}' > /dev/null
must_fail k apply --server-side -f "$M/ssa2.yaml"
expect_contains "$OUT" 'conflict with "kubectl-patch"' "server-side apply conflict"
k apply --server-side --force-conflicts -f "$M/ssa2.yaml" > /dev/null
expect_eq "$(k get cm ssa-config -o jsonpath='{.data.one}')" "1" "force-conflicts"
# Server-side apply of a Deployment merges containers by name too.
k apply --server-side --force-conflicts -f "$M/deploy2.yaml" > /dev/null
expect_eq "$(k get deploy web -o jsonpath='{range .spec.template.spec.containers[*]}{.name}={.image};{end}')" \
  "nginx=nginx:1.26;sidecar=busybox:1.36;" "server-side apply of a deployment"

step "kubectl get -w receives a MODIFIED event"
k get cm app-config -w --output-watch-events > "$WORK/watch.out" 2>&1 &
WATCH_PID=$!
BACKGROUND_PIDS+=("$WATCH_PID")
eventually 10 grep -q "app-config" "$WORK/watch.out" || fail "watch printed nothing: $(cat "$WORK/watch.out")"
k patch cm app-config --type=merge -p '{"data":{"w":"1"}}' > /dev/null
eventually 5 grep -Eq "^MODIFIED +app-config +3 " "$WORK/watch.out" ||
  fail "no MODIFIED event within 5 s: $(cat "$WORK/watch.out")"
kill "$WATCH_PID" 2> /dev/null || true
# Raw watch stream: chunked JSON lines from a resourceVersion, bookmarks, timeoutSeconds.
FROM_RV=$(k get cm app-config -o jsonpath='{.metadata.resourceVersion}')
k get --raw "/api/v1/namespaces/$NS/configmaps?watch=true&resourceVersion=$FROM_RV&allowWatchBookmarks=true&timeoutSeconds=3" \
  > "$WORK/rawwatch.out" &
RAW_PID=$!
BACKGROUND_PIDS+=("$RAW_PID")
sleep 1
k apply -f - > /dev/null << 'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: watched}
EOF
wait "$RAW_PID" || fail "raw watch failed: $(cat "$WORK/rawwatch.out")"
OUT=$(cat "$WORK/rawwatch.out")
expect_contains "$OUT" '"type":"ADDED".*"name":"watched"|"name":"watched".*"type":"ADDED"' "raw watch ADDED"
on_test_server && expect_contains "$OUT" '^\{"type":"BOOKMARK","object":\{"apiVersion":"v1","kind":"ConfigMap","metadata":\{"resourceVersion":"[0-9]+"\}\}\}$' "raw watch BOOKMARK"
expect_not_contains "$OUT" '"name":"app-config"' "raw watch starts after its resourceVersion"

step "stale resourceVersion -> 409 Conflict"
k get cm app-config -o json > "$M/old.json"
k patch cm app-config --type=merge -p '{"data":{"x":"1"}}' > /dev/null
must_fail k replace -f "$M/old.json"
expect_contains "$OUT" "Conflict|the object has been modified" "replace with a stale resourceVersion"
must_fail k replace --raw "/api/v1/namespaces/$NS/configmaps/app-config" -f "$M/old.json"
expect_contains "$OUT" "the object has been modified" "PUT with a stale resourceVersion"
must_fail k create -f "$M/cm.yaml"
expect_contains "$OUT" 'AlreadyExists|already exists' "create an existing object"
must_fail k get cm does-not-exist
expect_contains "$OUT" 'configmaps "does-not-exist" not found' "404 wording"

step "garbage collection by ownerReferences, pods/binding"
k apply -f - > /dev/null << 'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: owner}
spec:
  selector: {matchLabels: {app: owner}}
  template:
    metadata: {labels: {app: owner}}
    spec: {containers: [{name: c, image: busybox:1.36}]}
EOF
OWNER_UID=$(k get deploy owner -o jsonpath='{.metadata.uid}')
for name in owned-a owned-b; do
  k apply -f - > /dev/null << EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: $name
  ownerReferences:
  - {apiVersion: apps/v1, kind: Deployment, name: owner, uid: $OWNER_UID, controller: true, blockOwnerDeletion: true}
data: {k: v}
EOF
done
OWNED_A_UID=$(k get cm owned-a -o jsonpath='{.metadata.uid}')
k apply -f - > /dev/null << EOF
apiVersion: v1
kind: Secret
metadata:
  name: grandchild
  ownerReferences:
  - {apiVersion: v1, kind: ConfigMap, name: owned-a, uid: $OWNED_A_UID}
stringData: {password: s3cret}
EOF
expect_eq "$(k get secret grandchild -o jsonpath='{.data.password}')" "czNjcmV0" "stringData -> data"
# A pod created directly and owned (controller: false) by the Deployment, as a JobManager's
# native TaskManager pods are: unscheduled until a pods/binding sets its node, once.
k apply -f - > /dev/null << EOF
apiVersion: v1
kind: Pod
metadata:
  name: owner-taskmanager-1-1
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: owner, uid: $OWNER_UID, controller: false, blockOwnerDeletion: true}]
spec: {containers: [{name: c, image: busybox:1.36}]}
EOF
if on_test_server; then  # (a real cluster's scheduler binds it at once)
  expect_eq "$(k get pod owner-taskmanager-1-1 -o jsonpath='{.spec.nodeName}')" "" "a new pod is unscheduled"
  BINDING='{"apiVersion":"v1","kind":"Binding","metadata":{"name":"owner-taskmanager-1-1"},"target":{"apiVersion":"v1","kind":"Node","name":"node-a"}}'
  OUT=$(k create --raw "/api/v1/namespaces/$NS/pods/owner-taskmanager-1-1/binding" -f - <<< "$BINDING")
  expect_contains "$OUT" '"status":"Success"' "binding answers Success"
  expect_eq "$(k get pod owner-taskmanager-1-1 -o jsonpath='{.spec.nodeName}')" "node-a" "binding sets spec.nodeName"
  OUT=$(k create --raw "/api/v1/namespaces/$NS/pods/owner-taskmanager-1-1/binding" -f - <<< "$BINDING" 2>&1 || true)
  expect_contains "$OUT" 'already assigned to node "node-a"' "a second binding is a conflict"
  expect_contains "$(k get --raw /api/v1)" '"pods/binding"' "discovery lists pods/binding"
fi
OUT=$(k delete deploy owner)
expect_contains "$OUT" 'deployment.apps "owner" deleted' "delete owner"
gone() { ! k get "$@" > /dev/null 2>&1; }
eventually $SLOW gone cm owned-a || fail "owned ConfigMap not garbage-collected"
eventually $SLOW gone cm owned-b || fail "second owned ConfigMap not garbage-collected"
eventually $SLOW gone secret grandchild || fail "grandchild Secret not garbage-collected"
eventually $SLOW gone pod owner-taskmanager-1-1 || fail "the pod owned by the deleted Deployment not garbage-collected"

# --cascade=orphan keeps dependents and removes their ownerReferences.
k apply -f - > /dev/null << 'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: parent}
EOF
PARENT_UID=$(k get cm parent -o jsonpath='{.metadata.uid}')
k apply -f - > /dev/null << EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: parent, uid: $PARENT_UID}]
EOF
k delete cm parent --cascade=orphan > /dev/null
no_owner_refs() { [ -z "$(k get cm orphan -o jsonpath='{.metadata.ownerReferences}')" ]; }
eventually $SLOW no_owner_refs || fail "orphaned dependent still has ownerReferences"
sleep 1.2  # a garbage-collection sweep later
expect_contains "$(k get cm orphan -o name)" "configmap/orphan" "orphaned dependent kept"

step "imperative kubectl create (protobuf request bodies)"
k create configmap literal --from-literal=k1=v1 --from-literal=k2=v2 > /dev/null
expect_eq "$(k get cm literal -o jsonpath='{.data}')" '{"k1":"v1","k2":"v2"}' "kubectl create configmap"
k create secret generic creds --from-literal=user=admin --type=example.com/basic > /dev/null
expect_eq "$(k get secret creds -o jsonpath='{.type} {.data.user}')" "example.com/basic YWRtaW4=" "kubectl create secret"
k create serviceaccount robot > /dev/null
k create deployment api --image=nginx:1.25 --replicas=2 --port=8080 > /dev/null
expect_eq "$(k get deploy api -o jsonpath='{.spec.replicas} {.spec.selector.matchLabels.app} {.spec.template.spec.containers[0].ports[0].containerPort} {.spec.strategy.type}')" \
  "2 api 8080 RollingUpdate" "kubectl create deployment"
k create service nodeport api --tcp=80:8080 > /dev/null
expect_contains "$(k get svc api)" "api +NodePort +10\.96\.[0-9.]+ +<none> +80:3[0-9]{4}/TCP" "kubectl create service"
k run runner --image=busybox:1.36 --labels=app=runner --env=A=B -- sleep 1 > /dev/null
on_test_server && expect_contains "$(k get pod runner)" "runner +0/1 +Pending +0 " "kubectl run"
expect_eq "$(k get pod runner -o jsonpath='{.spec.containers[0].args} {.spec.containers[0].env[0].value}')" '["sleep","1"] B' "pod spec"

step "finalizers and deletionTimestamp"
k apply -f - > /dev/null << 'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: guarded
  finalizers: [example.com/cleanup]
EOF
k delete cm guarded --wait=false > /dev/null
expect_contains "$(k get cm guarded -o jsonpath='{.metadata.deletionTimestamp}')" "^[0-9]{4}-" "deletionTimestamp set"
must_fail k patch cm guarded --type=merge -p '{"metadata":{"finalizers":["example.com/cleanup","example.com/more"]}}'
expect_contains "$OUT" "no new finalizers" "no new finalizers while deleting"
k patch cm guarded --type=merge -p '{"metadata":{"finalizers":null}}' > /dev/null
eventually $SLOW gone cm guarded || fail "object not deleted after its finalizers were removed"

step "namespaces"
must_fail k create -f "$M/cm.yaml" -n missing
expect_contains "$OUT" 'namespaces "missing" not found' "create in a missing namespace"
TEAM=team-a-$$
k create namespace "$TEAM" > /dev/null
k apply -n $TEAM -f "$M/cm.yaml" > /dev/null
expect_contains "$(k get ns $TEAM)" "$TEAM +Active" "namespace listed"
eventually $SLOW k get sa default -n "$TEAM" || fail "no default service account in $TEAM"
eventually $SLOW k get cm kube-root-ca.crt -n "$TEAM" || fail "no kube-root-ca.crt in $TEAM"
expect_contains "$(k get cm kube-root-ca.crt -n "$TEAM" -o jsonpath='{.data.ca\.crt}')" "BEGIN CERTIFICATE" "kube-root-ca.crt"
expect_contains "$(k get cm -A)" "$TEAM +app-config" "list across namespaces"
k delete namespace $TEAM > /dev/null
eventually $SLOW gone namespace $TEAM || fail "namespace not deleted"
expect_eq "$(k get cm -n $TEAM -o name)" "" "namespace contents deleted"

step "CustomResourceDefinitions: discovery, validation, printer columns, subresources"
cat > "$M/widgets-crd.yaml" << 'EOF'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, shortNames: [wd]}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
      scale: {specReplicasPath: .spec.size, statusReplicasPath: .status.size}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, enum: [red, blue]}
          status:
            type: object
            properties:
              phase: {type: string}
              size: {type: integer}
EOF
must_fail k get widgets
k apply -f "$M/widgets-crd.yaml" > /dev/null
k wait --for condition=established --timeout=10s crd/widgets.example.com > /dev/null
expect_contains "$(k api-resources --api-group=example.com)" "widgets +wd +example.com/v1 +true +Widget" "CRD discovery"
k apply -f - > /dev/null << 'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 2, color: red}
EOF
k patch wd w1 --subresource=status --type=merge -p '{"status":{"phase":"Ready","size":2}}' > /dev/null
OUT=$(k get widgets)
expect_contains "$OUT" "NAME +SIZE +PHASE +AGE" "CRD printer columns"
expect_contains "$OUT" "w1 +2 +Ready +[0-9]+s" "CRD printer row"
expect_eq "$(k get wd w1 -o jsonpath='{.metadata.generation}')" "1" "status patch keeps generation"
k scale widget w1 --replicas=5 > /dev/null
expect_eq "$(k get wd w1 -o jsonpath='{.spec.size},{.metadata.generation}')" "5,2" "scale subresource"
must_fail k apply -f - << 'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w2}
spec: {size: 0, color: green}
EOF
expect_contains "$OUT" 'is invalid' "schema validation"
expect_contains "$OUT" 'spec.color' "validation names the field"
must_fail k apply -f - << 'EOF'
apiVersion: example.com/v1
kind: Widget
metadata: {name: w3}
spec: {size: 1, shape: round}
EOF
expect_contains "$OUT" 'unknown field "spec.shape"' "strict field validation"
k delete crd widgets.example.com > /dev/null
eventually $SLOW gone widgets || fail "widgets still served after the CRD was deleted"

if compgen -G "$SRC/crds/*.y*ml" > /dev/null && { on_test_server || [ -n "${E2E_APPLY_CRDS:-}" ]; }; then
  step "crds/ and examples/flight-delays.yaml"
  k apply -f "$SRC/crds/" > /dev/null
  for crd in $(k get crd -o name); do k wait --for condition=established --timeout=10s "$crd" > /dev/null; done
  OUT=$(k apply -f "$SRC/examples/flight-delays.yaml")
  expect_contains "$OUT" "flinkdeployment.flink.apache.org/flight-delays created" "apply the example"
  OUT=$(k get flinkdeployments)
  expect_contains "$OUT" "NAME +JOB STATUS +LIFECYCLE STATE" "FlinkDeployment printer columns"
  expect_contains "$OUT" "flight-delays" "FlinkDeployment listed"
  k patch flinkdeployment flight-delays --subresource=status --type=merge \
    -p '{"status":{"jobStatus":{"state":"RUNNING"},"lifecycleState":"STABLE"}}' > /dev/null
  expect_contains "$(k get flinkdeployments)" "flight-delays +RUNNING +STABLE" "FlinkDeployment status columns"
  OUT=$(k describe flinkdeployment flight-delays)
  expect_contains "$OUT" "Kind: +FlinkDeployment" "describe a custom resource"
fi

if ! on_test_server; then
  echo "PASS (against $(k config view --minify -o jsonpath='{.clusters[0].cluster.server}'))"
  exit 0
fi

step "admission webhooks: validating and mutating, url and service clientConfig"
if ! command -v node > /dev/null || ! command -v openssl > /dev/null; then
  echo "SKIP: admission webhooks need node and openssl (scripts/install-tools.sh node)"
else
  W="$WORK/webhook"
  mkdir -p "$W"
  # A CA and the webhook's certificate, valid for the Service's DNS name and 127.0.0.1 (the
  # url clientConfig); a second CA that did not sign it.
  for ca in ca other-ca; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=$ca" \
      -keyout "$W/$ca.key" -out "$W/$ca.crt" 2> /dev/null
  done
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=whsvc.wh-sys.svc" \
    -keyout "$W/tls.key" -out "$W/tls.csr" 2> /dev/null
  printf 'subjectAltName=DNS:whsvc.wh-sys.svc,IP:127.0.0.1\n' > "$W/san.ext"
  openssl x509 -req -in "$W/tls.csr" -CA "$W/ca.crt" -CAkey "$W/ca.key" -CAcreateserial -days 1 \
    -extfile "$W/san.ext" -out "$W/tls.crt" 2> /dev/null
  CA_BUNDLE=$(base64 -w0 < "$W/ca.crt")
  OTHER_BUNDLE=$(base64 -w0 < "$W/other-ca.crt")
  HOOKLOG="$W/requests.jsonl"
  : > "$HOOKLOG"
  node "$SRC/test/apiserver/test_webhook.js" "$W/tls.crt" "$W/tls.key" "$HOOKLOG" > "$W/port" 2> "$W/stderr" &
  WEBHOOK_PID=$!
  BACKGROUND_PIDS+=("$WEBHOOK_PID")
  eventually 10 test -s "$W/port" || fail "webhook did not start: $(cat "$W/stderr")"
  PORT=$(cat "$W/port")
  hook_calls() { wc -l < "$HOOKLOG"; }
  # last_request FIELD: a field of the last AdmissionReview the webhook received.
  last_request() { tail -n 1 "$HOOKLOG" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
    const r=JSON.parse(s);const v=process.argv[1].split(".").reduce((o,k)=>o==null?o:o[k],r);
    console.log(typeof v==="string"?v:JSON.stringify(v));})' "$1"; }
  # webhook_config KIND NAME PATH [YAML LINES...]: a configuration with one webhook for
  # ConfigMaps (CREATE, UPDATE) calling https://127.0.0.1:PORT/PATH, namespaces labelled
  # webhooks=off excluded. (The rule names its scope: rules is an atomic list, so a manifest
  # leaving out a defaulted field of a rule is re-sent by every client-side apply, as on a real
  # cluster.)
  webhook_config() {
    local kind=$1 name=$2 path=$3; shift 3
    printf '%s\n' "apiVersion: admissionregistration.k8s.io/v1" "kind: $kind" "metadata: {name: $name}" "webhooks:" \
      "- name: $name" \
      "  clientConfig: {url: \"https://127.0.0.1:$PORT$path\", caBundle: $CA_BUNDLE}" \
      "  rules: [{operations: [CREATE, UPDATE], apiGroups: [\"\"], apiVersions: [v1], resources: [configmaps], scope: Namespaced}]" \
      "  namespaceSelector: {matchExpressions: [{key: webhooks, operator: NotIn, values: [\"off\"]}]}" \
      "  sideEffects: None" "  admissionReviewVersions: [v1]" "$@"
  }
  k create namespace wh-on > /dev/null
  k create namespace wh-off > /dev/null
  k label namespace wh-off webhooks=off > /dev/null

  webhook_config ValidatingWebhookConfiguration deny.example.com /validate > "$M/vwc.yaml"
  expect_contains "$(k apply -f "$M/vwc.yaml")" "validatingwebhookconfiguration.admissionregistration.k8s.io/deny.example.com created" "create a ValidatingWebhookConfiguration"
  expect_contains "$(k apply -f "$M/vwc.yaml")" "deny.example.com unchanged" "re-applying the configuration changes nothing"
  expect_eq "$(k get validatingwebhookconfiguration deny.example.com -o jsonpath='{.webhooks[0].failurePolicy},{.webhooks[0].matchPolicy},{.webhooks[0].timeoutSeconds},{.webhooks[0].objectSelector}')" \
    "Fail,Equivalent,10,{}" "webhook defaults"
  expect_contains "$(k get validatingwebhookconfigurations)" "NAME +WEBHOOKS +AGE"$'\n'"deny.example.com +1 " "webhook configuration table"
  expect_contains "$(k api-resources --api-group=admissionregistration.k8s.io)" "validatingwebhookconfigurations +admissionregistration.k8s.io/v1 +false +ValidatingWebhookConfiguration" "discovery"

  printf '%s\n' "apiVersion: v1" "kind: ConfigMap" "metadata: {name: bad, namespace: wh-on, labels: {deny: \"true\"}}" > "$M/bad-cm.yaml"
  must_fail k apply -f "$M/bad-cm.yaml"
  expect_contains "$OUT" 'Error from server \(Forbidden\): .*admission webhook "deny.example.com" denied the request: ConfigMap bad carries deny=true' "a denial is the webhook's status"
  expect_eq "$(last_request review.request.operation),$(last_request review.request.namespace),$(last_request review.request.kind),$(last_request review.request.options.kind)" \
    'CREATE,wh-on,{"group":"","kind":"ConfigMap","version":"v1"},CreateOptions' "the AdmissionReview request"
  expect_eq "$(last_request query),$(last_request contentType),$(last_request review.apiVersion),$(last_request review.request.resource.resource)" \
    "?timeout=10s,application/json,admission.k8s.io/v1,configmaps" "the webhook request"
  OUT=$(k -n wh-on create configmap good --from-literal=a=b 2>&1)
  expect_contains "$OUT" "Warning: checked by the test webhook \(CREATE\)" "the webhook's warnings reach kubectl"
  expect_contains "$OUT" "configmap/good created" "an allowed ConfigMap is created"
  must_fail k -n wh-on label configmap good deny=true
  expect_contains "$OUT" 'admission webhook "deny.example.com" denied the request: ConfigMap good carries deny=true' "updates are checked"
  expect_eq "$(last_request review.request.operation),$(last_request review.request.oldObject.metadata.name)" "UPDATE,good" "UPDATE carries oldObject"
  CALLS=$(hook_calls)
  k -n wh-off apply -f <(sed 's/namespace: wh-on/namespace: wh-off/' "$M/bad-cm.yaml") > /dev/null
  expect_eq "$(hook_calls)" "$CALLS" "namespaceSelector: no call for a namespace it excludes"
  k -n wh-on create secret generic s --from-literal=a=b > /dev/null
  expect_eq "$(hook_calls)" "$CALLS" "no call for resources the rules do not name"
  if compgen -G "$SRC/crds/*.y*ml" > /dev/null; then  # applied above
    k patch validatingwebhookconfiguration deny.example.com --type=json \
      -p '[{"op":"add","path":"/webhooks/0/rules/-","value":{"operations":["CREATE","UPDATE"],"apiGroups":["flink.apache.org"],"apiVersions":["*"],"resources":["flinkdeployments"]}}]' > /dev/null
    expect_eq "$(k get validatingwebhookconfiguration deny.example.com -o jsonpath='{.webhooks[0].rules[1].scope}')" "*" "rules' scope default"
    must_fail k label flinkdeployment flight-delays deny=true
    expect_contains "$OUT" 'admission webhook "deny.example.com" denied the request: FlinkDeployment flight-delays carries deny=true' "custom resources are sent to webhooks"
  fi

  step "admission webhooks: failures and failurePolicy"
  webhook_config ValidatingWebhookConfiguration bad-uid.example.com /bad-uid | k apply -f - > /dev/null
  must_fail k -n wh-on create configmap c1
  expect_contains "$OUT" 'Internal error occurred: failed calling webhook "bad-uid.example.com": received invalid webhook response: expected response.uid="[-0-9a-f]+", got "not-the-request-uid"' "uid mismatch"
  k delete validatingwebhookconfiguration bad-uid.example.com > /dev/null
  webhook_config ValidatingWebhookConfiguration patching.example.com /validate-patch | k apply -f - > /dev/null
  must_fail k -n wh-on create configmap c1
  expect_contains "$OUT" 'failed calling webhook "patching.example.com": received invalid webhook response: validating webhook may not return response.patch' "a patch from a validating webhook"
  k delete validatingwebhookconfiguration patching.example.com > /dev/null
  webhook_config ValidatingWebhookConfiguration slow.example.com /slow "  timeoutSeconds: 1" | k apply -f - > /dev/null
  must_fail k -n wh-on create configmap c1
  expect_contains "$OUT" "failed calling webhook \"slow.example.com\": failed to call webhook: Post \"https://127.0.0.1:$PORT/slow\?timeout=1s\": context deadline exceeded" "timeoutSeconds"
  k delete validatingwebhookconfiguration slow.example.com > /dev/null
  webhook_config ValidatingWebhookConfiguration other-ca.example.com /validate | sed "s/caBundle: .*}/caBundle: $OTHER_BUNDLE}/" | k apply -f - > /dev/null
  must_fail k -n wh-on create configmap c1
  expect_contains "$OUT" 'failed calling webhook "other-ca.example.com": failed to call webhook: Post ".*": tls: failed to verify certificate: x509: certificate signed by unknown authority' "caBundle is the trust store"
  k delete validatingwebhookconfiguration other-ca.example.com > /dev/null
  # A port nothing listens on: the node webhook's port is taken, the one below it likely free.
  DOWN=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();})')
  webhook_config ValidatingWebhookConfiguration down.example.com /validate | sed "s/127.0.0.1:$PORT/127.0.0.1:$DOWN/" > "$M/down.yaml"
  k apply -f "$M/down.yaml" > /dev/null
  printf '%s\n' "apiVersion: v1" "kind: ConfigMap" "metadata: {name: c1, namespace: wh-on}" > "$M/c1.yaml"
  must_fail k apply -f "$M/c1.yaml"
  expect_contains "$OUT" "Error from server \(InternalError\): .*Internal error occurred: failed calling webhook \"down.example.com\": failed to call webhook: Post \"https://127.0.0.1:$DOWN/validate\?timeout=10s\": dial tcp 127.0.0.1:$DOWN: connect: connection refused" "failurePolicy Fail"
  sed 's/^  sideEffects: None/  sideEffects: None\n  failurePolicy: Ignore/' "$M/down.yaml" | k apply -f - > /dev/null
  expect_contains "$(k -n wh-on create configmap c1 2>&1)" "configmap/c1 created" "failurePolicy Ignore"
  k delete validatingwebhookconfiguration down.example.com > /dev/null

  step "admission webhooks: service clientConfig through an EndpointSlice"
  k create namespace wh-sys > /dev/null
  k -n wh-sys create service clusterip whsvc --tcp=443:8443 > /dev/null
  k -n wh-sys apply -f - > /dev/null << EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: whsvc-1, labels: {kubernetes.io/service-name: whsvc}}
addressType: IPv4
ports: [{name: 443-8443, port: $PORT, protocol: TCP}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
EOF
  k delete validatingwebhookconfiguration deny.example.com > /dev/null
  webhook_config ValidatingWebhookConfiguration svc.example.com /validate \
    | sed "s|url: \"https://127.0.0.1:$PORT/validate\"|service: {namespace: wh-sys, name: whsvc, path: /validate}|" > "$M/svc-vwc.yaml"
  k apply -f "$M/svc-vwc.yaml" > /dev/null
  expect_eq "$(k get validatingwebhookconfiguration svc.example.com -o jsonpath='{.webhooks[0].clientConfig.service.port}')" "443" "service port default"
  must_fail k apply -f "$M/bad-cm.yaml"
  expect_contains "$OUT" 'admission webhook "svc.example.com" denied the request: ConfigMap bad carries deny=true' "a webhook behind a Service"
  k -n wh-sys delete endpointslice whsvc-1 > /dev/null
  must_fail k apply -f "$M/bad-cm.yaml"
  expect_contains "$OUT" 'Internal error occurred: failed calling webhook "svc.example.com": failed to call webhook: Post "https://whsvc.wh-sys.svc:443/validate\?timeout=10s": no endpoints available for service "whsvc"' "no endpoints"
  k delete validatingwebhookconfiguration svc.example.com > /dev/null

  step "admission webhooks: a mutating webhook's JSONPatch"
  webhook_config MutatingWebhookConfiguration label.example.com /mutate > "$M/mwc.yaml"
  k apply -f "$M/mwc.yaml" > /dev/null
  expect_contains "$(k apply -f "$M/mwc.yaml")" "label.example.com unchanged" "re-applying a mutating configuration"
  expect_eq "$(k get mutatingwebhookconfiguration label.example.com -o jsonpath='{.webhooks[0].reinvocationPolicy}')" "Never" "reinvocationPolicy default"
  k -n wh-on create configmap m1 --from-literal=a=b > /dev/null
  expect_eq "$(k -n wh-on get configmap m1 -o jsonpath='{.metadata.labels.mutated}')" "yes" "the patch is applied to the stored object"
  k -n wh-off create configmap m1 --from-literal=a=b > /dev/null
  expect_eq "$(k -n wh-off get configmap m1 -o jsonpath='{.metadata.labels.mutated}')" "" "namespaceSelector excludes wh-off"
  k delete mutatingwebhookconfiguration label.example.com > /dev/null

  step "admission webhooks: validation of configurations"
  must_fail k apply -f - << EOF
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: invalid}
webhooks:
- name: short
  clientConfig: {url: "http://127.0.0.1/x", service: {namespace: a, name: b}}
  timeoutSeconds: 31
  failurePolicy: Sometimes
  admissionReviewVersions: [v2]
- name: short
  clientConfig: {url: "http://127.0.0.1/x"}
  sideEffects: Some
  admissionReviewVersions: [v1]
EOF
  for e in 'webhooks\[0\].name: Invalid value: "short": should be a domain with at least three segments separated by dots' \
    'webhooks\[0\].clientConfig: Required value: exactly one of url or service is required' \
    'webhooks\[0\].timeoutSeconds: Invalid value: 31: the timeout value must be between 1 and 30 seconds' \
    'webhooks\[0\].failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"' \
    'webhooks\[0\].sideEffects: Required value: must specify one of None, NoneOnDryRun' \
    'webhooks\[0\].admissionReviewVersions: Invalid value: \[\]string\{"v2"\}: must include at least one of v1, v1beta1' \
    'webhooks\[1\].name: Duplicate value: "short"' \
    "webhooks\[1\].clientConfig.url: Invalid value: \"http\": 'https' is the only allowed URL scheme" \
    'webhooks\[1\].sideEffects: Unsupported value: "Some": supported values: "None", "NoneOnDryRun"'; do
    expect_contains "$OUT" "$e" "webhook configuration validation"
  done
  expect_contains "$OUT" 'The ValidatingWebhookConfiguration "invalid" is invalid' "422 Invalid"
  kill "$WEBHOOK_PID"
fi

step "410 Gone for a watch older than the event window"
start_server "$WORK/small" --history 5
SMALL_KUBECONFIG="$WORK/small/kubeconfig"
for i in $(seq 8); do
  KUBECONFIG=$SMALL_KUBECONFIG k apply -f - > /dev/null << EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: c$i}
EOF
done
OUT=$(KUBECONFIG=$SMALL_KUBECONFIG timeout 20 "$KUBECTL" get --raw '/api/v1/configmaps?watch=true&resourceVersion=1' 2>&1 || true)
expect_contains "$OUT" '"type":"ERROR"' "expired watch ERROR event"
expect_contains "$OUT" '"code":410' "expired watch 410"
expect_contains "$OUT" '"reason":"Expired"' "expired watch reason"

step "clean shutdown on SIGTERM"
for pid in "${SERVER_PIDS[@]}"; do
  kill -TERM "$pid"
  for i in $(seq 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2> /dev/null; then fail "server $pid still running 10 s after SIGTERM"; fi
  wait "$pid" || fail "server $pid exited with status $?"
done
SERVER_PIDS=()
echo "PASS"
