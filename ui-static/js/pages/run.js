// pages/run.js: one run (= one order): its facts, the order's status and
// result, the abort button, the task table and a Gantt-style timeline.
//
// Data: GET /dags/{id}/dagRuns/{run}, .../taskInstances, /dags/{id}/tasks
// (row order), GET /orders/{order_id} (result; needs orders:read, and
// non-admin clients see only their own orders, so it is optional).
// Abort is Airflow's PATCH .../dagRuns/{run} {"state": "failed"}, which weir
// records as ABORTED.  Polls every 2 s until the run is finished.

import {h, s, replace, href, notice, tiBadge, runBadge} from '../dom.js';
import {api, seg} from '../api.js';
import {loadRun, loadTasks, loadDag} from '../dagdata.js';
import {timeEl, duration, durationBetween, parseTime} from '../fmt.js';
import {runStatus, runTerminal, tiLabel, TI_GLYPH} from '../states.js';

// The result as a link when it names one (a URL string, or an object with
// url/href/link/download), else as JSON.
export function resultView(result) {
  if (result == null) return h('span', {class: 'muted'}, 'none');
  const safe = (u) => typeof u === 'string' && (/^https?:\/\//i.test(u) || u.startsWith('/')) ? u : null;
  let url = safe(result);
  if (!url && typeof result === 'object') {
    for (const k of ['url', 'href', 'link', 'download', 'download_url']) if (!url) url = safe(result[k]);
  }
  return h('span', {id: 'order-result'},
    url ? h('a', {href: url, rel: 'noopener noreferrer', target: '_blank', id: 'result-link'}, 'Download result') : null,
    typeof result === 'string' && url ? null : h('code', {class: 'mono'}, JSON.stringify(result)));
}

export function abortControl(label, doAbort, onDone) {
  const box = h('span', {class: 'row', id: 'abort-box'});
  const msg = h('span', {class: 'error small', role: 'alert'});
  const start = h('button', {type: 'button', class: 'btn danger', id: 'abort'}, label);
  start.addEventListener('click', () => {
    const yes = h('button', {type: 'button', class: 'btn danger', id: 'abort-confirm'}, 'Yes, abort');
    const no = h('button', {type: 'button', class: 'btn', id: 'abort-cancel'}, 'Cancel');
    no.addEventListener('click', () => replace(box, start, msg));
    yes.addEventListener('click', async () => {
      yes.disabled = no.disabled = true;
      try {
        await doAbort();
        replace(box, h('span', {class: 'badge o-ABORTED'}, 'abort requested'));
        onDone && onDone();
      } catch (e) {
        yes.disabled = no.disabled = false;
        msg.textContent = `Abort failed: ${e.message}`;
        replace(box, start, msg);
      }
    });
    replace(box, h('span', 'Stop its running tasks and start nothing more?'), yes, no, msg);
    yes.focus();
  });
  box.append(start, msg);
  return box;
}

function gantt(dagId, run, tis, order) {
  const rows = order.map((id) => tis.get(id)).filter(Boolean);
  const times = [];
  for (const t of rows) for (const k of ['queued_when', 'start_date', 'end_date']) {
    const v = parseTime(t[k]);
    if (v != null) times.push(v);
  }
  const rs = parseTime(run.start_date), re = parseTime(run.end_date);
  if (rs != null) times.push(rs);
  if (re != null) times.push(re);
  const now = Date.now();
  if (!times.length) return h('p', {class: 'muted'}, 'Nothing has started yet.');
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, runTerminal(runStatus(run)) ? -Infinity : now);
  const span = Math.max(1, t1 - t0);
  const LABEL = 210, W = 760, ROW = 20, TOP = 24;
  const x = (ms) => LABEL + ((ms - t0) / span) * W;
  const height = TOP + rows.length * ROW + 6;
  const svg = s('svg', {width: LABEL + W + 20, height, viewBox: `0 0 ${LABEL + W + 20} ${height}`, id: 'gantt',
    role: 'img', 'aria-label': `Timeline of ${rows.length} task instances over ${duration(span / 1000)}`});
  // Ticks.
  const step = niceStep(span / 6);
  for (let v = 0; v <= span; v += step) {
    const xx = x(t0 + v);
    svg.appendChild(s('line', {class: 'axis', x1: xx, x2: xx, y1: TOP - 4, y2: height}));
    svg.appendChild(s('text', {class: 'tick', x: xx + 2, y: 10}, `+${duration(v / 1000)}`));
  }
  rows.forEach((t, i) => {
    const y = TOP + i * ROW;
    svg.appendChild(s('text', {x: 4, y: y + ROW / 2}, t.task_id.length > 30 ? t.task_id.slice(0, 29) + '…' : t.task_id));
    const st = parseTime(t.start_date), en = parseTime(t.end_date) ?? (st != null ? now : null), q = parseTime(t.queued_when);
    const link = s('a', {href: href('dags', dagId, 'runs', run.dag_run_id, 'tasks', t.task_id)});
    link.appendChild(s('title', `${t.task_id}: ${tiLabel(t.state)}${st != null ? `, ${duration(((en ?? st) - st) / 1000)}` : ''}`));
    if (q != null && st != null && st > q) link.appendChild(s('rect', {class: 'qbar', x: x(q), y: y + 6, width: Math.max(1, x(st) - x(q)), height: ROW - 12}));
    if (st != null) {
      const bw = Math.max(2, x(en) - x(st));
      link.appendChild(s('rect', {class: `bar s-${t.state || 'none'}`, x: x(st), y: y + 3, width: bw, height: ROW - 6}));
      // The state's glyph on the bar when it fits (not colour alone).
      if (bw >= 14) {
        link.appendChild(s('text', {class: `glyph s-${t.state || 'none'}`, x: x(st) + 3, y: y + ROW / 2, 'aria-hidden': 'true'},
          TI_GLYPH[t.state || 'none'] || ''));
      }
    } else {
      link.appendChild(s('text', {x: LABEL + 4, y: y + ROW / 2, class: 'tick'}, tiLabel(t.state)));
    }
    svg.appendChild(link);
  });
  return h('div', {class: 'gantt'}, svg);
}

function niceStep(raw) {
  const steps = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000, 30000, 60000, 120000, 300000, 600000, 900000,
    1800000, 3600000, 7200000, 21600000, 43200000, 86400000];
  for (const st of steps) if (st >= raw) return st;
  return Math.ceil(raw / 86400000) * 86400000;
}

export async function runPage(ctx) {
  const {dag: dagId, run: runId} = ctx.params;
  document.title = `${runId} · ${dagId} · weir`;
  const [dag, run0] = await Promise.all([loadDag(dagId, ctx.signal), loadRun(dagId, runId, ctx.signal)]);
  const struct = await loadTasks(dagId, ctx.signal, dag.last_parsed_time);
  const top = h('div');
  const facts = h('div', {id: 'run-facts'});
  const tasks = h('div', {id: 'run-tasks'});
  const timeline = h('div', {id: 'run-timeline'});
  ctx.main.append(
    h('div', {class: 'crumbs'}, h('a', {href: '#/dags'}, 'DAGs'), ' / ', h('a', {href: href('dags', dagId)}, dagId), ' / run'),
    top, facts, h('h2', 'Task instances'), tasks, h('h2', 'Timeline'), timeline);
  let order = null;

  const render = async (run) => {
    const st = runStatus(run);
    const [tisRes, ord] = await Promise.all([
      api(`/dags/${seg(dagId)}/dagRuns/${seg(runId)}/taskInstances`, {query: {limit: 10000}, signal: ctx.signal}),
      run.order_id && (!order || !runTerminal(order.status))
        ? api(`/orders/${seg(run.order_id)}`, {signal: ctx.signal}).catch((e) => (e.status === 401 ? Promise.reject(e) : null))
        : Promise.resolve(order),
    ]);
    order = ord;
    const tis = new Map((tisRes.task_instances || []).map((t) => [t.task_id, t]));
    const rowOrder = struct.order.filter((id) => tis.has(id)).concat([...tis.keys()].filter((id) => !struct.byId.has(id)));
    replace(top, h('div', {class: 'head'},
      h('h1', {id: 'run-title'}, run.dag_run_id),
      h('span', {id: 'run-state'}, runBadge(st, run.state)),
      h('div', {class: 'actions'}, runTerminal(st) ? null : abortControl('Abort run',
        () => api(`/dags/${seg(dagId)}/dagRuns/${seg(runId)}`, {method: 'PATCH', json: {state: 'failed'}}),
        () => poll()))));
    replace(facts, h('dl', {class: 'kv'},
      h('dt', 'DAG'), h('dd', h('a', {href: href('dags', dagId)}, dagId)),
      h('dt', 'Order status'), h('dd', h('span', {id: 'order-status'}, runBadge(st)), ' ', h('span', {class: 'muted small'}, `(Airflow: ${run.state})`)),
      h('dt', 'Order'), h('dd', run.order_id ? h('a', {href: href('orders', run.order_id), id: 'order-link'}, run.order_id) : '—'),
      h('dt', 'Result'), h('dd', order ? resultView(order.result) : h('span', {class: 'muted'}, runTerminal(st) ? 'not available' : 'when the run succeeds')),
      h('dt', 'Type'), h('dd', run.weir_run_type || run.run_type),
      h('dt', 'Logical date'), h('dd', timeEl(run.logical_date)),
      h('dt', 'Data interval'), h('dd', timeEl(run.data_interval_start), ' → ', timeEl(run.data_interval_end)),
      h('dt', 'Started'), h('dd', timeEl(run.start_date)),
      h('dt', 'Ended'), h('dd', timeEl(run.end_date)),
      h('dt', 'Duration'), h('dd', run.start_date ? duration(durationBetween(run.start_date, run.end_date)) : '—'),
      h('dt', 'Conf'), h('dd', h('code', {class: 'mono', id: 'run-conf'}, JSON.stringify(run.conf || {}))),
      run.note ? [h('dt', 'Note'), h('dd', run.note)] : null));
    const now = Date.now();
    replace(tasks, tis.size ? h('table', {class: 'list', id: 'run-ti-table'},
      h('thead', h('tr', h('th', 'Task'), h('th', 'State'), h('th', {class: 'num'}, 'Try'), h('th', 'Started'),
        h('th', 'Ended'), h('th', {class: 'num'}, 'Duration'), h('th', 'Operator'))),
      h('tbody', ...rowOrder.map((id) => {
        const t = tis.get(id);
        return h('tr', {'data-task': id},
          h('td', h('a', {href: href('dags', dagId, 'runs', runId, 'tasks', id)}, id)),
          h('td', tiBadge(t.state)),
          h('td', {class: 'num'}, t.try_number ? `${t.try_number} / ${t.max_tries + 1}` : '—'),
          h('td', timeEl(t.start_date)), h('td', timeEl(t.end_date)),
          h('td', {class: 'num'}, t.start_date ? duration(durationBetween(t.start_date, t.end_date, now)) : '—'),
          h('td', t.operator || ''));
      }))) : notice('info', st === 'RECEIVED' ? 'The run is received; its task instances are created when it is queued.' : 'This run has no task instances.'));
    replace(timeline, gantt(dagId, run, tis, rowOrder));
    return st;
  };

  let state = await render(run0);
  const poll = async () => {
    const run = await loadRun(dagId, runId, ctx.signal);
    state = await render(run);
  };
  ctx.every(() => (runTerminal(state) ? 15000 : 2000), async () => {
    if (runTerminal(state) && order && runTerminal(order.status)) return;
    await poll();
  });
}
