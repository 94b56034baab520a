// The JobManager's web dashboard: a single-page application over Flink's REST API, routed by
// the URL's fragment (#/overview, #/jobs/<id>/<tab>[/<vertex>], #/taskmanagers[/<id>/<tab>],
// #/jobmanager/<tab>, #/submit on session clusters with web.submit.enable), refreshed every few seconds (/config's refresh-interval).
import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson, refresh } from './api.js';
import { JobPage } from './job.js';
import { OverviewPage } from './overview.js';
import { JobManagerPage, TaskManagerPage, TaskManagersPage } from './processes.js';
import { SubmitPage } from './submit.js';

function useRoute() {
  const parse = () => (window.location.hash.replace(/^#\/?/, '') || 'overview').split('/');
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const onChange = () => setRoute(parse());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Page({ route, features }) {
  const [section, id, tab, extra] = route;
  if (section === 'jobs' && id) return html`<${JobPage} jid=${id} tab=${tab} vertexId=${extra || null} features=${features} key=${id} />`;
  if (section === 'taskmanagers' && id) return html`<${TaskManagerPage} id=${id} tab=${tab} key=${id} />`;
  if (section === 'taskmanagers') return html`<${TaskManagersPage} />`;
  if (section === 'jobmanager') return html`<${JobManagerPage} tab=${id} />`;
  if (section === 'submit' && features['web-submit']) return html`<${SubmitPage} />`;
  return html`<${OverviewPage} />`;
}

const NAV = [['overview', 'Overview'], ['taskmanagers', 'TaskManagers'], ['jobmanager', 'JobManager']];

function App({ config }) {
  const route = useRoute();
  const features = config.features || {};
  const nav = features['web-submit'] ? [...NAV, ['submit', 'Submit new job']] : NAV;
  useEffect(() => {
    const main = document.getElementById('main');
    if (main) main.focus({ preventScroll: true });
  }, [route.slice(0, 2).join('/')]);
  return html`
    <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
    <header class="top">
      <span class="brand">Apache Flink Dashboard <small>${config['flink-version']} · ${config['flink-revision']}</small></span>
      <nav aria-label="Main">
        <ul>${nav.map(([id, title]) => html`<li key=${id}><a href="#/${id}" aria-current=${route[0] === id ? 'page' : undefined}
          class=${route[0] === id ? 'active' : ''}>${title}</a></li>`)}</ul>
      </nav>
    </header>
    <main id="main" tabindex="-1"><${Page} route=${route} features=${features} /></main>
    <footer>Refreshes every ${Math.round(refresh.intervalMs / 1000)} s · web submit ${features['web-submit'] ? 'enabled' : 'disabled'} · cancel ${features['web-cancel'] ? 'enabled' : 'disabled'}</footer>`;
}

async function start() {
  let config = {};
  try {
    config = await getJson('config');
  } catch {
    config = { features: {} };
  }
  if (config['refresh-interval'] > 0) refresh.intervalMs = config['refresh-interval'];
  const root = document.getElementById('app');
  root.textContent = '';
  render(html`<${App} config=${config} />`, root);
}

start();
