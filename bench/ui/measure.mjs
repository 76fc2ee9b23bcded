// measure.mjs: the grid of a 200-task DAG with 100 runs in headless
// Chromium, timed by the page itself (bench/ui/run.sh drives this).
//
//   WEIR_BINARY=... node bench/ui/measure.mjs OUT_DIR [--loads 7] [--tasks 200] [--runs 100]
//
// 1. weir standalone on a fresh WEIR_HOME with the DAG of gen.py;
// 2. the runs and task instances inserted with psql (gen.py runs), in
//    terminal states, into the standalone's database (`weir db url`);
// 3. sign in once through the UI, then LOADS full page loads of
//    #/dags/ui_bench?runs=100 (about:blank in between, so each is a new
//    document with empty memory caches; the HTTP cache keeps the UI's own
//    files, as for a returning user).  Per load the page's marks, relative
//    to navigation start: start (the route began), fetched (the grid
//    answer arrived and was decoded), skeleton/data (the grid is in the
//    DOM with every cell), rendered (the frame after the last cell);
// 4. the page's grid request from Node without a browser, to split API
//    time from browser time; and the same runs' task instances as Airflow's
//    listings (one per run, six at a time), which the grid read before
//    GET /dags/{dag}/grid existed;
// 5. LOADS revisits inside the app (DAG list -> grid), where the finished
//    runs' task instances come from the page's memory cache.
// Writes OUT_DIR/result.json.

import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {startStandalone, until} from '../../tests/ui/lib/standalone.mjs';
import {launch} from '../../tests/ui/lib/browser.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const top = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
const out = args[0];
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const LOADS = opt('loads', 7), TASKS = opt('tasks', 200), RUNS = opt('runs', 100);
const PSQL = '/usr/lib/postgresql/15/bin/psql';

const log = (m) => process.stderr.write(`bench/ui: ${m}\n`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function run(cmd, argv, env) {
  const r = spawnSync(cmd, argv, {env, encoding: 'utf8', maxBuffer: 64 << 20});
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

fs.mkdirSync(out, {recursive: true});
const dagDir = path.join(out, 'dags');
fs.mkdirSync(dagDir, {recursive: true});
run('/usr/bin/python3', [path.join(here, 'gen.py'), 'dag', path.join(dagDir, 'ui_bench.yaml'), '--tasks', String(TASKS)], process.env);
run('/usr/bin/python3', [path.join(here, 'gen.py'), 'runs', path.join(out, 'runs.sql'), '--tasks', String(TASKS), '--runs', String(RUNS)], process.env);

const w = await startStandalone({dags: dagDir, uiDir: path.join(top, 'ui-static'), log,
  env: {WEIR_API_ACCESS_LOG: 'false', WEIR_LOG_LEVEL: 'warn'}});
let browser = null;
// Interrupted: stop what was started (the finally below does not run).
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    if (browser) await browser.close().catch(() => {});
    await w.stop().catch(() => {});
    process.exit(1);
  });
}
try {
  await until('the bench DAG', async () => (await w.api('/api/v1/dags/ui_bench')).status === 200, {timeoutMs: 120000});
  const url = run(w.bin, ['db', 'url'], w.env).trim();
  const t0 = Date.now();
  run(PSQL, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', path.join(out, 'runs.sql')], w.env);
  run(PSQL, ['-X', '-q', '-d', url, '-c', 'ANALYZE'], w.env);
  log(`inserted ${RUNS} runs x ${TASKS} task instances in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const list = await w.api(`/api/v1/dags/ui_bench/dagRuns?limit=${RUNS}&order_by=-id`);
  if (list.body.total_entries !== RUNS) throw new Error(`expected ${RUNS} runs, the API has ${list.body.total_entries}`);

  browser = await launch();
  const context = await browser.newContext({viewport: {width: 1400, height: 900}});
  const page = await context.newPage();
  page.setDefaultTimeout(120000);
  // The renderer's main-thread CPU time (DevTools' TaskDuration): unlike
  // wall time, it hardly depends on what else the machine is doing.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const taskSeconds = async () => {
    const {metrics} = await cdp.send('Performance.getMetrics');
    const m = metrics.find((x) => x.name === 'TaskDuration');
    return m ? m.value : 0;
  };
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${w.base}/#/signin`);
  await page.fill('#client_id', w.clientId);
  await page.fill('#client_secret', w.clientSecret);
  await page.click('#signin-submit');
  await page.waitForSelector('#dags-table');
  const target = `${w.base}/#/dags/ui_bench?runs=${RUNS}`;
  // Waits for the page's "weir:grid-ready" event: no DOM polling (which
  // would compete with the page for the CPU).
  const ready = () => page.evaluate(() => new Promise((resolve) => {
    const g = document.getElementById('grid');
    if (g && g.dataset.ready === '1') resolve();
    else window.addEventListener('weir:grid-ready', () => resolve(), {once: true});
  }));
  const marks = () => page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark')
    .filter((m) => m.name.startsWith('weir:grid:')).map((m) => [m.name.slice(10), m.startTime])));

  // The API alone: the page's grid request from Node, without a browser.
  const runs = list.body.dag_runs.map((r) => r.dag_run_id);
  const gridPass = async () => {
    const t = performance.now();
    const res = await fetch(`${w.base}/api/v1/dags/ui_bench/grid?limit=${RUNS}&offset=0`,
      {headers: {Authorization: `Bearer ${w.token}`, Accept: 'application/json'}});
    if (res.status !== 200) throw new Error(`grid: HTTP ${res.status}`);
    const bytes = (await res.arrayBuffer()).byteLength;
    return {ms: performance.now() - t, bytes};
  };
  // The same task instances in Airflow's shape: one listing per run, six
  // at a time (what the page did before the grid resource).
  const apiPass = async () => {
    const t = performance.now();
    let next = 0, bytes = 0;
    await Promise.all(Array.from({length: 6}, async () => {
      while (next < runs.length) {
        const id = runs[next++];
        const res = await fetch(`${w.base}/api/v1/dags/ui_bench/dagRuns/${encodeURIComponent(id)}/taskInstances?limit=10000`,
          {headers: {Authorization: `Bearer ${w.token}`, Accept: 'application/json'}});
        bytes += (await res.arrayBuffer()).byteLength;
      }
    }));
    return {ms: performance.now() - t, bytes};
  };

  // Warm-up load (fills the HTTP cache with the UI's files, as for anyone
  // who has opened the UI before), not counted.  Browser loads and API
  // passes alternate, so a change in the machine's load hits both alike.
  const loads = [], apiOnly = [], gridOnly = [];
  for (let i = 0; i <= LOADS; i++) {
    await page.goto('about:blank');
    const cpu0 = await taskSeconds();
    await page.goto(target);
    await ready();
    const cpu1 = await taskSeconds();
    const m = await marks();
    // A new renderer process starts from zero.
    m.cpu = 1000 * (cpu1 >= cpu0 ? cpu1 - cpu0 : cpu1);
    const cells = await page.$$eval('#grid .gcs > i', (c) => c.length);
    if (cells !== RUNS * TASKS) throw new Error(`the grid has ${cells} cells, not ${RUNS * TASKS}`);
    const loading = await page.$$eval('#grid .gcs > i.s-loading', (c) => c.length);
    if (loading) throw new Error(`${loading} cells still loading at the rendered mark`);
    if (i === 0) {
      log(`warm-up load: rendered at ${m.rendered.toFixed(0)} ms`);
      continue;
    }
    await page.goto('about:blank'); // no polling page while the API passes run
    const g = await gridPass();
    const a = await apiPass();
    loads.push(m);
    apiOnly.push(a);
    gridOnly.push(g);
    log(`load ${i}: start ${m.start.toFixed(0)} ms, fetched ${m.fetched.toFixed(0)} ms, skeleton ${m.skeleton.toFixed(0)} ms, rendered ${m.rendered.toFixed(0)} ms, page CPU ${m.cpu.toFixed(0)} ms; API alone: grid ${g.ms.toFixed(0)} ms, ${RUNS} listings ${a.ms.toFixed(0)} ms`);
  }

  // Revisits inside the app: DAG list, then the grid again.
  const revisits = [];
  for (let i = 0; i < LOADS; i++) {
    if (i === 0) {
      await page.goto(target); // fills the page's cache of finished runs
      await ready();
    }
    await page.evaluate(() => {
      location.hash = '#/dags';
    });
    await page.waitForSelector('#dags-table');
    await page.evaluate(() => performance.clearMarks());
    await page.evaluate((h) => {
      location.hash = h;
    }, `#/dags/ui_bench?runs=${RUNS}`);
    await ready();
    const m = await marks();
    revisits.push(m.rendered - m.start);
  }
  log(`revisit (cached finished runs): median ${median(revisits).toFixed(0)} ms`);
  if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);

  const result = {
    tasks: TASKS, runs: RUNS, loads: LOADS, cells: TASKS * RUNS,
    rendered_ms: loads.map((m) => m.rendered), start_ms: loads.map((m) => m.start),
    fetch_ms: loads.map((m) => m.fetched - m.start), build_ms: loads.map((m) => m.data - m.fetched),
    skeleton_ms: loads.map((m) => m.skeleton), data_ms: loads.map((m) => m.data),
    paint_ms: loads.map((m) => m.rendered - m.data), page_cpu_ms: loads.map((m) => m.cpu),
    grid_only_ms: gridOnly.map((x) => x.ms), grid_bytes: gridOnly[0].bytes,
    api_only_ms: apiOnly.map((x) => x.ms), api_bytes: apiOnly[0].bytes,
    revisit_ms: revisits,
    chromium: await browser.version(),
  };
  fs.writeFileSync(path.join(out, 'result.json'), JSON.stringify(result, null, 2));
} finally {
  if (browser) await browser.close().catch(() => {});
  await w.stop();
}
