// The cluster's processes: the TaskManagers (list, details, log, stdout) and the JobManager
// (configuration, log, stdout, log files).
import { html } from 'htm/preact';
import { formatBytes, formatDuration, formatTime, getJson, getText, usePoll } from './api.js';
import { Facts, LogText, Status, Table, Tabs, href } from './common.js';

export function TaskManagersPage() {
  const poll = usePoll(() => getJson('taskmanagers'), 'taskmanagers');
  return html`
    <h1>TaskManagers</h1>
    <${Status} poll=${poll} what="the TaskManagers" />
    ${poll.data && html`<${Table} id="taskmanager-list" caption="TaskManagers registered at the ResourceManager"
      empty="No TaskManager is registered"
      columns=${['ID', 'Path', 'Data port', 'Slots', 'Free slots', 'CPU cores', 'Physical memory', 'Last heartbeat']}
      rows=${poll.data.taskmanagers.map((tm) => ({
        key: tm.id,
        cells: [html`<a href=${href(`/taskmanagers/${tm.id}/metrics`)}>${tm.id}</a>`, tm.path, tm.dataPort, tm.slotsNumber,
          tm.freeSlots, tm.hardware.cpuCores, formatBytes(tm.hardware.physicalMemory),
          `${formatDuration(tm.timeSinceLastHeartbeat)} ago`],
      }))} />`}`;
}

const PROCESS_METRICS = ['Status.Process.CPU.Time', 'Status.Process.Memory.RSS', 'Status.Process.Threads',
  'Status.Tasks.Running'];

function TaskManagerMetrics({ id }) {
  const poll = usePoll(async () => {
    const [tm, list] = await Promise.all([getJson(`taskmanagers/${id}`),
      getJson(`taskmanagers/${id}/metrics?get=${PROCESS_METRICS.join(',')}`)]);
    return { tm, metrics: Object.fromEntries(list.map((m) => [m.id, Number(m.value)])) };
  }, id);
  if (!poll.data) return html`<${Status} poll=${poll} what="the TaskManager" />`;
  const { tm, metrics } = poll.data;
  const cpu = metrics['Status.Process.CPU.Time'];
  return html`
    <section aria-labelledby="tm-process-h">
      <h2 id="tm-process-h">Process</h2>
      <${Facts} items=${[['Memory (RSS)', html`<span id="tm-rss">${formatBytes(metrics['Status.Process.Memory.RSS'])}</span>`],
        ['CPU time', cpu === undefined ? '–' : `${cpu.toFixed(1)} s`], ['Threads', metrics['Status.Process.Threads'] ?? '–'],
        ['Tasks', metrics['Status.Tasks.Running'] ?? '–']]} />
    </section>
    <section aria-labelledby="tm-facts-h">
      <h2 id="tm-facts-h">Resources and heartbeat</h2>
      <${Facts} items=${[['Path', tm.path], ['Data port', tm.dataPort], ['Slots', `${tm.freeSlots} free of ${tm.slotsNumber}`],
        ['CPU cores', tm.hardware.cpuCores], ['Physical memory', formatBytes(tm.hardware.physicalMemory)],
        ['Last heartbeat', `${formatDuration(tm.timeSinceLastHeartbeat)} ago`]]} />
    </section>
    <section aria-labelledby="tm-slots-h">
      <h2 id="tm-slots-h">Allocated slots</h2>
      <${Table} caption="Slots of this TaskManager in use" columns=${['Slot', 'Job']} empty="No slot is allocated"
        rows=${tm.allocatedSlots.map((s, i) => ({ key: i, cells: [i, html`<a href=${href(`/jobs/${s.jobId}/overview`)}>${s.jobId}</a>`] }))} />
    </section>`;
}

function LogTab({ path, label }) {
  const poll = usePoll(() => getText(path), path);
  return html`<section aria-labelledby="log-h"><h2 id="log-h">${label}</h2><${LogText} poll=${poll} label=${label} /></section>`;
}

function LogFiles({ path, fileBase }) {
  const poll = usePoll(() => getJson(path), path);
  if (!poll.data) return html`<${Status} poll=${poll} what="the log files" />`;
  return html`<section aria-labelledby="logs-h"><h2 id="logs-h">Log files</h2>
    <${Table} caption="Files in the log directory" columns=${['Name', 'Size', 'Modified']} empty="No log directory"
      rows=${poll.data.logs.map((l) => ({ key: l.name, cells: [html`<a href=${`${fileBase}/${encodeURIComponent(l.name)}`}
        target="_blank" rel="noopener">${l.name}</a>`, formatBytes(l.size), formatTime(l.mtime)] }))} /></section>`;
}

const TM_TABS = [['metrics', 'Metrics'], ['log', 'Log'], ['stdout', 'Stdout'], ['logs', 'Log files']];

export function TaskManagerPage({ id, tab }) {
  const current = TM_TABS.some(([t]) => t === tab) ? tab : 'metrics';
  return html`
    <h1>TaskManager <code>${id}</code></h1>
    <${Tabs} base=${`/taskmanagers/${id}`} tabs=${TM_TABS} current=${current} label="TaskManager sections" />
    ${current === 'metrics' && html`<${TaskManagerMetrics} id=${id} />`}
    ${current === 'log' && html`<${LogTab} path=${`taskmanagers/${id}/log`} label="TaskManager log" />`}
    ${current === 'stdout' && html`<${LogTab} path=${`taskmanagers/${id}/stdout`} label="TaskManager stdout" />`}
    ${current === 'logs' && html`<${LogFiles} path=${`taskmanagers/${id}/logs`} fileBase=${`taskmanagers/${id}/logs`} />`}`;
}

function JobManagerConfig() {
  const poll = usePoll(() => getJson('jobmanager/config'), 'jm-config');
  if (!poll.data) return html`<${Status} poll=${poll} what="the configuration" />`;
  return html`<section aria-labelledby="jm-config-h"><h2 id="jm-config-h">Configuration</h2>
    <${Table} id="jobmanager-config" caption="The JobManager's configuration" columns=${['Key', 'Value']}
      rows=${poll.data.map((e) => ({ key: e.key, cells: [e.key, e.value] }))} /></section>`;
}

const JM_TABS = [['config', 'Configuration'], ['log', 'Log'], ['stdout', 'Stdout'], ['logs', 'Log files']];

export function JobManagerPage({ tab }) {
  const current = JM_TABS.some(([t]) => t === tab) ? tab : 'config';
  return html`
    <h1>JobManager</h1>
    <${Tabs} base="/jobmanager" tabs=${JM_TABS} current=${current} label="JobManager sections" />
    ${current === 'config' && html`<${JobManagerConfig} />`}
    ${current === 'log' && html`<${LogTab} path="jobmanager/log" label="JobManager log" />`}
    ${current === 'stdout' && html`<${LogTab} path="jobmanager/stdout" label="JobManager stdout" />`}
    ${current === 'logs' && html`<${LogFiles} path="jobmanager/logs" fileBase="jobmanager/logs" />`}`;
}
