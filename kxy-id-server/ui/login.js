// /login: the login form, or on first run (no administrator yet) the form that creates the
// administrator. After login the page follows `?next=` back to where the session ended.

import * as api from './api.js';
import { field, h, loading, messageBox, onSubmit, showFieldErrors } from './dom.js';
import { hasFlash, navigate, rerender, setFlash, takeFlash } from './nav.js';
import { errorBlock, main } from './parts.js';

export async function loginPage(current) {
  document.title = 'Log in · kxy-id admin';
  const panel = h('section', { class: 'auth-card', 'aria-live': 'polite' }, loading('Checking the server…'));
  main.append(h('div', { class: 'auth-wrap' }, h('div', { class: 'auth-brand' }, h('img', { src: '/ui/favicon.svg', alt: '' }), h('span', {}, 'kxy-id'), h('small', {}, 'ID allocator admin')), panel));
  const next = new URLSearchParams(location.search).get('next');
  if (api.session.token && !hasFlash()) {
    navigate(safeNext(next), { replace: true });
    return;
  }
  let initialized;
  try {
    initialized = (await api.checkInit()).data.initialized;
  } catch (e) {
    if (!current()) return;
    panel.replaceChildren(errorBlock(e, () => rerender()));
    return;
  }
  if (!current()) return;
  panel.replaceChildren();
  if (initialized) loginForm(panel, next, api.session.lastUsername);
  else setupForm(panel, next);
}

/** Only paths inside the UI are followed after login. */
function safeNext(next) {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/databases';
}

/** First run: no administrator yet, so the page creates one, then asks to log in. */
function setupForm(panel, next) {
  document.title = 'Create the administrator · kxy-id admin';
  const message = messageBox();
  const fields = {
    username: field({ label: 'User name', id: 'setup-username', required: true, hint: '3 to 50 characters.', attrs: { autocomplete: 'username', maxlength: 50 } }),
    password: field({ label: 'Password', id: 'setup-password', type: 'password', required: true, hint: '6 to 100 characters.', attrs: { autocomplete: 'new-password', maxlength: 100 } }),
    confirm: field({ label: 'Repeat the password', id: 'setup-confirm', type: 'password', required: true, attrs: { autocomplete: 'new-password', maxlength: 100 } }),
  };
  const form = h(
    'form',
    { id: 'setup-form', novalidate: true },
    h('h1', {}, 'Create the administrator'),
    h('p', { class: 'subtitle' }, 'No administrator exists yet. Create the account that manages this server; you log in with it next.'),
    message.el,
    Object.values(fields).map((f) => f.wrap),
    h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Create administrator'),
  );
  panel.append(form);
  fields.username.input.focus();
  onSubmit(form, 'Creating…', async () => {
    message.clear();
    const username = fields.username.input.value.trim();
    const password = fields.password.input.value;
    const problems = {};
    const n = [...username].length;
    if (n < 3 || n > 50) problems.username = 'Use 3 to 50 characters.';
    const p = [...password].length;
    if (p < 6 || p > 100) problems.password = 'Use 6 to 100 characters.';
    else if (fields.confirm.input.value !== password) problems.confirm = 'The passwords differ.';
    if (showFieldErrors(fields, problems)) return;
    try {
      await api.initUser(username, password);
    } catch (e) {
      message.show(e.message);
      return;
    }
    setFlash('success', `Administrator ${username} created. Log in to continue.`);
    panel.replaceChildren();
    loginForm(panel, next, username);
  });
}

function loginForm(panel, next, username = '') {
  document.title = 'Log in · kxy-id admin';
  const message = messageBox();
  const flash = takeFlash();
  if (flash) message.show(flash.text, flash.kind);
  const fields = {
    username: field({ label: 'User name', id: 'login-username', required: true, value: username, attrs: { autocomplete: 'username' } }),
    password: field({ label: 'Password', id: 'login-password', type: 'password', required: true, attrs: { autocomplete: 'current-password' } }),
  };
  const form = h(
    'form',
    { id: 'login-form', novalidate: true },
    h('h1', {}, 'Log in'),
    message.el,
    Object.values(fields).map((f) => f.wrap),
    h('button', { type: 'submit', class: 'button button-primary button-block' }, 'Log in'),
  );
  panel.append(form);
  (username ? fields.password : fields.username).input.focus();
  onSubmit(form, 'Logging in…', async () => {
    message.clear();
    const name = fields.username.input.value.trim();
    const password = fields.password.input.value;
    const problems = {};
    if (!name) problems.username = 'Enter your user name.';
    if (!password) problems.password = 'Enter your password.';
    if (showFieldErrors(fields, problems)) return;
    try {
      const response = await api.login(name, password);
      api.session.set(response.data.token, response.data.username || name);
    } catch (e) {
      message.show(e.message);
      fields.password.input.select();
      fields.password.input.focus();
      return;
    }
    navigate(safeNext(next), { replace: true });
  });
}
