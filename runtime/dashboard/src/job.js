// A job: its graph with live metrics, vertices and subtasks, exceptions, checkpoints and
// configuration, with the cancel and stop-with-savepoint buttons when the cluster allows them.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import {
  formatBytes, formatCount, formatDuration, formatPercent, formatTime, formatWatermark, getJson, usePoll,
} from './api.js';
import { Facts, StateBadge, Status, Table, Tabs, href } from './common.js';
import { JobGraph, backPressureLevel } from './graph.js';
import { TaskCounts } from './overview.js';

const RATE_METRICS = ['numRecordsInPerSecond', 'numRecordsOutPerSecond', 'busyTimeMsPerSecond',
  'backPressuredTimeMsPerSecond', 'idleTimeMsPerSecond', 'currentInputWatermark'];

// Per vertex: records/s in and out (summed over subtasks), busy/back-pressured/idle (the
// highest subtask, as ratios) and the input watermark (the lowest subtask).
async function loadVertexMetrics(jid, vertices) {
  const out = {};
  await Promise.all(vertices.map(async (v) => {
    const list = await getJson(`jobs/${jid}/vertices/${v.id}/subtasks/metrics?get=${RATE_METRICS.join(',')}`);
    const m = Object.fromEntries(list.map((x) => [x.id, x]));
    const get = (name, agg) => (m[name] ? m[name][agg] : undefined);
    const ratio = (name) => (m[name] ? m[name].max / 1000 : undefined);
    out[v.id] = {
      inRate: get('numRecordsInPerSecond', 'sum'),
      outRate: get('numRecordsOutPerSecond', 'sum'),
      busy: ratio('busyTimeMsPerSecond'),
      backPressured: ratio('backPressuredTimeMsPerSecond'),
      idle: ratio('idleTimeMsPerSecond'),
      watermark: get('currentInputWatermark', 'min'),
    };
  }));
  return out;
}

function Actions({ job, features }) {
  const [message, setMessage] = useState(null);
  const running = job.state === 'RUNNING';
  if (!running) return message ? html`<p role="status">${message}</p>` : null;
  const cancel = async () => {
    if (!window.confirm(`Cancel job ${job.name}?`)) return;
    try {
      await getJson(`jobs/${job.jid}?mode=cancel`, { method: 'PATCH' });
      setMessage('Cancellation requested.');
    } catch (e) {
      setMessage(`Cancel failed: ${e.message}`);
    }
  };
  const stop = async () => {
    if (!window.confirm(`Stop job ${job.name} with a savepoint?`)) return;
    try {
      const { 'request-id': trigger } = await getJson(`jobs/${job.jid}/stop`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ drain: false }),
      });
      setMessage(`Stop with savepoint requested (trigger ${trigger}).`);
    } catch (e) {
      setMessage(`Stop with savepoint failed: ${e.message}`);
    }
  };
  return html`
    <div class="actions">
      ${features['web-cancel'] && html`<button type="button" id="cancel-job" class="danger" onClick=${cancel}>Cancel job</button>`}
      <button type="button" id="stop-job" onClick=${stop}>Stop with savepoint</button>
      ${message && html`<p role="status">${message}</p>`}
    </div>`;
}

function Subtasks({ jid, vertex }) {
  const poll = usePoll(async () => {
    const [details, bp] = await Promise.all([getJson(`jobs/${jid}/vertices/${vertex.id}`),
      getJson(`jobs/${jid}/vertices/${vertex.id}/backpressure`)]);
    return { details, bp };
  }, `${jid}/${vertex.id}`);
  if (!poll.data) return html`<${Status} poll=${poll} what="the subtasks" />`;
  const bpBySubtask = Object.fromEntries(poll.data.bp.subtasks.map((s) => [s.subtask, s]));
  return html`
    <section aria-labelledby="subtasks-h">
      <h3 id="subtasks-h">Subtasks of ${vertex.name}</h3>
      <${Table} id="subtasks" caption=${`Subtasks of ${vertex.name}`}
        columns=${['Subtask', 'Status', 'Attempt', 'Host', 'TaskManager', 'Records in', 'Records out', 'Bytes in',
          'Bytes out', 'Busy', 'Back-pressured', 'Idle', 'Duration']}
        rows=${poll.data.details.subtasks.map((s) => {
          const b = bpBySubtask[s.subtask] || {};
          return {
            key: s.subtask,
            cells: [s.subtask, html`<${StateBadge} state=${s.status} />`, s.attempt, s.host,
              s['taskmanager-id'] === '(unassigned)' ? s['taskmanager-id']
                : html`<a href=${href(`/taskmanagers/${s['taskmanager-id']}/metrics`)}>${s['taskmanager-id'].slice(0, 8)}…</a>`,
              formatCount(s.metrics['read-records']), formatCount(s.metrics['write-records']),
              formatBytes(s.metrics['read-bytes']), formatBytes(s.metrics['write-bytes']),
              formatPercent(b.busyRatio), html`<span class="chip bp-${b.backpressureLevel}">${formatPercent(b.ratio)}</span>`,
              formatPercent(b.idleRatio), formatDuration(s.duration)],
          };
        })} />
    </section>`;
}

function GraphTab({ job, vertexId, metrics }) {
  const selected = job.vertices.find((v) => v.id === vertexId);
  const select = (id) => {
    window.location.hash = `#/jobs/${job.jid}/overview/${id === vertexId ? '' : id}`;
  };
  return html`
    <section aria-labelledby="graph-h">
      <h2 id="graph-h">Job graph</h2>
      <p class="hint">Select a vertex (click, or Tab to it and press Enter) to see its subtasks.</p>
      <${JobGraph} plan=${job.plan} metrics=${metrics || {}} selected=${vertexId} onSelect=${select} />
    </section>
    <section aria-labelledby="vertices-h">
      <h2 id="vertices-h">Vertices</h2>
      <${Table} id="vertices" caption="Vertices of the job"
        columns=${['Name', 'Status', 'Parallelism', 'Records in', 'Records out', 'Records/s in', 'Records/s out',
          'Back pressure', 'Watermark', 'Tasks']}
        rows=${job.vertices.map((v) => {
          const m = (metrics || {})[v.id] || {};
          return {
            key: v.id,
            className: v.id === vertexId ? 'selected' : '',
            cells: [html`<a href=${href(`/jobs/${job.jid}/overview/${v.id}`)}>${v.name}</a>`,
              html`<${StateBadge} state=${v.status} />`, v.parallelism,
              formatCount(v.metrics['read-records']), formatCount(v.metrics['write-records']),
              html`<span class="vertex-in-rate">${formatCount(m.inRate)}</span>`,
              html`<span class="vertex-out-rate">${formatCount(m.outRate)}</span>`,
              html`<span class="chip bp-${backPressureLevel(m.backPressured)}">${formatPercent(m.backPressured)}</span>`,
              formatWatermark(m.watermark), html`<${TaskCounts} tasks=${Object.fromEntries(
                Object.entries(v.tasks).map(([k, n]) => [k.toLowerCase(), n]))} />`],
          };
        })} />
    </section>
    ${selected && html`<${Subtasks} jid=${job.jid} vertex=${selected} key=${selected.id} />`}`;
}

function ExceptionsTab({ jid }) {
  const poll = usePoll(() => getJson(`jobs/${jid}/exceptions`), jid);
  if (!poll.data) return html`<${Status} poll=${poll} what="the exceptions" />`;
  const e = poll.data;
  const history = (e.exceptionHistory && e.exceptionHistory.entries) || [];
  return html`
    <section aria-labelledby="root-h">
      <h2 id="root-h">Root exception</h2>
      ${e['root-exception']
        ? html`<p>At ${formatTime(e.timestamp)}:</p><pre class="exception" id="root-exception" tabindex="0">${e['root-exception']}</pre>`
        : html`<p id="root-exception">No exception: the job has not failed.</p>`}
    </section>
    <section aria-labelledby="history-h">
      <h2 id="history-h">Exception history</h2>
      <${Table} id="exception-history" caption="Failures of the job, newest first" empty="No failures"
        columns=${['Time', 'Exception', 'Task', 'Location']}
        rows=${history.map((x, i) => ({
          key: `${x.timestamp}-${i}`,
          cells: [formatTime(x.timestamp), html`<pre class="exception">${x.stacktrace}</pre>`, x.taskName || '–',
            x.location || '–'],
        }))} />
    </section>`;
}

function CheckpointSubtasks({ jid, checkpoint, vertex }) {
  const poll = usePoll(() => getJson(`jobs/${jid}/checkpoints/details/${checkpoint}/subtasks/${vertex.id}`),
    `${checkpoint}/${vertex.id}`);
  if (!poll.data) return html`<${Status} poll=${poll} what="the subtasks' acknowledgements" />`;
  return html`<${Table} caption=${`Checkpoint ${checkpoint}: subtasks of ${vertex.name}`}
    columns=${['Subtask', 'Status', 'Acknowledged', 'End to end duration', 'Checkpointed size', 'Start delay',
      'Alignment duration', 'Sync duration', 'Async duration']}
    rows=${poll.data.subtasks.map((s) => ({
      key: s.index,
      cells: [s.index, s.status, formatTime(s.ack_timestamp), formatDuration(s.end_to_end_duration),
        formatBytes(s.checkpointed_size), formatDuration(s.start_delay),
        formatDuration(s.alignment ? s.alignment.duration : undefined),
        formatDuration(s.checkpoint ? s.checkpoint.sync : undefined),
        formatDuration(s.checkpoint ? s.checkpoint.async : undefined)],
    }))} />`;
}

function CheckpointDetails({ jid, checkpoint, vertices }) {
  const [vertexId, setVertexId] = useState(null);
  const tasks = checkpoint.tasks || {};
  return html`
    <section aria-labelledby="cp-details-h" class="details">
      <h3 id="cp-details-h">Checkpoint ${checkpoint.id}: per vertex</h3>
      <${Table} caption=${`Checkpoint ${checkpoint.id} by vertex`}
        columns=${['Vertex', 'Acknowledged', 'Latest acknowledgement', 'End to end duration', 'Checkpointed size', 'Subtasks']}
        rows=${vertices.map((v) => {
          const t = tasks[v.id] || {};
          return {
            key: v.id,
            cells: [v.name, `${t.num_acknowledged_subtasks ?? 0}/${t.num_subtasks ?? v.parallelism}`,
              formatTime(t.latest_ack_timestamp), formatDuration(t.end_to_end_duration), formatBytes(t.checkpointed_size),
              html`<button type="button" onClick=${() => setVertexId(v.id === vertexId ? null : v.id)}
                aria-expanded=${v.id === vertexId ? 'true' : 'false'}>${v.id === vertexId ? 'Hide' : 'Show'} subtasks</button>`],
          };
        })} />
      ${vertexId && html`<${CheckpointSubtasks} jid=${jid} checkpoint=${checkpoint.id}
        vertex=${vertices.find((v) => v.id === vertexId)} key=${vertexId} />`}
    </section>`;
}

function latestFacts(latest) {
  const one = (c) => (c ? `#${c.id} at ${formatTime(c.latest_ack_timestamp || c.trigger_timestamp)}, ${formatBytes(c.checkpointed_size)}, ${formatDuration(c.end_to_end_duration)}` : 'None');
  const r = latest.restored;
  return [
    ['Latest completed', one(latest.completed)],
    ['Latest savepoint', latest.savepoint ? `${one(latest.savepoint)} — ${latest.savepoint.external_path || ''}` : 'None'],
    ['Latest failed', latest.failed ? `#${latest.failed.id}: ${latest.failed.failure_message || ''}` : 'None'],
    ['Latest restore', r ? html`<span id="latest-restore">#${r.id} (${r.is_savepoint ? 'savepoint' : 'checkpoint'}) at ${formatTime(r.restore_timestamp)} from ${r.external_path}</span>` : 'None'],
  ];
}

function CheckpointsTab({ jid, vertices }) {
  const [open, setOpen] = useState(null);
  const poll = usePoll(() => getJson(`jobs/${jid}/checkpoints`), jid);
  if (!poll.data) return html`<${Status} poll=${poll} what="the checkpoints" />`;
  const { counts, latest, history } = poll.data;
  const opened = history.find((c) => c.id === open);
  return html`
    <section aria-labelledby="cp-counts-h">
      <h2 id="cp-counts-h">Checkpoint counts</h2>
      <${Facts} items=${[['Triggered', counts.total], ['In progress', counts.in_progress], ['Completed', counts.completed],
        ['Failed', counts.failed], ['Restored', html`<span id="restored-count">${counts.restored}</span>`]]} />
    </section>
    <section aria-labelledby="cp-latest-h">
      <h2 id="cp-latest-h">Latest</h2>
      <${Facts} items=${latestFacts(latest)} />
    </section>
    <section aria-labelledby="cp-history-h">
      <h2 id="cp-history-h">History</h2>
      <${Table} id="checkpoint-history" caption="Recent checkpoints and savepoints, newest first" empty="No checkpoints yet"
        columns=${['ID', 'Status', 'Type', 'Triggered', 'Latest acknowledgement', 'End to end duration', 'Checkpointed size',
          'Alignment buffered', 'Acknowledged', 'Details']}
        rows=${[...history].sort((a, b) => b.id - a.id).map((c) => ({
          key: c.id,
          cells: [c.id, html`<${StateBadge} state=${c.status} />`, c.checkpoint_type, formatTime(c.trigger_timestamp),
            formatTime(c.latest_ack_timestamp), formatDuration(c.end_to_end_duration), formatBytes(c.checkpointed_size),
            formatBytes(c.alignment_buffered), `${c.num_acknowledged_subtasks}/${c.num_subtasks}`,
            html`<button type="button" onClick=${() => setOpen(c.id === open ? null : c.id)}
              aria-expanded=${c.id === open ? 'true' : 'false'}>${c.id === open ? 'Hide' : 'Show'} details</button>`],
        }))} />
    </section>
    ${opened && html`<${CheckpointDetails} jid=${jid} checkpoint=${opened} vertices=${vertices} key=${opened.id} />`}`;
}

function ConfigurationTab({ jid }) {
  const poll = usePoll(() => getJson(`jobs/${jid}/config`), jid);
  if (!poll.data) return html`<${Status} poll=${poll} what="the configuration" />`;
  const ec = poll.data['execution-config'] || {};
  const user = ec['user-config'] || {};
  return html`
    <section aria-labelledby="exec-h">
      <h2 id="exec-h">Execution configuration</h2>
      <${Facts} items=${[['Execution mode', ec['execution-mode']], ['Restart strategy', ec['restart-strategy']],
        ['Job parallelism', ec['job-parallelism']], ['Object reuse', String(ec['object-reuse-mode'])]]} />
    </section>
    <section aria-labelledby="user-h">
      <h2 id="user-h">User configuration</h2>
      <${Table} caption="The job's configuration" columns=${['Key', 'Value']} empty="No entries"
        rows=${Object.keys(user).sort().map((k) => ({ key: k, cells: [k, user[k]] }))} />
    </section>`;
}

const TABS = [['overview', 'Overview'], ['exceptions', 'Exceptions'], ['checkpoints', 'Checkpoints'],
  ['configuration', 'Configuration']];

export function JobPage({ jid, tab, vertexId, features }) {
  const poll = usePoll(async () => {
    const job = await getJson(`jobs/${jid}`);
    const metrics = job.state === 'RUNNING' ? await loadVertexMetrics(jid, job.vertices) : null;
    return { job, metrics };
  }, jid);
  if (!poll.data) return html`<h1>Job ${jid}</h1><${Status} poll=${poll} what="the job" />`;
  const { job, metrics } = poll.data;
  const current = TABS.some(([id]) => id === tab) ? tab : 'overview';
  return html`
    <h1>${job.name}</h1>
    ${poll.error && html`<p class="error" role="alert">Refresh failed: ${poll.error}</p>`}
    <div class="job-header">
      <${Facts} items=${[['State', html`<span id="job-state"><${StateBadge} state=${job.state} /></span>`],
        ['Job ID', html`<code>${job.jid}</code>`], ['Start time', formatTime(job['start-time'])],
        ['Duration', formatDuration(job.duration)], ['Tasks', html`<${TaskCounts} tasks=${Object.fromEntries(
          Object.entries(job['status-counts']).map(([k, n]) => [k.toLowerCase(), n]))} />`]]} />
      <${Actions} job=${job} features=${features} />
    </div>
    <${Tabs} base=${`/jobs/${jid}`} tabs=${TABS} current=${current} label="Job sections" />
    ${current === 'overview' && html`<${GraphTab} job=${job} vertexId=${vertexId} metrics=${metrics} />`}
    ${current === 'exceptions' && html`<${ExceptionsTab} jid=${jid} />`}
    ${current === 'checkpoints' && html`<${CheckpointsTab} jid=${jid} vertices=${job.vertices} />`}
    ${current === 'configuration' && html`<${ConfigurationTab} jid=${jid} />`}`;
}
