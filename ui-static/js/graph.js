// graph.js: the graph view, an SVG drawing of the DAG, left to right.
//
// LAYOUT (a small Sugiyama):
//   1. layers: a task's layer is its longest path from a root, so every
//      edge points right;
//   2. an edge spanning k layers gets k-1 dummy points, so long edges take
//      part in the ordering and bend around nodes instead of crossing them;
//   3. order within layers: start in topological order, then 8 sweeps of
//      the barycenter heuristic (down, then up) to reduce crossings;
//   4. coordinates: layers are columns, a layer's items are stacked and
//      centred vertically; edges are cubic curves through the dummy points.
// O((V + E') * sweeps * log) with E' the edges after dummies; a 200-task
// DAG lays out in a few milliseconds.
//
// Nodes are <g class="node s-STATE" tabindex=0> with the state's glyph and
// name in the label, so the state does not depend on colour.

import {s} from './dom.js';
import {tiLabel, TI_GLYPH} from './states.js';

const NODE_H = 30, GAP_X = 70, GAP_Y = 14, DUMMY_H = 8, CHAR_W = 7.4, PAD = 20;

export function layout(struct) {
  const {order, byId, layer} = struct;
  const nLayers = order.length ? Math.max(...order.map((id) => layer.get(id))) + 1 : 0;
  const layers = Array.from({length: nLayers}, () => []);
  const items = new Map(); // key -> {key, id|null, layer, pos, ups: [], downs: []}
  for (const id of order) {
    const it = {key: id, id, layer: layer.get(id), ups: [], downs: []};
    items.set(id, it);
    layers[it.layer].push(it);
  }
  const edges = []; // {from, to, path: [item keys]}
  let dummies = 0;
  for (const id of order) {
    for (const d of byId.get(id).downstream_task_ids || []) {
      if (!items.has(d)) continue;
      const a = items.get(id), b = items.get(d);
      const path = [a];
      let prev = a;
      for (let l = a.layer + 1; l < b.layer; l++) {
        const dm = {key: `~${dummies++}`, id: null, layer: l, ups: [prev], downs: []};
        prev.downs.push(dm);
        items.set(dm.key, dm);
        layers[l].push(dm);
        path.push(dm);
        prev = dm;
      }
      prev.downs.push(b);
      b.ups.push(prev);
      path.push(b);
      edges.push({from: id, to: d, path});
    }
  }
  const setPos = (L) => L.forEach((it, i) => {
    it.pos = i;
  });
  layers.forEach(setPos);
  const bary = (it, dir) => {
    const ns = dir === 'down' ? it.ups : it.downs;
    if (!ns.length) return it.pos;
    let sum = 0;
    for (const n of ns) sum += n.pos;
    return sum / ns.length;
  };
  for (let sweep = 0; sweep < 8; sweep++) {
    const down = sweep % 2 === 0;
    const seq = down ? layers.slice(1) : layers.slice(0, -1).reverse();
    for (const L of seq) {
      const keyed = L.map((it) => ({it, b: bary(it, down ? 'down' : 'up')}));
      keyed.sort((x, y) => x.b - y.b || x.it.pos - y.it.pos);
      L.length = 0;
      for (const k of keyed) L.push(k.it);
      setPos(L);
    }
  }
  // Coordinates.
  const colW = layers.map((L) => Math.max(60, ...L.filter((it) => it.id).map((it) => it.id.length * CHAR_W + 40)));
  const heights = layers.map((L) => L.reduce((a, it) => a + (it.id ? NODE_H : DUMMY_H) + GAP_Y, -GAP_Y));
  const H = Math.max(NODE_H, ...heights, 0);
  let x = PAD;
  layers.forEach((L, l) => {
    let y = PAD + (H - heights[l]) / 2;
    for (const it of L) {
      const h = it.id ? NODE_H : DUMMY_H;
      it.x = x;
      it.w = it.id ? colW[l] : 0;
      it.cx = x + colW[l] / 2;
      it.y = y;
      it.h = h;
      it.cy = y + h / 2;
      y += h + GAP_Y;
    }
    x += colW[l] + GAP_X;
  });
  return {layers, items, edges, width: x - GAP_X + PAD, height: H + 2 * PAD, colW};
}

function edgePath(e) {
  const pts = e.path.map((it, i) => {
    if (i === 0) return [it.x + it.w, it.cy];
    if (i === e.path.length - 1) return [it.x, it.cy];
    return [it.cx, it.cy];
  });
  let d = `M${pts[0][0].toFixed(1)},${pts[0][1].toFixed(1)}`;
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1], [x1, y1] = pts[i];
    const dx = Math.max(20, (x1 - x0) / 2);
    d += ` C${(x0 + dx).toFixed(1)},${y0.toFixed(1)} ${(x1 - dx).toFixed(1)},${y1.toFixed(1)} ${x1.toFixed(1)},${y1.toFixed(1)}`;
  }
  return d;
}

// Draws the DAG; returns {svg, setStates(Map task_id -> TI | null), select(id)}.
export function drawGraph(struct, {onNode} = {}) {
  const L = layout(struct);
  const svg = s('svg', {class: 'graph', width: L.width, height: L.height, viewBox: `0 0 ${L.width} ${L.height}`,
    role: 'group', 'aria-label': `Graph of ${struct.order.length} tasks`, id: 'graph'});
  svg.appendChild(s('defs', s('marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'}, s('path', {d: 'M0,0 L10,5 L0,10 z', class: 'arrow'}))));
  const ge = s('g', {class: 'edges'});
  for (const e of L.edges) ge.appendChild(s('path', {class: 'edge', d: edgePath(e), 'marker-end': 'url(#arrow)'}));
  svg.appendChild(ge);
  const nodes = new Map();
  const gn = s('g', {class: 'nodes'});
  for (const layer of L.layers) for (const it of layer) {
    if (!it.id) continue;
    const label = s('text', {x: it.x + 24, y: it.cy}, it.id);
    const glyph = s('text', {x: it.x + 10, y: it.cy, class: 'gl', 'aria-hidden': 'true'});
    const title = s('title', it.id);
    const g = s('g', {class: 'node s-none', tabindex: 0, role: 'button', 'data-task': it.id,
      'aria-label': `${it.id}: no status`},
    title, s('rect', {x: it.x, y: it.y, width: it.w, height: it.h}), glyph, label);
    g.addEventListener('click', () => onNode && onNode(it.id));
    g.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        onNode && onNode(it.id);
      }
    });
    nodes.set(it.id, {g, glyph, title});
    gn.appendChild(g);
  }
  svg.appendChild(gn);
  return {
    svg,
    layout: L,
    setStates(tiMap) {
      for (const [id, n] of nodes) {
        const ti = tiMap && tiMap.get(id);
        const st = ti && ti.state ? ti.state : 'none';
        const sel = n.g.classList.contains('sel') ? ' sel' : '';
        n.g.setAttribute('class', `node s-${st}${sel}`);
        n.glyph.textContent = TI_GLYPH[st] || '';
        n.g.setAttribute('aria-label', `${id}: ${tiLabel(st)}`);
        n.title.textContent = `${id}: ${tiLabel(st)}${ti && ti.try_number ? `, try ${ti.try_number}` : ''}`;
      }
    },
    select(id) {
      for (const [tid, n] of nodes) n.g.classList.toggle('sel', tid === id);
    },
  };
}
