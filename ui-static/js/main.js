// main.js: the UI's entry point: routes, the top bar, the sign-in guard.
//
// Module map (docs/internals/ui.md has the longer version):
//   router.js   hash routes -> pages (pages/*.js), polling helpers
//   auth.js     OAuth2 session in sessionStorage, refresh, sign-out
//   api.js      fetch wrapper for /api/v1: bearer token, errors, 401
//   dagdata.js  DAG structure, runs, task instances (+ cache)
//   grid.js, graph.js, trigger.js, tipanel.js   the DAG page's parts
//   health.js   /health in the top bar
//   dom.js, fmt.js, states.js, cron.js          helpers

import {route, start, onNavigate} from './router.js';
import {session, signOut, onSessionChange, resume} from './auth.js';
import {startHealth} from './health.js';
import {signinPage} from './pages/signin.js';
import {dagsPage} from './pages/dags.js';
import {dagPage} from './pages/dag.js';
import {runPage} from './pages/run.js';
import {taskPage} from './pages/task.js';
import {ordersPage, orderPage} from './pages/orders.js';

route('/signin', signinPage, {public: true});
route('/', dagsPage);
route('/dags', dagsPage);
route('/dags/:dag', dagPage);
route('/dags/:dag/runs/:run', runPage);
route('/dags/:dag/runs/:run/tasks/:task', taskPage);
route('/dags/:dag/:tab', dagPage);
route('/orders', ordersPage);
route('/orders/:order', orderPage);

function showWho(s) {
  document.getElementById('who').hidden = !s;
  document.getElementById('nav').hidden = !s;
  document.getElementById('who-name').textContent = s
    ? (s.username ? `${s.username}` : `client ${s.client_id.slice(0, 8)}…`) + (s.scope ? ` (${s.scope})` : '')
    : '';
}

onNavigate((ctx, r) => {
  if (!r.opts.public && !session()) {
    const next = ctx.path + (ctx.query.toString() ? '?' + ctx.query.toString() : '');
    location.replace('#/signin' + (next && next !== '/' ? '?next=' + encodeURIComponent(next) : ''));
    return false;
  }
  const top = ctx.path.split('/')[1] || 'dags';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.nav === top) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // Move focus to the new page for keyboard and screen-reader users
  // (not on the first load, where the browser's own focus is right).
  if (document.body.dataset.started) document.getElementById('main').focus({preventScroll: true});
  document.body.dataset.started = '1';
  return true;
});

// "Skip to content": the hash is the router's, so move focus by hand.
document.getElementById('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  document.getElementById('main').focus();
});

document.getElementById('signout').addEventListener('click', async () => {
  const err = await signOut();
  location.hash = `#/signin?reason=${err ? 'revoke-failed' : 'signedout'}`;
});

onSessionChange(showWho);
showWho(session());
resume();
startHealth();
start();
