// pages/orders.js: the orders list (filters, paging) and one order.
//
// Every run is an order; services are DAGs with `service: true` that
// clients order over the API.  GET /orders filters by status (any of
// weir's seven), service, and received time; admins see every client's
// orders, other clients their own.
//
// STATUS HISTORY.  The order page shows the status changes with their
// times.  The API has no listing of an order's state_events yet (see
// docs/internals/ui.md, "API gaps"); until it does, the history is built
// from the order's received_at / queued_at / started_at / ended_at, which
// the database sets on each transition, and says so.

import {h, replace, href, notice, runBadge} from '../dom.js';
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

// The status history from the order's timestamps (see the header).
export function historyFromTimes(o) {
  const steps = [['RECEIVED', o.received_at], ['QUEUED', o.queued_at], ['RUNNING', o.started_at]];
  if (runTerminal(o.status)) steps.push([o.status, o.ended_at]);
  return steps.filter(([, t]) => t).map(([st, at]) => ({to: st, at}));
}

export async function orderPage(ctx) {
  const id = ctx.params.order;
  document.title = `Order ${id} · weir`;
  const top = h('div'), facts = h('div'), hist = h('div');
  ctx.main.append(h('div', {class: 'crumbs'}, h('a', {href: '#/orders'}, 'Orders'), ' / ', id), top, facts,
    h('h2', 'Status history'), hist);
  let o;
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
    const events = historyFromTimes(o);
    replace(hist, h('ol', {class: 'timeline', id: 'order-history'}, ...events.map((e) => h('li', {'data-status': e.to},
      timeEl(e.at), runBadge(e.to)))),
    h('p', {class: 'muted small'}, 'From the times the database records at each change; who changed it and why are in the run\'s state events, which the API does not list yet.'));
  };
  const load = async () => {
    o = await api(`/orders/${seg(id)}`, {signal: ctx.signal});
    render();
  };
  await load();
  ctx.every(() => (runTerminal(o.status) ? 30000 : 2000), load);
}
