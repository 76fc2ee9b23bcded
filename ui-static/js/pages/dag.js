// pages/dag.js: one DAG: grid, graph, source and trigger tabs.
//
// The grid sets performance marks (relative to navigation start) that
// bench/ui reads:
//   weir:grid:start     the route began
//   weir:grid:fetched   the grid answer arrived (and was decoded)
//   weir:grid:skeleton  the grid is in the DOM
//   weir:grid:data      every visible cell has its state (with the compact
//                       grid read, the same moment as skeleton)
//   weir:grid:rendered  the frame after the last cell was set
// and sets data-ready="1" on #grid and fires "weir:grid-ready" on window
// at the last one (so a harness can wait without polling the DOM).

import {h, replace, href, notice, tiBadge, runBadge} from '../dom.js';
import {api, seg} from '../api.js';
import {setQuery, navigate} from '../router.js';
import {loadDag, loadTasks, loadRuns, loadGrid, loadTis, loadSource, loadDetails, cachedTis} from '../dagdata.js';
import {createGrid} from '../grid.js';
import {drawGraph} from '../graph.js';
import {createPanel} from '../tipanel.js';
import {buildTriggerForm} from '../trigger.js';
import {pausedSwitch, scheduleCell} from './dags.js';
import {TI_STATES, RUN_STATES, runStatus, runTerminal} from '../states.js';

const RUN_COUNTS = [10, 25, 50, 100, 200, 365];

function header(dag, tab) {
  // Views are pages (links), not an ARIA tab widget: aria-current marks the one shown.
  const t = (name, label, path) => h('a', {href: path, 'aria-current': tab === name ? 'page' : null, id: `tab-${name}`}, label);
  return h('div', {},
    h('div', {class: 'crumbs'}, h('a', {href: '#/dags'}, 'DAGs'), ' / ', dag.dag_id),
    h('div', {class: 'head'},
      h('h1', {id: 'dag-title'}, dag.dag_id),
      pausedSwitch(dag),
      dag.is_active ? null : h('span', {class: 'badge o-FAILED', title: 'its file is missing or invalid'}, 'inactive'),
      h('div', {class: 'actions'}, h('a', {class: 'btn primary', href: href('dags', dag.dag_id, 'trigger')}, 'Trigger'))),
    dag.description ? h('p', {class: 'desc'}, dag.description) : null,
    h('div', {class: 'row small'}, scheduleCell(dag),
      ...(dag.tags || []).map((x) => h('a', {class: 'tag', href: `#/dags?tags=${encodeURIComponent(x.name)}`}, x.name)),
      h('span', {class: 'muted'}, dag.fileloc)),
    h('nav', {class: 'tabs', 'aria-label': 'DAG views'},
      t('grid', 'Grid', href('dags', dag.dag_id)),
      t('graph', 'Graph', href('dags', dag.dag_id, 'graph')),
      t('source', 'Source', href('dags', dag.dag_id, 'source')),
      t('trigger', 'Trigger', href('dags', dag.dag_id, 'trigger'))));
}

function legend(note) {
  return h('div', {class: 'legend', 'aria-label': 'legend'},
    ...TI_STATES.map((st) => tiBadge(st)),
    h('span', {class: 'muted'}, '· runs:'),
    ...RUN_STATES.map((st) => runBadge(st)),
    note ? h('span', {class: 'muted'}, note) : null);
}

function mark(name) {
  try {
    performance.mark(name);
  } catch {
    /* old browsers */
  }
}

export async function dagPage(ctx) {
  const tab = ctx.params.tab || 'grid';
  const dagId = ctx.params.dag;
  if (tab === 'grid') mark('weir:grid:start');
  document.title = `${dagId} · weir`;
  // The grid's one read goes out with the DAG's, not after it.
  const limit = Math.min(1000, Math.max(1, Number(ctx.query.get('runs')) || 25));
  const gridData = tab === 'grid' ? loadGrid(dagId, limit, ctx.signal) : null;
  if (gridData) gridData.catch(() => {}); // awaited (and reported) in gridTab
  const dag = await loadDag(dagId, ctx.signal);
  ctx.main.appendChild(header(dag, tab));
  const body = h('div', {id: 'dag-body'});
  ctx.main.appendChild(body);
  if (tab === 'grid') return gridTab(ctx, dag, body, limit, gridData);
  if (tab === 'graph') return graphTab(ctx, dag, body);
  if (tab === 'source') return sourceTab(ctx, dag, body);
  if (tab === 'trigger') return triggerTab(ctx, dag, body);
  body.appendChild(notice('bad', `No such view: ${tab}`));
}

// ------------------------------------------------------------------ grid

async function gridTab(ctx, dag, body, limit, gridData) {
  const q = ctx.query;
  // One request: runs, task order and every cell (GET /dags/{dag}/grid).
  const first = await gridData;
  mark('weir:grid:fetched');
  const taskIds = first.taskIds;
  let total = first.total;
  let shown = null; // what the side panel shows: {runId, taskId?}
  const panel = createPanel(() => {
    shown = null;
    grid.select(null);
    setQuery({run: null, task: null});
  });
  const grid = createGrid({
    taskIds,
    onCell(taskId, run, ti) {
      shown = {runId: run.dag_run_id, taskId};
      grid.select(shown);
      setQuery({run: run.dag_run_id, task: taskId});
      panel.showTi(dag.dag_id, run, taskId, ti, ctx.signal);
    },
    onRun(run) {
      shown = {runId: run.dag_run_id};
      grid.select(shown);
      setQuery({run: run.dag_run_id, task: null});
      panel.showRun(dag.dag_id, run);
    },
  });
  const count = h('select', {id: 'run-count', 'aria-label': 'runs shown'},
    ...RUN_COUNTS.concat(RUN_COUNTS.includes(limit) ? [] : [limit]).sort((a, b) => a - b)
      .map((n) => h('option', {value: n, selected: n === limit}, `${n} runs`)));
  count.addEventListener('change', () => setQuery({runs: count.value}, {rerender: true}));
  const summary = h('span', {class: 'muted', id: 'grid-summary', 'aria-live': 'polite'});
  body.append(
    h('div', {class: 'gridbar'}, h('label', {for: 'run-count', class: 'small'}, 'Show '), count, summary,
      h('span', {class: 'muted small'}, 'Click a cell for its task instance, a bar for its run.')),
    legend('· in the grid, success cells are plain green; every other state keeps its glyph'),
    h('div', {class: 'dagview'}, grid.el, panel.el), grid.live, grid.tip);

  const setSummary = (runs) => {
    summary.textContent = runs.length ? `latest ${runs.length} of ${total} runs, ${taskIds.length} tasks`
      : `no runs yet, ${taskIds.length} tasks`;
  };
  // The first build draws every cell (the grid answer has them all).
  grid.setRuns(first.runs, first.tis);
  setSummary(first.runs);
  mark('weir:grid:skeleton');
  mark('weir:grid:data');
  if (!first.runs.length) {
    body.appendChild(notice('info', 'No runs yet. Unpause the DAG for scheduled runs, or trigger one.'));
  }
  if (q.get('created') && q.get('run')) {
    body.insertBefore(notice('ok', 'Run ', h('a', {href: href('dags', dag.dag_id, 'runs', q.get('run'))}, q.get('run')),
      ' created', dag.is_paused ? '; it waits until the DAG is unpaused.' : '.'), body.firstChild);
    setQuery({created: null});
  }
  // Restore a selection from the URL (?run=&task=).
  const selRun = q.get('run'), selTask = q.get('task');
  const restore = () => {
    const run = grid.runs.find((r) => r.dag_run_id === selRun);
    if (!run) return;
    shown = {runId: selRun, taskId: selTask || undefined};
    if (selTask) {
      grid.select({taskId: selTask, runId: selRun});
      panel.showTi(dag.dag_id, run, selTask, null, ctx.signal);
    } else {
      grid.select({runId: selRun});
      panel.showRun(dag.dag_id, run);
    }
  };
  if (selRun) restore();
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  mark('weir:grid:rendered');
  grid.el.dataset.ready = '1';
  window.dispatchEvent(new CustomEvent('weir:grid-ready'));

  // Polling: fast while something moves, slow otherwise (new runs appear).
  // A poll reads the newest runs down to the oldest one not cached (still
  // moving, or with unfinished task instances): usually a handful.  When
  // a run appeared or went away (the newest run or the total changed) it
  // reads the whole page again.
  let active = first.runs.some((r) => !runTerminal(runStatus(r)));
  ctx.every(() => (active ? 2000 : 8000), async () => {
    const cur = grid.runs; // oldest first
    let k = 1;
    for (let i = 0; i < cur.length; i++) if (!cachedTis(dag.dag_id, cur[i].dag_run_id)) k = Math.max(k, cur.length - i);
    let page = await loadGrid(dag.dag_id, Math.min(k, limit), ctx.signal);
    const newest = cur.length ? cur[cur.length - 1].dag_run_id : null;
    const got = page.runs.length ? page.runs[page.runs.length - 1].dag_run_id : null;
    let runs;
    if (page.total !== total || got !== newest || page.taskIds.join('\0') !== taskIds.join('\0')) {
      if (page.taskIds.join('\0') !== taskIds.join('\0')) {
        // The DAG's tasks changed: the rows are different, draw anew.
        navigate(location.hash);
        return;
      }
      page = await loadGrid(dag.dag_id, limit, ctx.signal);
      runs = page.runs;
    } else {
      runs = cur.slice(0, cur.length - page.runs.length).concat(page.runs);
    }
    total = page.total;
    grid.setRuns(runs, page.tis);
    for (const [runId, tis] of page.tis) grid.setTis(runId, tis);
    setSummary(runs);
    active = runs.some((r) => !runTerminal(runStatus(r)));
    // The side panel follows a run that is still moving.
    const run = shown && runs.find((r) => r.dag_run_id === shown.runId);
    if (run && page.tis.has(run.dag_run_id) && !runTerminal(runStatus(run))) {
      if (shown.taskId) panel.showTi(dag.dag_id, run, shown.taskId, null, ctx.signal, true);
      else panel.showRun(dag.dag_id, run);
    }
  });
}

// ------------------------------------------------------------------ graph

async function graphTab(ctx, dag, body) {
  const [struct, {runs}] = await Promise.all([
    loadTasks(dag.dag_id, ctx.signal, dag.last_parsed_time),
    loadRuns(dag.dag_id, 25, ctx.signal),
  ]);
  let runId = ctx.query.get('run') || (runs.length ? runs[runs.length - 1].dag_run_id : null);
  const runOf = (id) => runs.find((r) => r.dag_run_id === id);
  const panel = createPanel(() => g.select(null));
  const g = drawGraph(struct, {
    onNode(taskId) {
      g.select(taskId);
      const run = runOf(runId);
      if (run) panel.showTi(dag.dag_id, run, taskId, null, ctx.signal);
    },
  });
  const sel = h('select', {id: 'graph-run', 'aria-label': 'run whose states are shown'},
    runs.length ? null : h('option', {value: ''}, 'no runs'),
    ...[...runs].reverse().map((r) => h('option', {value: r.dag_run_id, selected: r.dag_run_id === runId},
      `${r.dag_run_id} — ${runStatus(r)}`)));
  let zoom = 1;
  const setZoom = (z) => {
    zoom = Math.max(0.2, Math.min(3, z));
    g.svg.setAttribute('width', String(Math.round(g.layout.width * zoom)));
    g.svg.setAttribute('height', String(Math.round(g.layout.height * zoom)));
  };
  const runInfo = h('span', {id: 'graph-run-state'});
  body.append(
    h('div', {class: 'gridbar'},
      h('label', {for: 'graph-run', class: 'small'}, 'States of run '), sel, runInfo,
      h('button', {type: 'button', class: 'btn small', 'aria-label': 'zoom out', onclick: () => setZoom(zoom / 1.25)}, '−'),
      h('button', {type: 'button', class: 'btn small', 'aria-label': 'zoom in', onclick: () => setZoom(zoom * 1.25)}, '+'),
      h('button', {type: 'button', class: 'btn small', onclick: () => {
        const wrap = body.querySelector('.graphwrap');
        setZoom(Math.min(1, (wrap.clientWidth - 4) / g.layout.width));
      }}, 'Fit')),
    legend(),
    h('div', {class: 'dagview'}, h('div', {class: 'graphwrap'}, g.svg), panel.el));

  const refresh = async () => {
    const run = runOf(runId);
    replace(runInfo, run ? runBadge(runStatus(run), run.state) : '');
    if (!run) {
      g.setStates(null);
      return;
    }
    const tis = await loadTis(dag.dag_id, run, ctx.signal);
    g.setStates(new Map(tis.map((t) => [t.task_id, t])));
    g.svg.dataset.run = run.dag_run_id;
  };
  sel.addEventListener('change', () => {
    runId = sel.value;
    setQuery({run: runId});
    refresh();
  });
  await refresh();
  g.svg.dataset.ready = '1';
  ctx.every(3000, async () => {
    const run = runOf(runId);
    if (!run || runTerminal(runStatus(run)) && cachedTis(dag.dag_id, run.dag_run_id)) return;
    const fresh = await api(`/dags/${seg(dag.dag_id)}/dagRuns/${seg(run.dag_run_id)}`, {signal: ctx.signal});
    Object.assign(run, fresh);
    await refresh();
  });
}

// ------------------------------------------------------------------ source

// Light YAML colouring: comments, keys, quoted strings.  Text is escaped by
// building nodes, never HTML.
function yamlLine(line) {
  const span = document.createElement('span');
  let rest = line;
  const key = /^(\s*(?:- )?)([A-Za-z_][\w.-]*)(:)(?=\s|$)/.exec(rest);
  if (key) {
    span.append(key[1], h('span', {class: 'y-k'}, key[2]), key[3]);
    rest = rest.slice(key[0].length);
  }
  // A comment starts at " #" outside quotes (good enough for display).
  let inS = false, inD = false, cut = -1;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === "'" && !inD) inS = !inS;
    else if (c === '"' && !inS) inD = !inD;
    else if (c === '#' && !inS && !inD && (i === 0 || /\s/.test(rest[i - 1]))) {
      cut = i;
      break;
    }
  }
  const code = cut < 0 ? rest : rest.slice(0, cut);
  const parts = code.split(/("(?:[^"\\]|\\.)*"|'[^']*')/);
  parts.forEach((p, i) => {
    if (i % 2) span.appendChild(h('span', {class: 'y-s'}, p));
    else if (p) span.append(p);
  });
  if (cut >= 0) span.appendChild(h('span', {class: 'y-c'}, rest.slice(cut)));
  if (!line) span.append('\u200b');
  return span;
}

async function sourceTab(ctx, dag, body) {
  const text = await loadSource(dag.dag_id, ctx.signal);
  const lines = text.replace(/\n$/, '').split('\n');
  const pre = h('pre', {class: 'source', id: 'dag-source', tabindex: '0', 'aria-label': `source of ${dag.fileloc}`});
  const frag = document.createDocumentFragment();
  for (const l of lines) frag.appendChild(yamlLine(l));
  pre.appendChild(frag);
  body.append(h('p', {class: 'muted small'}, `${dag.fileloc} — read only; edit the file (or PUT /api/v1/dags/${dag.dag_id}) and the scheduler reloads it.`), pre);
}

// ------------------------------------------------------------------ trigger

async function triggerTab(ctx, dag, body) {
  const details = await loadDetails(dag.dag_id, ctx.signal);
  const form = buildTriggerForm(details, {
    async onSubmit(req) {
      const run = await api(`/dags/${seg(dag.dag_id)}/dagRuns`, {method: 'POST', json: req, signal: ctx.signal});
      navigate(`${href('dags', dag.dag_id)}?run=${encodeURIComponent(run.dag_run_id)}&created=1`);
    },
  });
  if (dag.is_paused) body.append(notice('info', 'This DAG is paused: the run is created but starts only when the DAG is unpaused.'));
  body.append(h('h2', 'Trigger a run'), form);
}

