// pages/signin.js: sign in with client credentials or user + password.

import {h, replace, notice} from '../dom.js';
import {signIn, session} from '../auth.js';

const LAST_CLIENT = 'weir.last_client_id'; // the id only, never a secret

function field(id, label, attrs) {
  return h('div', {class: 'field'},
    h('label', {for: id}, label),
    h('input', {id, name: id, ...attrs}));
}

export async function signinPage(ctx) {
  const mode = ctx.query.get('mode') === 'password' ? 'password' : 'client';
  const next = ctx.query.get('next') || '/dags';
  const reason = ctx.query.get('reason');
  document.title = 'Sign in · weir';
  const msg = h('div', {id: 'signin-msg'});
  if (reason === 'expired') msg.appendChild(notice('info', 'Your session ended. Sign in again.'));
  if (reason === 'signedout') msg.appendChild(notice('ok', 'You are signed out; your tokens were revoked.'));
  if (reason === 'revoke-failed') msg.appendChild(notice('bad', 'You are signed out here, but revoking the token failed.'));
  if (session() && !reason) msg.appendChild(notice('info', 'You are signed in already; signing in again replaces the session.'));

  let lastId = '';
  try {
    lastId = localStorage.getItem(LAST_CLIENT) || '';
  } catch {
    lastId = '';
  }
  const tab = (m, text) => h('a', {href: `#/signin?mode=${m}${next ? '&next=' + encodeURIComponent(next) : ''}`,
    'aria-current': mode === m ? 'page' : null, id: `tab-${m}`}, text);
  const userFields = mode === 'password' ? [
    field('username', 'User name', {type: 'text', autocomplete: 'username', required: true}),
    field('password', 'Password', {type: 'password', autocomplete: 'current-password', required: true}),
    h('p', {class: 'help muted small'}, 'weir authenticates the client as well for the password grant: enter the OAuth2 client this UI signs in through.'),
  ] : [];
  const form = h('form', {class: 'form', id: 'signin-form', novalidate: true},
    ...userFields,
    field('client_id', 'Client ID', {type: 'text', autocomplete: 'username', required: true, value: lastId,
      spellcheck: 'false'}),
    field('client_secret', 'Client secret', {type: 'password', autocomplete: 'current-password', required: true}),
    h('button', {type: 'submit', class: 'btn primary', id: 'signin-submit'}, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const v = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
    const creds = {
      grant: mode === 'password' ? 'password' : 'client_credentials',
      client_id: v('client_id'), client_secret: v('client_secret'),
      username: v('username'), password: form.elements.password ? form.elements.password.value : '',
    };
    const missing = ['client_id', 'client_secret', ...(mode === 'password' ? ['username', 'password'] : [])]
      .filter((n) => !(n === 'password' ? creds.password : creds[n]));
    if (missing.length) {
      replace(msg, notice('bad', `Fill in: ${missing.map((n) => n.replace('_', ' ')).join(', ')}.`));
      form.elements[missing[0]].focus();
      return;
    }
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    replace(msg, notice('info', 'Signing in…'));
    try {
      await signIn(creds);
      try {
        localStorage.setItem(LAST_CLIENT, creds.client_id);
      } catch {
        /* private mode */
      }
      location.hash = '#' + (next.startsWith('/') ? next : '/dags');
    } catch (e) {
      btn.disabled = false;
      replace(msg, notice('bad', `Sign-in failed: ${e.message}`));
    }
  });
  ctx.main.appendChild(h('section', {class: 'signin', 'aria-labelledby': 'signin-h'},
    h('h1', {id: 'signin-h'}, 'Sign in to weir'),
    h('nav', {class: 'tabs', 'aria-label': 'sign-in method'}, tab('client', 'Client credentials'), tab('password', 'User and password')),
    msg, form,
    h('p', {class: 'muted small'},
      '`weir standalone` prints an admin client on its first start; `weir clients create` and `weir users create` make more.')));
  const first = form.querySelector(mode === 'password' ? '#username' : (lastId ? '#client_secret' : '#client_id'));
  if (first) first.focus();
}
