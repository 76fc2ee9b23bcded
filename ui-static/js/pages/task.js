// pages/task.js: one task instance: its tries, the log of the chosen try
// (with follow mode) and its XCom values.
//
// LOG.  GET .../logs/{try} answers {"content", "continuation_token"}; the
// next request passes ?token= and gets only what was written since (weir's
// token is base64url of {"log_pos", "end_of_log"}; it is treated as opaque
// except that end_of_log, when readable, says the try has finished and the
// log will not grow).  Follow mode asks again every second and keeps the
// view scrolled to the bottom unless the user scrolled up.
//
// XCom: GET .../xcomEntries, then each value with ?stringify=false (JSON).

import {h, replace, href, notice, tiBadge} from '../dom.js';
import {api, seg, mapLimit} from '../api.js';
import {loadTi} from '../dagdata.js';
import {setQuery} from '../router.js';
import {timeEl, duration, durationBetween} from '../fmt.js';
import {tiFinished} from '../states.js';

const MAX_LINES_STYLED = 20000;

function tokenEnd(tok) {
  try {
    const b64 = tok.replace(/-/g, '+').replace(/_/g, '/');
    const j = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
    return j.end_of_log === true;
  } catch {
    return false;
  }
}

// Appends log text, one span per line, classed by weir's stream prefix.
function appendLog(pre, text, state) {
  if (!text) return;
  const all = (state.partial || '') + text;
  const lines = all.split('\n');
  state.partial = lines.pop(); // an unfinished last line waits for the rest
  const frag = document.createDocumentFragment();
  for (const line of lines) {
    state.count++;
    if (state.count > MAX_LINES_STYLED) {
      frag.appendChild(document.createTextNode(line + '\n'));
      continue;
    }
    const m = / (WEIR|OUT|ERR) /.exec(line.slice(0, 40));
    const span = document.createElement('span');
    span.className = m ? (m[1] === 'WEIR' ? 'l-w' : m[1] === 'ERR' ? 'l-e' : 'l-o') : 'l-o';
    span.textContent = line + '\n';
    frag.appendChild(span);
  }
  pre.appendChild(frag);
}

export async function taskPage(ctx) {
  const {dag: dagId, run: runId, task: taskId} = ctx.params;
  document.title = `${taskId} · ${runId} · weir`;
  const base = `/dags/${seg(dagId)}/dagRuns/${seg(runId)}/taskInstances/${seg(taskId)}`;
  let ti = await loadTi(dagId, runId, taskId, ctx.signal);
  const tries = () => Math.max(1, ti.try_number || 1);
  let tryNo = Math.min(Math.max(1, Number(ctx.query.get('try')) || tries()), Math.max(tries(), 1));

  const head = h('div');
  const facts = h('div');
  const trySel = h('select', {id: 'try-select', 'aria-label': 'try'});
  const follow = h('input', {type: 'checkbox', id: 'follow', checked: !tiFinished(ti.state)});
  const logState = h('span', {class: 'muted small', id: 'log-state', 'aria-live': 'polite'});
  const pre = h('pre', {class: 'log', id: 'log', tabindex: '0', 'aria-label': 'task log'});
  const xcom = h('div', {id: 'xcom', class: 'xcom'});
  ctx.main.append(
    h('div', {class: 'crumbs'}, h('a', {href: '#/dags'}, 'DAGs'), ' / ', h('a', {href: href('dags', dagId)}, dagId),
      ' / ', h('a', {href: href('dags', dagId, 'runs', runId)}, runId), ' / task'),
    head, facts,
    h('h2', {id: 'log-h'}, 'Log'),
    h('div', {class: 'logbar'}, h('label', {for: 'try-select'}, 'Try'), trySel,
      h('label', {class: 'check', for: 'follow'}, follow, 'Follow'), logState,
      h('a', {class: 'btn small', id: 'log-raw', href: '#', onclick: (ev) => {
        ev.preventDefault();
        download();
      }}, 'Download')),
    pre,
    h('h2', 'XCom'), xcom);

  const renderFacts = () => {
    replace(head, h('div', {class: 'head'}, h('h1', {id: 'task-title'}, taskId), h('span', {id: 'task-state'}, tiBadge(ti.state))));
    replace(facts, h('dl', {class: 'kv'},
      h('dt', 'Run'), h('dd', h('a', {href: href('dags', dagId, 'runs', runId)}, runId)),
      h('dt', 'Try'), h('dd', ti.try_number ? `${ti.try_number} of ${ti.max_tries + 1}` : 'not started'),
      h('dt', 'Operator'), h('dd', ti.operator || '—'),
      h('dt', 'Started'), h('dd', timeEl(ti.start_date)),
      h('dt', 'Ended'), h('dd', timeEl(ti.end_date)),
      h('dt', 'Duration'), h('dd', ti.start_date ? duration(durationBetween(ti.start_date, ti.end_date)) : '—'),
      h('dt', 'Host / pid'), h('dd', ti.hostname ? `${ti.hostname} / ${ti.pid ?? '—'}` : '—'),
      h('dt', 'Exit code'), h('dd', ti.exit_code != null ? String(ti.exit_code) : '—'),
      h('dt', 'Pool / queue'), h('dd', `${ti.pool} / ${ti.queue}`),
      h('dt', 'Executor'), h('dd', ti.executor || '—')));
    const n = tries();
    if (trySel.options.length !== n) {
      replace(trySel, ...Array.from({length: n}, (_, i) => h('option', {value: i + 1, selected: i + 1 === tryNo}, `${i + 1}`)));
    }
  };
  renderFacts();

  // ---- log
  let token = null, ended = false, gen = 0;
  const lstate = {partial: '', count: 0};
  const reset = () => {
    token = null;
    ended = false;
    lstate.partial = '';
    lstate.count = 0;
    replace(pre);
    gen++;
  };
  const atBottom = () => pre.scrollHeight - pre.scrollTop - pre.clientHeight < 30;
  const fetchLog = async () => {
    const my = gen;
    const stick = atBottom();
    let res;
    try {
      res = await api(`${base}/logs/${tryNo}`, {query: {token}, signal: ctx.signal});
    } catch (e) {
      if (e.status === 404) {
        logState.textContent = 'this try has not started yet';
        return;
      }
      throw e;
    }
    if (my !== gen) return;
    appendLog(pre, res.content, lstate);
    token = res.continuation_token || token;
    ended = token ? tokenEnd(token) : tiFinished(ti.state);
    if (ended && lstate.partial) {
      appendLog(pre, '\n', lstate);
    }
    logState.textContent = ended ? `end of log (${lstate.count} lines)` : `${lstate.count} lines, still being written`;
    pre.dataset.ended = ended ? '1' : '0';
    if (follow.checked && stick) pre.scrollTop = pre.scrollHeight;
  };
  const download = () => {
    const blob = new Blob([pre.textContent], {type: 'text/plain'});
    const a = h('a', {href: URL.createObjectURL(blob), download: `${dagId}-${runId}-${taskId}-${tryNo}.log`.replace(/[^\w.+-]/g, '_')});
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  trySel.addEventListener('change', () => {
    tryNo = Number(trySel.value);
    setQuery({try: tryNo});
    reset();
    fetchLog();
  });
  follow.addEventListener('change', () => {
    if (follow.checked) pre.scrollTop = pre.scrollHeight;
  });
  await fetchLog();

  // ---- XCom
  const loadXcom = async () => {
    const list = await api(`${base}/xcomEntries`, {query: {limit: 1000}, signal: ctx.signal});
    const entries = list.xcom_entries || [];
    if (!entries.length) {
      replace(xcom, h('p', {class: 'muted'}, tiFinished(ti.state) ? 'No XCom values.' : 'No XCom values yet.'));
      return;
    }
    const vals = await mapLimit(entries, 6, (e) => api(`${base}/xcomEntries/${seg(e.key)}`,
      {query: {stringify: false}, signal: ctx.signal}).catch((err) => ({error: err.message})));
    replace(xcom, h('table', {class: 'list', id: 'xcom-table'},
      h('thead', h('tr', h('th', 'Key'), h('th', 'Value'), h('th', 'Written'))),
      h('tbody', ...entries.map((e, i) => h('tr', {'data-key': e.key},
        h('td', h('code', e.key)),
        h('td', vals[i].error ? h('span', {class: 'error'}, vals[i].error) : h('pre', {class: 'mono'}, JSON.stringify(vals[i].value, null, 2))),
        h('td', timeEl(e.timestamp)))))));
  };
  await loadXcom().catch((e) => {
    if (e.status === 401 || e.name === 'AbortError') throw e;
    replace(xcom, notice('bad', `Could not load XCom: ${e.message}`));
  });

  // ---- polling: the task instance, the log (follow), XCom when it ends
  let xcomDone = tiFinished(ti.state);
  ctx.every(1000, async () => {
    if (tiFinished(ti.state) && ended && xcomDone) return;
    const was = ti.state;
    ti = await loadTi(dagId, runId, taskId, ctx.signal);
    if (ti.state !== was || trySel.options.length !== tries()) {
      const latest = tries();
      if (follow.checked && latest !== tryNo && !tiFinished(was)) {
        tryNo = latest;
        setQuery({try: tryNo});
        reset();
      }
    }
    renderFacts(); // the duration of a running try grows
    if ((follow.checked || !token) && !ended) await fetchLog();
    if (tiFinished(ti.state) && !xcomDone) {
      xcomDone = true;
      await loadXcom();
    }
  });
}
