// cron.js: a 5-field cron expression (or preset) in words.
//
// The API gives the schedule as written in the DAG file; this turns the
// common shapes into English ("Every 15 minutes", "At 06:00, Monday through
// Friday") and falls back to the expression itself for the rest, so the
// words are never wrong, at worst literal.  The grammar is weir's
// (docs/dag-format.md "Schedules").

const PRESETS = {
  '@yearly': 'Once a year (1 January, 00:00)', '@annually': 'Once a year (1 January, 00:00)',
  '@monthly': 'Monthly (day 1, 00:00)', '@weekly': 'Weekly (Sunday, 00:00)',
  '@daily': 'Daily at 00:00', '@midnight': 'Daily at 00:00', '@hourly': 'Every hour, on the hour',
  '@once': 'Once',
};
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const DAY_NAMES = {SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6};
const MONTHS = ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];
const MONTH_NAMES = {JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12};

const pad = (n) => String(n).padStart(2, '0');

function num(tok, names) {
  const u = tok.toUpperCase();
  if (names && u in names) return names[u];
  return /^\d+$/.test(tok) ? Number(tok) : NaN;
}

// One field -> {any, step, list: [{a, b}]} or null when not understood.
function field(text, names) {
  if (text === '*') return {any: true};
  const m = /^\*\/(\d+)$/.exec(text);
  if (m) return {any: true, step: Number(m[1])};
  const list = [];
  for (const part of text.split(',')) {
    const r = /^([^-/]+)(?:-([^/]+))?(?:\/(\d+))?$/.exec(part);
    if (!r) return null;
    const a = num(r[1], names), b = r[2] != null ? num(r[2], names) : null;
    if (Number.isNaN(a) || Number.isNaN(b)) return null;
    list.push({a, b, step: r[3] != null ? Number(r[3]) : null});
  }
  return {list};
}

function listWords(f, word) {
  return f.list.map((x) => {
    if (x.b != null && x.step) return `every ${x.step}${ord(x.step)} ${word} from ${x.a} through ${x.b}`;
    if (x.b != null) return `${x.a}–${x.b}`;
    if (x.step) return `every ${x.step}${ord(x.step)} ${word} from ${x.a}`;
    return String(x.a);
  }).join(', ');
}

function ord(n) {
  if (n % 100 >= 11 && n % 100 <= 13) return 'th';
  return ({1: 'st', 2: 'nd', 3: 'rd'})[n % 10] || 'th';
}

function single(f) {
  return f && f.list && f.list.length === 1 && f.list[0].b == null && !f.list[0].step ? f.list[0].a : null;
}

function dayWords(f) {
  const names = (v) => DAYS[v] || String(v);
  return f.list.map((x) => {
    if (x.b != null && !x.step) return `${names(x.a)} through ${names(x.b)}`;
    if (x.step) return null;
    return names(x.a);
  });
}

export function describeCron(expr) {
  if (expr == null || expr === '') return 'Only when triggered';
  const e = String(expr).trim();
  if (PRESETS[e.toLowerCase()]) return PRESETS[e.toLowerCase()];
  const parts = e.split(/\s+/);
  if (parts.length !== 5) return e;
  const [mi, ho, dom, mon, dow] = [field(parts[0]), field(parts[1]), field(parts[2]),
    field(parts[3], MONTH_NAMES), field(parts[4], DAY_NAMES)];
  if (!mi || !ho || !dom || !mon || !dow) return e;

  let time;
  const m1 = single(mi), h1 = single(ho);
  if (mi.any && ho.any) {
    time = mi.step ? `Every ${mi.step} minutes` : 'Every minute';
  } else if (m1 != null && h1 != null) {
    time = `At ${pad(h1)}:${pad(m1)}`;
  } else if (m1 != null && ho.any) {
    time = ho.step ? `At minute ${m1} past every ${ho.step}${ord(ho.step)} hour`
      : (m1 === 0 ? 'Every hour, on the hour' : `Every hour at minute ${m1}`);
  } else if (m1 != null && ho.list && ho.list.every((x) => x.b == null && !x.step)) {
    time = `At ${ho.list.map((x) => `${pad(x.a)}:${pad(m1)}`).join(', ')}`;
  } else if (mi.any && mi.step && h1 != null) {
    time = `Every ${mi.step} minutes during hour ${pad(h1)}`;
  } else if (mi.any && mi.step) {
    time = `Every ${mi.step} minutes, hours ${ho.list ? listWords(ho, 'hour') : '*'}`;
  } else {
    time = `At minute ${mi.any ? '*' : listWords(mi, 'minute')} of hour ${ho.any ? (ho.step ? `*/${ho.step}` : '*') : listWords(ho, 'hour')}`;
  }

  const extra = [];
  if (!dom.any) extra.push(`on day ${listWords(dom, 'day')} of the month`);
  else if (dom.step) extra.push(`every ${dom.step}${ord(dom.step)} day of the month`);
  if (!dow.any) {
    const w = dayWords(dow);
    if (w.includes(null)) return e;
    // Classic cron: both day fields restricted means either matches.
    extra.push((!dom.any ? 'or on ' : '') + w.join(', '));
  }
  if (!mon.any) {
    if (mon.list.some((x) => x.step)) return e;
    extra.push('in ' + mon.list.map((x) => (x.b != null ? `${MONTHS[x.a]} through ${MONTHS[x.b]}` : MONTHS[x.a])).join(', '));
  } else if (mon.step) {
    extra.push(`every ${mon.step}${ord(mon.step)} month`);
  }
  if (!extra.length && !(mi.any && ho.any) && !(m1 != null && ho.any)) extra.push('every day');
  return extra.length ? `${time}, ${extra.join(', ')}` : time;
}
