// dom.js: building DOM without innerHTML of untrusted text.
//
// h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child) makes an
// element; strings become text nodes, arrays are flattened, null/false are
// skipped.  Attributes named on* with a function are event listeners; the
// "style" attribute is refused (the CSP forbids inline styles: use classes,
// or el.style.prop = v, which the CSP allows).  s() does the same for SVG.
//
// esc() is for the few places that build HTML text for speed (the grid):
// every interpolated value goes through it.

const SVG_NS = 'http://www.w3.org/2000/svg';

function setAttrs(el, attrs) {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'style') throw new Error('inline style attributes violate the CSP; use a class');
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'dataset') {
      Object.assign(el.dataset, v);
    } else if (k === 'text') {
      el.textContent = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
}

function append(el, kids) {
  for (const c of kids) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

function isAttrs(a) {
  return a && typeof a === 'object' && !Array.isArray(a) && !(a instanceof Node);
}

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  if (isAttrs(attrs)) setAttrs(el, attrs);
  else kids.unshift(attrs);
  append(el, kids);
  return el;
}

export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVG_NS, tag);
  if (isAttrs(attrs)) setAttrs(el, attrs);
  else kids.unshift(attrs);
  append(el, kids);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...kids) {
  clear(el);
  append(el, kids);
  return el;
}

const ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};
export function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ESC[c]);
}

// A <span class="badge s-STATE">STATE</span>: glyph, colour and the name.
export function tiBadge(state) {
  const st = state || 'none';
  return h('span', {class: `badge s-${st}`}, st === 'none' ? 'no status' : st.replace(/_/g, ' '));
}

export function runBadge(orderStatus, airflowState) {
  const o = orderStatus || 'RECEIVED';
  const title = airflowState ? `Airflow state: ${airflowState}` : null;
  return h('span', {class: `badge o-${o}`, title}, o);
}

// Route links: every path segment is percent-encoded.
export function href(...segs) {
  return '#/' + segs.map((x) => encodeURIComponent(x)).join('/');
}

export function notice(kind, ...kids) {
  return h('div', {class: `notice ${kind}`, role: kind === 'bad' ? 'alert' : 'status'}, ...kids);
}
