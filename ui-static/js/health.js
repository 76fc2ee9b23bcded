// health.js: the health line in the top bar and the banner under it.
//
// GET /health (public, Airflow's HealthInfo) every 10 s.  The heartbeat
// age is computed against the server's clock (the response's Date header),
// so a browser with a wrong clock does not show a wrong age.

import {h, replace} from './dom.js';
import {relative} from './fmt.js';

const PERIOD_MS = 10000;
let last = null;

async function poll() {
  const mini = document.getElementById('health-mini');
  const banner = document.getElementById('health-banner');
  let info = null, serverNow = Date.now(), failed = null;
  try {
    const res = await fetch('/health', {cache: 'no-store', credentials: 'omit'});
    const date = Date.parse(res.headers.get('Date') || '');
    if (!Number.isNaN(date)) serverNow = date + 500; // Date has whole seconds
    info = await res.json();
  } catch (e) {
    failed = e.message;
  }
  last = {info, serverNow, failed, at: Date.now()};
  if (failed || !info) {
    replace(mini, h('span', {class: 'bad', id: 'health-api'}, 'API unreachable'));
    banner.hidden = false;
    replace(banner, `The weir API does not answer (${failed || 'no health information'}). The pages show what they last loaded.`);
    return;
  }
  const db = info.metadatabase && info.metadatabase.status;
  const sch = info.scheduler || {};
  const hb = Date.parse(sch.latest_scheduler_heartbeat || '');
  const age = Number.isNaN(hb) ? null : Math.max(0, (serverNow - hb) / 1000);
  const ageText = age == null ? 'never' : age < 60 ? `${Math.round(age)} s ago` : relative(hb, serverNow);
  replace(mini,
    h('span', {class: sch.status === 'healthy' ? 'good' : 'bad', id: 'health-scheduler',
      title: sch.latest_scheduler_heartbeat || 'no heartbeat recorded'},
    `Scheduler: heartbeat ${ageText}`),
    h('span', {class: db === 'healthy' ? 'good' : 'bad', id: 'health-db'}, `Database: ${db || 'unknown'}`));
  const problems = [];
  if (db !== 'healthy') problems.push('The metadata database is unhealthy: the API cannot read or change state.');
  if (sch.status !== 'healthy') {
    problems.push(age == null
      ? 'No scheduler has ever sent a heartbeat: nothing will run.'
      : `The scheduler is unhealthy: its last heartbeat was ${ageText}. Runs do not progress until it is back.`);
  }
  banner.hidden = problems.length === 0;
  replace(banner, ...problems.map((p) => h('div', p)));
}

export function startHealth() {
  const tick = async () => {
    await poll();
    setTimeout(tick, PERIOD_MS);
  };
  tick();
}

export function lastHealth() {
  return last;
}
