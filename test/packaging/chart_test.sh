#!/usr/bin/env bash
# The Helm chart charts/flink-operator: CRDs identical to crds/, `helm lint --strict` and
# `helm template` with default values, watchNamespaces, everything on and RBAC off, each rendered
# set checked by check_rendered.js; values.schema.json covers every value and rejects bad ones;
# the packaged chart holds the CRDs and dashboards; the dashboards match dashboards/generate.js.
# usage: chart_test.sh SOURCE_DIR
SRC=$(cd "$1" && pwd)
source "$SRC/test/packaging/lib.sh"
tools helm js-yaml node

step "chart CRDs are the files in crds/"
want=$(cd "$SRC/crds" && ls *.yml)
have=$(cd "$CHART/crds" && ls)
[ "$want" = "$have" ] || fail "charts/flink-operator/crds has [$have], crds/ has [$want]"
for f in $want; do
  cmp -s "$SRC/crds/$f" "$CHART/crds/$f" || fail "charts/flink-operator/crds/$f differs from crds/$f (cp crds/*.yml charts/flink-operator/crds/)"
done

step "dashboards are what dashboards/generate.js makes"
node "$SRC/dashboards/generate.js" --check || fail "run: node dashboards/generate.js"

ALL_ON=(--set 'watchNamespaces={team-a,team-b}' --set metrics.serviceMonitor.enabled=true
        --set metrics.podMonitor.enabled=true --set prometheusRule.enabled=true --set replicas=2
        --set strategy.type=RollingUpdate --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)
NO_RBAC=(--set rbac.create=false --set leaderElection.enabled=false --set operatorServiceAccount.create=false
         --set operatorServiceAccount.name=existing-sa --set jobServiceAccount.create=false
         --set dashboards.enabled=false --set defaultConfiguration.create=false --set metrics.port=8080)

step "helm lint --strict"
for args in "" "--set watchNamespaces={team-a}" "${ALL_ON[*]}" "${NO_RBAC[*]}"; do
  # shellcheck disable=SC2086
  out=$(helm lint --strict "$CHART" --namespace "$RELEASE_NS" $args 2>&1) || fail "helm lint --strict $args:"$'\n'"$out"
  ! grep -q '\[WARNING\]\|\[ERROR\]' <<< "$out" || fail "helm lint $args:"$'\n'"$out"
done

step "helm template: default values (cluster-wide)"
render default
node "$SRC/test/packaging/check_rendered.js" "$WORK/default.yaml" "$CHART" "$RELEASE_NS" || exit 1
step "helm template: watchNamespaces (namespaced RBAC)"
render watch --set 'watchNamespaces={team-a,team-b,team-a}'
node "$SRC/test/packaging/check_rendered.js" "$WORK/watch.yaml" "$CHART" "$RELEASE_NS" --set 'watchNamespaces={team-a,team-b}' || exit 1
step "helm template: monitoring, alerts, 2 replicas, digest"
render all "${ALL_ON[@]}"
node "$SRC/test/packaging/check_rendered.js" "$WORK/all.yaml" "$CHART" "$RELEASE_NS" "${ALL_ON[@]}" || exit 1
grep -q 'image: "flink-cpp-operator@sha256:0123' "$WORK/all.yaml" || fail "image.digest is not used"
step "helm template: no RBAC, existing service accounts, no dashboards, metrics.port 8080"
render none "${NO_RBAC[@]}"
node "$SRC/test/packaging/check_rendered.js" "$WORK/none.yaml" "$CHART" "$RELEASE_NS" "${NO_RBAC[@]}" || exit 1

step "values.schema.json declares every value and rejects bad ones"
node "$SRC/test/packaging/check_values_schema.js" "$CHART" || exit 1
reject() {  # reject PATTERN helm-args...: helm template fails with PATTERN in its error
  local pattern=$1; shift
  if out=$(helm template flink-operator "$CHART" --namespace "$RELEASE_NS" "$@" 2>&1); then
    fail "helm template $* was accepted"
  fi
  grep -q -- "$pattern" <<< "$out" || fail "helm template $*: expected /$pattern/ in: $out"
}
reject "Additional property watchNamespace is not allowed" --set 'watchNamespace={a}'
reject "pullPolicy must be one of" --set image.pullPolicy=Sometimes
reject "replicas > 1 needs leaderElection.enabled" --set replicas=2 --set leaderElection.enabled=false
reject "metrics.port" --set metrics.port=70000
reject "watchNamespaces.0" --set 'watchNamespaces={Team_A}'
reject "restartWindow" --set prometheusRule.restartWindow=soon
reject "Additional property workrs is not allowed" --set reconcile.workrs=2

step "helm package holds the CRDs, dashboards and schema"
helm package "$CHART" --destination "$WORK" > /dev/null || fail "helm package"
listing=$(tar -tzf "$WORK"/flink-operator-*.tgz)
for f in values.schema.json templates/NOTES.txt $(cd "$CHART" && ls crds/*.yml dashboards/*.json); do
  grep -qx "flink-operator/$f" <<< "$listing" || fail "the packaged chart lacks $f"
done

echo "PASS: chart"
