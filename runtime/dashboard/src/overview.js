// The overview: the cluster (version, TaskManagers, slots, jobs by state) and the job list.
import { html } from 'htm/preact';
import { formatDuration, formatTime, getJson, usePoll } from './api.js';
import { Facts, StateBadge, Status, Table, href } from './common.js';

export function TaskCounts({ tasks }) {
  const order = ['running', 'finished', 'canceled', 'failed', 'scheduled', 'deploying', 'initializing', 'created',
    'canceling', 'reconciling'];
  return html`<span class="task-counts">${order.filter((s) => tasks && tasks[s] > 0).map((s) => html`
    <span class="badge state-${s}" key=${s} title=${s}>${s} ${tasks[s]}</span>`)}</span>`;
}

export function OverviewPage() {
  const poll = usePoll(async () => {
    const [overview, jobs] = await Promise.all([getJson('overview'), getJson('jobs/overview')]);
    return { overview, jobs: jobs.jobs };
  }, 'overview');
  const o = poll.data && poll.data.overview;
  return html`
    <h1>Overview</h1>
    <${Status} poll=${poll} what="the overview" />
    ${o && html`
      <section aria-labelledby="cluster-h">
        <h2 id="cluster-h">Cluster</h2>
        <${Facts} items=${[
          ['Flink version', `${o['flink-version']} (${o['flink-commit']})`],
          ['TaskManagers', o.taskmanagers],
          ['Task slots', `${o['slots-available']} available of ${o['slots-total']}`],
          ['Running jobs', o['jobs-running']],
          ['Finished jobs', o['jobs-finished']],
          ['Cancelled jobs', o['jobs-cancelled']],
          ['Failed jobs', o['jobs-failed']],
        ]} />
      </section>
      <section aria-labelledby="jobs-h">
        <h2 id="jobs-h">Jobs</h2>
        <${Table} id="job-list" caption="Jobs of this cluster, newest first"
          columns=${['Job name', 'State', 'Start time', 'Duration', 'Tasks']}
          empty="No jobs"
          rows=${[...poll.data.jobs].sort((a, b) => b['start-time'] - a['start-time']).map((j) => ({
            key: j.jid,
            className: 'job-row',
            cells: [
              html`<a href=${href(`/jobs/${j.jid}/overview`)} data-jid=${j.jid}>${j.name}</a>`,
              html`<${StateBadge} state=${j.state} />`,
              formatTime(j['start-time']),
              formatDuration(j.duration),
              html`<${TaskCounts} tasks=${j.tasks} />`,
            ],
          }))} />
      </section>`}`;
}
