// router.js: hash routes ("#/dags/etl_daily/runs/RUN?try=2").
//
// Hash routing because ids contain dots (DAG ids, run ids like
// "api__2026-11-23T04:50:19.516152+00:00"): a history-API path with a dot
// in its last segment would be taken for a file by the static server.
//
// A page is `async render(ctx)`.  ctx.main is the emptied <main>;
// ctx.params the decoded :names; ctx.query a URLSearchParams; ctx.signal
// aborts when the user leaves the page; ctx.every(ms, fn) runs fn
// periodically until then (the pages poll the API; nothing pushes).

const routes = [];
let current = null;
let onEnter = null;

export function route(pattern, page, opts = {}) {
  const names = [];
  const re = new RegExp('^' + pattern.replace(/:(\w+)/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  }) + '/?$');
  routes.push({re, names, page, opts});
}

export function onNavigate(fn) {
  onEnter = fn;
}

export function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const qi = raw.indexOf('?');
  return {path: qi < 0 ? raw : raw.slice(0, qi), query: new URLSearchParams(qi < 0 ? '' : raw.slice(qi + 1))};
}

// Changes the query of the current route without reloading the page's data
// twice: the page gets no re-render unless `rerender`.
export function setQuery(update, {rerender = false, replace = true} = {}) {
  const {path, query} = parseHash();
  for (const [k, v] of Object.entries(update)) {
    if (v == null || v === '' || (Array.isArray(v) && !v.length)) query.delete(k);
    else query.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = query.toString();
  const h = '#' + path + (s ? '?' + s : '');
  if (!rerender) {
    if (replace) history.replaceState(null, '', h);
    else history.pushState(null, '', h);
  } else {
    location.hash = h;
  }
}

export function navigate(hash) {
  if (location.hash === hash) dispatch();
  else location.hash = hash;
}

export async function dispatch() {
  const {path, query} = parseHash();
  if (current) current.abort();
  const ctl = new AbortController();
  current = ctl;
  const main = document.getElementById('main');
  for (const r of routes) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = {};
    r.names.forEach((n, i) => {
      try {
        params[n] = decodeURIComponent(m[i + 1]);
      } catch {
        params[n] = m[i + 1];
      }
    });
    const timers = [];
    ctl.signal.addEventListener('abort', () => timers.forEach((t) => clearTimeout(t.id)));
    const ctx = {
      path, params, query, main, signal: ctl.signal, opts: r.opts,
      // fn runs `ms` after the previous call finished (never overlapping).
      every(ms, fn) {
        const t = {id: 0};
        timers.push(t);
        const tick = async () => {
          if (ctl.signal.aborted) return;
          try {
            await fn();
          } catch (e) {
            if (e.name !== 'AbortError') console.warn('poll failed:', e.message);
          }
          if (!ctl.signal.aborted) t.id = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
        };
        t.id = setTimeout(tick, typeof ms === 'function' ? ms() : ms);
      },
      get live() {
        return !ctl.signal.aborted;
      },
    };
    if (onEnter && onEnter(ctx, r) === false) return;
    while (main.firstChild) main.removeChild(main.firstChild);
    try {
      await r.page(ctx);
    } catch (e) {
      if (e.name === 'AbortError' || ctl.signal.aborted) return;
      if (e.status === 401) return; // api.js went to the sign-in page
      console.error(e);
      const p = document.createElement('p');
      p.className = 'notice bad';
      p.setAttribute('role', 'alert');
      p.textContent = `Could not show this page: ${e.message}`;
      main.appendChild(p);
    }
    return;
  }
  while (main.firstChild) main.removeChild(main.firstChild);
  const p = document.createElement('p');
  p.className = 'notice bad';
  p.textContent = `No such page: ${path}`;
  main.appendChild(p);
}

export function start() {
  window.addEventListener('hashchange', dispatch);
  dispatch();
}
