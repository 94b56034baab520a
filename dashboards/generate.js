#!/usr/bin/env node
// Generates the Grafana dashboards shipped in the Helm chart (charts/flink-operator/dashboards/):
//   flink-operator.json  the operator: reconciles, errors, latency, work queue, API, resources
//   flink-jobs.json      the jobs: throughput, watermark lag, backpressure, checkpoints, restarts
// Edit this file, then run `node dashboards/generate.js` (no dependencies). The packaging tests
// fail when the chart's JSON differs from what this prints (`--check`), and check that every
// PromQL expression parses and names only metrics the operator and the runtime export.
//
// Labels the queries rely on: `namespace` and `instance` (any Kubernetes scrape config), and on
// the Flink pods `app` (the FlinkDeployment's name) and `component`, which the chart's PodMonitor
// (podTargetLabels) and the usual annotation-based config (labelmap of pod labels) both add.
'use strict';
const fs = require('fs');
const path = require('path');

const DS = { type: 'prometheus', uid: '${datasource}' };

// ---- building blocks -------------------------------------------------------------------------

function datasourceVar() {
  return {
    name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus',
    current: {}, hide: 0, includeAll: false, multi: false, refresh: 1, regex: '', options: [],
  };
}

function queryVar(name, label, query, extra = {}) {
  return {
    name, label, type: 'query', datasource: DS,
    definition: query, query: { query, refId: `${name}-query` },
    current: {}, hide: 0, includeAll: true, allValue: '.*', multi: true, refresh: 2,
    regex: '', sort: 1, options: [], ...extra,
  };
}

class Dashboard {
  constructor(spec) {
    this.spec = spec;
    this.panels = [];
    this.nextId = 1;
    this.y = 0;
  }
  row(title) {
    this.panels.push({ type: 'row', title, id: this.nextId++, collapsed: false, panels: [],
                       gridPos: { h: 1, w: 24, x: 0, y: this.y } });
    this.y += 1;
  }
  // line(height, panels): panels side by side, widths summing to 24.
  line(h, panels) {
    let x = 0;
    for (const p of panels) {
      const w = p.w;
      delete p.w;
      p.id = this.nextId++;
      p.gridPos = { h, w, x, y: this.y };
      x += w;
      this.panels.push(p);
    }
    if (x !== 24) throw new Error(`panels of a line must fill 24 columns, got ${x}`);
    this.y += h;
  }
  json() {
    const s = this.spec;
    return {
      annotations: { list: [{
        builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true,
        iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard',
      }] },
      description: s.description,
      editable: true,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      links: s.links || [],
      panels: this.panels,
      refresh: '30s',
      schemaVersion: 39,
      tags: ['flink', 'flink-cpp'],
      templating: { list: s.variables },
      time: { from: 'now-1h', to: 'now' },
      timepicker: {},
      timezone: 'browser',
      title: s.title,
      uid: s.uid,
      version: 1,
    };
  }
}

function target(expr, legendFormat, refId = 'A', extra = {}) {
  return { datasource: DS, editorMode: 'code', expr, legendFormat, range: true, refId, ...extra };
}

function targets(list) {
  return list.map(([expr, legend], i) => target(expr, legend, String.fromCharCode(65 + i)));
}

function timeseries(w, title, description, list, { unit = 'short', stack = false, min, max, decimals } = {}) {
  const defaults = {
    custom: {
      drawStyle: 'line', lineWidth: 1, fillOpacity: stack ? 30 : 10, showPoints: 'never',
      spanNulls: false, stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
    },
    unit,
  };
  if (min !== undefined) defaults.min = min;
  if (max !== undefined) defaults.max = max;
  if (decimals !== undefined) defaults.decimals = decimals;
  return {
    w, type: 'timeseries', title, description, datasource: DS,
    fieldConfig: { defaults, overrides: [] },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(list),
  };
}

function stat(w, title, description, expr, { unit = 'short', thresholds, legend = '', decimals } = {}) {
  const defaults = {
    unit,
    thresholds: { mode: 'absolute', steps: thresholds || [{ color: 'green', value: null }] },
  };
  if (decimals !== undefined) defaults.decimals = decimals;
  return {
    w, type: 'stat', title, description, datasource: DS,
    fieldConfig: { defaults, overrides: [] },
    options: {
      colorMode: 'value', graphMode: 'area', justifyMode: 'auto', orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, textMode: 'auto',
    },
    targets: [target(expr, legend, 'A', { instant: false })],
  };
}

function bargauge(w, title, description, expr, legend) {
  return {
    w, type: 'bargauge', title, description, datasource: DS,
    fieldConfig: { defaults: { unit: 'short', min: 0,
                               thresholds: { mode: 'absolute', steps: [{ color: 'blue', value: null }] } },
                   overrides: [] },
    options: { displayMode: 'gradient', orientation: 'horizontal', showUnfilled: true,
               reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false } },
    targets: [target(expr, legend, 'A', { instant: true, range: false, format: 'time_series' })],
  };
}

const RED_AT = (v) => [{ color: 'green', value: null }, { color: 'red', value: v }];

// ---- the operator ----------------------------------------------------------------------------

function operatorDashboard() {
  const sel = 'namespace=~"$namespace", instance=~"$instance"';
  const d = new Dashboard({
    title: 'Flink operator',
    uid: 'flink-cpp-operator',
    description: 'The flink-cpp Kubernetes operator: reconciles of FlinkDeployments, errors, latency, work queue, Kubernetes API traffic and FlinkDeployments by lifecycle state (flink_operator_* metrics).',
    links: [{ title: 'Flink jobs', type: 'dashboards', tags: ['flink-cpp'], asDropdown: false, includeVars: false, keepTime: true }],
    variables: [
      datasourceVar(),
      queryVar('namespace', 'Namespace', 'label_values(flink_operator_is_leader, namespace)'),
      queryVar('instance', 'Operator pod', 'label_values(flink_operator_is_leader{namespace=~"$namespace"}, instance)'),
    ],
  });

  d.row('Overview');
  d.line(4, [
    stat(4, 'Leader', 'Replicas holding the leader Lease (1 expected).',
         `sum(flink_operator_is_leader{${sel}})`, { thresholds: [{ color: 'red', value: null }, { color: 'green', value: 1 }, { color: 'orange', value: 2 }] }),
    stat(4, 'FlinkDeployments', 'FlinkDeployments the operator knows, all lifecycle states.',
         `sum(max by (lifecycle_state) (flink_operator_resources{${sel}}))`),
    stat(4, 'Reconciles / s', 'Reconciles per second, all results.',
         `sum(rate(flink_operator_reconcile_total{${sel}}[$__rate_interval]))`, { unit: 'reqps', decimals: 2 }),
    stat(4, 'Reconcile errors', 'Share of reconciles that failed.',
         `sum(rate(flink_operator_reconcile_total{${sel}, result="error"}[$__rate_interval])) / sum(rate(flink_operator_reconcile_total{${sel}}[$__rate_interval]))`,
         { unit: 'percentunit', thresholds: RED_AT(0.05) }),
    stat(4, 'Reconcile p99', '99th percentile of the reconcile duration.',
         `histogram_quantile(0.99, sum by (le) (rate(flink_operator_reconcile_duration_seconds_bucket{${sel}}[$__rate_interval])))`,
         { unit: 's', thresholds: RED_AT(1) }),
    stat(4, 'Queue depth', 'Keys waiting in the work queue.',
         `sum(flink_operator_workqueue_depth{${sel}})`, { thresholds: RED_AT(50) }),
  ]);

  d.row('Reconciles');
  d.line(8, [
    timeseries(12, 'Reconciles by result', 'Reconciles per second, success and error.', [
      [`sum by (result) (rate(flink_operator_reconcile_total{${sel}}[$__rate_interval]))`, '{{result}}'],
    ], { unit: 'reqps', stack: true }),
    timeseries(12, 'Reconcile errors', 'Failed reconciles per second by operator pod (retried with backoff; the reason is in status.error and the log).', [
      [`sum by (instance) (rate(flink_operator_reconcile_total{${sel}, result="error"}[$__rate_interval]))`, '{{instance}}'],
    ], { unit: 'reqps' }),
  ]);
  d.line(8, [
    timeseries(24, 'Reconcile latency', 'Duration of one reconcile: quantiles and mean.', [
      [`histogram_quantile(0.5, sum by (le) (rate(flink_operator_reconcile_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p50'],
      [`histogram_quantile(0.9, sum by (le) (rate(flink_operator_reconcile_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p90'],
      [`histogram_quantile(0.99, sum by (le) (rate(flink_operator_reconcile_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p99'],
      [`sum(rate(flink_operator_reconcile_duration_seconds_sum{${sel}}[$__rate_interval])) / sum(rate(flink_operator_reconcile_duration_seconds_count{${sel}}[$__rate_interval]))`, 'mean'],
    ], { unit: 's' }),
  ]);

  d.row('Work queue');
  d.line(8, [
    timeseries(12, 'Queue depth', 'Keys (namespace/name of FlinkDeployments) waiting for a worker.', [
      [`sum by (instance) (flink_operator_workqueue_depth{${sel}})`, '{{instance}}'],
    ]),
    timeseries(12, 'Time in queue', 'How long a key waited before a worker took it.', [
      [`histogram_quantile(0.5, sum by (le) (rate(flink_operator_workqueue_queue_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p50'],
      [`histogram_quantile(0.99, sum by (le) (rate(flink_operator_workqueue_queue_duration_seconds_bucket{${sel}}[$__rate_interval])))`, 'p99'],
    ], { unit: 's' }),
  ]);

  d.row('Kubernetes API');
  d.line(8, [
    timeseries(8, 'API requests by verb', 'Requests of the operator to the Kubernetes API server.', [
      [`sum by (verb) (rate(flink_operator_api_requests_total{${sel}}[$__rate_interval]))`, '{{verb}}'],
    ], { unit: 'reqps', stack: true }),
    timeseries(8, 'API responses by code', 'HTTP status codes (409: optimistic-concurrency conflicts, retried).', [
      [`sum by (code) (rate(flink_operator_api_requests_total{${sel}}[$__rate_interval]))`, '{{code}}'],
    ], { unit: 'reqps', stack: true }),
    timeseries(8, 'Watch restarts', 'Watches re-established, by resource and reason (410 Gone means a relist).', [
      [`sum by (resource, reason) (increase(flink_operator_watch_restarts_total{${sel}}[$__rate_interval]))`, '{{resource}} {{reason}}'],
    ]),
  ]);

  d.row('FlinkDeployments');
  d.line(8, [
    timeseries(16, 'FlinkDeployments by lifecycle state', 'status.lifecycleState of the FlinkDeployments (CREATED, DEPLOYED, STABLE, FAILED, ...).', [
      [`max by (lifecycle_state) (flink_operator_resources{${sel}})`, '{{lifecycle_state}}'],
    ], { stack: true, decimals: 0 }),
    bargauge(8, 'Now', 'FlinkDeployments by lifecycle state, now.',
             `max by (lifecycle_state) (flink_operator_resources{${sel}})`, '{{lifecycle_state}}'),
  ]);
  return d.json();
}

// ---- the jobs --------------------------------------------------------------------------------

function jobsDashboard() {
  const dep = 'namespace=~"$namespace", app=~"$deployment"';
  const job = `${dep}, job_name=~"$job"`;
  const task = `${job}, task_name=~"$task"`;
  const d = new Dashboard({
    title: 'Flink jobs',
    uid: 'flink-cpp-jobs',
    description: 'Flink jobs run by FlinkDeployments: throughput per task, watermark lag, backpressure, checkpoints, restarts and the JobManager and TaskManager processes (Prometheus reporter metrics on port 9249 of each pod).',
    links: [{ title: 'Flink operator', type: 'dashboards', tags: ['flink-cpp'], asDropdown: false, includeVars: false, keepTime: true }],
    variables: [
      datasourceVar(),
      queryVar('namespace', 'Namespace', 'label_values(flink_jobmanager_numRegisteredTaskManagers, namespace)'),
      queryVar('deployment', 'FlinkDeployment', 'label_values(flink_jobmanager_numRegisteredTaskManagers{namespace=~"$namespace"}, app)'),
      queryVar('job', 'Job', 'label_values(flink_jobmanager_job_uptime{namespace=~"$namespace", app=~"$deployment"}, job_name)'),
      queryVar('task', 'Task', 'label_values(flink_taskmanager_job_task_numRecordsIn{namespace=~"$namespace", app=~"$deployment", job_name=~"$job"}, task_name)'),
    ],
  });

  d.row('Overview');
  d.line(4, [
    stat(4, 'Running jobs', 'Jobs in state RUNNING.', `sum(flink_jobmanager_numRunningJobs{${dep}})`),
    stat(4, 'TaskManagers', 'TaskManagers registered with the JobManagers.', `sum(flink_jobmanager_numRegisteredTaskManagers{${dep}})`),
    stat(4, 'Slots available', 'Free task slots.', `sum(flink_jobmanager_taskSlotsAvailable{${dep}})`),
    stat(4, 'Slots total', 'All task slots.', `sum(flink_jobmanager_taskSlotsTotal{${dep}})`),
    stat(4, 'Uptime', 'Time since the job last (re)started running.', `min(flink_jobmanager_job_uptime{${job}}) / 1000`, { unit: 's' }),
    stat(4, 'Restarts', 'Restarts of the selected jobs since their JobManager started.', `sum(flink_jobmanager_job_numRestarts{${job}})`, { thresholds: RED_AT(1) }),
  ]);

  d.row('Throughput');
  d.line(8, [
    timeseries(12, 'Records in / s by task', 'numRecordsInPerSecond summed over subtasks.', [
      [`sum by (job_name, task_name) (flink_taskmanager_job_task_numRecordsInPerSecond{${task}})`, '{{task_name}}'],
    ], { unit: 'short' }),
    timeseries(12, 'Records out / s by task', 'numRecordsOutPerSecond summed over subtasks.', [
      [`sum by (job_name, task_name) (flink_taskmanager_job_task_numRecordsOutPerSecond{${task}})`, '{{task_name}}'],
    ], { unit: 'short' }),
  ]);
  d.line(8, [
    timeseries(12, 'Records in / s by subtask', 'Rate of numRecordsIn per subtask: skew between subtasks shows up here.', [
      [`sum by (task_name, subtask_index) (rate(flink_taskmanager_job_task_numRecordsIn{${task}}[$__rate_interval]))`, '{{task_name}} #{{subtask_index}}'],
    ]),
    timeseries(12, 'Records out / s by subtask', 'Rate of numRecordsOut per subtask.', [
      [`sum by (task_name, subtask_index) (rate(flink_taskmanager_job_task_numRecordsOut{${task}}[$__rate_interval]))`, '{{task_name}} #{{subtask_index}}'],
    ]),
  ]);
  d.line(8, [
    timeseries(24, 'Dropped records / s', 'Malformed input (numRecordsDropped) and records behind the watermark dropped by windows (numLateRecordsDropped).', [
      [`sum by (task_name) (rate(flink_taskmanager_job_task_numRecordsDropped{${task}}[$__rate_interval]))`, 'malformed {{task_name}}'],
      [`sum by (task_name) (rate(flink_taskmanager_job_task_numLateRecordsDropped{${task}}[$__rate_interval]))`, 'late {{task_name}}'],
    ]),
  ]);

  d.row('Watermarks and backpressure');
  d.line(8, [
    timeseries(12, 'Watermark lag', 'Wall clock minus the lowest input watermark of each task (event-time lag). Tasks without a watermark yet are left out.', [
      [`time() - min by (job_name, task_name) (flink_taskmanager_job_task_currentInputWatermark{${task}} > 0) / 1000`, '{{task_name}}'],
    ], { unit: 's' }),
    timeseries(12, 'Backpressured time', 'Share of time the most backpressured subtask of each task waited for output buffers.', [
      [`max by (job_name, task_name) (flink_taskmanager_job_task_backPressuredTimeMsPerSecond{${task}}) / 1000`, '{{task_name}}'],
    ], { unit: 'percentunit', min: 0, max: 1 }),
  ]);
  d.line(8, [
    timeseries(12, 'Busy time', 'Share of time the busiest subtask of each task was processing.', [
      [`max by (job_name, task_name) (flink_taskmanager_job_task_busyTimeMsPerSecond{${task}}) / 1000`, '{{task_name}}'],
    ], { unit: 'percentunit', min: 0, max: 1 }),
    timeseries(12, 'Idle time', 'Share of time the subtasks of each task waited for input (mean over subtasks).', [
      [`avg by (job_name, task_name) (flink_taskmanager_job_task_idleTimeMsPerSecond{${task}}) / 1000`, '{{task_name}}'],
    ], { unit: 'percentunit', min: 0, max: 1 }),
  ]);

  d.row('Checkpoints and restarts');
  d.line(8, [
    timeseries(8, 'Last checkpoint duration', 'Duration of the latest completed checkpoint.', [
      [`max by (job_name) (flink_jobmanager_job_lastCheckpointDuration{${job}})`, '{{job_name}}'],
    ], { unit: 'ms' }),
    timeseries(8, 'Last checkpoint size', 'State size of the latest completed checkpoint.', [
      [`max by (job_name) (flink_jobmanager_job_lastCheckpointSize{${job}})`, '{{job_name}}'],
    ], { unit: 'bytes' }),
    timeseries(8, 'Checkpoints', 'Completed and failed checkpoints per interval.', [
      [`sum by (job_name) (increase(flink_jobmanager_job_numberOfCompletedCheckpoints{${job}}[$__rate_interval]))`, 'completed {{job_name}}'],
      [`sum by (job_name) (increase(flink_jobmanager_job_numberOfFailedCheckpoints{${job}}[$__rate_interval]))`, 'failed {{job_name}}'],
    ], { decimals: 0 }),
  ]);
  d.line(8, [
    timeseries(12, 'Restarts', 'Job restarts (numRestarts) per interval.', [
      [`sum by (job_name) (increase(flink_jobmanager_job_numRestarts{${job}}[$__rate_interval]))`, '{{job_name}}'],
    ], { decimals: 0 }),
    timeseries(12, 'Completed and failed checkpoints (total)', 'numberOfCompletedCheckpoints and numberOfFailedCheckpoints since the JobManager started.', [
      [`max by (job_name) (flink_jobmanager_job_numberOfCompletedCheckpoints{${job}})`, 'completed {{job_name}}'],
      [`max by (job_name) (flink_jobmanager_job_numberOfFailedCheckpoints{${job}})`, 'failed {{job_name}}'],
    ], { decimals: 0 }),
  ]);

  d.row('JobManager and TaskManager processes');
  d.line(8, [
    timeseries(12, 'CPU', 'CPU used by each JobManager and TaskManager process, in cores.', [
      [`sum by (instance) (rate(flink_jobmanager_Status_Process_CPU_Time{${dep}}[$__rate_interval]))`, 'jobmanager {{instance}}'],
      [`sum by (instance) (rate(flink_taskmanager_Status_Process_CPU_Time{${dep}}[$__rate_interval]))`, 'taskmanager {{instance}}'],
    ], { unit: 'short', decimals: 2 }),
    timeseries(12, 'Memory (RSS)', 'Resident set size of each JobManager and TaskManager process.', [
      [`sum by (instance) (flink_jobmanager_Status_Process_RSS{${dep}})`, 'jobmanager {{instance}}'],
      [`sum by (instance) (flink_taskmanager_Status_Process_RSS{${dep}})`, 'taskmanager {{instance}}'],
    ], { unit: 'bytes' }),
  ]);
  return d.json();
}

// ---- main ------------------------------------------------------------------------------------

const OUT = path.join(__dirname, '..', 'charts', 'flink-operator', 'dashboards');
const dashboards = { 'flink-operator.json': operatorDashboard(), 'flink-jobs.json': jobsDashboard() };
const check = process.argv.includes('--check');
let stale = [];
for (const [file, json] of Object.entries(dashboards)) {
  const text = JSON.stringify(json, null, 2) + '\n';
  const dest = path.join(OUT, file);
  if (check) {
    const current = fs.existsSync(dest) ? fs.readFileSync(dest, 'utf8') : '';
    if (current !== text) stale.push(dest);
  } else {
    fs.writeFileSync(dest, text);
  }
}
if (stale.length) {
  console.error(`out of date (run node dashboards/generate.js): ${stale.join(', ')}`);
  process.exit(1);
}
