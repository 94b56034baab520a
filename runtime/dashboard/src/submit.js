// Submitting jobs to a session cluster (web.submit.enable): the job libraries of /jars, upload
// of a new one, and running an entry class of a library with arguments and parallelism.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { formatTime, getJson, usePoll } from './api.js';
import { Status, Table, href } from './common.js';

// Program arguments as the shell would split them: whitespace, with '...' and "..." quoting.
function splitArgs(text) {
  const args = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) args.push(m[1] ?? m[2] ?? m[3]);
  return args;
}

function RunForm({ jar }) {
  const [entry, setEntry] = useState((jar.entry[0] || {}).name || '');
  const [args, setArgs] = useState('');
  const [parallelism, setParallelism] = useState('');
  const [savepoint, setSavepoint] = useState('');
  const [result, setResult] = useState(null);
  const submit = async (ev) => {
    ev.preventDefault();
    const body = { entryClass: entry, programArgsList: splitArgs(args) };
    if (parallelism) body.parallelism = Number(parallelism);
    if (savepoint) body.savepointPath = savepoint;
    try {
      const { jobid } = await getJson(`jars/${encodeURIComponent(jar.id)}/run`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
      });
      setResult({ jobid });
    } catch (e) {
      setResult({ error: e.message });
    }
  };
  return html`
    <form class="run-form" onSubmit=${submit} aria-labelledby="run-h">
      <h2 id="run-h">Run ${jar.name}</h2>
      <div class="field"><label for="run-entry">Entry class</label>
        <select id="run-entry" value=${entry} onChange=${(e) => setEntry(e.target.value)}>
          ${jar.entry.map((e) => html`<option key=${e.name} value=${e.name}>${e.name}</option>`)}
        </select></div>
      <div class="field"><label for="run-args">Program arguments</label>
        <input id="run-args" type="text" size="80" value=${args} onInput=${(e) => setArgs(e.target.value)}
               placeholder="--input in.csv --output out" /></div>
      <div class="field"><label for="run-parallelism">Parallelism</label>
        <input id="run-parallelism" type="number" min="1" value=${parallelism}
               onInput=${(e) => setParallelism(e.target.value)} /></div>
      <div class="field"><label for="run-savepoint">Savepoint path (optional)</label>
        <input id="run-savepoint" type="text" size="60" value=${savepoint} onInput=${(e) => setSavepoint(e.target.value)} /></div>
      <button type="submit" id="run-submit">Submit</button>
      ${result && (result.error
        ? html`<p class="error" role="alert">Submission failed: ${result.error}</p>`
        : html`<p role="status" id="run-result">Submitted: job <a href=${href(`/jobs/${result.jobid}/overview`)}>${result.jobid}</a></p>`)}
    </form>`;
}

export function SubmitPage() {
  const [selected, setSelected] = useState(null);
  const [message, setMessage] = useState(null);
  const [version, setVersion] = useState(0);
  const poll = usePoll(() => getJson('jars'), 'jars', version);
  const upload = async (ev) => {
    ev.preventDefault();
    const input = ev.target.querySelector('input[type=file]');
    if (!input.files.length) return;
    const form = new FormData();
    form.append('jarfile', input.files[0]);
    try {
      await getJson('jars/upload', { method: 'POST', body: form });
      setMessage(`Uploaded ${input.files[0].name}.`);
      input.value = '';
      setVersion((v) => v + 1);
    } catch (e) {
      setMessage(`Upload failed: ${e.message}`);
    }
  };
  const remove = async (jar) => {
    if (!window.confirm(`Delete ${jar.name}?`)) return;
    try {
      await getJson(`jars/${encodeURIComponent(jar.id)}`, { method: 'DELETE' });
      if (selected === jar.id) setSelected(null);
      setVersion((v) => v + 1);
    } catch (e) {
      setMessage(`Delete failed: ${e.message}`);
    }
  };
  const jars = poll.data ? poll.data.files : [];
  const jar = jars.find((j) => j.id === selected);
  return html`
    <h1>Submit new job</h1>
    <form class="upload" onSubmit=${upload} aria-labelledby="upload-h">
      <h2 id="upload-h">Upload a job library</h2>
      <label for="jar-file">Shared library (.so) that registers FLINK_JOB entry classes</label>
      <input id="jar-file" type="file" accept=".so" />
      <button type="submit" id="upload-submit">Upload</button>
      ${message && html`<p role="status" id="upload-result">${message}</p>`}
    </form>
    <section aria-labelledby="jars-h">
      <h2 id="jars-h">Job libraries</h2>
      <${Status} poll=${poll} what="the job libraries" />
      ${poll.data && html`<${Table} id="jar-list" caption="Job libraries on this cluster (/jars)" empty="No job library"
        columns=${['Name', 'Uploaded', 'Entry classes', 'Actions']}
        rows=${jars.map((j) => ({
          key: j.id,
          cells: [j.name, formatTime(j.uploaded), j.entry.map((e) => e.name).join(', '),
            html`<button type="button" data-jar=${j.id} class="run-jar" onClick=${() => setSelected(j.id)}>Run…</button>
              ${!j.id.startsWith('builtin_') && html` <button type="button" class="danger" onClick=${() => remove(j)}>Delete</button>`}`],
        }))} />`}
    </section>
    ${jar && html`<${RunForm} jar=${jar} key=${jar.id} />`}`;
}
