// dagdata.js: loading a DAG's structure, runs and task instances, shared by
// the grid, the graph, the run page and the task panel.
//
// THE GRID reads weir's compact grid resource (GET /dags/{dag}/grid: runs,
// task ids in topological order, and per run parallel arrays of states,
// tries, start and end), one request for the whole view, instead of one
// Airflow task-instance listing per run (15 MB of JSON for 100 runs of 200
// tasks; docs/internals/ui.md).  The grid's task instances are small
// objects {task_id, state, try_number, max_tries, start_date, end_date}
// whose dates are milliseconds (fmt.js takes both those and ISO strings);
// the panels fetch the full TaskInstance on click.
//
// CACHING.  Task instances of a run are kept for the browser tab's life
// once the run is finished (SUCCESS/FAILED/INVALID/ABORTED) and every one
// of them is in a final state: such a run does not change any more, so the
// grid's polling only asks for the newest runs, down to the oldest one
// still moving, and the graph of a finished run needs no request.  Task
// lists are kept per DAG and dropped when the DAG's last_parsed_time
// changes.  Nothing is stored outside memory.

import {api, seg} from './api.js';
import {runStatus, runTerminal, tiFinished} from './states.js';

const tiCache = new Map();   // "dag\0run" -> task instances (finished runs only)
const taskCache = new Map(); // dag -> {version, data}

export function loadDag(dagId, signal) {
  return api(`/dags/${seg(dagId)}`, {signal});
}

export function loadDetails(dagId, signal) {
  return api(`/dags/${seg(dagId)}/details`, {signal});
}

// {tasks, byId, order (ids, topological), layer (id -> longest path from a root)}
export async function loadTasks(dagId, signal, version) {
  const c = taskCache.get(dagId);
  if (c && version && c.version === version) return c.data;
  const res = await api(`/dags/${seg(dagId)}/tasks`, {signal});
  const data = structure(res.tasks || []);
  taskCache.set(dagId, {version, data});
  return data;
}

export function structure(tasks) {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const indeg = new Map(), layer = new Map();
  for (const t of tasks) indeg.set(t.task_id, 0);
  for (const t of tasks) for (const d of t.downstream_task_ids || []) if (indeg.has(d)) indeg.set(d, indeg.get(d) + 1);
  // Kahn's algorithm; ready tasks in id order, so the order is stable.
  const ready = tasks.filter((t) => indeg.get(t.task_id) === 0).map((t) => t.task_id).sort();
  const order = [];
  for (const id of ready) layer.set(id, 0);
  while (ready.length) {
    const id = ready.shift();
    order.push(id);
    const downs = [...(byId.get(id).downstream_task_ids || [])].sort();
    for (const d of downs) {
      if (!indeg.has(d)) continue;
      layer.set(d, Math.max(layer.get(d) || 0, layer.get(id) + 1));
      indeg.set(d, indeg.get(d) - 1);
      if (indeg.get(d) === 0) insertSorted(ready, d);
    }
  }
  // A cycle cannot come from the loader; be safe anyway.
  for (const t of tasks) if (!layer.has(t.task_id)) {
    layer.set(t.task_id, 0);
    order.push(t.task_id);
  }
  return {tasks, byId, order, layer};
}

function insertSorted(arr, v) {
  let i = arr.length;
  while (i > 0 && arr[i - 1] > v) i--;
  arr.splice(i, 0, v);
}

// The newest `limit` runs, oldest first (the grid's left-to-right order).
export async function loadRuns(dagId, limit, signal) {
  const res = await api(`/dags/${seg(dagId)}/dagRuns`, {query: {order_by: '-id', limit}, signal});
  return {runs: (res.dag_runs || []).reverse(), total: res.total_entries};
}

export function loadRun(dagId, runId, signal) {
  return api(`/dags/${seg(dagId)}/dagRuns/${seg(runId)}`, {signal});
}

// Task instances of one run; cached once the run can no longer change.
export async function loadTis(dagId, run, signal) {
  const key = dagId + '\0' + run.dag_run_id;
  const hit = tiCache.get(key);
  if (hit) return hit;
  if (runStatus(run) === 'RECEIVED') return []; // no task instances yet
  const res = await api(`/dags/${seg(dagId)}/dagRuns/${seg(run.dag_run_id)}/taskInstances`,
    {query: {limit: 10000}, signal});
  // Keep what the grid and graph show, not Airflow's ~35 fields: a cache of
  // hundreds of runs stays small (the panels fetch the full object).
  const tis = (res.task_instances || []).map((t) => ({
    task_id: t.task_id, state: t.state, try_number: t.try_number, max_tries: t.max_tries,
    start_date: t.start_date, end_date: t.end_date,
  }));
  if (runTerminal(runStatus(run)) && tis.every((t) => tiFinished(t.state))) tiCache.set(key, tis);
  return tis;
}

// A page of the DAG's grid: {runs (oldest first, the grid's left-to-right
// order), total, taskIds, tis: Map run id -> task instances}.  Finished
// runs go to the cache (as loadTis would keep them).
export async function loadGrid(dagId, limit, signal, offset = 0) {
  const res = await api(`/dags/${seg(dagId)}/grid`, {query: {limit, offset}, signal});
  const ids = res.task_ids || [], runs = res.dag_runs || [];
  const tis = new Map();
  for (let r = 0; r < runs.length; r++) {
    const st = res.states[r], tn = res.try_numbers[r], mt = res.max_tries[r], s = res.start_ms[r], e = res.end_ms[r];
    const list = [];
    for (let t = 0; t < ids.length; t++) {
      if (tn[t] == null) continue; // no instance of this task in this run
      list.push({task_id: ids[t], state: st[t], try_number: tn[t], max_tries: mt[t], start_date: s[t], end_date: e[t]});
    }
    const run = runs[r];
    tis.set(run.dag_run_id, list);
    if (runTerminal(runStatus(run)) && list.every((x) => tiFinished(x.state))) tiCache.set(dagId + '\0' + run.dag_run_id, list);
  }
  return {runs: runs.reverse(), total: res.total_entries, taskIds: ids, tis};
}

export function cachedTis(dagId, runId) {
  return tiCache.get(dagId + '\0' + runId) || null;
}

export function loadTi(dagId, runId, taskId, signal) {
  return api(`/dags/${seg(dagId)}/dagRuns/${seg(runId)}/taskInstances/${seg(taskId)}`, {signal});
}

export function loadSource(dagId, signal) {
  return api(`/dags/${seg(dagId)}/source`, {as: 'text', headers: {Accept: 'text/plain'}, signal});
}
