// api.js: the one way the UI talks to weir's REST API (/api/v1).
//
// api(path, opts) sends the bearer token, parses JSON, and turns every
// non-2xx answer into an ApiError carrying the status, the message and the
// offending field from weir's error shape:
//   {"type","title","status","detail","error":{"status","title","detail","field"}}
// On 401 it refreshes the token once and retries; if that fails too the
// session is gone and the sign-in page is shown.
//
// Nothing here caches: callers that can (finished runs' task instances,
// see dagdata.js) keep what they fetched.

import {session, refresh, goSignIn, forget} from './auth.js';

export class ApiError extends Error {
  constructor(status, message, field, body) {
    super(message);
    this.status = status;
    this.field = field || null;
    this.body = body;
  }
}

function qs(query) {
  if (!query) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v == null || v === '') continue;
    if (Array.isArray(v)) {
      if (v.length) p.set(k, v.join(','));
    } else {
      p.set(k, String(v));
    }
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

// encodeURIComponent for path segments ("~" stays literal: Airflow's wildcard).
export function seg(v) {
  return v === '~' ? '~' : encodeURIComponent(v);
}

async function errorOf(res) {
  let body = null, text = '';
  try {
    text = await res.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  const e = body && body.error && typeof body.error === 'object' ? body.error : null;
  const msg = (e && e.detail) || (body && (body.detail || body.error_description)) ||
    (typeof (body && body.error) === 'string' ? body.error : '') || text.slice(0, 300) || `HTTP ${res.status}`;
  return new ApiError(res.status, msg, e && e.field, body);
}

// opts: {method, query, json, body, headers, signal, as: 'json'|'text'|'response'}
export async function api(path, opts = {}) {
  const url = '/api/v1' + path + qs(opts.query);
  for (let attempt = 0; ; attempt++) {
    const s = session();
    if (!s) {
      goSignIn();
      throw new ApiError(401, 'not signed in');
    }
    const headers = {Accept: 'application/json', Authorization: `Bearer ${s.access_token}`, ...(opts.headers || {})};
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    let res;
    try {
      res = await fetch(url, {method: opts.method || 'GET', headers, body, signal: opts.signal,
        cache: 'no-store', credentials: 'omit'});
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, `the API is not reachable (${e.message})`);
    }
    if (res.status === 401) {
      if (attempt === 0) {
        try {
          await refresh();
          continue;
        } catch {
          /* fall through: signed out */
        }
      }
      const err = await errorOf(res);
      forget();
      goSignIn('expired');
      throw err;
    }
    if (!res.ok) throw await errorOf(res);
    if (opts.as === 'response') return res;
    if (opts.as === 'text') return res.text();
    if (res.status === 204 || res.headers.get('Content-Length') === '0') return null;
    // res.json() parses the bytes without an intermediate string (the grid
    // reads ~15 MB of task instances).
    return res.json();
  }
}

// Runs fn over items with at most `limit` calls in flight (the browser
// opens 6 connections per host over HTTP/1.1, so more gains nothing).
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }
  const n = Math.min(limit, items.length);
  await Promise.all(Array.from({length: n}, worker));
  return out;
}
