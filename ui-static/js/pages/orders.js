// pages/orders.js: the orders list (filters, paging) and one order.
//
// Every run is an order; services are DAGs with `service: true` that
// clients order over the API.  GET /orders filters by status (any of
// weir's seven), service, and received time; admins see every client's
// orders, other clients their own.
//
// STATUS HISTORY.  The order page shows the order's status changes from
// its state events (GET /orders/{id}/events?kind=run): when, from what to
// what, who (the scheduler, or api:CLIENT for an abort through the API)
// and why.  Placing the order is not a state change: its first line is the
// order's received_at.  The task instances' own changes are one click
// away (a <details> that loads them when opened).

import {h, replace, href, notice, runBadge, tiBadge} from '../dom.js';
import {api, seg} from '../api.js';
import {setQuery} from '../router.js';
import {timeEl, duration, durationBetween, localInputToIso, isoToLocalInput} from '../fmt.js';
import {RUN_STATES, runTerminal} from '../states.js';
import {resultView, abortControl} from './run.js';

const PAGE = 25;

export async function ordersPage(ctx) {
  document.title = 'Orders · weir';
  const q = ctx.query;
  const status = (q.get('status') || '').split(',').filter((x) => RUN_STATES.includes(x));
  const service = q.get('service') || '';
  const from = q.get('from') || '', to = q.get('to') || '';
  const page = Math.max(1, Number(q.get('page')) || 1);
  const limit = Math.min(500, Math.max(1, Number(q.get('limit')) || PAGE));

  const svcSel = h('select', {id: 'f-service'}, h('option', {value: ''}, 'any'));
  const fromIn = h('input', {type: 'datetime-local', id: 'f-from', value: isoToLocalInput(from)});
  const toIn = h('input', {type: 'datetime-local', id: 'f-to', value: isoToLocalInput(to)});
  const boxes = RUN_STATES.map((st) => h('label', {class: 'check'},
    h('input', {type: 'checkbox', name: 'status', value: st, checked: status.includes(st)}), h('span', {class: `badge o-${st}`}, st)));
  const form = h('form', {class: 'filters', role: 'search', id: 'orders-filter'},
    h('fieldset', h('legend', 'Status'), ...boxes),
    h('div', {class: 'field'}, h('label', {for: 'f-service'}, 'Service / DAG'), svcSel),
    h('div', {class: 'field'}, h('label', {for: 'f-from'}, 'Received from'), fromIn),
    h('div', {class: 'field'}, h('label', {for: 'f-to'}, 'Received until'), toIn),
    h('button', {type: 'submit', class: 'btn'}, 'Filter'),
    h('button', {type: 'button', class: 'btn', onclick: () => setQuery({status: null, service: null, from: null, to: null, page: null}, {rerender: true})}, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const st = [...form.querySelectorAll('input[name=status]:checked')].map((x) => x.value);
    setQuery({status: st, service: svcSel.value, from: localInputToIso(fromIn.value), to: localInputToIso(toIn.value), page: null}, {rerender: true});
  });
  const body = h('div', {id: 'orders-body'}, h('p', {class: 'loading'}, 'Loading orders…'));
  ctx.main.append(h('h1', 'Orders'), form, body);

  const [list, dags] = await Promise.all([
    api('/orders', {query: {status, service: service || null, received_gte: from || null, received_lte: to || null,
      limit, offset: (page - 1) * limit}, signal: ctx.signal}),
    api('/dags', {query: {limit: 1000, only_active: false}, signal: ctx.signal}).catch(() => ({dags: []})),
  ]);
  const names = new Set((dags.dags || []).map((d) => d.dag_id));
  if (service) names.add(service);
  for (const n of [...names].sort()) svcSel.appendChild(h('option', {value: n, selected: n === service}, n));

  const orders = list.orders || [];
  const total = list.total_entries || 0;
  const pages = Math.max(1, Math.ceil(total / limit));
  if (!orders.length) {
    replace(body, notice('info', 'No orders match.'));
    return;
  }
  const now = Date.now();
  replace(body,
    h('table', {class: 'list', id: 'orders-table'},
      h('thead', h('tr', h('th', 'Order'), h('th', 'Service'), h('th', 'Status'), h('th', 'Received'),
        h('th', 'Started'), h('th', 'Ended'), h('th', {class: 'num'}, 'Duration'), h('th', 'Client'))),
      h('tbody', ...orders.map((o) => h('tr', {'data-order': o.order_id, 'data-status': o.status},
        h('td', h('a', {href: href('orders', o.order_id), class: 'mono small'}, o.order_id)),
        h('td', o.service),
        h('td', runBadge(o.status)),
        h('td', timeEl(o.received_at)), h('td', timeEl(o.started_at)), h('td', timeEl(o.ended_at)),
        h('td', {class: 'num'}, o.started_at ? duration(durationBetween(o.started_at, o.ended_at, now)) : '—'),
        h('td', {class: 'mono small', title: o.client || ''}, o.client ? o.client.slice(0, 10) + '…' : '—'))))),
    h('nav', {class: 'pager', 'aria-label': 'pages'},
      h('button', {class: 'btn small', id: 'prev-page', disabled: page <= 1, onclick: () => setQuery({page: page - 1}, {rerender: true})}, '‹ Previous'),
      h('span', {id: 'page-info'}, `${(page - 1) * limit + 1}–${(page - 1) * limit + orders.length} of ${total}`),
      h('button', {class: 'btn small', id: 'next-page', disabled: page >= pages, onclick: () => setQuery({page: page + 1}, {rerender: true})}, 'Next ›')));
}

// The status history: the order's arrival, then its run's state events.
export function historyFromEvents(o, events) {
  return [{to: 'RECEIVED', at: o.received_at, actor: o.client ? `api:${o.client}` : null, reason: null}]
    .concat(events.map((e) => ({from: e.from, to: e.to, at: e.at, actor: e.actor, reason: e.reason})));
}

function eventLine(e) {
  return h('li', {'data-status': e.to, 'data-actor': e.actor || ''},
    timeEl(e.at), runBadge(e.to),
    e.from ? h('span', {class: 'muted small'}, `from ${e.from}`) : null,
    h('span', {class: 'mono small'}, e.actor || '—'),
    e.reason ? h('span', {class: 'small'}, e.reason) : null);
}

const TASK_EVENTS = 500;

export async function orderPage(ctx) {
  const id = ctx.params.order;
  document.title = `Order ${id} · weir`;
  const top = h('div'), facts = h('div'), hist = h('div'), taskBody = h('div', {id: 'order-task-events'});
  const tasks = h('details', {id: 'order-tasks'}, h('summary', 'State changes of its task instances'), taskBody);
  ctx.main.append(h('div', {class: 'crumbs'}, h('a', {href: '#/orders'}, 'Orders'), ' / ', id), top, facts,
    h('h2', 'Status history'), hist, tasks);
  let o, events = [];
  const loadTaskEvents = async () => {
    const r = await api(`/orders/${seg(id)}/events`, {query: {kind: 'task', limit: TASK_EVENTS}, signal: ctx.signal});
    const rows = r.events || [];
    replace(taskBody, rows.length ? h('table', {class: 'list', id: 'order-task-table'},
      h('thead', h('tr', h('th', 'Time'), h('th', 'Task'), h('th', {class: 'num'}, 'Try'), h('th', 'From'), h('th', 'To'),
        h('th', 'By'), h('th', 'Reason'))),
      h('tbody', ...rows.map((e) => h('tr', {'data-task': e.task_id, 'data-status': e.to},
        h('td', timeEl(e.at)), h('td', e.task_id), h('td', {class: 'num'}, e.try_number == null ? '—' : String(e.try_number)),
        h('td', e.from), h('td', tiBadge(e.to)), h('td', {class: 'mono small'}, e.actor), h('td', {class: 'small'}, e.reason || ''))))) :
      h('p', {class: 'muted'}, 'No task state changes yet.'),
    r.total_entries > rows.length ? h('p', {class: 'muted small'}, `The first ${rows.length} of ${r.total_entries}.`) : null);
  };
  tasks.addEventListener('toggle', () => {
    if (tasks.open) loadTaskEvents().catch((e) => e.name !== 'AbortError' && replace(taskBody, notice('bad', e.message)));
  });
  const render = () => {
    replace(top, h('div', {class: 'head'}, h('h1', {class: 'mono', id: 'order-title'}, id),
      h('span', {id: 'order-status'}, runBadge(o.status)),
      h('div', {class: 'actions'}, runTerminal(o.status) ? null : abortControl('Abort order',
        () => api(`/orders/${seg(id)}/abort`, {method: 'PUT'}), () => load()))));
    replace(facts, h('dl', {class: 'kv'},
      h('dt', 'Service'), h('dd', o.service),
      h('dt', 'Run'), h('dd', h('a', {href: href('dags', o.dag_id, 'runs', o.run_id), id: 'order-run'}, o.run_id)),
      h('dt', 'Result'), h('dd', resultView(o.result)),
      h('dt', 'Params'), h('dd', h('code', {class: 'mono'}, JSON.stringify(o.params || {}))),
      h('dt', 'Area of interest'), h('dd', o.aoi ? h('code', {class: 'mono'}, JSON.stringify(o.aoi).slice(0, 400)) : '—'),
      h('dt', 'Client'), h('dd', {class: 'mono'}, o.client || '—'),
      h('dt', 'Duration'), h('dd', o.started_at ? duration(durationBetween(o.started_at, o.ended_at)) : '—')));
    replace(hist, h('ol', {class: 'timeline', id: 'order-history'}, ...historyFromEvents(o, events).map(eventLine)));
  };
  const load = async () => {
    // Status first: an event recorded between the two reads shows on the
    // next poll, never a status older than its history.
    o = await api(`/orders/${seg(id)}`, {signal: ctx.signal});
    const ev = await api(`/orders/${seg(id)}/events`, {query: {kind: 'run', limit: 100}, signal: ctx.signal});
    events = ev.events || [];
    render();
    if (tasks.open) await loadTaskEvents();
  };
  await load();
  ctx.every(() => (runTerminal(o.status) ? 30000 : 2000), load);
}
