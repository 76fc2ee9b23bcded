// auth.js: the OAuth2 session of this browser tab.
//
// Sign-in uses weir's token endpoint (POST /oauth/token) with either grant
// the API offers to people: client_credentials (client id + secret) or
// password (user name + password, through a client, because weir's token
// endpoint authenticates the client for every grant).
//
// The session lives in sessionStorage: it survives reloads of this tab and
// disappears with it; other tabs sign in on their own.  It holds the access
// token, the refresh token (password grant only), the expiry and the
// client's credentials, which the API needs again to refresh (RFC 6749
// §6: a confidential client authenticates on refresh; client_credentials
// has no refresh token, so "refreshing" is asking again).  The strict CSP
// (no inline or foreign scripts) is what keeps other code from reading it.
//
// Refresh happens shortly before expiry (timer) and once on a 401 (api.js);
// when that fails the session is dropped and the sign-in page shown, with
// the page the user was on remembered in ?next=.

const KEY = 'weir.session';
let timer = null;
let inflight = null;
const listeners = new Set();

export function session() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

function save(s) {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
  schedule();
  for (const fn of listeners) fn(s);
}

export function onSessionChange(fn) {
  listeners.add(fn);
}

export class AuthError extends Error {
  constructor(message, code, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function tokenRequest(form) {
  let res;
  try {
    res = await fetch('/oauth/token', {
      method: 'POST',
      headers: {'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json'},
      body: new URLSearchParams(form).toString(),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new AuthError(`the API is not reachable (${e.message})`, 'network', 0);
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    body = null;
  }
  if (!res.ok || !body || !body.access_token) {
    const msg = (body && (body.error_description || body.error || body.detail)) || `HTTP ${res.status}`;
    throw new AuthError(msg, body && body.error, res.status);
  }
  return body;
}

function fromToken(body, creds, previous) {
  return {
    access_token: body.access_token,
    refresh_token: body.refresh_token || null,
    expires_at: Date.now() + (Number(body.expires_in) || 3600) * 1000,
    scope: body.scope || '',
    grant: creds.grant,
    client_id: creds.client_id,
    client_secret: creds.client_secret,
    username: creds.username || (previous && previous.username) || null,
  };
}

// creds: {grant: 'client_credentials'|'password', client_id, client_secret, username, password}
export async function signIn(creds) {
  const form = {grant_type: creds.grant, client_id: creds.client_id, client_secret: creds.client_secret};
  if (creds.grant === 'password') {
    form.username = creds.username;
    form.password = creds.password;
  }
  const body = await tokenRequest(form);
  const s = fromToken(body, creds, null);
  save(s);
  return s;
}

// A new access token; rejects (and drops the session) when that fails.
export function refresh() {
  if (inflight) return inflight;
  const s = session();
  if (!s) return Promise.reject(new AuthError('not signed in', 'no_session', 401));
  const form = s.grant === 'password' && s.refresh_token
    ? {grant_type: 'refresh_token', refresh_token: s.refresh_token, client_id: s.client_id, client_secret: s.client_secret}
    : {grant_type: 'client_credentials', client_id: s.client_id, client_secret: s.client_secret};
  inflight = tokenRequest(form)
    .then((body) => {
      const n = fromToken(body, s, s);
      if (!n.refresh_token && s.grant === 'password') n.refresh_token = s.refresh_token;
      save(n);
      return n;
    })
    .catch((e) => {
      // A network error keeps the session (the API may be restarting).
      if (e.code !== 'network') save(null);
      throw e;
    })
    .finally(() => {
      inflight = null;
    });
  return inflight;
}

function schedule() {
  clearTimeout(timer);
  timer = null;
  const s = session();
  if (!s) return;
  // At 80 % of the lifetime (at least 5 s from now).
  const left = s.expires_at - Date.now();
  const wait = Math.max(5000, left * 0.8);
  timer = setTimeout(() => {
    refresh().catch(() => {
      if (!session()) goSignIn();
    });
  }, Math.min(wait, 2 ** 31 - 1));
}

async function revoke(s, token) {
  const res = await fetch('/oauth/revoke', {
    method: 'POST',
    headers: {'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({token, client_id: s.client_id, client_secret: s.client_secret}).toString(),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) throw new Error(`revocation failed: HTTP ${res.status}`);
}

// Revokes the tokens (the refresh token takes its whole grant with it),
// then forgets the session.  The session is dropped even when revocation
// fails; the error is returned for the sign-in page to show.
export async function signOut() {
  const s = session();
  let err = null;
  if (s) {
    try {
      if (s.refresh_token) await revoke(s, s.refresh_token);
      await revoke(s, s.access_token);
    } catch (e) {
      err = e;
    }
  }
  save(null);
  return err;
}

export function forget() {
  save(null);
}

export function goSignIn(reason) {
  const cur = location.hash.replace(/^#/, '');
  // Several requests may fail at once: the first one decides where to go
  // back to, the others must not overwrite it.
  const next = cur.startsWith('/signin')
    ? new URLSearchParams(cur.slice(cur.indexOf('?') + 1)).get('next') || ''
    : cur;
  const q = new URLSearchParams();
  if (next && next !== '/') q.set('next', next);
  if (reason) q.set('reason', reason);
  const qs = q.toString();
  location.hash = '#/signin' + (qs ? '?' + qs : '');
}

// Restores the refresh timer after a reload.
export function resume() {
  schedule();
}
