// tipanel.js: the side panel of the DAG page: a task instance (from a grid
// cell or a graph node) or a run (from a grid column), with links to the
// task try page (log, XCom) and the run page.

import {h, replace, tiBadge, runBadge, href, notice} from './dom.js';
import {timeEl, duration, durationBetween} from './fmt.js';
import {loadTi} from './dagdata.js';
import {runStatus} from './states.js';

export function createPanel(onClose) {
  const el = h('aside', {class: 'side', id: 'ti-panel', 'aria-live': 'polite', hidden: true, tabindex: '-1'});
  let token = 0;
  function closeBtn() {
    return h('button', {type: 'button', class: 'btn small close', 'aria-label': 'Close details',
      onclick: () => {
        el.hidden = true;
        onClose && onClose();
      }}, '✕');
  }
  return {
    el,
    hide() {
      el.hidden = true;
    },
    // quiet: a refresh (keep what is shown until the fresh data is in).
    async showTi(dagId, run, taskId, ti, signal, quiet = false) {
      const my = ++token;
      el.hidden = false;
      const render = (x) => {
        const tries = Math.max(x && x.try_number ? x.try_number : 0, 0);
        replace(el, closeBtn(),
          h('h2', {id: 'ti-panel-title'}, taskId),
          h('div', {class: 'muted small'}, 'run ', h('a', {href: href('dags', dagId, 'runs', run.dag_run_id)}, run.dag_run_id)),
          h('dl', {class: 'kv'},
            h('dt', 'State'), h('dd', {id: 'ti-panel-state'}, tiBadge(x && x.state)),
            h('dt', 'Try'), h('dd', x && x.try_number ? `${x.try_number} of ${x.max_tries + 1}` : '—'),
            h('dt', 'Operator'), h('dd', (x && x.operator) || '—'),
            h('dt', 'Started'), h('dd', timeEl(x && x.start_date)),
            h('dt', 'Ended'), h('dd', timeEl(x && x.end_date)),
            h('dt', 'Duration'), h('dd', x && x.start_date ? duration(durationBetween(x.start_date, x.end_date)) : '—'),
            h('dt', 'Queued'), h('dd', timeEl(x && x.queued_when)),
            h('dt', 'Host / pid'), h('dd', x && x.hostname ? `${x.hostname} / ${x.pid ?? '—'}` : '—'),
            h('dt', 'Exit code'), h('dd', x && x.exit_code != null ? String(x.exit_code) : '—'),
            h('dt', 'Pool'), h('dd', x && x.pool ? `${x.pool} (${x.pool_slots} slot${x.pool_slots === 1 ? '' : 's'})` : '—'),
            h('dt', 'Executor'), h('dd', (x && x.executor) || '—')),
          h('p', h('a', {class: 'btn primary', id: 'ti-panel-open', href: href('dags', dagId, 'runs', run.dag_run_id, 'tasks', taskId)},
            'Log and XCom')),
          tries > 1 ? h('div', h('h3', 'Tries'), h('ul', ...Array.from({length: tries}, (_, i) => h('li',
            h('a', {href: href('dags', dagId, 'runs', run.dag_run_id, 'tasks', taskId) + `?try=${i + 1}`}, `Try ${i + 1}`))))) : null);
      };
      if (!quiet) render(ti);
      try {
        const fresh = await loadTi(dagId, run.dag_run_id, taskId, signal);
        if (my === token) render(fresh);
      } catch (e) {
        if (e.name === 'AbortError') return;
        if (my === token && e.status === 404) {
          replace(el, closeBtn(), h('h2', taskId), notice('info',
            'This run has no instance of this task (the task was added to the DAG after the run was created, or the run has not been queued yet).'));
        }
      }
    },
    showRun(dagId, run) {
      ++token;
      el.hidden = false;
      replace(el, closeBtn(),
        h('h2', {id: 'ti-panel-title'}, run.dag_run_id),
        h('dl', {class: 'kv'},
          h('dt', 'State'), h('dd', runBadge(runStatus(run), run.state)),
          h('dt', 'Type'), h('dd', run.weir_run_type || run.run_type),
          h('dt', 'Logical date'), h('dd', timeEl(run.logical_date)),
          h('dt', 'Started'), h('dd', timeEl(run.start_date)),
          h('dt', 'Ended'), h('dd', timeEl(run.end_date)),
          h('dt', 'Duration'), h('dd', run.start_date ? duration(durationBetween(run.start_date, run.end_date)) : '—'),
          h('dt', 'Conf'), h('dd', h('code', JSON.stringify(run.conf || {})))),
        h('p', h('a', {class: 'btn primary', href: href('dags', dagId, 'runs', run.dag_run_id)}, 'Open run')));
    },
  };
}
