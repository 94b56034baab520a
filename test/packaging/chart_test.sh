#!/usr/bin/env bash
# The Helm chart charts/flink-operator: CRDs identical to crds/, `helm lint --strict` and
# `helm template` with default values, watchNamespaces, everything on and RBAC off, and with the
# Apache operator chart's values file unchanged (apache-operator-values.yaml) alone and with its
# keys set on the command line, each rendered set checked by check_rendered.js; NOTES.txt names
# the Apache values we ignore; values.schema.json covers every value (ours and that file's) and
# rejects bad ones; the packaged chart holds the CRDs, dashboards and built-in configuration;
# the dashboards match dashboards/generate.js.
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

ALL_ON=(--set webhook.failurePolicy=Ignore --set webhook.mutator.create=false --set 'watchNamespaces={team-a,team-b}' --set metrics.serviceMonitor.enabled=true
        --set metrics.podMonitor.enabled=true --set prometheusRule.enabled=true --set replicas=2
        --set strategy.type=RollingUpdate --set image.digest=sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef)
NO_RBAC=(--set rbac.create=false --set leaderElection.enabled=false --set operatorServiceAccount.create=false
         --set operatorServiceAccount.name=existing-sa --set jobServiceAccount.create=false
         --set dashboards.enabled=false --set defaultConfiguration.create=false --set metrics.port=8080
         --set webhook.create=false)
# A values file of the Apache Flink Kubernetes Operator's chart, every key at that chart's default.
APACHE=(-f "$SRC/test/packaging/apache-operator-values.yaml")
# ... with Apache keys set as its users set them: pod placement and metadata, pull secrets, its
# volumes, RBAC object names, configuration without the built-in defaults, probe timing.
APACHE_SET=("${APACHE[@]}" --set operatorPod.nodeSelector.disktype=ssd --set 'imagePullSecrets[0].name=regcred'
            --set operatorVolumes.create=true --set operatorVolumeMounts.create=true
            --set rbac.operatorRole.name=ops-role --set rbac.operatorRoleBinding.name=ops-binding
            --set rbac.jobRole.name=job-role --set rbac.jobRoleBinding.name=job-binding
            --set defaultConfiguration.append=false
            --set 'defaultConfiguration.config\.yaml=kubernetes.operator.reconcile.interval: 30 s'
            --set 'operatorPod.env[0].name=EXTRA' --set 'operatorPod.env[0].value=extra' --set 'operatorPod.envFrom[0].secretRef.name=creds'
            --set 'operatorPod.tolerations[0].key=dedicated' --set 'operatorPod.tolerations[0].operator=Exists'
            --set operatorPod.priorityClassName=ops --set operatorPod.dnsPolicy=ClusterFirstWithHostNet
            --set operatorPod.annotations.team=data --set operatorPod.labels.tier=control
            --set operatorHealth.livenessProbe.periodSeconds=7 --set image.tag=1.2.3 --set image.pullPolicy=Always
            --set jobServiceAccount.name=flink-jobs --set operatorServiceAccount.name=ops-sa)
# ... cluster-wide, the operator's and the Flink pods' roles existing already (bindings only), and
# metrics.port null as the Apache chart leaves it (9999).
APACHE_EXISTING=("${APACHE[@]}" --set watchNamespaces=null --set metrics.port=null --set rbac.operatorRole.create=false --set rbac.jobRole.create=false
                 --set rbac.operatorRole.name=existing-operator --set rbac.jobRole.name=existing-job)

step "helm lint --strict"
for args in "" "--set watchNamespaces={team-a}" "${ALL_ON[*]}" "${NO_RBAC[*]}" "${APACHE[*]}"; do
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

# expect FILE DESCRIPTION JS: JS, an expression over `docs` (the rendered objects) and
# `find(kind, name)`, is true.
expect() {
  node -e '
    const fs = require("fs"), yaml = require("js-yaml");
    const [file, what, expr] = process.argv.slice(1);
    const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d && d.kind);
    const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
    let ok = false;
    try { ok = eval(expr); } catch (e) { console.log(e.message); }
    if (!ok) { console.log(`FAIL: ${file}: ${what}: ${expr}`); process.exit(1); }
  ' "$WORK/$1.yaml" "$2" "$3" || exit 1
}
step "helm template: the Apache operator chart's values file, unchanged"
render apache "${APACHE[@]}"
node "$SRC/test/packaging/check_rendered.js" "$WORK/apache.yaml" "$CHART" "$RELEASE_NS" "${APACHE[@]}" || exit 1
expect apache "RBAC objects with the Apache names" \
  'find("Role", "flink-operator").metadata.namespace === "flink" && find("RoleBinding", "flink-operator-role-binding") &&
   find("Role", "flink") && find("RoleBinding", "flink-role-binding").roleRef.name === "flink"'
expect apache "its flink-conf.yaml over the built-in defaults (append: true)" \
  'const c = yaml.load(find("ConfigMap", "flink-operator-config").data["config.yaml"]);
   c["kubernetes.operator.reconcile.interval"] === "15 s" && c["metrics.reporter.prom.port"] === 9249'
expect apache "its probe timing" \
  'const c = find("Deployment", "flink-operator").spec.template.spec.containers[0];
   c.livenessProbe.initialDelaySeconds === 30 && c.startupProbe.failureThreshold === 30 && c.livenessProbe.httpGet.path === "/healthz"'
expect apache "its webhook, without cert-manager objects" \
  'find("ValidatingWebhookConfiguration", "flink-operator-'"$RELEASE_NS"'-webhook-configuration") &&
   find("MutatingWebhookConfiguration", "flink-operator-'"$RELEASE_NS"'-webhook-configuration") &&
   find("Service", "flink-operator-webhook-service") && !docs.some((d) => /Certificate|Issuer/.test(d.kind))'
step "helm template: Apache keys set on the command line"
render apache-set "${APACHE_SET[@]}"
node "$SRC/test/packaging/check_rendered.js" "$WORK/apache-set.yaml" "$CHART" "$RELEASE_NS" "${APACHE_SET[@]}" || exit 1
expect apache-set "operatorPod.nodeSelector, tolerations, priorityClassName, dnsPolicy, imagePullSecrets" \
  'const p = find("Deployment", "flink-operator").spec.template.spec;
   p.nodeSelector.disktype === "ssd" && p.tolerations[0].key === "dedicated" && p.priorityClassName === "ops" &&
   p.dnsPolicy === "ClusterFirstWithHostNet" && p.imagePullSecrets[0].name === "regcred" && p.serviceAccountName === "ops-sa"'
expect apache-set "operatorVolumes and operatorVolumeMounts (create: true)" \
  'const p = find("Deployment", "flink-operator").spec.template.spec;
   p.volumes.some((v) => v.name === "flink-artifacts" && v.hostPath.path === "/tmp/flink/artifacts") &&
   p.containers[0].volumeMounts.some((m) => m.name === "flink-artifacts" && m.mountPath === "/opt/flink/artifacts")'
expect apache-set "env, envFrom, pod metadata, image" \
  'const t = find("Deployment", "flink-operator").spec.template, c = t.spec.containers[0];
   c.env.some((e) => e.name === "EXTRA" && e.value === "extra") && c.envFrom[0].secretRef.name === "creds" &&
   t.metadata.annotations.team === "data" && t.metadata.labels.tier === "control" &&
   c.image === "flink-kubernetes-operator:1.2.3" && c.imagePullPolicy === "Always" && c.livenessProbe.periodSeconds === 7'
expect apache-set "RBAC names" \
  'find("Role", "ops-role") && find("RoleBinding", "ops-binding").roleRef.name === "ops-role" &&
   find("RoleBinding", "ops-binding").subjects[0].name === "ops-sa" && find("Role", "ops-role-leader-election") &&
   find("Role", "job-role") && find("RoleBinding", "job-binding").subjects[0].name === "flink-jobs" &&
   !find("Role", "flink-operator") && !find("Role", "flink")'
expect apache-set "append: false drops the built-in defaults; config.yaml wins over flink-conf.yaml" \
  'const c = yaml.load(find("ConfigMap", "flink-operator-config").data["config.yaml"]);
   c["kubernetes.operator.reconcile.interval"] === "30 s" && c["kubernetes.operator.observer.progress-check.interval"] === "5 s" &&
   !("metrics.reporter.prom.port" in c)'
step "helm template: Apache values, cluster-wide, existing roles"
render apache-existing "${APACHE_EXISTING[@]}"
node "$SRC/test/packaging/check_rendered.js" "$WORK/apache-existing.yaml" "$CHART" "$RELEASE_NS" "${APACHE_EXISTING[@]}" || exit 1
expect apache-existing "bindings to the existing roles, no roles" \
  'find("ClusterRoleBinding", "flink-operator-role-binding").roleRef.name === "existing-operator" &&
   find("RoleBinding", "flink-role-binding").roleRef.name === "existing-job" &&
   !docs.some((d) => d.kind === "ClusterRole" || (d.kind === "Role" && !d.metadata.name.endsWith("-leader-election")))'

step "NOTES.txt names the Apache values flink-cpp ignores"
# helm template leaves NOTES.txt out: a copy of the chart renders it as a template's value.
cp -r "$CHART" "$WORK/notes-chart"
{ echo '{{- define "test.notes" -}}'; cat "$CHART/templates/NOTES.txt"; echo '{{- end }}'; } > "$WORK/notes-chart/templates/_notes.tpl"
echo 'notes: {{ include "test.notes" . | toJson }}' > "$WORK/notes-chart/templates/notes.yaml"
rm "$WORK/notes-chart/templates/NOTES.txt"
notes() {  # notes NAME helm-args...: the rendered NOTES.txt in $WORK/NAME.notes
  local name=$1; shift
  helm template flink-operator "$WORK/notes-chart" --namespace "$RELEASE_NS" --show-only templates/notes.yaml "$@" 2>&1 |
    node -e 'console.log(require("js-yaml").load(require("fs").readFileSync(0, "utf8")).notes)' > "$WORK/$name.notes" ||
    fail "rendering NOTES.txt $*"
}
notes default
! grep -q 'not acted on' "$WORK/default.notes" || fail "NOTES.txt lists ignored values with our defaults:"$'\n'"$(cat "$WORK/default.notes")"
notes apache "${APACHE[@]}"
! grep -q '^- webhook' "$WORK/apache.notes" || fail "NOTES.txt names the webhook, which flink-cpp serves:"$'\n'"$(cat "$WORK/apache.notes")"
grep -q '^- defaultConfiguration.log4j-console.properties:' "$WORK/apache.notes" || fail "NOTES.txt does not name log4j-console.properties"
! grep -q '^- defaultConfiguration.log4j-operator.properties' "$WORK/apache.notes" \
  || fail "NOTES.txt names log4j-operator.properties, which the operator reads"
! grep -q '^- jvmArgs\|^- operatorHealth\|^- rbac.nodesRule' "$WORK/apache.notes" || fail "NOTES.txt lists Apache keys at their defaults:"$'\n'"$(cat "$WORK/apache.notes")"
notes apache-changed "${APACHE[@]}" --set jvmArgs.operator=-Xmx1g --set operatorHealth.port=8086 --set rbac.nodesRule.create=true \
  --set webhook.create=false
! grep -q '^- operatorHealth' "$WORK/apache-changed.notes" || fail "NOTES.txt names operatorHealth.port, which the chart honours"
for key in jvmArgs rbac.nodesRule.create; do
  grep -q "^- $key:" "$WORK/apache-changed.notes" || fail "NOTES.txt does not name $key set to a non-default value"
done
! grep -q '^- webhook' "$WORK/apache-changed.notes" || fail "NOTES.txt names the webhook with webhook.create=false"

step "values.schema.json declares every value and rejects bad ones"
node "$SRC/test/packaging/check_values_schema.js" "$CHART" "$SRC/test/packaging/apache-operator-values.yaml" || exit 1
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
# Typos in our keys are still refused next to the Apache values file (which has no such keys).
reject "Additional property nodeSelecter is not allowed" "${APACHE[@]}" --set operatorPod.nodeSelecter.disktype=ssd
reject "Additional property nmae is not allowed" "${APACHE[@]}" --set rbac.operatorRole.nmae=x
reject "Additional property apend is not allowed" "${APACHE[@]}" --set defaultConfiguration.apend=false
reject "Additional property enabeld is not allowed" "${APACHE[@]}" --set leaderElection.enabeld=true
reject "Additional property crate is not allowed" "${APACHE[@]}" --set operatorVolumes.crate=true
reject "dnsPolicy must be one of" --set operatorPod.dnsPolicy=Sometimes
reject "defaultConfiguration.flink-conf.yaml is not a YAML map" --set 'defaultConfiguration.flink-conf\.yaml=just text'

step "helm package holds the CRDs, dashboards and schema"
helm package "$CHART" --destination "$WORK" > /dev/null || fail "helm package"
listing=$(tar -tzf "$WORK"/flink-operator-*.tgz)
for f in values.schema.json templates/NOTES.txt conf/config.yaml $(cd "$CHART" && ls crds/*.yml dashboards/*.json); do
  grep -qx "flink-operator/$f" <<< "$listing" || fail "the packaged chart lacks $f"
done

echo "PASS: chart"
