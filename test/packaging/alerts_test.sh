#!/usr/bin/env bash
# The chart's PrometheusRule: its spec, extracted from `helm template`, passes
# `promtool check rules`; the alerts fire and resolve as alerts_test.yml expects
# (`promtool test rules`); every expression names only exported metrics (check_promql.js).
# usage: alerts_test.sh SOURCE_DIR
SRC=$(cd "$1" && pwd)
source "$SRC/test/packaging/lib.sh"
tools helm js-yaml node promtool

# extract_rules RENDERED OUT: the PrometheusRule's spec (a Prometheus rules file).
extract_rules() {
  node -e '
    const fs = require("fs"), yaml = require("js-yaml");
    const docs = yaml.loadAll(fs.readFileSync(process.argv[1], "utf8")).filter((d) => d && d.kind === "PrometheusRule");
    if (docs.length !== 1) { console.error(`expected one PrometheusRule, found ${docs.length}`); process.exit(1); }
    fs.writeFileSync(process.argv[2], yaml.dump(docs[0].spec, { lineWidth: -1 }));
  ' "$1" "$2" || fail "no PrometheusRule in $1"
}

step "no PrometheusRule unless prometheusRule.enabled"
render off
! grep -q '^kind: PrometheusRule' "$WORK/off.yaml" || fail "PrometheusRule rendered by default"

step "promtool check rules (default thresholds)"
render rules --set prometheusRule.enabled=true
extract_rules "$WORK/rules.yaml" "$WORK/rules.yml"
promtool check rules "$WORK/rules.yml" || fail "promtool check rules"

step "promtool check rules (custom thresholds and labels)"
render custom --set prometheusRule.enabled=true --set prometheusRule.restartThreshold=3 \
  --set prometheusRule.restartWindow=1h --set prometheusRule.checkpointStaleWindow=2h \
  --set prometheusRule.reconcileErrorRatio=0.5 --set prometheusRule.alertLabels.team=data \
  --set prometheusRule.alertLabels.severity=page
extract_rules "$WORK/custom.yaml" "$WORK/custom.yml"
promtool check rules "$WORK/custom.yml" || fail "promtool check rules (custom)"
grep -q 'increase(flink_jobmanager_job_numRestarts\[1h\]) > 3' "$WORK/custom.yml" || fail "restart threshold and window not applied"
[ "$(grep -c 'severity: page' "$WORK/custom.yml")" = 5 ] || fail "alertLabels.severity does not override the default severity"
[ "$(grep -c 'team: data' "$WORK/custom.yml")" = 5 ] || fail "alertLabels not on every alert"

step "promtool test rules (alerts_test.yml)"
cp "$SRC/test/packaging/alerts_test.yml" "$WORK/alerts_test.yml"
(cd "$WORK" && promtool test rules alerts_test.yml) || fail "promtool test rules"

step "the alerts name only exported metrics"
node "$SRC/test/packaging/check_promql.js" "$SRC/test/packaging/exported-metrics.txt" --rules "$WORK/rules.yml" || exit 1

echo "PASS: alerts"
