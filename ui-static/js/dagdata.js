// dagdata.js: loading a DAG's structure, runs and task instances, shared by
// the grid, the graph, the run page and the task panel.
//
// CACHING.  Task instances of a run are kept for the browser tab's life
// once the run is finished (SUCCESS/FAILED/INVALID/ABORTED) and every one
// of them is in a final state: such a run does not change any more, so the
// grid's polling only asks for the runs still moving.  Task lists are kept
// per DAG and dropped when the DAG's last_parsed_time changes.  Nothing is
// stored outside memory.

import {api, seg, mapLimit} from './api.js';
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

export function cachedTis(dagId, runId) {
  return tiCache.get(dagId + '\0' + runId) || null;
}

// Task instances of many runs, newest runs first (the ones people look
// at).  each(batch) gets [[run, tis], ...]: what is cached at once; then
// the first run that arrives; then what arrived, once a second; the rest
// at the end.  Applying every response as it comes restyles and repaints
// the grid dozens of times while the API is still answering, and on a
// small machine that painting takes the CPU the API needs.
export async function loadManyTis(dagId, runs, signal, each, flushMs = 1000) {
  const todo = [...runs].reverse();
  let pending = [];
  let first = true;
  const flush = () => {
    if (!pending.length || (signal && signal.aborted)) return;
    const b = pending;
    pending = [];
    each(b);
  };
  const cached = [];
  for (const run of todo) {
    const hit = cachedTis(dagId, run.dag_run_id);
    if (hit) cached.push([run, hit]);
  }
  if (cached.length) each(cached);
  const rest = todo.filter((run) => !cachedTis(dagId, run.dag_run_id));
  const timer = setInterval(flush, flushMs);
  try {
    await mapLimit(rest, 6, async (run) => {
      const tis = await loadTis(dagId, run, signal);
      pending.push([run, tis]);
      if (first) {
        first = false;
        flush();
      }
    });
  } finally {
    clearInterval(timer);
  }
  flush();
}

export function loadTi(dagId, runId, taskId, signal) {
  return api(`/dags/${seg(dagId)}/dagRuns/${seg(runId)}/taskInstances/${seg(taskId)}`, {signal});
}

export function loadSource(dagId, signal) {
  return api(`/dags/${seg(dagId)}/source`, {as: 'text', headers: {Accept: 'text/plain'}, signal});
}
