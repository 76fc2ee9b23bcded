// fmt.js: dates, durations and numbers for display.
//
// Times are shown in the browser's time zone as "YYYY-MM-DD HH:MM:SS"; the
// element's title (and <time datetime>) carries the exact ISO instant.

import {h} from './dom.js';

const pad = (n, w = 2) => String(n).padStart(w, '0');

// An ISO instant, or milliseconds since 1970 (the grid's compact dates).
export function parseTime(iso) {
  if (typeof iso === 'number') return iso;
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

export function localStamp(ms, withSeconds = true) {
  const d = new Date(ms);
  const base = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${base}:${pad(d.getSeconds())}` : base;
}

// A <time> element, or an em dash for no time.
export function timeEl(iso, opts = {}) {
  const ms = parseTime(iso);
  if (ms == null) return h('span', {class: 'muted'}, '—');
  const text = opts.relative ? relative(ms) : localStamp(ms, opts.seconds !== false);
  return h('time', {datetime: new Date(ms).toISOString(), title: new Date(ms).toISOString()}, text);
}

export function timeText(iso) {
  const ms = parseTime(iso);
  return ms == null ? '—' : localStamp(ms);
}

// Seconds -> "0.04 s", "12.3 s", "4 min 05 s", "2 h 03 min", "3 d 4 h".
export function duration(sec) {
  if (sec == null || Number.isNaN(sec)) return '—';
  if (sec < 0) sec = 0;
  if (sec < 1) return `${sec.toFixed(2)} s`;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60), s = Math.floor(sec % 60);
  if (m < 60) return `${m} min ${pad(s)} s`;
  const hh = Math.floor(m / 60), mm = m % 60;
  if (hh < 48) return `${hh} h ${pad(mm)} min`;
  return `${Math.floor(hh / 24)} d ${hh % 24} h`;
}

export function durationBetween(a, b, nowMs = Date.now()) {
  const s = parseTime(a);
  if (s == null) return null;
  const e = parseTime(b) ?? nowMs;
  return (e - s) / 1000;
}

// ms epoch -> "in 3 h", "5 min ago", "just now".
export function relative(ms, nowMs = Date.now()) {
  const d = (ms - nowMs) / 1000, a = Math.abs(d);
  let t;
  if (a < 5) return 'just now';
  if (a < 60) t = `${Math.round(a)} s`;
  else if (a < 3600) t = `${Math.round(a / 60)} min`;
  else if (a < 86400 * 2) t = `${Math.round(a / 3600)} h`;
  else t = `${Math.round(a / 86400)} d`;
  return d > 0 ? `in ${t}` : `${t} ago`;
}

// <input type=datetime-local> value (local) -> ISO instant with offset.
export function localInputToIso(v) {
  if (!v) return null;
  const ms = Date.parse(v); // local time per the HTML spec format
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

export function isoToLocalInput(iso) {
  const ms = parseTime(iso);
  if (ms == null) return '';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function plural(n, word, many = word + 's') {
  return `${n} ${n === 1 ? word : many}`;
}
