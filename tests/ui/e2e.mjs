// e2e.mjs: the web UI, end to end, in a real browser against a real weir.
//
//   WEIR_BINARY=build/rel/weir node tests/ui/e2e.mjs     (ctest: ui_e2e)
//
// Starts `weir standalone` on a fresh WEIR_HOME with the DAG files of
// tests/ui/dags/ (copied into a temp folder), drives Debian's Chromium
// through playwright-core, and stops everything by pid at the end.  The
// steps depend on each other (sign in, then unpause, then trigger...), so
// they run in order and share one page.  Screenshots of every page go to
// tests/ui/artifacts/ (git-ignored; WEIR_UI_ARTIFACTS overrides).
//
// Waits are generous (the suite also runs on the ASan build) and nothing
// asserts on timing.  A missing Chromium or node_modules fails the suite.

import test, {before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {startStandalone, until} from './lib/standalone.mjs';
import {launch} from './lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '..', '..');
const UI_DIR = path.join(top, 'ui-static');
const ARTIFACTS = process.env.WEIR_UI_ARTIFACTS || path.join(here, 'artifacts');
const WAIT = Number(process.env.WEIR_UI_WAIT_MS) || 120000; // per wait, for slow (ASan) builds
const STEP = {timeout: 4 * WAIT};

let w = null, browser = null, page = null;
const problems = []; // page errors, CSP violations, console errors
const apiCalls = []; // paths (with queries) of the page's API requests
let shotNo = 0;
const state = {};

function log(msg) {
  process.stderr.write(`# ${msg}\n`);
}

async function shot(name) {
  shotNo++;
  const file = path.join(ARTIFACTS, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({path: file, fullPage: true});
}

async function go(hash) {
  await page.evaluate((h) => {
    location.hash = h;
  }, hash);
}

// The s-STATE class of the grid cell of (run, task), or null.
function cellState(runId, taskId) {
  return page.evaluate(([run, task]) => {
    const bars = [...document.querySelectorAll('#grid .gh b')];
    const r = bars.findIndex((b) => b.dataset.run === run);
    if (r < 0) return null;
    const row = [...document.querySelectorAll('#grid .gr')].find((x) => x.dataset.task === task);
    const c = row && row.lastChild.children[r];
    return c ? ([...c.classList].find((x) => x.startsWith('s-')) || null) : null;
  }, [runId, taskId]);
}

async function waitCells(runId, want) {
  await until(`grid cells ${JSON.stringify(want)} of run ${runId}`, async () => {
    for (const [task, st] of Object.entries(want)) if ((await cellState(runId, task)) !== `s-${st}`) return false;
    return true;
  }, {timeoutMs: WAIT});
}

async function runIdFromUrl() {
  const url = await until('the grid URL with the new run', async () => {
    const h = await page.evaluate(() => location.hash);
    return /[?&]run=/.test(h) && h;
  }, {timeoutMs: WAIT});
  return new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('run');
}

async function submitTrigger(fields) {
  await go('#/dags/ui_hello/trigger');
  await page.waitForSelector('#trigger-form', {timeout: WAIT});
  for (const [name, value] of Object.entries(fields)) {
    const sel = `#p-${name}`;
    if (typeof value === 'boolean') await page.setChecked(sel, value);
    else await page.fill(sel, String(value));
  }
  await page.click('#trigger-submit');
}

// Interrupted (Ctrl-C, or a runner's SIGTERM): stop what was started.
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    log(`${sig}: stopping`);
    if (browser) await browser.close().catch(() => {});
    if (w) await w.stop().catch(() => {});
    process.exit(1);
  });
}

before(async () => {
  fs.mkdirSync(ARTIFACTS, {recursive: true});
  for (const f of fs.readdirSync(ARTIFACTS)) if (f.endsWith('.png')) fs.rmSync(path.join(ARTIFACTS, f));
  // The browser first: a missing Chromium or playwright-core fails at once.
  browser = await launch();
  w = await startStandalone({dags: path.join(here, 'dags'), uiDir: UI_DIR, log});
  // The scheduler has loaded the DAG folder when the DAGs and the import
  // error are in the database.
  await until('the fixture DAGs to be loaded', async () => {
    const d = await w.api('/api/v1/dags?limit=100');
    const e = await w.api('/api/v1/importErrors');
    const ids = (d.body.dags || []).map((x) => x.dag_id);
    return ['ui_hello', 'ui_cron', 'ui_slow'].every((x) => ids.includes(x)) &&
      (e.body.import_errors || []).some((x) => x.filename.endsWith('ui_broken.yaml'));
  }, {timeoutMs: WAIT});
  const context = await browser.newContext({viewport: {width: 1400, height: 900}});
  // Collect CSP violations in every document (init scripts are injected
  // by the DevTools protocol, so the CSP does not apply to this one).
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/v1/')) apiCalls.push(u.pathname + u.search);
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // The browser logs every non-2xx fetch; the tests cause some on purpose.
    if (/^Failed to load resource: the server responded with a status of (400|401|404|409)/.test(m.text())) return;
    problems.push(`console error: ${m.text()}`);
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (w) await w.stop();
});

test('the UI is served with a strict CSP, content types and caching headers', STEP, async () => {
  const html = await fetch(w.base + '/');
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type'), /^text\/html/);
  assert.match(html.headers.get('content-security-policy'), /default-src 'self'/);
  assert.equal(html.headers.get('cache-control'), 'no-cache');
  const js = await fetch(w.base + '/js/main.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.match(js.headers.get('cache-control'), /max-age=/);
  const etag = js.headers.get('etag');
  assert.ok(etag, 'an ETag');
  const again = await fetch(w.base + '/js/main.js', {headers: {'If-None-Match': etag}});
  assert.equal(again.status, 304);
  const css = await fetch(w.base + '/css/app.css');
  assert.match(css.headers.get('content-type'), /^text\/css/);
});

test('the UI files need nothing the CSP forbids (inline code or styles, eval, other origins)', STEP, async () => {
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, {withFileTypes: true})) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(UI_DIR);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const rel = path.relative(UI_DIR, f);
    // Other origins: only the SVG namespace name (an identifier, never fetched).
    const urls = (text.match(/(https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s'")]*/gi) || [])
      .filter((u) => !u.startsWith('http://www.w3.org/2000/svg') && /^https?:/.test(u));
    assert.deepEqual(urls, [], `${rel} names another origin`);
    if (f.endsWith('.html')) {
      assert.doesNotMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/i, `${rel} has an inline script`);
      assert.doesNotMatch(text, /\sstyle=|<style/i, `${rel} has inline styles`);
      assert.doesNotMatch(text, /\son[a-z]+=/i, `${rel} has an inline event handler`);
    }
    if (f.endsWith('.js')) {
      assert.doesNotMatch(text, /\beval\s*\(|new Function\s*\(|setTimeout\s*\(\s*['"`]/, `${rel} evaluates strings`);
      assert.doesNotMatch(text, /style="/, `${rel} writes an inline style attribute`);
    }
  }
});

test('a fresh session gets the sign-in page, remembering where it was going', STEP, async () => {
  await page.goto(w.base + '/#/orders');
  await page.waitForSelector('#signin-form');
  assert.match(await page.evaluate(() => location.hash), /^#\/signin\?next=%2Forders/);
  assert.equal(await page.isHidden('#nav'), true);
  await shot('signin');
});

test('a wrong secret is refused with the reason', STEP, async () => {
  await page.fill('#client_id', w.clientId);
  await page.fill('#client_secret', 'not-the-secret');
  await page.click('#signin-submit');
  await page.waitForSelector('#signin-msg .notice.bad');
  assert.match(await page.textContent('#signin-msg'), /Sign-in failed: unknown client or wrong secret/);
});

test('sign in with client credentials and see the DAG list', STEP, async () => {
  await page.fill('#client_secret', w.clientSecret);
  await page.click('#signin-submit');
  // Back to where it was going: the orders page; then the DAG list.
  await page.waitForSelector('#orders-table, #orders-body .notice');
  await page.click('#nav a[data-nav=dags]');
  await page.waitForSelector('#dags-table');
  const ids = await page.$$eval('#dags-table tbody tr', (rows) => rows.map((r) => r.dataset.dag));
  assert.deepEqual(ids, ['ui_cron', 'ui_hello', 'ui_slow']);
  assert.match(await page.textContent('#who-name'), /admin/);
  const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('weir.session')));
  assert.equal(session.grant, 'client_credentials');
  assert.ok(session.access_token);
  assert.match(await page.textContent('tr[data-dag=ui_hello]'), /Greets someone; fails on request/);
  await page.waitForSelector('tr[data-dag=ui_hello] td.runs :text("no runs")');
  await shot('dags');
});

test('an invalid DAG file shows in the error banner with file:line:col', STEP, async () => {
  const text = await page.textContent('#import-errors');
  assert.match(text, /1 DAG file has errors/);
  assert.match(text, /ui_broken\.yaml:9:5: error: unknown key "retrys" \(did you mean "retries"\?\)/);
});

test('schedules read in words with the next run, and tags filter the list', STEP, async () => {
  const sched = await page.textContent('tr[data-dag=ui_cron] .sched');
  assert.match(sched, /At 06:30, Monday through Friday \(Europe\/Berlin\)/);
  assert.match(sched, /paused: no next run/);
  assert.match(await page.textContent('tr[data-dag=ui_hello] .sched'), /Only when triggered/);
  await page.click('tr[data-dag=ui_cron] button.tag:text("ui-cron")');
  await until('the tag filter', async () => {
    const ids = await page.$$eval('#dags-table tbody tr', (rows) => rows.map((r) => r.dataset.dag));
    return ids.length === 1 && ids[0] === 'ui_cron';
  }, {timeoutMs: WAIT});
  assert.match(await page.evaluate(() => location.hash), /tags=ui-cron/);
  await page.click('#tag-chips button');
  await until('the unfiltered list', async () => (await page.$$('#dags-table tbody tr')).length === 3, {timeoutMs: WAIT});
});

test('unpause a DAG with its switch', STEP, async () => {
  assert.equal(await page.isChecked('#pause-ui_hello'), false);
  await page.click('#pause-ui_hello');
  await until('the switch to say Active', async () => /Active/.test(await page.textContent('tr[data-dag=ui_hello] .switch')), {timeoutMs: WAIT});
  const d = await w.api('/api/v1/dags/ui_hello');
  assert.equal(d.body.is_paused, false);
});

test('the trigger form checks values in the browser and marks the field', STEP, async () => {
  await submitTrigger({count: 9});
  await page.waitForSelector('#p-count-msg:not(:empty)');
  assert.match(await page.textContent('#p-count-msg'), /at most 5/);
  assert.equal(await page.getAttribute('#p-count', 'aria-invalid'), 'true');
  await shot('trigger-client-check');
  const runs = await w.api('/api/v1/dags/ui_hello/dagRuns');
  assert.equal(runs.body.total_entries, 0, 'nothing was sent');
});

test('a value only the server can judge gets the server\'s message at the field', STEP, async () => {
  await submitTrigger({count: 2, code: 'abc'});
  await page.waitForSelector('#p-code-msg:not(:empty)');
  const msg = await page.textContent('#p-code-msg');
  assert.match(msg, /code/);
  assert.match(await page.textContent('#trigger-status'), /The server refused the run/);
  assert.equal(await page.getAttribute('#p-code', 'aria-invalid'), 'true');
  await shot('trigger-server-error');
});

test('trigger with a param and watch the grid cells turn to success', STEP, async () => {
  const mark = apiCalls.length;
  await submitTrigger({name: 'ui-e2e', count: 2, code: 'XYZ', fail: false});
  state.okRun = await runIdFromUrl();
  await page.waitForSelector('#grid');
  await waitCells(state.okRun, {greet: 'success', work: 'success', report: 'success'});
  // The grid reads weir's compact grid resource (the first page, then
  // polls), never one task-instance listing per run.
  const calls = apiCalls.slice(mark);
  assert.ok(calls.some((c) => /^\/api\/v1\/dags\/ui_hello\/grid\?limit=25&offset=0$/.test(c)), calls.join(' '));
  assert.ok(calls.filter((c) => c.includes('/grid?')).length >= 2, `the grid polls: ${calls.join(' ')}`);
  assert.ok(!calls.some((c) => /\/taskInstances(\?|$)/.test(c)), calls.join(' '));
  // Rows in topological order, as the API gives them.
  const g = await w.api('/api/v1/dags/ui_hello/grid?limit=5');
  assert.equal(g.status, 200, JSON.stringify(g.body));
  assert.deepEqual(await page.$$eval('#grid .gr', (rs) => rs.map((r) => r.dataset.task)), g.body.task_ids);
  assert.equal(g.body.states[0].length, g.body.task_ids.length);
  const run = await w.api(`/api/v1/dags/ui_hello/dagRuns/${encodeURIComponent(state.okRun)}`);
  assert.deepEqual(run.body.conf, {name: 'ui-e2e', count: 2, code: 'XYZ', fail: false});
  await until('the run bar to show SUCCESS', async () => page.evaluate((id) => {
    const b = [...document.querySelectorAll('#grid .gh b')].find((x) => x.dataset.run === id);
    return b && b.classList.contains('o-SUCCESS');
  }, state.okRun), {timeoutMs: WAIT});
  await shot('grid');
});

test('the grid works from the keyboard', STEP, async () => {
  await page.focus('#grid');
  await page.keyboard.press('Home');
  await page.keyboard.press('End');
  // The cursor's cell is read out, with the try and times of the grid answer.
  assert.match(await page.textContent('#grid-live'),
    /^greet, run .+, state: success, try 1 of \d+, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, duration \d/);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#ti-panel:not([hidden]) #ti-panel-title');
  assert.equal(await page.textContent('#ti-panel-title'), 'greet');
});

test('open the task\'s log and see its output line, and its XCom', STEP, async () => {
  const r = await page.evaluate((id) => [...document.querySelectorAll('#grid .gh b')].findIndex((x) => x.dataset.run === id), state.okRun);
  await page.locator('#grid .gr[data-task=greet] .gcs > i').nth(r).click();
  await page.waitForSelector('#ti-panel:not([hidden]) #ti-panel-state .s-success');
  await shot('grid-task-panel');
  await page.click('#ti-panel-open');
  await page.waitForSelector('#log');
  await until('the log line', async () => /OUT hello ui-e2e x2/.test(await page.textContent('#log')), {timeoutMs: WAIT});
  await page.waitForSelector('#log[data-ended="1"]');
  await page.waitForSelector('#xcom-table tr[data-key=greeting]');
  assert.match(await page.textContent('#xcom-table tr[data-key=greeting]'), /"hello ui-e2e"/);
  assert.match(await page.textContent('#task-state'), /success/);
  await shot('task');
});

test('the run page lists task instances and draws the timeline', STEP, async () => {
  await go(`#/dags/ui_hello/runs/${encodeURIComponent(state.okRun)}`);
  await page.waitForSelector('#run-ti-table');
  const rows = await page.$$eval('#run-ti-table tbody tr', (tr) => tr.map((x) => [x.dataset.task, x.querySelector('.badge').textContent]));
  assert.deepEqual(rows, [['greet', 'success'], ['work', 'success'], ['report', 'success']]);
  assert.equal((await page.$$('#gantt rect.bar')).length, 3);
  assert.match(await page.textContent('#run-state'), /SUCCESS/);
  assert.match(await page.textContent('#order-status'), /SUCCESS/);
  assert.equal(await page.isVisible('#abort'), false, 'no abort button on a finished run');
  assert.equal(await page.getAttribute('#result-link', 'href'),
    `https://downloads.example.invalid/${encodeURIComponent(state.okRun)}.zip`);
  assert.match(await page.textContent('#order-result'), /"rows":3/);
  await shot('run');
});

test('a failing run shows failed and upstream_failed in the grid, graph and run page', STEP, async () => {
  await submitTrigger({name: 'doomed', code: 'XYZ', fail: true});
  state.badRun = await runIdFromUrl();
  await page.waitForSelector('#grid');
  await waitCells(state.badRun, {greet: 'success', work: 'failed', report: 'upstream_failed'});
  await shot('grid-failed');
  await go(`#/dags/ui_hello/graph?run=${encodeURIComponent(state.badRun)}`);
  await page.waitForSelector('#graph[data-ready="1"]');
  const cls = await page.$$eval('#graph .node', (ns) => Object.fromEntries(ns.map((n) => [n.dataset.task, n.getAttribute('class')])));
  assert.match(cls.work, /s-failed/);
  assert.match(cls.report, /s-upstream_failed/);
  assert.match(cls.greet, /s-success/);
  assert.equal((await page.$$('#graph path.edge')).length, 2);
  assert.match(await page.getAttribute('#graph .node[data-task=report]', 'aria-label'), /upstream failed/);
  await shot('graph');
  await go(`#/dags/ui_hello/runs/${encodeURIComponent(state.badRun)}`);
  await page.waitForSelector('#run-ti-table');
  assert.match(await page.textContent('#run-state'), /FAILED/);
});

test('the source view shows the DAG file read only', STEP, async () => {
  await go('#/dags/ui_hello/source');
  await page.waitForSelector('#dag-source');
  const text = await page.textContent('#dag-source');
  assert.match(text, /dag: ui_hello/);
  const lines = fs.readFileSync(path.join(here, 'dags', 'ui_hello.yaml'), 'utf8').replace(/\n$/, '').split('\n').length;
  assert.equal(await page.$$eval('#dag-source > span', (s) => s.length), lines);
  assert.equal(await page.$$eval('#dag-body textarea, #dag-body [contenteditable]', (x) => x.length), 0);
  await shot('source');
});

test('follow a running task\'s log as it grows', STEP, async () => {
  const r = await w.api('/api/v1/dags/ui_slow/dagRuns', {method: 'POST', json: {conf: {}}});
  assert.equal(r.status, 200, JSON.stringify(r.body));
  state.slowOrder = r.body.order_id;
  state.slowRun = r.body.dag_run_id;
  await until('the slow task to run', async () => {
    const ti = await w.api(`/api/v1/dags/ui_slow/dagRuns/${encodeURIComponent(state.slowRun)}/taskInstances/sleepy`);
    return ti.body.state === 'running';
  }, {timeoutMs: WAIT});
  await go(`#/dags/ui_slow/runs/${encodeURIComponent(state.slowRun)}/tasks/sleepy`);
  await page.waitForSelector('#log');
  assert.equal(await page.isChecked('#follow'), true, 'follow is on for a running task');
  // "tick 2" is written 3 s after "tick 1": it must arrive without a reload.
  await until('"tick 2" in the log', async () => /OUT tick 2/.test(await page.textContent('#log')), {timeoutMs: WAIT});
  const text = await page.textContent('#log');
  assert.equal(text.match(/OUT tick 1/g).length, 1, 'continuation tokens: nothing twice');
  assert.equal(await page.getAttribute('#log', 'data-ended'), '0');
  assert.match(await page.textContent('#log-state'), /still being written/);
  await shot('task-follow');
});

test('abort a running order from the orders page', STEP, async () => {
  const orderId = state.slowOrder;
  await until('the order to be RUNNING', async () => (await w.api(`/api/v1/orders/${orderId}`)).body.status === 'RUNNING', {timeoutMs: WAIT});
  await go('#/orders?status=RUNNING');
  await page.waitForSelector(`#orders-table tr[data-order="${orderId}"]`);
  const statuses = await page.$$eval('#orders-table tbody tr', (tr) => tr.map((x) => x.dataset.status));
  assert.ok(statuses.every((s) => s === 'RUNNING'), statuses.join());
  await shot('orders-running');
  await page.click(`#orders-table tr[data-order="${orderId}"] a`);
  await page.waitForSelector('#order-status .o-RUNNING');
  await page.click('#abort');
  await page.click('#abort-confirm');
  await page.waitForSelector('#order-status .o-ABORTED');
  await page.waitForSelector('#order-history li[data-status=ABORTED]');
  const o = await w.api(`/api/v1/orders/${orderId}`);
  assert.equal(o.body.status, 'ABORTED');
  // The status history is the run's state events: who aborted it, and why.
  const hist = await page.$$eval('#order-history li', (li) => li.map((x) => [x.dataset.status, x.dataset.actor, x.textContent]));
  assert.deepEqual(hist.map(([st]) => st), ['RECEIVED', 'QUEUED', 'RUNNING', 'ABORTED']);
  assert.equal(hist[3][1], `api:${w.clientId}`);
  assert.match(hist[3][2], /from RUNNING.*aborted through the API/);
  assert.equal(hist[1][1], 'scheduler');
  const ev = await w.api(`/api/v1/orders/${orderId}/events?kind=run`);
  assert.equal(ev.status, 200);
  assert.deepEqual(ev.body.events.map((e) => e.to), ['QUEUED', 'RUNNING', 'ABORTED']);
  await page.click('#order-tasks summary');
  await page.waitForSelector('#order-task-table tr[data-task=sleepy][data-status=running]');
  await until('the aborted task to stop', async () => {
    const ti = await w.api(`/api/v1/dags/ui_slow/dagRuns/${encodeURIComponent(state.slowRun)}/taskInstances/sleepy`);
    return ti.body.state !== 'running' && ti.body.state;
  }, {timeoutMs: WAIT});
  await shot('order-aborted');
  // The followed log ends once the try has ended.
  await go(`#/dags/ui_slow/runs/${encodeURIComponent(state.slowRun)}/tasks/sleepy`);
  await page.waitForSelector('#log[data-ended="1"]');
  assert.match(await page.textContent('#log'), /OUT tick 2/);
});

test('orders filter by status and service, with paging', STEP, async () => {
  await go('#/orders?service=ui_hello&limit=1');
  await page.waitForSelector('#orders-table');
  assert.equal((await page.$$('#orders-table tbody tr')).length, 1);
  assert.match(await page.textContent('#page-info'), /^1–1 of 2$/);
  const first = await page.getAttribute('#orders-table tbody tr', 'data-order');
  await page.click('#next-page');
  await page.waitForSelector('#page-info:text("2–2 of 2")');
  assert.notEqual(await page.getAttribute('#orders-table tbody tr', 'data-order'), first);
  await go('#/orders?status=FAILED,ABORTED');
  await page.waitForSelector('#orders-table');
  const st = await page.$$eval('#orders-table tbody tr', (tr) => tr.map((x) => x.dataset.status).sort());
  assert.deepEqual(st, ['ABORTED', 'FAILED']);
  assert.equal(await page.isChecked('#orders-filter input[value=FAILED]'), true);
  await shot('orders');
});

test('the health line shows the scheduler heartbeat age and the database status', STEP, async () => {
  await page.waitForSelector('#health-scheduler');
  assert.match(await page.textContent('#health-scheduler'), /Scheduler: heartbeat \d+ s ago/);
  assert.equal(await page.getAttribute('#health-scheduler', 'class'), 'good');
  assert.match(await page.textContent('#health-db'), /Database: healthy/);
  assert.equal(await page.isHidden('#health-banner'), true);
});

test('an unhealthy scheduler or database raises the banner', STEP, async () => {
  // The real /health is healthy (previous step); what the UI does with an
  // unhealthy answer is checked by answering /health from the test.
  const now = Date.now();
  await page.route('**/health', (route) => route.fulfill({
    status: 200, contentType: 'application/json', headers: {Date: new Date(now).toUTCString()},
    body: JSON.stringify({metadatabase: {status: 'unhealthy'},
      scheduler: {status: 'unhealthy', latest_scheduler_heartbeat: new Date(now - 95000).toISOString()}}),
  }));
  try {
    await page.reload();
    await page.waitForSelector('#health-banner:not([hidden])');
    const text = await page.textContent('#health-banner');
    assert.match(text, /metadata database is unhealthy/);
    assert.match(text, /scheduler is unhealthy: its last heartbeat was 2 min ago/);
    assert.equal(await page.getAttribute('#health-scheduler', 'class'), 'bad');
    await shot('health-unhealthy');
  } finally {
    await page.unroute('**/health');
  }
  await page.reload();
  await page.waitForSelector('#health-db:text-is("Database: healthy")');
  await until('the banner to go', () => page.isHidden('#health-banner'), {timeoutMs: WAIT});
});

test('states are told apart without colour: every state has its own glyph', STEP, async () => {
  await go('#/dags/ui_hello');
  await page.waitForSelector('.legend');
  const glyphs = await page.$$eval('.legend .badge', (bs) => bs.map((b) => [b.textContent, getComputedStyle(b, '::before').content]));
  const ti = glyphs.filter(([t]) => t === t.toLowerCase() && t !== 'no status');
  const runs = glyphs.filter(([t]) => t === t.toUpperCase());
  for (const group of [ti, runs]) {
    const g = group.map(([, c]) => c);
    assert.equal(new Set(g).size, g.length, JSON.stringify(group));
    assert.ok(g.every((c) => c && c !== 'none' && c !== '""'), JSON.stringify(group));
  }
  assert.equal(ti.length, 10);
  assert.equal(runs.length, 7);
  // The SVG views (graph, timeline) take the glyphs from states.js.
  const js = await page.evaluate(() => import('/js/states.js').then((m) => m.TI_GLYPH));
  for (const [label, content] of ti) assert.equal(content, JSON.stringify(js[label.replace(/ /g, '_')]), label);
});

test('a rejected token is refreshed silently; when that fails too, the sign-in page comes', STEP, async () => {
  const bogus = 'A'.repeat(43);
  await page.evaluate((t) => {
    const s = JSON.parse(sessionStorage.getItem('weir.session'));
    s.access_token = t;
    sessionStorage.setItem('weir.session', JSON.stringify(s));
  }, bogus);
  await go('#/dags');
  await page.waitForSelector('#dags-table');
  const now = await page.evaluate(() => JSON.parse(sessionStorage.getItem('weir.session')).access_token);
  assert.notEqual(now, bogus, 'a new token');
  await page.evaluate((t) => {
    const s = JSON.parse(sessionStorage.getItem('weir.session'));
    s.access_token = t;
    s.client_secret = 'wrong';
    sessionStorage.setItem('weir.session', JSON.stringify(s));
  }, bogus);
  await go('#/orders');
  await page.waitForSelector('#signin-form');
  assert.match(await page.textContent('#signin-msg'), /Your session ended/);
  assert.match(await page.evaluate(() => location.hash), /next=%2Forders/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('weir.session')), null);
});

test('sign in with user and password; the refresh token rotates', STEP, async () => {
  const u = await w.api('/api/v1/users', {method: 'POST', json: {username: 'ui-user', password: 'correct horse battery staple', scopes: ['admin']}});
  assert.equal(u.status, 201, JSON.stringify(u.body));
  await go('#/signin?mode=password');
  await page.waitForSelector('#username');
  await page.fill('#username', 'ui-user');
  await page.fill('#password', 'correct horse battery staple');
  await page.fill('#client_id', w.clientId);
  await page.fill('#client_secret', w.clientSecret);
  await page.click('#signin-submit');
  await page.waitForSelector('#dags-table');
  assert.match(await page.textContent('#who-name'), /ui-user/);
  const s1 = await page.evaluate(() => JSON.parse(sessionStorage.getItem('weir.session')));
  assert.equal(s1.grant, 'password');
  assert.ok(s1.refresh_token);
  await page.evaluate(() => import('/js/auth.js').then((m) => m.refresh()));
  const s2 = await page.evaluate(() => JSON.parse(sessionStorage.getItem('weir.session')));
  assert.notEqual(s2.access_token, s1.access_token);
  assert.notEqual(s2.refresh_token, s1.refresh_token);
  state.session = s2;
  await go('#/orders');
  await page.waitForSelector('#orders-table');
});

test('sign out revokes the tokens and returns to the sign-in page', STEP, async () => {
  await page.click('#signout');
  await page.waitForSelector('#signin-form');
  assert.match(await page.textContent('#signin-msg'), /signed out; your tokens were revoked/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('weir.session')), null);
  assert.equal(await page.isHidden('#who'), true);
  const r = await w.api('/api/v1/dags', {token: state.session.access_token});
  assert.equal(r.status, 401);
  const rt = await fetch(`${w.base}/oauth/token`, {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: state.session.refresh_token, client_id: w.clientId, client_secret: w.clientSecret})});
  assert.equal(rt.status, 400);
  await shot('signed-out');
});

test('no page errors, CSP violations or console errors happened', STEP, async () => {
  assert.deepEqual(problems, []);
});
