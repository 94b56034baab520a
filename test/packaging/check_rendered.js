#!/usr/bin/env node
// Checks the objects `helm template` rendered from charts/flink-operator, as an API server and
// a security review would: shapes, names, the operator Deployment's hardening and arguments,
// least-privilege RBAC (exact rule sets, per namespace or cluster-wide), the Flink pods'
// service account and Role, Services and monitors selecting what they should, dashboards.
//
// usage: check_rendered.js RENDERED.yaml CHART_DIR RELEASE_NAMESPACE [--set key=value]...
//   the --set values are the ones given to helm (watchNamespaces={a,b}, rbac.create=false, ...)
//   and select what is expected. Needs js-yaml (NODE_PATH, scripts/install-tools.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const [file, chartDir, releaseNs, ...rest] = process.argv.slice(2);
const sets = {};
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--set') {
    const [k, ...v] = rest[++i].split('=');
    sets[k] = v.join('=');
  }
}
const values = yaml.load(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
const setOr = (key, def) => (key in sets ? sets[key] : def);
const bool = (key, def) => String(setOr(key, def)) === 'true';
const watch = 'watchNamespaces' in sets
  ? sets.watchNamespaces.replace(/^\{|\}$/g, '').split(',').filter(Boolean)
  : values.watchNamespaces;
const rbac = bool('rbac.create', values.rbac.create);
const leader = bool('leaderElection.enabled', values.leaderElection.enabled);
const port = Number(setOr('metrics.port', values.metrics.port));
const createSa = bool('operatorServiceAccount.create', values.operatorServiceAccount.create);
const saName = setOr('operatorServiceAccount.name', values.operatorServiceAccount.name);
const jobSa = setOr('jobServiceAccount.name', values.jobServiceAccount.name);
const createJobSa = bool('jobServiceAccount.create', values.jobServiceAccount.create);
const leaseName = setOr('leaderElection.leaseName', values.leaderElection.leaseName);
const monitors = {
  ServiceMonitor: bool('metrics.serviceMonitor.enabled', values.metrics.serviceMonitor.enabled),
  PodMonitor: bool('metrics.podMonitor.enabled', values.metrics.podMonitor.enabled),
  PrometheusRule: bool('prometheusRule.enabled', values.prometheusRule.enabled),
};

const errors = [];
const check = (cond, msg) => { if (!cond) errors.push(msg); };
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d && typeof d === 'object');
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition']);
const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const seen = new Set();

// Generic shape of every object.
for (const d of docs) {
  const id = `${d.kind}/${d.metadata && d.metadata.name}`;
  check(typeof d.apiVersion === 'string' && typeof d.kind === 'string', `${id}: apiVersion and kind`);
  check(d.metadata && typeof d.metadata.name === 'string', `${id}: metadata.name`);
  if (!d.metadata) continue;
  check(DNS1123.test(d.metadata.name) && d.metadata.name.length <= 253, `${id}: name is not a DNS-1123 subdomain`);
  if (CLUSTER_SCOPED.has(d.kind)) {
    check(d.metadata.namespace === undefined, `${id}: cluster-scoped object with a namespace`);
  } else {
    check(typeof d.metadata.namespace === 'string' && d.metadata.namespace !== '', `${id}: no metadata.namespace`);
  }
  for (const [k, v] of Object.entries(d.metadata.labels || {})) {
    check(typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v), `${id}: label ${k}=${v} is not a valid label value`);
  }
  for (const [k, v] of Object.entries(d.metadata.annotations || {})) {
    check(typeof v === 'string', `${id}: annotation ${k} is not a string`);
  }
  const key = `${d.apiVersion}/${d.kind}/${d.metadata.namespace || ''}/${d.metadata.name}`;
  check(!seen.has(key), `duplicate object ${key}`);
  seen.add(key);
}

const all = (kind) => docs.filter((d) => d.kind === kind);
const one = (kind, pred = () => true) => {
  const found = all(kind).filter(pred);
  check(found.length === 1, `expected one ${kind}, found ${found.length}`);
  return found[0];
};

// ---- the operator Deployment ----
const dep = one('Deployment');
if (dep) {
  check(dep.metadata.namespace === releaseNs, 'Deployment: not in the release namespace');
  const pod = dep.spec.template;
  check(eq(dep.spec.selector.matchLabels,
           Object.fromEntries(Object.entries(pod.metadata.labels).filter(([k]) => k in dep.spec.selector.matchLabels))),
        'Deployment: selector does not match the pod labels');
  const ps = pod.spec.securityContext || {};
  check(ps.runAsNonRoot === true, 'pod securityContext.runAsNonRoot');
  check(ps.runAsUser === 9999 && ps.runAsGroup === 9999, 'pod runs as 9999:9999 (the image user)');
  check(ps.seccompProfile && ps.seccompProfile.type === 'RuntimeDefault', 'pod seccompProfile RuntimeDefault');
  check(pod.spec.hostNetwork !== true && pod.spec.hostPID !== true, 'pod uses host namespaces');
  check(pod.spec.serviceAccountName === (createSa || saName ? saName : 'default'), `pod serviceAccountName ${pod.spec.serviceAccountName}`);
  check(pod.spec.containers.length === 1, 'one container');
  const c = pod.spec.containers[0];
  const cs = c.securityContext || {};
  check(cs.readOnlyRootFilesystem === true, 'container readOnlyRootFilesystem');
  check(cs.allowPrivilegeEscalation === false, 'container allowPrivilegeEscalation: false');
  check(cs.privileged !== true, 'container is privileged');
  check(cs.capabilities && eq(cs.capabilities.drop, ['ALL']) && !(cs.capabilities.add || []).length, 'container drops ALL capabilities, adds none');
  check(c.resources && c.resources.requests && c.resources.requests.cpu && c.resources.requests.memory, 'container resources.requests cpu and memory');
  check(c.resources && c.resources.limits && c.resources.limits.memory, 'container resources.limits.memory');
  check(/^[^:@]+(:[^:@]+|@sha256:[a-f0-9]+)$/.test(c.image), `container image ${c.image}`);
  const metricsPort = (c.ports || []).find((p) => p.name === 'metrics');
  check(metricsPort && metricsPort.containerPort === port, `container port metrics = ${port}`);
  const probe = (p, pathName) => p && p.httpGet && p.httpGet.path === pathName && p.httpGet.port === 'metrics';
  check(probe(c.livenessProbe, '/healthz'), 'livenessProbe GET /healthz on port metrics');
  check(probe(c.readinessProbe, '/readyz'), 'readinessProbe GET /readyz on port metrics');
  check(!c.startupProbe || probe(c.startupProbe, '/healthz'), 'startupProbe GET /healthz on port metrics');
  // Arguments: what `flink-cpp operator` accepts.
  const args = c.args || [];
  check(args[0] === 'operator', `args[0] = operator (the image's entrypoint is flink-cpp), got ${args[0]}`);
  const flag = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
  const known = new Set(['--namespaces', '--workers', '--metrics-port', '--leader-elect', '--lease-namespace',
                         '--lease-name', '--default-image', '--kubeconfig', '--resync-seconds']);
  for (let i = 1; i < args.length; i++) {
    check(known.has(args[i]), `unknown operator argument ${args[i]}`);
    if (args[i] !== '--leader-elect') i++;
  }
  check(flag('--metrics-port') === String(port), '--metrics-port = metrics.port');
  check(/^[1-9][0-9]*$/.test(flag('--workers') || ''), '--workers is a number');
  check(!!flag('--default-image'), '--default-image');
  if (watch.length) {
    check(flag('--namespaces') === [...new Set(watch)].join(','), `--namespaces ${flag('--namespaces')}`);
    const env = (c.env || []).find((e) => e.name === 'WATCH_NAMESPACES');
    check(env && env.value === [...new Set(watch)].join(','), 'WATCH_NAMESPACES');
  } else {
    check(flag('--namespaces') === undefined, '--namespaces without watchNamespaces');
  }
  check((c.env || []).some((e) => e.name === 'OPERATOR_NAMESPACE' && e.valueFrom.fieldRef.fieldPath === 'metadata.namespace'),
        'OPERATOR_NAMESPACE from the downward API');
  if (leader) {
    check(args.includes('--leader-elect'), '--leader-elect');
    check(flag('--lease-namespace') === releaseNs, '--lease-namespace = release namespace');
    check(flag('--lease-name') === leaseName, '--lease-name');
  } else {
    check(!args.includes('--leader-elect'), 'no --leader-elect');
    check(dep.spec.replicas <= 1, 'replicas <= 1 without leader election');
  }
  // Every mounted volume exists; /tmp is writable despite the read-only root.
  const vols = new Set((pod.spec.volumes || []).map((v) => v.name));
  for (const m of c.volumeMounts || []) check(vols.has(m.name), `volumeMount ${m.name} has no volume`);
  check((c.volumeMounts || []).some((m) => m.mountPath === '/tmp'), 'a writable /tmp');
  for (const v of pod.spec.volumes || []) {
    if (v.configMap) check(docs.some((d) => d.kind === 'ConfigMap' && d.metadata.name === v.configMap.name), `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
  }

  // ---- metrics Service and monitors ----
  const svc = one('Service');
  if (svc) {
    for (const [k, v] of Object.entries(svc.spec.selector)) check(pod.metadata.labels[k] === v, `Service selector ${k}=${v} does not select the operator pod`);
    check(svc.spec.ports.some((p) => p.name === 'metrics' && p.port === port && p.targetPort === 'metrics'), 'Service port metrics');
  }
  if (monitors.ServiceMonitor) {
    const sm = one('ServiceMonitor');
    if (sm && svc) {
      check(sm.apiVersion === 'monitoring.coreos.com/v1', 'ServiceMonitor apiVersion');
      for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) check(svc.metadata.labels[k] === v, `ServiceMonitor selector ${k}=${v} does not select the Service`);
      check(eq(sm.spec.namespaceSelector.matchNames, [releaseNs]), 'ServiceMonitor namespaceSelector');
      check(sm.spec.endpoints.some((e) => e.port === 'metrics' && e.path === '/metrics'), 'ServiceMonitor endpoint port metrics');
    }
  } else check(all('ServiceMonitor').length === 0, 'ServiceMonitor rendered while disabled');
}

if (monitors.PodMonitor) {
  const pm = one('PodMonitor');
  if (pm) {
    check(pm.apiVersion === 'monitoring.coreos.com/v1', 'PodMonitor apiVersion');
    const ex = pm.spec.selector.matchExpressions || [];
    check(ex.some((e) => e.key === 'app' && e.operator === 'Exists'), 'PodMonitor selects pods with label app');
    check(pm.spec.podMetricsEndpoints.some((e) => e.port === 'metrics'), 'PodMonitor port metrics');
    check(eq(pm.spec.podTargetLabels, ['app', 'component']), 'PodMonitor podTargetLabels app, component');
    if (watch.length) check(eq(pm.spec.namespaceSelector.matchNames, [...new Set(watch)]), 'PodMonitor namespaces = watchNamespaces');
    else check(pm.spec.namespaceSelector.any === true, 'PodMonitor namespaceSelector any');
  }
} else check(all('PodMonitor').length === 0, 'PodMonitor rendered while disabled');
if (monitors.PrometheusRule) {
  const pr = one('PrometheusRule');
  if (pr) check(pr.spec.groups.length >= 2, 'PrometheusRule groups');
} else check(all('PrometheusRule').length === 0, 'PrometheusRule rendered while disabled');

// ---- RBAC ----
// Rules as a set of "group resource verb [resourceNames]" so the comparison is exact.
const tuples = (rules) => {
  const out = [];
  for (const r of rules || []) {
    for (const g of r.apiGroups || []) for (const res of r.resources || []) for (const v of r.verbs || []) {
      check(g !== '*' && res !== '*' && v !== '*', `wildcard in rule ${JSON.stringify(r)}`);
      out.push(`${g || 'core'} ${res} ${v}${r.resourceNames ? ' ' + r.resourceNames.join(',') : ''}`);
    }
  }
  return out.sort();
};
const ruleDiff = (got, want) =>
  `extra: [${got.filter((t) => !want.includes(t)).join('; ')}] missing: [${want.filter((t) => !got.includes(t)).join('; ')}]`;
const expand = (spec) => spec.flatMap(([g, res, verbs]) => res.flatMap((r) => verbs.map((v) => `${g} ${r} ${v}`))).sort();
const OPERATOR_RULES = expand([
  ['flink.apache.org', ['flinkdeployments', 'flinkdeployments/status', 'flinkdeployments/scale', 'flinkdeployments/finalizers',
                        'flinkstatesnapshots/status', 'flinkstatesnapshots/finalizers'],
   ['get', 'list', 'watch', 'update', 'patch']],
  ['flink.apache.org', ['flinkstatesnapshots'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['pods'], ['get', 'list', 'watch']],
  ['apps', ['deployments'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['services', 'configmaps'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['networking.k8s.io', ['ingresses'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['events'], ['create', 'patch']],
]);
const JOB_RULES = expand([
  ['core', ['configmaps'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']],
  ['coordination.k8s.io', ['leases'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
]);
const LEASE_RULES = [`coordination.k8s.io leases create`,
                     `coordination.k8s.io leases get ${leaseName}`, `coordination.k8s.io leases update ${leaseName}`].sort();
const bindsTo = (b, kind, name, subjectName, subjectNs) =>
  b.roleRef.kind === kind && b.roleRef.name === name && b.roleRef.apiGroup === 'rbac.authorization.k8s.io' &&
  b.subjects.length === 1 && b.subjects[0].kind === 'ServiceAccount' && b.subjects[0].name === subjectName &&
  b.subjects[0].namespace === subjectNs;
const roles = all('Role');
const bindings = all('RoleBinding');
const jobNamespaces = watch.length ? [...new Set(watch)] : [releaseNs];
if (!rbac) {
  check(roles.length + bindings.length + all('ClusterRole').length + all('ClusterRoleBinding').length === 0, 'RBAC objects with rbac.create=false');
} else {
  const opRoles = roles.filter((r) => eq(tuples(r.rules), OPERATOR_RULES));
  if (watch.length) {
    check(all('ClusterRole').length === 0 && all('ClusterRoleBinding').length === 0, 'cluster-wide RBAC although watchNamespaces is set');
    check(eq(opRoles.map((r) => r.metadata.namespace).sort(), [...jobNamespaces].sort()), `operator Roles in ${opRoles.map((r) => r.metadata.namespace)}, expected ${watch}`);
    for (const r of opRoles) {
      check(bindings.some((b) => b.metadata.namespace === r.metadata.namespace && bindsTo(b, 'Role', r.metadata.name, saName, releaseNs)),
            `no RoleBinding of the operator Role in ${r.metadata.namespace}`);
    }
  } else {
    const cr = one('ClusterRole');
    if (cr) {
      check(eq(tuples(cr.rules), OPERATOR_RULES), `ClusterRole rules ${ruleDiff(tuples(cr.rules), OPERATOR_RULES)}`);
      const crb = one('ClusterRoleBinding');
      if (crb) check(bindsTo(crb, 'ClusterRole', cr.metadata.name, saName, releaseNs), 'ClusterRoleBinding binds the ClusterRole to the operator');
    }
    check(opRoles.length === 0, 'namespaced operator Roles without watchNamespaces');
  }
  const leaseRoles = roles.filter((r) => eq(tuples(r.rules), LEASE_RULES));
  if (leader) {
    check(leaseRoles.length === 1 && leaseRoles[0].metadata.namespace === releaseNs, 'a Lease Role in the release namespace');
    if (leaseRoles.length === 1) {
      check(bindings.some((b) => b.metadata.namespace === releaseNs && bindsTo(b, 'Role', leaseRoles[0].metadata.name, saName, releaseNs)),
            'the Lease Role is bound to the operator');
    }
  } else check(leaseRoles.length === 0, 'Lease Role without leader election');
  const jobRoles = roles.filter((r) => eq(tuples(r.rules), JOB_RULES));
  check(eq(jobRoles.map((r) => r.metadata.namespace).sort(), [...jobNamespaces].sort()), `job Roles in ${jobRoles.map((r) => r.metadata.namespace)}`);
  for (const r of jobRoles) {
    check(r.metadata.name === jobSa, `job Role name ${r.metadata.name}`);
    check(bindings.some((b) => b.metadata.namespace === r.metadata.namespace && bindsTo(b, 'Role', r.metadata.name, jobSa, r.metadata.namespace)),
          `job Role in ${r.metadata.namespace} is not bound to ${jobSa}`);
  }
  const known = new Set([...opRoles, ...leaseRoles, ...jobRoles]);
  for (const r of roles) {
    check(known.has(r), `unexpected Role ${r.metadata.namespace}/${r.metadata.name}: rules ${ruleDiff(tuples(r.rules),
      r.metadata.name === jobSa ? JOB_RULES : r.metadata.name.endsWith('leader-election') ? LEASE_RULES : OPERATOR_RULES)}`);
  }
  for (const b of [...bindings, ...all('ClusterRoleBinding')]) {
    for (const s of b.subjects) {
      check(all('ServiceAccount').some((sa) => sa.metadata.name === s.name && sa.metadata.namespace === s.namespace) ||
            (s.name === saName && !createSa) || (s.name === jobSa && !createJobSa),
            `binding ${b.metadata.name}: subject ${s.namespace}/${s.name} is not a rendered ServiceAccount`);
    }
  }
}
// Service accounts.
const sas = all('ServiceAccount');
check(sas.some((s) => s.metadata.name === saName && s.metadata.namespace === releaseNs) === createSa, 'operator ServiceAccount');
for (const ns of jobNamespaces) {
  check(sas.some((s) => s.metadata.name === jobSa && s.metadata.namespace === ns) === createJobSa, `job ServiceAccount ${jobSa} in ${ns}`);
}

// ---- dashboards ----
const dashboardsOn = bool('dashboards.enabled', values.dashboards.enabled);
const files = fs.readdirSync(path.join(chartDir, 'dashboards')).filter((f) => f.endsWith('.json'));
const dashCms = all('ConfigMap').filter((c) => c.metadata.labels && c.metadata.labels[values.dashboards.label] !== undefined);
if (dashboardsOn) {
  check(dashCms.length === files.length, `${dashCms.length} dashboard ConfigMaps for ${files.length} dashboards`);
  for (const f of files) {
    const cm = dashCms.find((c) => c.data && f in c.data);
    check(cm, `no ConfigMap with ${f}`);
    if (!cm) continue;
    check(cm.metadata.labels[values.dashboards.label] === String(setOr('dashboards.labelValue', values.dashboards.labelValue)), `${f}: sidecar label value`);
    check(cm.data[f] === fs.readFileSync(path.join(chartDir, 'dashboards', f), 'utf8').replace(/\n$/, ''), `${f}: ConfigMap content differs from the file`);
    check(Buffer.byteLength(JSON.stringify(cm)) < 1024 * 1024, `${f}: ConfigMap over 1 MiB`);
  }
} else check(dashCms.length === 0, 'dashboard ConfigMaps while disabled');

if (errors.length) {
  console.log(`FAIL: ${file}:\n- ${errors.join('\n- ')}`);
  process.exit(1);
}
const kinds = {};
for (const d of docs) kinds[d.kind] = (kinds[d.kind] || 0) + 1;
console.log(`ok ${path.basename(file)}: ${docs.length} objects (${Object.entries(kinds).map(([k, n]) => `${n} ${k}`).join(', ')})`);
