#!/usr/bin/env node
// Checks the objects `helm template` rendered from charts/flink-operator, as an API server and
// a security review would: shapes, names, the operator Deployment's hardening and arguments,
// least-privilege RBAC (exact rule sets, per namespace or cluster-wide), the Flink pods'
// service account and Role, Services and monitors selecting what they should, dashboards.
//
// usage: check_rendered.js RENDERED.yaml CHART_DIR RELEASE_NAMESPACE [-f VALUES.yaml | --set key=value]...
//   the -f files and --set values are the ones given to helm (watchNamespaces={a,b},
//   rbac.create=false, a values file of the Apache operator's chart, ...), merged over the
//   chart's values.yaml as helm merges them, and select what is expected. The release is
//   named flink-operator (its full name too). Needs js-yaml (NODE_PATH, scripts/install-tools.sh).
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const [file, chartDir, releaseNs, ...rest] = process.argv.slice(2);
const FULLNAME = 'flink-operator';
const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
// Helm's merge of a values file over the defaults: maps merge, anything else replaces, null deletes.
const mergeInto = (base, over) => {
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete base[k];
    else if (isMap(v) && isMap(base[k])) mergeInto(base[k], v);
    else base[k] = v;
  }
  return base;
};
// --set a.b\.c[0].d=v as helm parses it: {x,y} a list, true/false, integers, null deletes.
const setValue = (root, expr) => {
  const eqAt = expr.search(/(?<!\\)=/);
  const keyPath = expr.slice(0, eqAt);
  const raw = expr.slice(eqAt + 1);
  const parsed = /^\{.*\}$/.test(raw) ? raw.slice(1, -1).split(',').filter(Boolean)
    : raw === 'true' ? true : raw === 'false' ? false : raw === 'null' ? null
    : /^-?[0-9]+$/.test(raw) ? Number(raw) : raw;
  const keys = [];
  for (const part of keyPath.split(/(?<!\\)\./)) {
    const m = /^(.*?)((\[[0-9]+\])*)$/.exec(part.replace(/\\\./g, '.'));
    keys.push(m[1]);
    for (const idx of m[2].match(/[0-9]+/g) || []) keys.push(Number(idx));
  }
  let node = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) {
      if (parsed === null) delete node[k]; else node[k] = parsed;
    } else {
      if (node[k] === undefined || node[k] === null) node[k] = typeof keys[i + 1] === 'number' ? [] : {};
      node = node[k];
    }
  });
};
const defaults = yaml.load(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'));
const V = JSON.parse(JSON.stringify(defaults));
for (let i = 0; i < rest.length; i++) {
  if (rest[i] === '--set') setValue(V, rest[++i]);
  else if (rest[i] === '-f') mergeInto(V, yaml.load(fs.readFileSync(rest[++i], 'utf8')) || {});
  else throw new Error(`unknown argument ${rest[i]}`);
}
const val = (key) => key.split('.').reduce((n, k) => (n === undefined || n === null ? undefined : n[k]), V);
const bool = (key) => val(key) === true;
const watch = val('watchNamespaces') || [];
const rbac = bool('rbac.create');
const leader = bool('leaderElection.enabled');
const port = Number(val('metrics.port') || 9999);
const createSa = bool('operatorServiceAccount.create');
const saName = val('operatorServiceAccount.name');
const jobSa = val('jobServiceAccount.name');
const createJobSa = bool('jobServiceAccount.create');
const leaseName = val('leaderElection.leaseName');
const rbacObject = (key, defName) => ({ create: bool(`rbac.${key}.create`), name: val(`rbac.${key}.name`) || defName });
const opRole = rbacObject('operatorRole', FULLNAME);
const opBinding = rbacObject('operatorRoleBinding', FULLNAME);
const jobRole = rbacObject('jobRole', jobSa);
const jobBinding = rbacObject('jobRoleBinding', jobSa);
const webhook = bool('webhook.create');
const WEBHOOK_SERVICE = 'flink-operator-webhook-service';
const WEBHOOK_CONFIG = `flink-operator-${releaseNs}-webhook-configuration`;
const monitors = {
  ServiceMonitor: bool('metrics.serviceMonitor.enabled'),
  PodMonitor: bool('metrics.podMonitor.enabled'),
  PrometheusRule: bool('prometheusRule.enabled'),
};

const errors = [];
const check = (cond, msg) => { if (!cond) errors.push(msg); };
const eq = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d && typeof d === 'object');
const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding', 'Namespace', 'CustomResourceDefinition',
                                'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
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

// Deep equality whatever the order of keys; `empty` is what the chart renders as no field.
const canon = (v) => (Array.isArray(v) ? v.map(canon)
  : isMap(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v);
const same = (a, b) => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
const empty = (v) => v === undefined || v === null || v === '' || (typeof v === 'object' && Object.keys(v).length === 0);
// A field the chart copies from a value: absent when the value is empty, else equal to it.
const copied = (got, key, what) =>
  check(empty(val(key)) ? got === undefined : same(got, val(key)), `${what} = ${JSON.stringify(got)}, ${key} is ${JSON.stringify(val(key))}`);
// Every key of the value's map is in the rendered map with the same value.
const within = (got, key, what) => {
  for (const [k, v] of Object.entries(val(key) || {})) check(got && same(got[k], v), `${what}.${k} = ${JSON.stringify(got && got[k])}, ${key}.${k} is ${JSON.stringify(v)}`);
};
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
  const sidecars = val('operatorPod.sidecarContainers') || [];
  check(pod.spec.containers.length === 1 + sidecars.length, `${pod.spec.containers.length} containers, expected the operator and ${sidecars.length} sidecars`);
  const c = pod.spec.containers[0];
  check(c.name === 'flink-operator', `the first container is ${c.name}, not flink-operator`);
  check(sidecars.every((x, i) => same(pod.spec.containers[i + 1], x)), 'operatorPod.sidecarContainers after the operator container');
  const cs = c.securityContext || {};
  check(cs.readOnlyRootFilesystem === true, 'container readOnlyRootFilesystem');
  check(cs.allowPrivilegeEscalation === false, 'container allowPrivilegeEscalation: false');
  check(cs.privileged !== true, 'container is privileged');
  check(cs.capabilities && eq(cs.capabilities.drop, ['ALL']) && !(cs.capabilities.add || []).length, 'container drops ALL capabilities, adds none');
  check(c.resources && c.resources.requests && c.resources.requests.cpu && c.resources.requests.memory, 'container resources.requests cpu and memory');
  check(c.resources && c.resources.limits && c.resources.limits.memory, 'container resources.limits.memory');
  check(/^[^:@]+(:[^:@]+|@sha256:[a-f0-9]+)$/.test(c.image), `container image ${c.image}`);
  // The values the chart passes through (ours, and the Apache operator chart's).
  const appVersion = yaml.load(fs.readFileSync(path.join(chartDir, 'Chart.yaml'), 'utf8')).appVersion;
  const img = val('image');
  const wantImage = img.digest ? `${img.repository}@${img.digest}` : `${img.repository}:${img.tag || appVersion}`;
  check(c.image === wantImage, `container image ${c.image}, expected ${wantImage}`);
  check(c.imagePullPolicy === img.pullPolicy, `imagePullPolicy ${c.imagePullPolicy}, image.pullPolicy ${img.pullPolicy}`);
  check(dep.spec.replicas === val('replicas'), `replicas ${dep.spec.replicas}`);
  copied(dep.spec.strategy, 'strategy', 'Deployment strategy');
  copied(pod.spec.imagePullSecrets, 'imagePullSecrets', 'pod imagePullSecrets');
  for (const f of ['nodeSelector', 'affinity', 'tolerations', 'topologySpreadConstraints', 'priorityClassName', 'dnsPolicy',
                   'dnsConfig', 'initContainers']) {
    copied(pod.spec[f], `operatorPod.${f}`, `pod ${f}`);
  }
  copied(c.envFrom, 'operatorPod.envFrom', 'container envFrom');
  copied(c.resources, 'operatorPod.resources', 'container resources');
  within(pod.metadata.labels, 'operatorPod.labels', 'pod label');
  within(pod.metadata.annotations, 'operatorPod.annotations', 'pod annotation');
  within(ps, 'podSecurityContext', 'pod securityContext');
  within(cs, 'operatorSecurityContext', 'container securityContext');
  for (const e of val('operatorPod.env') || []) check((c.env || []).some((x) => same(x, e)), `operatorPod.env ${e.name} is not in the container env`);
  // operatorVolumes / operatorVolumeMounts (the Apache chart's {create, data}): added with create only.
  for (const [key, list, what] of [['operatorVolumes', pod.spec.volumes || [], 'volume'],
                                   ['operatorVolumeMounts', c.volumeMounts || [], 'volumeMount']]) {
    const on = bool(`${key}.create`);
    for (const item of val(`${key}.data`) || []) {
      check(list.some((x) => same(x, item)) === on, `${key}.data ${item.name}: ${on ? 'not rendered as' : 'rendered as'} a ${what} with create: ${on}`);
    }
  }
  // Probe timings from operatorHealth; the check itself is the chart's.
  for (const p of ['livenessProbe', 'readinessProbe', 'startupProbe']) within(c[p], `operatorHealth.${p}`, p);
  const metricsPort = (c.ports || []).find((p) => p.name === 'metrics');
  check(metricsPort && metricsPort.containerPort === port, `container port metrics = ${port}`);
  // operatorHealth.port (default 8085): the operator's --health-port, a container port "health" the
  // probes use; the same as the metrics port: no second port, the probes on "metrics".
  const healthPort = Number(val('operatorHealth.port') || 8085);
  const probePort = healthPort === port ? 'metrics' : 'health';
  const healthDecl = (c.ports || []).find((p) => p.name === 'health');
  const healthArg = (c.args || []).indexOf('--health-port');
  if (healthPort === port) {
    check(!healthDecl && healthArg < 0, 'no health port when operatorHealth.port is the metrics port');
  } else {
    check(healthDecl && healthDecl.containerPort === healthPort, `container port health = ${healthPort}`);
    check(healthArg >= 0 && c.args[healthArg + 1] === String(healthPort), `--health-port ${healthPort} in the operator's args`);
  }
  const probe = (p, pathName) => p && p.httpGet && p.httpGet.path === pathName && p.httpGet.port === probePort;
  check(probe(c.livenessProbe, '/healthz'), `livenessProbe GET /healthz on port ${probePort}`);
  check(probe(c.readinessProbe, '/readyz'), `readinessProbe GET /readyz on port ${probePort}`);
  check(!c.startupProbe || probe(c.startupProbe, '/healthz'), `startupProbe GET /healthz on port ${probePort}`);
  // Arguments: what `flink-cpp operator` accepts.
  const args = c.args || [];
  check(args[0] === 'operator', `args[0] = operator (the image's entrypoint is flink-cpp), got ${args[0]}`);
  const flag = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
  const known = new Set(['--namespaces', '--workers', '--metrics-port', '--leader-elect', '--lease-namespace',
                         '--lease-name', '--default-image', '--kubeconfig', '--resync-seconds', '--health-port',
                         '--webhook-port', '--webhook-configuration']);
  for (let i = 1; i < args.length; i++) {
    check(known.has(args[i]), `unknown operator argument ${args[i]}`);
    if (args[i] !== '--leader-elect') i++;
  }
  check(flag('--metrics-port') === String(port), '--metrics-port = metrics.port');
  // The admission webhook: served by the operator on 9443 (the Service's target port webhook-server).
  const webhookDecl = (c.ports || []).find((p) => p.name === 'webhook-server');
  if (webhook) {
    check(flag('--webhook-port') === '9443' && webhookDecl && webhookDecl.containerPort === 9443, '--webhook-port 9443 and container port webhook-server');
    check(flag('--webhook-configuration') === WEBHOOK_CONFIG, `--webhook-configuration ${WEBHOOK_CONFIG}`);
  } else {
    check(flag('--webhook-port') === undefined && !webhookDecl, 'no webhook port with webhook.create false');
  }
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
  const svc = one('Service', (x) => x.metadata.name !== WEBHOOK_SERVICE);
  // ---- the admission webhook's Service and configurations ----
  const whSvc = all('Service').filter((x) => x.metadata.name === WEBHOOK_SERVICE);
  check(whSvc.length === (webhook ? 1 : 0), `${whSvc.length} webhook Services, webhook.create ${webhook}`);
  for (const w of whSvc) {
    check(w.metadata.namespace === releaseNs, 'the webhook Service is in the release namespace');
    for (const [k, v] of Object.entries(w.spec.selector)) check(pod.metadata.labels[k] === v, `webhook Service selector ${k}=${v} does not select the operator pod`);
    check(eq(w.spec.ports.map((p) => [p.port, p.targetPort]), [[443, 'webhook-server']]), 'webhook Service port 443 -> webhook-server');
  }
  const whConfigs = [['ValidatingWebhookConfiguration', 'webhook.validator.create', '/validate', ['flinkdeployments', 'flinksessionjobs']],
                     ['MutatingWebhookConfiguration', 'webhook.mutator.create', '/mutate', ['flinksessionjobs']]];
  for (const [kind, key, wantPath, resources] of whConfigs) {
    const found = all(kind);
    const want = webhook && bool(key);
    check(found.length === (want ? 1 : 0), `${found.length} ${kind}, ${key} ${bool(key)} (webhook.create ${webhook})`);
    for (const cfg of found) {
      check(cfg.metadata.name === WEBHOOK_CONFIG, `${kind} named ${cfg.metadata.name}, expected ${WEBHOOK_CONFIG} (the operator's --webhook-configuration)`);
      check(cfg.webhooks.length === 1, `${kind}: one webhook`);
      const w = cfg.webhooks[0];
      check(eq(w.clientConfig.service, { name: WEBHOOK_SERVICE, namespace: releaseNs, path: wantPath }), `${kind}: clientConfig.service ${JSON.stringify(w.clientConfig.service)}`);
      check(w.clientConfig.caBundle === undefined, `${kind}: caBundle is the operator's to write`);
      check(w.sideEffects === 'None' && eq(w.admissionReviewVersions, ['v1']), `${kind}: sideEffects None, admissionReviewVersions [v1]`);
      check(w.failurePolicy === (val('webhook.failurePolicy') || 'Fail'), `${kind}: failurePolicy ${w.failurePolicy}`);
      check(eq(w.rules, [{ apiGroups: ['flink.apache.org'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources, scope: 'Namespaced' }]),
            `${kind}: rules ${JSON.stringify(w.rules)}`);
      const sel = w.namespaceSelector;
      check(watch.length ? sel && eq(sel.matchExpressions, [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...new Set(watch)] }]) : sel === undefined,
            `${kind}: namespaceSelector ${JSON.stringify(sel)} for watchNamespaces ${JSON.stringify(watch)}`);
    }
  }
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
                        'flinkstatesnapshots/status', 'flinkstatesnapshots/finalizers',
                        'flinksessionjobs', 'flinksessionjobs/status', 'flinksessionjobs/finalizers'],
   ['get', 'list', 'watch', 'update', 'patch']],
  ['flink.apache.org', ['flinkstatesnapshots'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['pods'], ['get', 'list', 'watch']],
  ['apps', ['deployments'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['services', 'configmaps'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['networking.k8s.io', ['ingresses'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
  ['core', ['events'], ['create', 'patch']],
]);
// The JobManager: native mode's TaskManager pods and the Deployment that owns them; Kubernetes
// high availability's ConfigMaps and Leases.
const JOB_RULES = expand([
  ['core', ['pods'], ['get', 'list', 'watch', 'create', 'delete']],
  ['apps', ['deployments'], ['get']],
  ['core', ['configmaps'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection']],
  ['coordination.k8s.io', ['leases'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']],
]);
const LEASE_RULES = [`coordination.k8s.io leases create`,
                     `coordination.k8s.io leases get ${leaseName}`, `coordination.k8s.io leases update ${leaseName}`].sort();
const bindsTo = (b, kind, name, subjectName, subjectNs) =>
  b.roleRef.kind === kind && b.roleRef.name === name && b.roleRef.apiGroup === 'rbac.authorization.k8s.io' &&
  b.subjects.length === 1 && b.subjects[0].kind === 'ServiceAccount' && b.subjects[0].name === subjectName &&
  b.subjects[0].namespace === subjectNs;
const WEBHOOK_SECRET_RULES = ['core secrets create', 'core secrets get flink-operator-webhook-secret',
                              'core secrets update flink-operator-webhook-secret'].sort();
const WEBHOOK_CONFIG_RULES = ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']
  .flatMap((r) => ['get', 'update'].map((v) => `admissionregistration.k8s.io ${r} ${v} ${WEBHOOK_CONFIG}`)).sort();
const isWebhookRbac = (o) => o.metadata.name.endsWith('-webhook');
// The webhook's Role (its Secret) and ClusterRole (its configurations), bound to the operator.
if (rbac) {
  const whRoles = all('Role').filter(isWebhookRbac);
  const whClusterRoles = all('ClusterRole').filter(isWebhookRbac);
  const whBindings = all('RoleBinding').filter(isWebhookRbac);
  const whClusterBindings = all('ClusterRoleBinding').filter(isWebhookRbac);
  const wantRole = webhook && opRole.create, wantBinding = webhook && opBinding.create;
  check(whRoles.length === (wantRole ? 1 : 0) && whRoles.every((r) => r.metadata.namespace === releaseNs && eq(tuples(r.rules), WEBHOOK_SECRET_RULES)),
        `webhook Roles [${whRoles.map((r) => `${r.metadata.namespace}/${r.metadata.name}: ${ruleDiff(tuples(r.rules), WEBHOOK_SECRET_RULES)}`)}]`);
  check(whClusterRoles.length === (wantRole ? 1 : 0) && whClusterRoles.every((r) => eq(tuples(r.rules), WEBHOOK_CONFIG_RULES)),
        `webhook ClusterRoles [${whClusterRoles.map((r) => `${r.metadata.name}: ${ruleDiff(tuples(r.rules), WEBHOOK_CONFIG_RULES)}`)}]`);
  check(whBindings.length === (wantBinding ? 1 : 0) && whBindings.every((b) => bindsTo(b, 'Role', `${opRole.name}-webhook`, saName, releaseNs)),
        'the webhook Role is bound to the operator');
  check(whClusterBindings.length === (wantBinding ? 1 : 0) &&
        whClusterBindings.every((b) => bindsTo(b, 'ClusterRole', `${opRole.name}-${releaseNs}-webhook`, saName, releaseNs)),
        'the webhook ClusterRole is bound to the operator');
}
const roles = all('Role').filter((r) => !isWebhookRbac(r));
const bindings = all('RoleBinding').filter((b) => !isWebhookRbac(b));
const clusterRoles = all('ClusterRole').filter((r) => !isWebhookRbac(r));
const clusterBindings = all('ClusterRoleBinding').filter((b) => !isWebhookRbac(b));
const jobNamespaces = watch.length ? [...new Set(watch)] : [releaseNs];
if (!rbac) {
  check(roles.length + bindings.length + all('ClusterRole').length + all('ClusterRoleBinding').length === 0, 'RBAC objects with rbac.create=false');
} else {
  // The operator's role and binding: rbac.operatorRole / operatorRoleBinding name them and switch
  // each off (a binding then names a role that exists already).
  const opRoles = roles.filter((r) => eq(tuples(r.rules), OPERATOR_RULES));
  const opRoleNames = [...new Set([...opRoles, ...clusterRoles].map((r) => r.metadata.name))];
  check(opRoleNames.every((n) => n === opRole.name), `operator role names ${opRoleNames}, expected ${opRole.name}`);
  if (watch.length) {
    check(clusterRoles.length === 0 && clusterBindings.length === 0, 'cluster-wide RBAC although watchNamespaces is set');
    check(eq(opRoles.map((r) => r.metadata.namespace).sort(), opRole.create ? [...jobNamespaces].sort() : []),
          `operator Roles in [${opRoles.map((r) => r.metadata.namespace)}], expected ${opRole.create ? watch : 'none (rbac.operatorRole.create false)'}`);
    for (const ns of jobNamespaces) {
      const bound = bindings.filter((b) => b.metadata.namespace === ns && bindsTo(b, 'Role', opRole.name, saName, releaseNs));
      check(bound.length === (opBinding.create ? 1 : 0), `${bound.length} RoleBindings of the operator Role ${opRole.name} in ${ns}`);
      check(bound.every((b) => b.metadata.name === opBinding.name), `operator RoleBinding in ${ns} is not named ${opBinding.name}`);
    }
  } else {
    const crs = clusterRoles;
    check(crs.length === (opRole.create ? 1 : 0), `${crs.length} ClusterRoles, rbac.operatorRole.create ${opRole.create}`);
    for (const cr of crs) check(eq(tuples(cr.rules), OPERATOR_RULES), `ClusterRole rules ${ruleDiff(tuples(cr.rules), OPERATOR_RULES)}`);
    const crbs = clusterBindings;
    check(crbs.length === (opBinding.create ? 1 : 0), `${crbs.length} ClusterRoleBindings, rbac.operatorRoleBinding.create ${opBinding.create}`);
    for (const crb of crbs) {
      check(crb.metadata.name === opBinding.name, `ClusterRoleBinding ${crb.metadata.name}, expected ${opBinding.name}`);
      check(bindsTo(crb, 'ClusterRole', opRole.name, saName, releaseNs), `ClusterRoleBinding binds ClusterRole ${opRole.name} to the operator`);
    }
    check(opRoles.length === 0, 'namespaced operator Roles without watchNamespaces');
  }
  const leaseRoles = roles.filter((r) => eq(tuples(r.rules), LEASE_RULES));
  const leaseRole = `${opRole.name}-leader-election`;
  check(eq(leaseRoles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`), leader && opRole.create ? [`${releaseNs}/${leaseRole}`] : []),
        `Lease Roles [${leaseRoles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)}], expected ${leader && opRole.create ? leaseRole : 'none'}`);
  const leaseBound = bindings.filter((b) => bindsTo(b, 'Role', leaseRole, saName, releaseNs));
  check(eq(leaseBound.map((b) => `${b.metadata.namespace}/${b.metadata.name}`),
           leader && opBinding.create ? [`${releaseNs}/${opBinding.name}-leader-election`] : []),
        `the Lease Role's bindings [${leaseBound.map((b) => b.metadata.name)}]`);
  // The Flink pods' Role and binding (rbac.jobRole / jobRoleBinding).
  const jobRoles = roles.filter((r) => eq(tuples(r.rules), JOB_RULES));
  check(eq(jobRoles.map((r) => r.metadata.namespace).sort(), jobRole.create ? [...jobNamespaces].sort() : []),
        `job Roles in [${jobRoles.map((r) => r.metadata.namespace)}]`);
  for (const r of jobRoles) check(r.metadata.name === jobRole.name, `job Role name ${r.metadata.name}, expected ${jobRole.name}`);
  for (const ns of jobNamespaces) {
    const bound = bindings.filter((b) => b.metadata.namespace === ns && bindsTo(b, 'Role', jobRole.name, jobSa, ns));
    check(bound.length === (jobBinding.create ? 1 : 0), `${bound.length} bindings of the job Role ${jobRole.name} to ${jobSa} in ${ns}`);
    check(bound.every((b) => b.metadata.name === jobBinding.name), `job RoleBinding in ${ns} is not named ${jobBinding.name}`);
  }
  const known = new Set([...opRoles, ...leaseRoles, ...jobRoles]);
  for (const r of roles) {
    check(known.has(r), `unexpected Role ${r.metadata.namespace}/${r.metadata.name}: rules ${ruleDiff(tuples(r.rules),
      r.metadata.name === jobRole.name ? JOB_RULES : r.metadata.name.endsWith('leader-election') ? LEASE_RULES : OPERATOR_RULES)}`);
  }
  const wantBindings = (watch.length && opBinding.create ? jobNamespaces.length : 0) + (leader && opBinding.create ? 1 : 0) +
    (jobBinding.create ? jobNamespaces.length : 0);
  check(bindings.length === wantBindings, `${bindings.length} RoleBindings, expected ${wantBindings}`);
  for (const b of [...all('RoleBinding'), ...all('ClusterRoleBinding')]) {
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

// ---- the operator's configuration (defaultConfiguration) ----
// config.yaml: the chart's conf/config.yaml (with append), then flink-conf.yaml, then config.yaml
// of the values, flattened as the operator reads Flink configuration, a later key winning.
const flatten = (m, prefix = '', out = {}) => {
  for (const [k, v] of Object.entries(m || {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (isMap(v)) flatten(v, key, out); else out[key] = v;
  }
  return out;
};
const dc = V.defaultConfiguration || {};
const confCm = all('ConfigMap').find((d) => d.metadata.name === `${FULLNAME}-config`);
if (dc.create) {
  check(confCm, `no ConfigMap ${FULLNAME}-config`);
  if (confCm) {
    const want = {};
    if (dc.append) Object.assign(want, flatten(yaml.load(fs.readFileSync(path.join(chartDir, 'conf', 'config.yaml'), 'utf8'))));
    for (const f of ['flink-conf.yaml', 'config.yaml']) Object.assign(want, flatten(yaml.load(dc[f] || '')));
    const got = flatten(yaml.load((confCm.data || {})['config.yaml'] || ''));
    check(same(got, want), `ConfigMap config.yaml holds ${JSON.stringify(canon(got))}, expected ${JSON.stringify(canon(want))}`);
    for (const f of ['log4j-operator.properties', 'log4j-console.properties']) {
      check((confCm.data || {})[f] === (dc[f] || undefined), `ConfigMap ${f} is not defaultConfiguration.${f}`);
    }
  }
} else check(!confCm, 'the configuration ConfigMap with defaultConfiguration.create false');

// ---- dashboards ----
const dashboardsOn = bool('dashboards.enabled');
const files = fs.readdirSync(path.join(chartDir, 'dashboards')).filter((f) => f.endsWith('.json'));
const dashCms = all('ConfigMap').filter((c) => c.metadata.labels && c.metadata.labels[val('dashboards.label')] !== undefined);
if (dashboardsOn) {
  check(dashCms.length === files.length, `${dashCms.length} dashboard ConfigMaps for ${files.length} dashboards`);
  for (const f of files) {
    const cm = dashCms.find((c) => c.data && f in c.data);
    check(cm, `no ConfigMap with ${f}`);
    if (!cm) continue;
    check(cm.metadata.labels[val('dashboards.label')] === String(val('dashboards.labelValue')), `${f}: sidecar label value`);
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
