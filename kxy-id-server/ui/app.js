// The admin UI's entry: client-side routes, the top bar, and what happens on logout or
// when the server refuses the session. No framework, no build step: the server embeds
// these files and answers every non-API path with index.html.
//
// Routes: /login (first run: create the administrator), /databases, /databases/{guid},
// /counters, /tokens. Every other path shows "page not found". Each page is a module of its own:
//
//   login.js      /login: log in, or create the administrator on first run
//   databases.js  /databases: the list of configurations
//   database.js   /databases/{guid}: one configuration, built from
//                 sequences.js (custom sequences) and discovered.js (discovered tables)
//   counters.js   /counters: every counter, filtered
//   tokens.js     /tokens: allocation tokens per system code
//   database-form.js, database-actions.js, init-report.js: the add / edit form, the
//                 edit / initialize / delete actions, and the initialize report
//
// Shared: nav.js (navigate, the login flash), parts.js (page building blocks), config.js
// (names of database types), dom.js (elements, dialogs, toasts), api.js (the server).

import * as api from './api.js';
import { closeAllDialogs, h } from './dom.js';
import { countersPage } from './counters.js';
import { databasePage } from './database.js';
import { databasesPage } from './databases.js';
import { loginPage } from './login.js';
import { navigate, setFlash, setRenderer } from './nav.js';
import { main, pageHeader } from './parts.js';
import { tokensPage } from './tokens.js';

const topbar = document.getElementById('topbar');

/** Incremented on every navigation, so a page that finished loading late draws nothing. */
let renderCount = 0;

document.addEventListener('click', (event) => {
  const link = event.target.closest('a[data-link]');
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.getAttribute('href'));
});
window.addEventListener('popstate', () => render({ focus: true }));

document.getElementById('logout').addEventListener('click', () => {
  api.session.clear();
  closeAllDialogs();
  setFlash('info', 'You have logged out.');
  navigate('/login');
});

api.onUnauthorized((detail) => {
  closeAllDialogs();
  setFlash('warning', `Your session has expired or was rejected (${detail}). Please log in again.`);
  // Several requests of one page may be refused: the first one leads to the login page.
  if (location.pathname.startsWith('/login')) return;
  navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});

/** Shows the top bar (hidden for `null`) with `section` marked as the current one. */
function showChrome(section) {
  topbar.hidden = section === null;
  document.getElementById('current-user').textContent = api.session.username;
  for (const link of topbar.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** Draws the page of the current path. */
async function render({ focus = false } = {}) {
  const ticket = ++renderCount;
  const current = () => ticket === renderCount;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  main.replaceChildren();
  if (path === '/login') {
    showChrome(null);
    await loginPage(current);
  } else if (!api.session.token) {
    navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    return;
  } else if (path === '/') {
    navigate('/databases', { replace: true });
    return;
  } else if (path === '/databases') {
    showChrome('databases');
    await databasesPage(current);
  } else if (path.startsWith('/databases/') && path.split('/').length === 3) {
    showChrome('databases');
    await databasePage(current, decodeURIComponent(path.split('/')[2]));
  } else if (path === '/counters') {
    showChrome('counters');
    await countersPage(current);
  } else if (path === '/tokens') {
    showChrome('tokens');
    await tokensPage(current);
  } else {
    showChrome('');
    notFoundPage();
  }
  if (focus && current()) main.focus({ preventScroll: true });
}

function notFoundPage() {
  main.append(pageHeader('Page not found', `Nothing lives at ${location.pathname}.`), h('p', {}, h('a', { href: '/databases', 'data-link': true }, '← Databases')));
}

setRenderer(render);
render();
