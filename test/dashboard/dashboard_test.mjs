// The dashboard in headless Chromium (playwright-core, Debian's /usr/bin/chromium), run by
// test/e2e/dashboard_e2e.sh against a running job. Environment: DASHBOARD_URL, JOB_ID, RUN_PID
// (run-local, whose TaskManager children may be killed), CASE, EXPECT_CANCEL (1: the cancel
// button is there and cancels; 0: it is absent, and the stop-with-savepoint button stops the
// job), ARTIFACTS (screenshots), WEB_DIR
// (runtime/dashboard, whose node_modules has playwright-core and axe-core), CHROMIUM; for CASE
// session-submit also ROUTE_COUNTS_SO (a job library to upload), SUBMIT_INPUT and SUBMIT_OUTPUT
// (the arguments of the flight-delay job it submits through the page).
// Every wait is bounded by WAIT_MS and polls for an outcome; nothing is timed.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('DASHBOARD_URL');
const jobId = env('JOB_ID');
const artifacts = env('ARTIFACTS');
const expectCancel = env('EXPECT_CANCEL') === '1';
const runPid = Number(env('RUN_PID'));
const require = createRequire(join(env('WEB_DIR'), 'package.json'));
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const WAIT_MS = 60000;

const log = (msg) => console.log(`  ${msg}`);

async function rest(path) {
  const res = await fetch(new URL(path, url));
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

// Polls `check` (async, returns a truthy value when done) until it holds or WAIT_MS passes.
async function until(what, check) {
  const deadline = Date.now() + WAIT_MS;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const browser = await chromium.launch({ executablePath: env('CHROMIUM'), args: ['--no-sandbox', '--disable-gpu'] });
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const consoleErrors = [];
let watchConsole = true;
page.on('console', (m) => {
  if (watchConsole && m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
});
page.on('pageerror', (e) => {
  if (watchConsole) consoleErrors.push(`${page.url()}: ${e.message}`);
});
page.on('dialog', (d) => d.accept());

let shots = 0;
async function screenshot(name) {
  shots += 1;
  await page.screenshot({ path: join(artifacts, `${String(shots).padStart(2, '0')}-${name}.png`), fullPage: true });
}

// axe-core on the current page: no serious or critical violation.
async function accessible(name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: accessibility violations ${JSON.stringify(bad, null, 1)}`);
  log(`${name}: axe-core found no serious or critical violation (${violations.length} minor)`);
}

async function go(hash) {
  await page.goto(new URL(hash, url).toString());
}

const text = (selector) => page.locator(selector).innerText();

try {
  // --- overview: the job is listed as RUNNING ----------------------------------------------
  await go('');
  await until('the job RUNNING in the overview', async () => {
    const row = page.locator(`#job-list tr:has(a[data-jid="${jobId}"])`);
    return (await row.count()) === 1 && (await row.innerText()).includes('RUNNING');
  });
  assert.match(await text('main'), /Flink version/);
  await screenshot('overview');
  await accessible('overview');
  const submitLinks = await page.locator('header nav a', { hasText: 'Submit new job' }).count();
  assert.equal(submitLinks, process.env.CASE === 'session-submit' ? 1 : 0, 'the "Submit new job" link (web-submit)');
  if (process.env.CASE === 'session-submit') {
    await submitPages();
  } else {
    await jobPages();
  }
} catch (e) {
  await screenshot('failure').catch(() => {});
  console.error(e);
  process.exitCode = 1;
} finally {
  await browser.close();
}

// A session cluster's submit page: upload a library, run the builtin flight-delay job.
async function submitPages() {
  await page.click('header nav a:has-text("Submit new job")');
  await until('the builtin job library', async () => (await text('#jar-list')).includes('flinkcpp.examples.FlightDelays'));
  await page.setInputFiles('#jar-file', env('ROUTE_COUNTS_SO'));
  await page.click('#upload-submit');
  await until('the uploaded library in the list', async () => (await text('#jar-list')).includes('route-counts.so'));
  await screenshot('submit');
  await accessible('submit page');
  await page.click('#jar-list button.run-jar[data-jar="builtin_flink-cpp-examples"]');
  await page.selectOption('#run-entry', 'flinkcpp.examples.FlightDelays');
  await page.fill('#run-args', `--input ${env('SUBMIT_INPUT')} --output ${env('SUBMIT_OUTPUT')} --records-per-second 1000`);
  await page.fill('#run-parallelism', '1');
  await page.click('#run-submit');
  const submitted = await until('the submitted job', async () => {
    const m = /job ([0-9a-f]{32})/.exec(await text('#run-result'));
    return m && m[1];
  });
  await screenshot('submitted');
  await accessible('submit page with the run form');
  await page.click('#run-result a');
  await until('the submitted job on its page', async () => (await text('h1')).includes('flight-delays')
    && (await page.locator('svg.job-graph g.vertex').count()) > 0);
  const jobs = (await rest('jobs/overview')).jobs.map((j) => j.jid);
  assert.ok(jobs.includes(submitted), `the submitted job ${submitted} is in /jobs/overview`);
  log(`submit page: uploaded route-counts.so, ran job ${submitted}`);
  await screenshot('submitted-job');
  assert.deepEqual(consoleErrors, [], 'console errors');
}

// An application cluster's job: graph, rates, subtasks, checkpoints, a TaskManager kill, the
// TaskManager and JobManager pages, and the cancel or stop-with-savepoint button.
async function jobPages() {

  // --- job page: every vertex and edge of /plan -------------------------------------------
  const { plan } = await rest(`jobs/${jobId}/plan`);
  const expectedEdges = plan.nodes.flatMap((n) => (n.inputs || []).map((i) => `${i.id}->${n.id}#${i.num}|${i.ship_strategy}`)).sort();
  await page.click(`a[data-jid="${jobId}"]`);
  await until('the job graph', async () => (await page.locator('svg.job-graph g.vertex').count()) === plan.nodes.length);
  const vertexIds = (await page.locator('svg.job-graph g.vertex').evaluateAll((els) => els.map((e) => e.dataset.vertexId))).sort();
  assert.deepEqual(vertexIds, plan.nodes.map((n) => n.id).sort(), 'the drawn vertices are the plan\'s');
  const edges = (await page.locator('svg.job-graph g.edge').evaluateAll((els) => els.map((e) => `${e.dataset.edge}|${e.dataset.ship}`))).sort();
  assert.deepEqual(edges, expectedEdges, 'the drawn edges are the plan\'s, with their partitioning');
  for (const e of edges) assert.match(e, /\|(HASH|FORWARD|REBALANCE)$/);
  log(`job graph: ${vertexIds.length} vertices, ${edges.length} edges (${[...new Set(edges.map((e) => e.split('|')[1]))].join(', ')}), as /plan`);

  // --- live metrics: records/s change between two refreshes --------------------------------
  const rates = () => page.locator('#vertices .vertex-in-rate, #vertices .vertex-out-rate').allInnerTexts();
  const first = await until('non-zero records/s', async () => {
    const r = await rates();
    return r.some((x) => x !== '0' && x !== '–') ? r : null;
  });
  const second = await until('records/s to change on a refresh', async () => {
    const r = await rates();
    return r.join(' ') !== first.join(' ') ? r : null;
  });
  log(`records/s refreshed: [${first.join(', ')}] -> [${second.join(', ')}]`);
  await screenshot('job-graph');
  await accessible('job page');

  // --- a vertex by keyboard: its subtasks -------------------------------------------------
  const lastVertex = plan.nodes[plan.nodes.length - 1];
  await page.locator(`svg.job-graph g.vertex[data-vertex-id="${lastVertex.id}"]`).focus();
  await page.keyboard.press('Enter');
  await until('the subtasks table', async () => (await page.locator('#subtasks tbody tr').count()) === lastVertex.parallelism);
  await screenshot('vertex-subtasks');

  // --- configuration tab --------------------------------------------------------------------
  await page.click('nav.tabs >> text=Configuration');
  await until('the job configuration', async () => (await text('main')).includes('Execution configuration'));
  await screenshot('job-configuration');

  // --- checkpoints tab (the flight-delay job checkpoints) --------------------------------------
  if (process.env.CASE === 'flight-delays') {
    await page.click('nav.tabs >> text=Checkpoints');
    await until('a completed checkpoint in the history', async () => (await text('#checkpoint-history')).includes('COMPLETED'));
    await page.locator('#checkpoint-history button').first().click();
    await until('the checkpoint details per vertex', async () => (await page.locator('section.details tbody tr').count()) === plan.nodes.length);
    await page.locator('section.details button').first().click();
    await until('the subtasks of a checkpoint', async () => (await text('section.details')).includes('Acknowledged'));
    await screenshot('checkpoints');
    await accessible('checkpoints tab');

    // --- a TaskManager SIGKILL: the exceptions tab shows it, the checkpoints tab the restore ---
    const children = readFileSync(`/proc/${runPid}/task/${runPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    const tms = children.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('taskmanager');
      } catch {
        return false;
      }
    });
    assert.ok(tms.length > 0, 'a TaskManager process of run-local');
    process.kill(tms[0], 'SIGKILL');
    log(`SIGKILL TaskManager pid ${tms[0]}`);
    await page.click('nav.tabs >> text=Exceptions');
    await until('the failure in the exception history', async () => (await page.locator('#exception-history tbody tr:not(:has(td.empty))').count()) > 0);
    await until('a root exception', async () => (await page.locator('pre#root-exception').count()) === 1);
    log(`exceptions tab: ${(await page.locator('#exception-history tbody tr').first().innerText()).replace(/\s+/g, ' ').slice(0, 160)}`);
    await screenshot('exceptions');
    await accessible('exceptions tab');
    await page.click('nav.tabs >> text=Checkpoints');
    await until('the restore in the checkpoints tab', async () => (await page.locator('#latest-restore').count()) === 1);
    log(`checkpoints tab: restored ${await text('#latest-restore')}`);
    await screenshot('checkpoints-restored');
  }

  // --- TaskManagers: list, metrics, log, stdout ----------------------------------------------
  await go('#/taskmanagers');
  await until('the TaskManager list', async () => (await page.locator('#taskmanager-list tbody tr a').count()) > 0);
  await screenshot('taskmanagers');
  await accessible('TaskManagers');
  await page.locator('#taskmanager-list tbody tr a').first().click();
  await until('the TaskManager\'s resources', async () => (await text('main')).includes('Allocated slots'));
  await until('the TaskManager\'s memory', async () => /^[0-9.]+ (KB|MB|GB)$/.test(await text('#tm-rss')));
  await screenshot('taskmanager-metrics');
  await page.click('nav.tabs >> text=Log');
  await until('the TaskManager\'s log', async () => /Registered at the ResourceManager/.test(await text('pre.log')));
  await screenshot('taskmanager-log');
  await accessible('TaskManager log');
  await page.click('nav.tabs >> text=Stdout');
  await until('the TaskManager\'s stdout', async () => (await page.locator('pre.log').count()) === 1);

  // --- JobManager: configuration, log -------------------------------------------------------
  await go('#/jobmanager/config');
  await until('the JobManager configuration', async () => (await text('#jobmanager-config')).includes('rest.port'));
  await screenshot('jobmanager-config');
  await accessible('JobManager configuration');
  await page.click('nav.tabs >> text=Log');
  await until('the JobManager\'s log', async () => /Submitting job/.test(await text('pre.log')));
  await screenshot('jobmanager-log');
  await page.click('nav.tabs >> text=Log files');
  await until('the log files', async () => (await text('main')).includes('jobmanager.log'));

  // --- cancel: the button is there (and cancels) only when web.cancel.enable ----------------
  await go(`#/jobs/${jobId}/overview`);
  await until('the job RUNNING on its page', async () => (await text('#job-state')).includes('RUNNING'));
  await page.locator('#stop-job').waitFor();
  assert.equal(await page.locator('#cancel-job').count(), expectCancel ? 1 : 0, 'the cancel button');
  assert.deepEqual(consoleErrors, [], 'console errors');
  if (expectCancel) {
    // The JobManager shuts down once the job is cancelled: later failed refreshes are expected.
    watchConsole = false;
    await page.click('#cancel-job');
    await until('the cancellation', async () => (await text('main')).includes('Cancellation requested'));
    const state = await until('the job CANCELED', async () => {
      try {
        const s = (await rest(`jobs/${jobId}`)).state;
        return s === 'CANCELED' || s === 'CANCELLING' ? s : null;
      } catch {
        return 'gone';  // the JobManager already shut down after the cancellation
      }
    });
    log(`cancel button: the job is ${state}`);
  } else {
    log('no cancel button (web.cancel.enable: false)');
    await screenshot('job-without-cancel');
    // Stop with a savepoint (into state.savepoints.dir): the job ends and the JobManager with it.
    watchConsole = false;
    await page.click('#stop-job');
    await until('the stop request', async () => (await text('main')).includes('Stop with savepoint requested'));
    log('stop-with-savepoint button: requested');
  }
  log(`${shots} screenshots, ${readdirSync(artifacts).length} files in ${artifacts}`);
}
