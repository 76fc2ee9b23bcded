// standalone.mjs: a real `weir standalone` for the browser tests and bench/ui.
//
//   const w = await startStandalone({dags: DIR});   // fresh WEIR_HOME in a temp dir
//   w.base, w.clientId, w.clientSecret, await w.api(path, {method, json, token})
//   await w.stop();                                 // by pid; removes the temp dir
//
// The gateway listens on 127.0.0.1:0; the port is read from standalone's
// "API and UI: http://127.0.0.1:0 (port N)" line, and the admin client
// from its "client_id:" / "client_secret:" lines (printed on first start).
// stop() sends SIGTERM to standalone (which stops its scheduler, API and
// private PostgreSQL), escalates to SIGKILL on its process group after
// 30 s, then stops a PostgreSQL left behind with `weir db stop`, and kills
// task processes still running (standalone leaves them running for the
// next start to adopt): the runners whose pids the API reported before it
// stopped, and every process whose working directory is inside this
// harness's temp dir (a task runs in its run folder, in a session of its
// own, so neither its parent nor its process group leads to it).

import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function weirBinary() {
  const b = process.env.WEIR_BINARY;
  if (!b) throw new Error('WEIR_BINARY is not set (ctest sets it; by hand: WEIR_BINARY=build/rel/weir node tests/ui/e2e.mjs)');
  if (!fs.existsSync(b)) throw new Error(`WEIR_BINARY ${b} does not exist`);
  return path.resolve(b);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startStandalone({dags, uiDir, env = {}, startTimeoutMs = 180000, log = () => {}}) {
  const bin = weirBinary();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-ui-'));
  fs.chmodSync(tmp, 0o755); // the private PostgreSQL runs as another user
  const home = path.join(tmp, 'home');
  const dagDir = path.join(tmp, 'dags');
  fs.mkdirSync(home);
  fs.mkdirSync(dagDir);
  for (const f of fs.readdirSync(dags)) if (/\.ya?ml$/.test(f)) fs.copyFileSync(path.join(dags, f), path.join(dagDir, f));
  const outPath = path.join(tmp, 'standalone.out'), errPath = path.join(tmp, 'standalone.err');
  const out = fs.openSync(outPath, 'w'), err = fs.openSync(errPath, 'w');
  const childEnv = {...process.env, WEIR_HOME: home, WEIR_API_LISTEN: '127.0.0.1:0', WEIR_LOG_LEVEL: 'info', ...env};
  delete childEnv.WEIR_CONFIG;
  delete childEnv.WEIR_DATABASE_URL;
  if (uiDir) childEnv.WEIR_UI_DIR = uiDir;
  const child = spawn(bin, ['standalone', '--dags-folder', dagDir], {env: childEnv, stdio: ['ignore', out, err], detached: true});
  fs.closeSync(out);
  fs.closeSync(err);
  let exited = null;
  child.on('exit', (code, sig) => {
    exited = {code, sig};
  });
  const w = {
    pid: child.pid, tmp, home, dags: dagDir, bin, outPath, errPath, env: childEnv,
    base: null, clientId: null, clientSecret: null, token: null, taskPgids: new Set(),
  };
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const text = fs.readFileSync(outPath, 'utf8');
    const port = /API and UI:\s+https?:\/\/\S+ \(port (\d+)\)/.exec(text);
    const id = /client_id: (\S+)/.exec(text), secret = /client_secret: (\S+)/.exec(text);
    if (port && /stop with Ctrl-C/.test(text)) {
      w.base = `http://127.0.0.1:${port[1]}`;
      w.clientId = id && id[1];
      w.clientSecret = secret && secret[1];
      break;
    }
    if (exited) {
      throw new Error(`weir standalone exited (${JSON.stringify(exited)}):\n${text}\n${fs.readFileSync(errPath, 'utf8').slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      await stopStandalone(w);
      throw new Error(`weir standalone did not start in ${startTimeoutMs / 1000} s:\n${text}\n${fs.readFileSync(errPath, 'utf8').slice(-4000)}`);
    }
    await sleep(100);
  }
  if (!w.clientId || !w.clientSecret) {
    await stopStandalone(w);
    throw new Error('weir standalone printed no admin client (not a fresh WEIR_HOME?)');
  }
  log(`weir standalone pid ${w.pid} at ${w.base}, home ${home}`);
  w.api = (p, opts) => apiCall(w, p, opts);
  w.stop = () => stopStandalone(w);
  w.exited = () => exited;
  w.token = await getToken(w);
  return w;
}

export async function getToken(w, clientId = w.clientId, secret = w.clientSecret) {
  const res = await fetch(`${w.base}/oauth/token`, {
    method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'client_credentials', client_id: clientId, client_secret: secret}),
  });
  const j = await res.json();
  if (!res.ok) throw new Error(`token request failed: ${res.status} ${JSON.stringify(j)}`);
  return j.access_token;
}

// {status, body (parsed JSON or text), headers}
export async function apiCall(w, p, {method = 'GET', json, token, headers = {}} = {}) {
  const h = {Authorization: `Bearer ${token || w.token}`, Accept: 'application/json', ...headers};
  let body;
  if (json !== undefined) {
    h['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  const res = await fetch(w.base + (p.startsWith('/') ? p : '/' + p), {method, headers: h, body});
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* text */
  }
  return {status: res.status, body: parsed, headers: res.headers};
}

// Polls fn() until it returns a truthy value; returns it.
export async function until(what, fn, {timeoutMs = 90000, everyMs = 250} = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(everyMs);
  }
}

async function rememberTaskProcesses(w) {
  if (!w.base || !w.token) return;
  try {
    const r = await apiCall(w, '/api/v1/dags/~/dagRuns/~/taskInstances?state=running,queued&limit=10000');
    for (const ti of (r.body && r.body.task_instances) || []) if (ti.pid > 1) w.taskPgids.add(ti.pid);
  } catch {
    /* the API is down already */
  }
}

// Pids of the processes whose working directory is dir or below it.
function processesInside(dir) {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cwd;
    try {
      cwd = fs.readlinkSync(`/proc/${name}/cwd`);
    } catch {
      continue;
    }
    if (cwd === dir || cwd.startsWith(dir + '/')) out.push(Number(name));
  }
  return out;
}

// Idempotent: a second call (a signal handler and an after() hook) waits
// for the first one.
export function stopStandalone(w) {
  if (!w.stopping) w.stopping = stopOnce(w);
  return w.stopping;
}

async function stopOnce(w) {
  await rememberTaskProcesses(w);
  if (alive(w.pid)) {
    try {
      process.kill(w.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    const deadline = Date.now() + 30000;
    while (alive(w.pid) && Date.now() < deadline) await sleep(100);
    if (alive(w.pid)) {
      try {
        process.kill(-w.pid, 'SIGKILL'); // its process group (spawned detached)
      } catch {
        /* gone */
      }
      await sleep(500);
    }
  }
  // Task runners run in their own process groups (setsid): pgid == pid.
  for (const pid of w.taskPgids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  // A private PostgreSQL left behind (standalone killed): stop it.
  const pm = path.join(w.home, 'pg', 'data', 'postmaster.pid');
  if (fs.existsSync(pm)) {
    spawnSync(w.bin, ['db', 'stop'], {env: {...w.env}, stdio: 'ignore', timeout: 60000});
  }
  // Anything still working in the temp dir (after PostgreSQL, which lives there too).
  for (let round = 0; round < 3; round++) {
    const left = processesInside(w.tmp);
    if (!left.length) break;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await sleep(200);
  }
  if (!process.env.WEIR_UI_KEEP) fs.rmSync(w.tmp, {recursive: true, force: true});
}
