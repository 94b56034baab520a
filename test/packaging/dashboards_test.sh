#!/usr/bin/env bash
# The Grafana dashboards in charts/flink-operator/dashboards: JSON that parses, the structure
# Grafana needs (unique uid and panel ids, grid, ${datasource}, template variables namespace,
# deployment, job), every PromQL expression names only exported metrics (exported-metrics.txt)
# and parses (`promtool check rules` on them as recording rules, Grafana variables replaced);
# the chart ships them in ConfigMaps with the grafana sidecar label.
# usage: dashboards_test.sh SOURCE_DIR
SRC=$(cd "$1" && pwd)
source "$SRC/test/packaging/lib.sh"
tools helm js-yaml node promtool

step "dashboards: structure and metric names"
node "$SRC/test/packaging/check_promql.js" "$SRC/test/packaging/exported-metrics.txt" \
  --dashboards "$CHART/dashboards" --rules-out "$WORK/dashboard-expressions.yml" || exit 1

step "dashboards: every expression parses (promtool)"
promtool check rules "$WORK/dashboard-expressions.yml" || fail "a dashboard expression does not parse"

step "dashboards: ConfigMaps for the Grafana sidecar"
render dash --set dashboards.namespace=monitoring --set dashboards.annotations.grafana_folder=Flink
node -e '
  const fs = require("fs"), yaml = require("js-yaml");
  const [file, dir] = process.argv.slice(1);
  const cms = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d && d.kind === "ConfigMap" && d.metadata.labels.grafana_dashboard);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json"));
  let bad = 0;
  const fail = (m) => { console.log("FAIL: " + m); bad++; };
  if (cms.length !== files.length) fail(`${cms.length} ConfigMaps for ${files.length} dashboards`);
  for (const cm of cms) {
    if (cm.metadata.labels.grafana_dashboard !== "1") fail(`${cm.metadata.name}: grafana_dashboard label is not "1"`);
    if (cm.metadata.namespace !== "monitoring") fail(`${cm.metadata.name}: dashboards.namespace not applied`);
    if (cm.metadata.annotations.grafana_folder !== "Flink") fail(`${cm.metadata.name}: dashboards.annotations not applied`);
    for (const [k, v] of Object.entries(cm.data)) JSON.parse(v);
  }
  process.exit(bad ? 1 : 0);
' "$WORK/dash.yaml" "$CHART/dashboards" || exit 1

echo "PASS: dashboards"
