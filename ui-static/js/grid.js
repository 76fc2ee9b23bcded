// grid.js: the grid view, runs (columns, oldest left) x tasks (rows, in
// topological order), one cell per task instance.
//
// RENDERING.  A 200-task DAG with 100 runs is 20,000 cells, the size at
// which Airflow's grid takes seconds.  Here:
//   - the whole grid is one HTML string (escaped) set with one innerHTML:
//     one parse, no per-cell createElement or listener;
//   - a cell is a bare <i class="s-STATE"></i>; colour and glyph come from
//     the class (app.css), so a state change is one className write;
//   - rows use content-visibility:auto, so rows off screen are neither laid
//     out nor painted;
//   - events are delegated to the grid (click, hover, keys), and the cell's
//     run/task come from its position (row data-t, index in the row);
//   - the first build draws every cell (one grid answer, dagdata.loadGrid);
//     a poll updates only the cells whose state changed.
// The full grid is rebuilt only when the set of runs changes.
//
// ACCESSIBILITY.  The grid is one tab stop (role=group).  Arrow keys,
// Home/End and PageUp/PageDown move a cursor cell; Enter opens it; a live
// region reads out task, run and state.  The run page lists the same
// task instances as an ordinary table.

import {esc} from './dom.js';
import {runStatus, TI_GLYPH} from './states.js';
import {duration, durationBetween, timeText} from './fmt.js';

const BAR_MAX = 46, BAR_MIN = 14;

// Grid cells show their state's glyph as a background image: a ::before
// glyph gives each of the 20,000 cells a text layout object (most of the
// layout time), and an SVG image costs five times a bitmap to paint.  So
// each glyph is drawn once into a small canvas, in the cell's font, and
// used as a PNG data: URL (the CSP's img-src allows data:), from rules made
// here, from TI_GLYPH, in a constructed style sheet.  Success, the common
// case, is a plain green cell: painting a glyph into every cell of a
// healthy grid tripled the paint time and adds only noise; every other
// state keeps its glyph, so no two states look alike without colour.
let glyphSheet = null;
const GLYPH_COLOUR = {success: '#fff', failed: '#fff', queued: '#fff'};
function installGlyphs() {
  if (glyphSheet || !('adoptedStyleSheets' in document)) return;
  const dpr = Math.max(1, Math.min(3, Math.round(window.devicePixelRatio || 1)));
  const px = 14 * dpr;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = px;
  const g = canvas.getContext('2d');
  const rules = [];
  for (const [st, glyph] of Object.entries(TI_GLYPH)) {
    if (!glyph || !g || st === 'success') continue;
    g.clearRect(0, 0, px, px);
    g.font = `${10 * dpr}px "DejaVu Sans", sans-serif`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillStyle = GLYPH_COLOUR[st] || '#000';
    g.fillText(glyph, px / 2, px / 2 + dpr / 2);
    rules.push(`.gcs > i.s-${st} { --gi: url("${canvas.toDataURL('image/png')}"); }`);
  }
  glyphSheet = new CSSStyleSheet();
  glyphSheet.replaceSync(rules.join('\n'));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, glyphSheet];
}

export function createGrid({taskIds, onCell, onRun}) {
  installGlyphs();
  const wrap = document.createElement('div');
  wrap.className = 'gridwrap';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'group');
  wrap.setAttribute('aria-label', 'Grid of task instances: tasks by runs. Arrow keys move, Enter opens.');
  wrap.id = 'grid';
  const live = document.createElement('div');
  live.className = 'skip';
  live.id = 'grid-live';
  live.setAttribute('aria-live', 'polite');
  const tip = document.createElement('div');
  tip.className = 'tip';
  tip.hidden = true;

  let runs = [];
  let tiByRun = [];        // run index -> Map(task_id -> TI)
  let cells = [];          // task index -> HTMLCollection of the row's cells
  let shadow = [];         // task index -> array of the cells' state classes
  let bars = null;         // HTMLCollection of the header's run bars
  let cur = null;          // keyboard cursor {t, r}
  let selCell = null;      // selected cell {t, r}
  let selected = null;     // {taskId, runId} or {runId}
  const taskIndex = new Map(taskIds.map((id, i) => [id, i]));

  // Writes a cell's class from the shadow state (no classList: reading it
  // allocates a DOMTokenList per element, which dominated setTis).
  function paint(t, r) {
    let cls = shadow[t][r];
    if (cur && cur.t === t && cur.r === r) cls += ' cur';
    if (selCell && selCell.t === t && selCell.r === r) cls += ' sel';
    cells[t][r].className = cls;
  }

  function build() {
    const parts = ['<div class="grid"><div class="gh"><div class="gn">Task</div><div class="gcs">'];
    for (let r = 0; r < runs.length; r++) {
      const st = runStatus(runs[r]);
      parts.push(`<b class="o-${esc(st)}" data-r="${r}" data-run="${esc(runs[r].dag_run_id)}"></b>`);
    }
    parts.push('</div></div>');
    shadow = [];
    for (let t = 0; t < taskIds.length; t++) {
      const row = new Array(runs.length);
      parts.push(`<div class="gr" data-t="${t}" data-task="${esc(taskIds[t])}"><div class="gn" title="${esc(taskIds[t])}">${esc(taskIds[t])}</div><div class="gcs">`);
      for (let r = 0; r < runs.length; r++) {
        let cls = 's-loading';
        if (tiByRun[r]) {
          const ti = tiByRun[r].get(taskIds[t]);
          cls = `s-${ti && ti.state ? esc(ti.state) : 'none'}`;
        }
        row[r] = cls;
        parts.push(`<i class="${cls}"></i>`);
      }
      shadow.push(row);
      parts.push('</div></div>');
    }
    parts.push('</div>');
    wrap.innerHTML = parts.join('');
    const grid = wrap.firstChild;
    bars = grid.firstChild.lastChild.children;
    cells = [];
    for (let row = grid.firstChild.nextSibling; row; row = row.nextSibling) cells.push(row.lastChild.children);
    sizeBars();
    if (cur && (cur.t >= taskIds.length || cur.r >= runs.length)) cur = null;
    selCell = null;
    if (selected) select(selected);
    if (cur) paint(cur.t, cur.r);
  }

  function sizeBars() {
    const now = Date.now();
    let max = 1;
    const d = runs.map((run) => durationBetween(run.start_date, run.end_date, now) || 0);
    for (const x of d) if (x > max) max = x;
    for (let r = 0; r < runs.length; r++) {
      const px = Math.round(BAR_MIN + (BAR_MAX - BAR_MIN) * (d[r] / max));
      bars[r].style.height = `${px}px`;
    }
  }

  // Replaces the runs; keeps task instances of runs that stay.  known
  // (optional): Map run id -> task instances already at hand (cached), so
  // the first build draws them without a second pass.
  function setRuns(next, known) {
    const old = new Map(runs.map((run, r) => [run.dag_run_id, tiByRun[r]]));
    const same = next.length === runs.length && next.every((run, r) => run.dag_run_id === runs[r].dag_run_id);
    runs = next;
    tiByRun = next.map((run) => old.get(run.dag_run_id) ||
      (known && known.has(run.dag_run_id) ? new Map(known.get(run.dag_run_id).map((ti) => [ti.task_id, ti])) : null));
    if (!same) {
      build();
    } else {
      for (let r = 0; r < runs.length; r++) bars[r].className = `o-${runStatus(runs[r])}`;
      sizeBars();
    }
  }

  function setTis(runId, tis) {
    const r = runs.findIndex((run) => run.dag_run_id === runId);
    if (r < 0) return;
    const m = new Map();
    for (const ti of tis) m.set(ti.task_id, ti);
    tiByRun[r] = m;
    for (let t = 0; t < taskIds.length; t++) {
      const ti = m.get(taskIds[t]);
      const cls = `s-${ti && ti.state ? ti.state : 'none'}`;
      if (shadow[t][r] !== cls) {
        shadow[t][r] = cls;
        paint(t, r);
      }
    }
  }

  function position(el) {
    if (!el || el.tagName !== 'I' || !el.parentNode || !el.parentNode.parentNode) return null;
    const row = el.parentNode.parentNode;
    if (!row.dataset || row.dataset.t == null) return null;
    return {t: Number(row.dataset.t), r: Array.prototype.indexOf.call(el.parentNode.children, el)};
  }

  function describe(t, r) {
    const run = runs[r], m = tiByRun[r], ti = m && m.get(taskIds[t]);
    const state = !m ? 'loading' : ti && ti.state ? ti.state.replace(/_/g, ' ') : 'no status';
    const lines = [`${taskIds[t]}`, `run ${run.dag_run_id}`, `state: ${state}`];
    if (ti && ti.try_number) lines.push(`try ${ti.try_number} of ${ti.max_tries + 1}`);
    if (ti && ti.start_date) lines.push(`started ${timeText(ti.start_date)}`);
    if (ti && ti.start_date) lines.push(`duration ${duration(durationBetween(ti.start_date, ti.end_date))}`);
    return lines;
  }

  function describeRun(r) {
    const run = runs[r];
    return [`run ${run.dag_run_id}`, `state: ${runStatus(run)}`, `logical date ${timeText(run.logical_date)}`,
      run.start_date ? `duration ${duration(durationBetween(run.start_date, run.end_date))}` : 'not started'];
  }

  function showTip(ev, lines) {
    tip.textContent = lines.join('\n');
    tip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - 380);
    tip.style.left = `${Math.max(4, x)}px`;
    tip.style.top = `${ev.clientY + 16}px`;
  }

  function moveCursor(t, r, announce = true) {
    if (!runs.length || !taskIds.length) return;
    t = Math.max(0, Math.min(taskIds.length - 1, t));
    r = Math.max(0, Math.min(runs.length - 1, r));
    const old = cur;
    cur = {t, r};
    if (old && old.t < cells.length && old.r < runs.length) paint(old.t, old.r);
    paint(t, r);
    const c = cells[t][r];
    c.scrollIntoView({block: 'nearest', inline: 'nearest'});
    if (announce) live.textContent = describe(t, r).join(', ');
  }

  function select(sel) {
    for (const b of bars) if (b.classList.contains('sel')) b.classList.remove('sel');
    const old = selCell;
    selCell = null;
    if (old && old.t < cells.length && old.r < runs.length) paint(old.t, old.r);
    selected = sel;
    if (!sel) return;
    const r = runs.findIndex((run) => run.dag_run_id === sel.runId);
    if (r < 0) return;
    bars[r].classList.add('sel');
    if (sel.taskId != null && taskIndex.has(sel.taskId)) {
      selCell = {t: taskIndex.get(sel.taskId), r};
      paint(selCell.t, selCell.r);
    }
  }

  wrap.addEventListener('click', (ev) => {
    const el = ev.target;
    if (el.tagName === 'B' && el.dataset.r != null) {
      onRun && onRun(runs[Number(el.dataset.r)]);
      return;
    }
    const p = position(el);
    if (!p) return;
    const old = cur;
    cur = p; // the keyboard continues from the clicked cell
    if (old && old.t < cells.length && old.r < runs.length) paint(old.t, old.r);
    paint(p.t, p.r);
    onCell && onCell(taskIds[p.t], runs[p.r], tiByRun[p.r] && tiByRun[p.r].get(taskIds[p.t]));
  });
  wrap.addEventListener('mouseover', (ev) => {
    const el = ev.target;
    if (el.tagName === 'B' && el.dataset.r != null) return showTip(ev, describeRun(Number(el.dataset.r)));
    const p = position(el);
    if (p) showTip(ev, describe(p.t, p.r));
    else tip.hidden = true;
  });
  wrap.addEventListener('mouseleave', () => {
    tip.hidden = true;
  });
  wrap.addEventListener('scroll', () => {
    tip.hidden = true;
  }, {passive: true});
  wrap.addEventListener('keydown', (ev) => {
    if (!runs.length) return;
    const c = cur || {t: 0, r: runs.length - 1};
    const page = 10;
    const moves = {
      ArrowUp: [c.t - 1, c.r], ArrowDown: [c.t + 1, c.r], ArrowLeft: [c.t, c.r - 1], ArrowRight: [c.t, c.r + 1],
      Home: [c.t, 0], End: [c.t, runs.length - 1], PageUp: [c.t - page, c.r], PageDown: [c.t + page, c.r],
    };
    if (moves[ev.key]) {
      ev.preventDefault();
      moveCursor(...moves[ev.key]);
    } else if ((ev.key === 'Enter' || ev.key === ' ') && cur) {
      ev.preventDefault();
      onCell && onCell(taskIds[cur.t], runs[cur.r], tiByRun[cur.r] && tiByRun[cur.r].get(taskIds[cur.t]));
    }
  });
  wrap.addEventListener('focus', () => {
    if (!cur && runs.length) moveCursor(0, runs.length - 1);
  });

  return {
    el: wrap, live, tip, setRuns, setTis, select,
    get runs() {
      return runs;
    },
    loaded(runId) {
      const r = runs.findIndex((run) => run.dag_run_id === runId);
      return r >= 0 && !!tiByRun[r];
    },
    allLoaded() {
      return tiByRun.every(Boolean);
    },
  };
}
