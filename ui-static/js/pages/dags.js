// pages/dags.js: the DAG list, and the paused switch and schedule text the
// DAG page shares.
//
// Data: GET /dags (filters: tags, dag_id_pattern, paused; 50 a page),
// GET /importErrors (the banner), and the last 10 runs of each listed DAG
// (GET /dags/{id}/dagRuns?order_by=-id&limit=10, six at a time, filled in as
// they come).

import {h, replace, href, notice} from '../dom.js';
import {api, seg, mapLimit} from '../api.js';
import {setQuery} from '../router.js';
import {describeCron} from '../cron.js';
import {timeEl, relative, parseTime} from '../fmt.js';
import {runStatus} from '../states.js';

const PAGE = 50;

export function pausedSwitch(dag, onChange) {
  const id = `pause-${dag.dag_id}`;
  const input = h('input', {type: 'checkbox', role: 'switch', id, checked: !dag.is_paused,
    'aria-label': `${dag.dag_id}: ${dag.is_paused ? 'paused' : 'active'}`, 'data-dag': dag.dag_id});
  const lbl = h('span', {class: 'lbl'}, dag.is_paused ? 'Paused' : 'Active');
  const err = h('span', {class: 'error small', role: 'alert'});
  input.addEventListener('change', async () => {
    const want = !input.checked; // checked = active = not paused
    input.disabled = true;
    err.textContent = '';
    try {
      const d = await api(`/dags/${seg(dag.dag_id)}`, {method: 'PATCH', query: {update_mask: 'is_paused'},
        json: {is_paused: want}});
      dag.is_paused = d.is_paused;
      onChange && onChange(d);
    } catch (e) {
      if (e.status === 401) return;
      err.textContent = ` Could not ${want ? 'pause' : 'unpause'}: ${e.message}`;
    } finally {
      input.checked = !dag.is_paused;
      input.disabled = false;
      lbl.textContent = dag.is_paused ? 'Paused' : 'Active';
      input.setAttribute('aria-label', `${dag.dag_id}: ${dag.is_paused ? 'paused' : 'active'}`);
    }
  });
  return h('span', {class: 'nowrap'}, h('label', {class: 'switch', for: id, title: 'Paused DAGs create no scheduled runs'}, input, lbl), err);
}

// Schedule in words, time zone, and when the next run is created.
export function scheduleCell(dag) {
  const expr = dag.schedule_interval && dag.schedule_interval.value;
  const words = describeCron(expr ?? dag.timetable_description ?? null);
  const next = parseTime(dag.next_dagrun_create_after);
  return h('div', {class: 'sched'},
    h('div', {title: expr || 'no schedule'}, words, expr && dag.timezone && dag.timezone !== 'UTC' ? h('span', {class: 'muted'}, ` (${dag.timezone})`) : null),
    expr ? h('div', {class: 'muted small'},
      dag.is_paused ? 'paused: no next run' : next != null
        ? ['next run ', relative(next), ' · ', timeEl(dag.next_dagrun_create_after)]
        : 'next run: not planned') : null);
}

// Parses "FILE:LINE:COL: error: MESSAGE" lines of an import error.
export function parseImportError(text) {
  return String(text || '').split('\n').filter((l) => l.trim()).map((line) => {
    const m = /^(.*?):(\d+):(\d+): (error|warning): (.*)$/.exec(line);
    return m ? {file: m[1], line: Number(m[2]), col: Number(m[3]), level: m[4], message: m[5], text: line}
      : {text: line};
  });
}

export function importErrorsBanner(errs) {
  if (!errs.length) return null;
  return h('section', {class: 'banner bad', id: 'import-errors', role: 'alert', 'aria-labelledby': 'ie-h'},
    h('strong', {id: 'ie-h'}, `${errs.length} DAG file${errs.length === 1 ? ' has' : 's have'} errors and ${errs.length === 1 ? 'is' : 'are'} not loaded:`),
    h('ul', ...errs.map((e) => h('li',
      h('details', {open: errs.length <= 3},
        h('summary', h('code', e.filename)),
        h('ul', ...parseImportError(e.stack_trace).map((x) => h('li', {class: 'ie-line'},
          x.file ? [h('code', {class: 'loc'}, `${x.file}:${x.line}:${x.col}`), `: ${x.level}: ${x.message}`] : h('code', x.text)))))))));
}

export function runMarks(dagId, runs) {
  return h('span', {class: 'marks'}, ...runs.map((run) => {
    const st = runStatus(run);
    return h('a', {class: `mark o-${st}`, href: href('dags', dagId, 'runs', run.dag_run_id),
      title: `${run.dag_run_id}: ${st}`, 'aria-label': `run ${run.dag_run_id}: ${st}`});
  }));
}

export async function dagsPage(ctx) {
  document.title = 'DAGs · weir';
  const q = ctx.query;
  const tags = (q.get('tags') || '').split(',').filter(Boolean);
  const search = q.get('q') || '';
  const paused = q.get('paused') || 'all';
  const page = Math.max(1, Number(q.get('page')) || 1);

  const banner = h('div', {id: 'ie-slot'});
  const body = h('div', {id: 'dag-list'}, h('p', {class: 'loading'}, 'Loading DAGs…'));
  const searchIn = h('input', {type: 'search', id: 'dag-search', value: search, placeholder: 'part of a DAG id'});
  const tagIn = h('input', {type: 'text', id: 'tag-input', list: 'tag-options', placeholder: 'add a tag'});
  const tagList = h('datalist', {id: 'tag-options'});
  const pausedSel = h('select', {id: 'paused-filter'},
    ...[['all', 'All'], ['active', 'Active'], ['paused', 'Paused']].map(([v, t]) => h('option', {value: v, selected: v === paused}, t)));
  const chips = h('span', {id: 'tag-chips'}, ...tags.map((t) => h('button', {type: 'button', class: 'tag on', 'aria-label': `remove tag filter ${t}`,
    onclick: () => setQuery({tags: tags.filter((x) => x !== t), page: null}, {rerender: true})}, t, h('span', {class: 'x', 'aria-hidden': 'true'}, '×'))));
  const filters = h('form', {class: 'filters', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    const nt = tagIn.value.trim();
    setQuery({q: searchIn.value.trim(), tags: nt && !tags.includes(nt) ? [...tags, nt] : tags, paused: pausedSel.value === 'all' ? null : pausedSel.value, page: null}, {rerender: true});
  }},
  h('div', {class: 'field'}, h('label', {for: 'dag-search'}, 'DAG id'), searchIn),
  h('div', {class: 'field'}, h('label', {for: 'tag-input'}, 'Tags'), tagIn, tagList),
  h('div', {class: 'field'}, h('label', {for: 'paused-filter'}, 'Show'), pausedSel),
  h('button', {type: 'submit', class: 'btn'}, 'Filter'), chips);
  pausedSel.addEventListener('change', () => filters.requestSubmit());

  ctx.main.append(banner, h('div', {class: 'head'}, h('h1', 'DAGs')), filters, body);

  const [list, errs] = await Promise.all([
    api('/dags', {query: {limit: PAGE, offset: (page - 1) * PAGE, tags, dag_id_pattern: search || null,
      paused: paused === 'all' ? null : paused === 'paused'}, signal: ctx.signal}),
    api('/importErrors', {query: {limit: 100}, signal: ctx.signal}).catch((e) => {
      if (e.status === 403) return {import_errors: []};
      throw e;
    }),
  ]);
  replace(banner, importErrorsBanner(errs.import_errors || []));
  const dags = list.dags || [];
  const seenTags = new Set(tags);
  for (const d of dags) for (const t of d.tags || []) seenTags.add(t.name);
  replace(tagList, ...[...seenTags].sort().map((t) => h('option', {value: t})));

  if (!dags.length) {
    replace(body, notice('info', tags.length || search || paused !== 'all'
      ? 'No DAG matches these filters.' : 'No DAGs yet: put YAML DAG files in the DAG folder.'));
    return;
  }
  const marks = new Map();
  const rows = dags.map((d) => {
    const m = h('td', {class: 'runs', 'data-dag': d.dag_id}, h('span', {class: 'muted small'}, '…'));
    marks.set(d.dag_id, m);
    return h('tr', {'data-dag': d.dag_id},
      h('td', pausedSwitch(d)),
      h('td', h('a', {href: href('dags', d.dag_id), class: 'dag-link'}, h('strong', d.dag_id)),
        d.is_service ? h('span', {class: 'tag', title: 'clients can order it (POST /api/v1/services/…/orders)'}, 'service') : null,
        d.description ? h('div', {class: 'desc'}, d.description) : null,
        d.owners && d.owners.length ? h('div', {class: 'muted small'}, 'owner ', d.owners.join(', ')) : null),
      h('td', ...(d.tags || []).map((t) => h('button', {type: 'button', class: `tag${tags.includes(t.name) ? ' on' : ''}`,
        title: `show only DAGs tagged ${t.name}`,
        onclick: () => setQuery({tags: tags.includes(t.name) ? tags : [...tags, t.name], page: null}, {rerender: true})}, t.name))),
      h('td', scheduleCell(d)),
      m,
      h('td', h('a', {class: 'btn small', href: href('dags', d.dag_id, 'trigger'), 'aria-label': `trigger ${d.dag_id}`}, 'Trigger')));
  });
  const total = list.total_entries || dags.length;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  replace(body,
    h('table', {class: 'list', id: 'dags-table'},
      h('thead', h('tr', h('th', 'Active'), h('th', 'DAG'), h('th', 'Tags'), h('th', 'Schedule'), h('th', 'Last 10 runs (oldest left)'), h('th', h('span', {class: 'skip'}, 'Actions')))),
      h('tbody', ...rows)),
    pages > 1 ? h('nav', {class: 'pager', 'aria-label': 'pages'},
      h('button', {class: 'btn small', disabled: page <= 1, onclick: () => setQuery({page: page - 1}, {rerender: true})}, '‹ Previous'),
      h('span', `page ${page} of ${pages} (${total} DAGs)`),
      h('button', {class: 'btn small', disabled: page >= pages, onclick: () => setQuery({page: page + 1}, {rerender: true})}, 'Next ›')) : null);

  const fill = async () => {
    await mapLimit(dags, 6, async (d) => {
      try {
        const r = await api(`/dags/${seg(d.dag_id)}/dagRuns`, {query: {order_by: '-id', limit: 10}, signal: ctx.signal});
        const runs = (r.dag_runs || []).reverse();
        replace(marks.get(d.dag_id), runs.length ? runMarks(d.dag_id, runs) : h('span', {class: 'muted small'}, 'no runs'));
      } catch (e) {
        if (e.name === 'AbortError' || e.status === 401) throw e;
        replace(marks.get(d.dag_id), h('span', {class: 'error small'}, e.status === 403 ? 'no access' : 'error'));
      }
    });
  };
  await fill();
  ctx.every(15000, fill);
}
