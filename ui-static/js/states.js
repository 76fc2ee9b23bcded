// states.js: the state vocabularies (Airflow's task states, weir's run and
// order states) and the facts the pages need about them.  Colours and
// glyphs live in app.css (.s-STATE, .o-STATE) only.

// Task instance states, in the order of the legend.
export const TI_STATES = [
  'success', 'failed', 'upstream_failed', 'skipped', 'running', 'queued', 'scheduled',
  'up_for_retry', 'up_for_reschedule', 'removed', 'none',
];

// The glyphs of app.css (.s-STATE::before), for SVG text, where CSS
// pseudo-elements do not apply.  tests/ui checks the two agree.
export const TI_GLYPH = {
  success: '✓', failed: '✕', upstream_failed: '↑', skipped: '»', running: '▶', queued: '⋯',
  scheduled: '◷', up_for_retry: '↻', up_for_reschedule: '⟳', removed: '∅', none: '',
};

// A task instance in one of these will not change by itself.
const TI_FINISHED = new Set(['success', 'failed', 'upstream_failed', 'skipped', 'removed']);

export function tiFinished(state) {
  return TI_FINISHED.has(state || 'none');
}

// weir's run (order) states, as in the API's "order_status" and orders' "status".
export const RUN_STATES = ['RECEIVED', 'QUEUED', 'RUNNING', 'SUCCESS', 'FAILED', 'INVALID', 'ABORTED'];
const RUN_TERMINAL = new Set(['SUCCESS', 'FAILED', 'INVALID', 'ABORTED']);

export function runTerminal(orderStatus) {
  return RUN_TERMINAL.has(orderStatus);
}

// The weir state of an Airflow DAGRun object (order_status is weir's extra field).
export function runStatus(run) {
  if (run.order_status) return run.order_status;
  return {queued: 'QUEUED', running: 'RUNNING', success: 'SUCCESS', failed: 'FAILED'}[run.state] || 'RECEIVED';
}

export function tiLabel(state) {
  const st = state || 'none';
  return st === 'none' ? 'no status' : st.replace(/_/g, ' ');
}
