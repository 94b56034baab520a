#!/usr/bin/env node
// Cross-checks the PromQL of the Grafana dashboards and of the alerting rules against the
// metrics the project exports (exported-metrics.txt), and checks the dashboards' structure.
//
// usage: check_promql.js METRICS.txt --dashboards DIR [--rules RULES.yml] --rules-out OUT.yml
//   --dashboards DIR  every *.json: parses; unique uid and panel ids; panels on the grid without
//                     overlap; datasource ${datasource}; template variables namespace (and on the
//                     jobs dashboard deployment and job) defined, every $variable used is defined;
//                     every expression (panel targets, variable queries) names only exported
//                     metrics (histograms with _bucket/_sum/_count).
//   --rules FILE      a Prometheus rules file (the chart's PrometheusRule spec): the same metric
//                     check on every expr.
//   --rules-out FILE  writes every dashboard expression, Grafana variables replaced by values, as
//                     recording rules, so that `promtool check rules FILE` parses each of them.
// Needs js-yaml on NODE_PATH (scripts/install-tools.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
const allowed = new Set();
for (const line of fs.readFileSync(args[0], 'utf8').split('\n')) {
  const [name, kind] = line.replace(/#.*/, '').trim().split(/\s+/);
  if (!name) continue;
  allowed.add(name);
  if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) allowed.add(name + s);
  if (kind === 'summary') for (const s of ['_sum', '_count']) allowed.add(name + s);
}
const errors = [];
const used = new Set();

// Grafana's variables replaced by values PromQL accepts where they stand.
function substitute(expr) {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}|\$__interval|\$\{__interval\}/g, '5m')
    .replace(/\$__range|\$\{__range\}/g, '1h')
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\}?/g, '.*');
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right',
                          'bool', 'offset', 'inf', 'nan', 'atan2', 'start', 'end']);
// The metric names an expression selects: identifiers that are not functions, keywords, label
// names (inside {} or grouping lists) or inside strings and range brackets.
function metricNames(expr) {
  let e = expr.replace(/"(\\.|[^"\\])*"|'(\\.|[^'\\])*'|`[^`]*`/g, '""');
  e = e.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [];
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  let m;
  while ((m = re.exec(e))) {
    const before = e[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue; // 5m, 1e3, 0.99
    const after = e.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after)) continue; // a function
    if (KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

function checkExpr(expr, where) {
  const names = metricNames(substitute(expr));
  if (names.length === 0) errors.push(`${where}: no metric in ${expr}`);
  for (const n of names) {
    used.add(n);
    if (!allowed.has(n)) errors.push(`${where}: metric ${n} is not exported (${expr})`);
  }
}

const recording = [];
const dashDir = opt('--dashboards');
if (dashDir) {
  const uids = new Set();
  for (const f of fs.readdirSync(dashDir).filter((x) => x.endsWith('.json')).sort()) {
    let d;
    try {
      d = JSON.parse(fs.readFileSync(path.join(dashDir, f), 'utf8'));
    } catch (e) {
      errors.push(`${f}: not JSON: ${e.message}`);
      continue;
    }
    const where = (s) => `${f}: ${s}`;
    if (!d.uid || uids.has(d.uid)) errors.push(where(`missing or duplicate uid ${d.uid}`));
    uids.add(d.uid);
    if (!d.title) errors.push(where('no title'));
    const vars = (d.templating && d.templating.list) || [];
    const varNames = new Set(vars.map((v) => v.name));
    const needed = ['datasource', 'namespace'].concat(/jobs/.test(f) ? ['deployment', 'job'] : []);
    for (const n of needed) if (!varNames.has(n)) errors.push(where(`no template variable ${n}`));
    const referenced = new Set();
    const refs = (s) => { for (const m of s.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) if (!m[1].startsWith('__')) referenced.add(m[1]); };
    let n = 0;
    for (const v of vars) {
      if (v.type !== 'query') continue;
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const lv = /^label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(q);
      if (!lv) { errors.push(where(`variable ${v.name}: not label_values(selector, label): ${q}`)); continue; }
      checkExpr(lv[1], where(`variable ${v.name}`));
      refs(lv[1]);
      recording.push({ record: `dashboard:${f.replace(/\W/g, '_')}:var_${v.name}`, expr: substitute(lv[1]) });
      n++;
    }
    // Panels: ids, grid, datasource, targets.
    const ids = new Set();
    const cells = new Set();
    const panels = [];
    for (const p of d.panels || []) { panels.push(p); for (const c of p.panels || []) panels.push(c); }
    for (const p of panels) {
      const pw = where(`panel ${p.id} "${p.title}"`);
      if (ids.has(p.id)) errors.push(`${pw}: duplicate id`);
      ids.add(p.id);
      const g = p.gridPos || {};
      if (!(g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24 && g.y >= 0)) errors.push(`${pw}: gridPos ${JSON.stringify(g)}`);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        if (cells.has(`${x},${y}`)) { errors.push(`${pw}: overlaps another panel at ${x},${y}`); x = 99; break; }
        cells.add(`${x},${y}`);
      }
      if (p.type === 'row') continue;
      if (!p.datasource || p.datasource.uid !== '${datasource}') errors.push(`${pw}: datasource is not \${datasource}`);
      if (!p.targets || !p.targets.length) errors.push(`${pw}: no targets`);
      for (const t of p.targets || []) {
        if (!t.expr) { errors.push(`${pw}: target ${t.refId} without expr`); continue; }
        checkExpr(t.expr, pw);
        refs(t.expr);
        recording.push({ record: `dashboard:${f.replace(/\W/g, '_')}:panel_${p.id}_${t.refId}`, expr: substitute(t.expr) });
        n++;
      }
    }
    for (const r of referenced) if (!varNames.has(r)) errors.push(where(`$${r} is used but not a template variable`));
    for (const v of varNames) if (v !== 'datasource' && !referenced.has(v)) errors.push(where(`template variable ${v} is never used`));
    console.log(`${f}: ${panels.length} panels, ${n} expressions, variables ${[...varNames].join(', ')}`);
  }
}

const rulesFile = opt('--rules');
if (rulesFile) {
  const doc = yaml.load(fs.readFileSync(rulesFile, 'utf8'));
  let n = 0;
  for (const g of doc.groups || []) {
    for (const r of g.rules || []) {
      checkExpr(String(r.expr), `${path.basename(rulesFile)}: ${g.name}/${r.alert || r.record}`);
      n++;
    }
  }
  console.log(`${path.basename(rulesFile)}: ${n} rules`);
}

const out = opt('--rules-out');
if (out) fs.writeFileSync(out, yaml.dump({ groups: [{ name: 'dashboard-expressions', rules: recording }] }, { lineWidth: -1 }));

if (errors.length) {
  console.log(`FAIL:\n- ${errors.join('\n- ')}`);
  process.exit(1);
}
// Exported metrics no dashboard shows (information: a new metric may deserve a panel).
const base = (m) => m.replace(/_(bucket|sum|count)$/, '');
const usedBase = new Set([...used].map(base));
const unused = [...allowed].filter((m) => m === base(m) && !used.has(m) && !usedBase.has(m));
console.log(`ok: ${used.size} metric names used, all exported` +
            (dashDir && unused.length ? `; no dashboard shows ${unused.join(', ')}` : ''));
