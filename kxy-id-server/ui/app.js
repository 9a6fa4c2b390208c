// The admin UI: client-side routes, pages and forms. No framework, no build step: the
// server embeds these files and answers every non-API path with index.html.
//
// Routes: /login (first run: create the administrator), /databases, /databases/{guid},
// /counters. Every other path shows "page not found".

import * as api from './api.js';
import {
  busy,
  closeAllDialogs,
  confirmAction,
  empty,
  field,
  h,
  loading,
  messageBox,
  modal,
  onSubmit,
  showFieldErrors,
  table,
  toast,
} from './dom.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');

/** [db_type, name in tables, name in the form's list, default port] */
const DB_TYPES = [
  ['mysql', 'MySQL', 'MySQL / MariaDB', 3306],
  ['postgresql', 'PostgreSQL', 'PostgreSQL', 5432],
  ['sqlserver', 'SQL Server', 'SQL Server', 1433],
  ['oracle', 'Oracle', 'Oracle', 1521],
];
const typeLabel = (type) => (DB_TYPES.find(([t]) => t === type) || [type, type])[1];
const defaultPort = (type) => (DB_TYPES.find(([t]) => t === type) || [0, 0, 0, ''])[3];

/** A message for the next login page (session ended, logged out, admin created). */
let flash = null;
/** Incremented on every navigation, so a page that finished loading late draws nothing. */
let renderCount = 0;

// ---------------------------------------------------------------- routing

function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render({ focus: !replace });
}

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
  flash = { kind: 'info', text: 'You have logged out.' };
  navigate('/login');
});

api.onUnauthorized((detail) => {
  closeAllDialogs();
  flash = { kind: 'warning', text: `Your session has expired or was rejected (${detail}). Please log in again.` };
  // Several requests of one page may be refused: the first one leads to the login page.
  if (location.pathname.startsWith('/login')) return;
  navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});

function showChrome(section) {
  topbar.hidden = section === null;
  document.getElementById('current-user').textContent = api.session.username;
  for (const link of topbar.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

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
  } else {
    showChrome('');
    notFoundPage();
  }
  if (focus && current()) main.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- page parts

function pageHeader(title, subtitle, ...actions) {
  document.title = `${title} · kxy-id admin`;
  return h(
    'div',
    { class: 'page-head' },
    h('div', {}, h('h1', {}, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

function card(title, { id, actions = [], intro } = {}, ...content) {
  return h(
    'section',
    { class: 'card', id, 'aria-labelledby': id ? `${id}-title` : null },
    h('div', { class: 'card-head' }, h('h2', { id: id ? `${id}-title` : null }, title), actions.length ? h('div', { class: 'actions' }, actions) : null),
    intro ? h('p', { class: 'card-intro' }, intro) : null,
    h('div', { class: 'card-body' }, content),
  );
}

function errorBlock(error, retry) {
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('span', {}, error.message || String(error)),
    retry ? h('button', { type: 'button', class: 'button button-small', onclick: retry }, 'Try again') : null,
  );
}

function button(label, { kind = '', small = false, onclick, ...attrs } = {}) {
  const cls = ['button', kind && `button-${kind}`, small && 'button-small'].filter(Boolean).join(' ');
  return h('button', { type: 'button', class: cls, onclick, ...attrs }, label);
}

const mono = (text, cls = '') => h('span', { class: `mono ${cls}`.trim() }, text);
/** Counter values and IDs: shown exactly as the server sent them (strings past 2^53). */
const exact = (value) => mono(String(value), 'value');

function splitKey(key) {
  const parts = key.split(':');
  if (parts.length < 4) return { system: '', database: '', table: key, field: '' };
  return { system: parts[0], database: parts[1], table: parts.slice(2, -1).join(':'), field: parts[parts.length - 1] };
}

function databaseName(config) {
  return config.db_name ? config.db_name : 'all databases';
}

// ---------------------------------------------------------------- login and first run

async function loginPage(current) {
  document.title = 'Log in · kxy-id admin';
  const panel = h('section', { class: 'auth-card', 'aria-live': 'polite' }, loading('Checking the server…'));
  main.append(h('div', { class: 'auth-wrap' }, h('div', { class: 'auth-brand' }, h('img', { src: '/ui/favicon.svg', alt: '' }), h('span', {}, 'kxy-id'), h('small', {}, 'ID allocator admin')), panel));
  const next = new URLSearchParams(location.search).get('next');
  if (api.session.token && !flash) {
    navigate(safeNext(next), { replace: true });
    return;
  }
  let initialized;
  try {
    initialized = (await api.checkInit()).data.initialized;
  } catch (e) {
    if (!current()) return;
    panel.replaceChildren(errorBlock(e, () => render()));
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
    flash = { kind: 'success', text: `Administrator ${username} created. Log in to continue.` };
    panel.replaceChildren();
    loginForm(panel, next, username);
  });
}

function loginForm(panel, next, username = '') {
  document.title = 'Log in · kxy-id admin';
  const message = messageBox();
  if (flash) {
    message.show(flash.text, flash.kind);
    flash = null;
  }
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

// ---------------------------------------------------------------- databases

async function databasesPage(current) {
  const addButton = button('Add database', { kind: 'primary', id: 'add-database', onclick: () => openDatabaseForm(null, () => load()) });
  const body = h('div', {}, loading());
  main.append(
    pageHeader('Databases', 'Business databases whose tables get ID counters. Keys are system:database:table:field.', addButton),
    h('section', { class: 'card card-flush' }, body),
  );

  async function load() {
    let configs;
    try {
      configs = (await api.listDatabases()).data;
    } catch (e) {
      if (current() && e.name !== 'AuthError') body.replaceChildren(errorBlock(e, load));
      return;
    }
    if (!current()) return;
    if (configs.length === 0) {
      body.replaceChildren(
        empty(
          'No databases yet',
          h('p', {}, 'Add the connection of a business database, then initialize it to give every table with an integer primary key a counter.'),
          button('Add database', { kind: 'primary', onclick: () => openDatabaseForm(null, () => load()) }),
        ),
      );
      return;
    }
    configs.sort((a, b) => a.system_code.localeCompare(b.system_code) || (a.db_name || '').localeCompare(b.db_name || ''));
    body.replaceChildren(
      table({
        id: 'databases-table',
        className: 'responsive',
        columns: [['System code'], ['Type'], ['Address'], ['User'], ['Database'], ['GUID', 'col-guid'], ['Actions', 'col-actions']],
        rows: configs.map((c) => ({
          attrs: { dataset: { guid: c.guid } },
          cells: [
            h('a', { href: `/databases/${encodeURIComponent(c.guid)}`, 'data-link': true, class: 'strong' }, c.system_code),
            typeLabel(c.db_type),
            mono(c.db_address),
            c.db_user || h('span', { class: 'muted' }, '—'),
            c.db_name || h('span', { class: 'muted' }, 'all'),
            mono(c.guid, 'guid'),
            h('div', { class: 'row-actions' }, databaseActions(c, { onChanged: load, onDeleted: load })),
          ],
        })),
      }),
    );
  }
  await load();
}

/** Edit, Initialize and Delete (and View, on the list) for one configuration. */
function databaseActions(config, { onChanged, onDeleted, view = true }) {
  const label = `${config.system_code} · ${databaseName(config)}`;
  return [
    view
      ? h('a', { class: 'button button-small', href: `/databases/${encodeURIComponent(config.guid)}`, 'data-link': true, 'data-action': 'view', 'aria-label': `View ${label}` }, 'View')
      : null,
    button('Edit', { small: true, 'data-action': 'edit', 'aria-label': `Edit ${label}`, onclick: () => openDatabaseForm(config, onChanged) }),
    button('Initialize', { small: true, 'data-action': 'initialize', 'aria-label': `Initialize ${label}`, onclick: () => initialize(config) }),
    button('Delete', { small: true, kind: 'danger-outline', 'data-action': 'delete', 'aria-label': `Delete ${label}`, onclick: () => remove(config, onDeleted) }),
  ];
}

/** The checks of the API, so most mistakes are caught before a request. */
function checkDatabaseInput(input) {
  const problems = {};
  const n = [...input.system_code].length;
  if (n < 1) problems.system_code = 'Enter the system code.';
  else if (n > 100) problems.system_code = 'Use at most 100 characters.';
  if (!DB_TYPES.some(([t]) => t === input.db_type)) problems.db_type = 'Choose mysql, postgresql, sqlserver or oracle.';
  const address = checkAddress(input.db_address);
  if (address) problems.db_address = address;
  if ([...input.db_user].length > 255) problems.db_user = 'Use at most 255 characters.';
  if ([...input.db_password].length > 1000) problems.db_password = 'Use at most 1000 characters.';
  if (input.db_name !== null && [...input.db_name].length > 128) problems.db_name = 'Use at most 128 characters.';
  return problems;
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address, as the server parses it. */
function checkAddress(raw) {
  const address = raw.trim();
  if (!address) return 'Enter the address: host or host:port.';
  if (/[\s\u0000-\u001f\u007f]/.test(address)) return 'The address cannot contain spaces.';
  let host;
  let port;
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    if (end < 0) return 'Missing “]” after the IPv6 address.';
    host = address.slice(1, end);
    if (!isIpv6(host)) return 'The part in brackets is not an IPv6 address.';
    const after = address.slice(end + 1);
    if (after) {
      if (!after.startsWith(':')) return 'Unexpected text after “]”.';
      port = after.slice(1);
    }
  } else if ((address.match(/:/g) || []).length > 1) {
    if (!isIpv6(address)) return 'Write an IPv6 address with a port as [address]:port.';
    host = address;
  } else {
    const colon = address.indexOf(':');
    host = colon < 0 ? address : address.slice(0, colon);
    port = colon < 0 ? undefined : address.slice(colon + 1);
  }
  if (!host) return 'The host is empty.';
  if (/[/@?#[\]]/.test(host)) return 'The host cannot contain /, @, ?, # or brackets.';
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    return 'The port must be a number from 1 to 65535.';
  }
  return null;
}

function isIpv6(text) {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function openDatabaseForm(existing, onSaved) {
  const editing = existing !== null;
  const d = modal({
    title: editing ? `Edit ${existing.system_code} · ${databaseName(existing)}` : 'Add database',
    id: 'database-form',
    form: true,
  });
  const v = existing || {};
  const type = v.db_type || 'mysql';
  const fields = {
    system_code: field({ label: 'System code', id: 'db-system_code', required: true, value: v.system_code || '', hint: 'The first part of every key of this database (keys are lower-case).', attrs: { maxlength: 100, autocomplete: 'off' } }),
    db_type: field({ label: 'Type', id: 'db-db_type', type: 'select', required: true, value: type, options: DB_TYPES.map(([t, , label]) => [t, label]) }),
    db_address: field({ label: 'Address', id: 'db-db_address', required: true, value: v.db_address || '', hint: 'host or host:port.', attrs: { placeholder: 'db.example.com:3306', autocomplete: 'off', spellcheck: 'false' } }),
    db_user: field({ label: 'User', id: 'db-db_user', value: v.db_user || '', attrs: { autocomplete: 'off', maxlength: 255 } }),
    db_password: field({
      label: 'Password',
      id: 'db-db_password',
      type: 'password',
      value: '',
      hint: editing
        ? 'Leave empty to keep the stored password. The stored password is never shown.'
        : 'Stored encrypted; it is never shown again.',
      attrs: { autocomplete: 'new-password', placeholder: editing ? 'unchanged' : null, maxlength: 1000 },
    }),
    db_name: field({ label: 'Database name', id: 'db-db_name', value: v.db_name || '', hint: 'Optional. Empty: initialize and the scanner cover every non-system database, and custom sequences are not possible. Oracle: the service name.', attrs: { autocomplete: 'off', maxlength: 128, spellcheck: 'false' } }),
  };
  const addressHint = () => {
    fields.db_address.hint.textContent = `host or host:port; the port defaults to ${defaultPort(fields.db_type.input.value)}. IPv6: [address]:port.`;
  };
  addressHint();
  fields.db_type.input.addEventListener('change', addressHint);
  const message = messageBox();
  // Keys are made of the system code and database name: renaming either starts new keys.
  const renameWarning = h('div', { class: 'alert alert-warning', id: 'rename-warning', hidden: true },
    'Changing the system code or the database name changes the keys: existing counters stay under the old keys, and new keys start again from the tables’ MAX(id), which can repeat IDs handed out but not yet written.');
  if (editing) {
    const keyPart = (text) => text.trim().toLowerCase();
    const checkRename = () => {
      renameWarning.hidden =
        keyPart(fields.system_code.input.value) === keyPart(existing.system_code) &&
        keyPart(fields.db_name.input.value) === keyPart(existing.db_name || '');
    };
    fields.system_code.input.addEventListener('input', checkRename);
    fields.db_name.input.addEventListener('input', checkRename);
  }
  d.body.append(message.el, renameWarning, h('div', { class: 'form-grid' }, Object.values(fields).map((f) => f.wrap)));
  d.foot.append(
    button('Cancel', { onclick: d.close }),
    h('button', { type: 'submit', class: 'button button-primary', id: 'database-save' }, editing ? 'Save changes' : 'Add database'),
  );
  fields.system_code.input.focus();
  onSubmit(d.box, editing ? 'Saving…' : 'Adding…', async () => {
    message.clear();
    const dbName = fields.db_name.input.value.trim();
    const input = {
      system_code: fields.system_code.input.value.trim(),
      db_type: fields.db_type.input.value,
      db_address: fields.db_address.input.value.trim(),
      db_user: fields.db_user.input.value.trim(),
      db_password: fields.db_password.input.value,
      db_name: dbName === '' ? null : dbName,
    };
    if (showFieldErrors(fields, checkDatabaseInput(input))) return;
    let response;
    try {
      response = editing ? await api.updateDatabase(existing.guid, input) : await api.addDatabase(input);
    } catch (e) {
      if (e.name === 'AuthError') return;
      const problems = { ...e.fields };
      if (/db_address/.test(e.message)) problems.db_address = e.message;
      showFieldErrors(fields, problems);
      message.show(e.message);
      return;
    }
    toast(response.msg || 'Saved');
    d.close();
    onSaved(response.data);
  });
}

function initialize(config) {
  confirmAction({
    title: `Initialize ${config.system_code} · ${databaseName(config)}`,
    message: [
      `Connect to ${typeLabel(config.db_type)} at ${config.db_address} and give every table whose primary key is one integer column a counter at its MAX(id).`,
      'Counters never move backwards: a counter already ahead of its table is left as it is. Tables with another kind of key are skipped and listed.',
    ],
    confirmLabel: 'Initialize',
    busyLabel: 'Initializing…',
    action: () => api.initializeDatabase(config.guid),
  }).then((response) => {
    if (response) {
      toast(response.msg || 'Initialized');
      showInitReport(config, response);
    }
  });
}

function showInitReport(config, response) {
  const data = response.data || {};
  const set = data.set || [];
  const ahead = data.already_ahead || [];
  const skipped = data.skipped || [];
  const errors = data.errors || [];
  const d = modal({ title: 'Initialization report', id: 'init-report', wide: true });
  const section = (id, title, count, intro, columns, rows, kind = '') =>
    h(
      'section',
      { class: 'report-section', id },
      h('h3', {}, title, h('span', { class: `badge ${count ? kind : 'badge-muted'}` }, String(count))),
      intro ? h('p', { class: 'hint' }, intro) : null,
      count ? table({ columns, rows, className: 'table-compact responsive' }) : h('p', { class: 'muted' }, 'None.'),
    );
  d.body.append(
    h('p', { class: 'report-summary' }, h('strong', {}, `${config.system_code} · ${databaseName(config)}`), ' — ', response.msg || ''),
    section('report-set', 'Counters set', set.length, 'Created or raised to the table’s MAX(id).', [['Key'], ['Value', 'num']], set.map((s) => ({ cells: [mono(s.key), exact(s.value)] })), 'badge-success'),
    section('report-ahead', 'Already ahead', ahead.length, 'Left as they are: the counter is at or past the table’s MAX(id).', [['Key'], ['Counter', 'num'], ['Table MAX(id)', 'num']], ahead.map((a) => ({ cells: [mono(a.key), exact(a.current), exact(a.max_id)] })), 'badge-info'),
    section('report-skipped', 'Skipped tables', skipped.length, 'No counter: the primary key is missing, composite or not an integer.', [['Database'], ['Table'], ['Reason']], skipped.map((s) => ({ attrs: { dataset: { table: s.table } }, cells: [s.database, mono(s.table), s.reason] })), 'badge-warning'),
    section('report-errors', 'Errors', errors.length, null, [['Database'], ['Table'], ['Error']], errors.map((e) => ({ cells: [e.database, e.table ? mono(e.table) : h('span', { class: 'muted' }, 'whole database'), e.error] })), 'badge-danger'),
  );
  const close = h('button', { type: 'button', class: 'button button-primary', onclick: d.close }, 'Close');
  d.foot.append(close);
  close.focus();
}

function remove(config, onDeleted) {
  const prefix = config.db_name ? `${config.system_code}:${config.db_name}:`.toLowerCase() : `${config.system_code.toLowerCase()}:`;
  confirmAction({
    title: `Delete ${config.system_code} · ${databaseName(config)}`,
    message: [
      h('p', {}, 'Delete the configuration of ', h('strong', {}, `${typeLabel(config.db_type)} at ${config.db_address}`), '? Keys without a counter can then no longer be seeded on first use.'),
      'Its counters are kept unless you purge them: a counter that is dropped and later seeded again from MAX(id) can hand out IDs that were already handed out but not yet written.',
    ],
    checkbox: { label: 'Also purge its counters', hint: `Deletes every counter whose key starts with ${prefix}` },
    confirmLabel: 'Delete',
    busyLabel: 'Deleting…',
    danger: true,
    action: (purge) => api.deleteDatabase(config.guid, purge),
  }).then((response) => {
    if (!response) return;
    const purged = response.data && response.data.purged_segments;
    toast(purged ? `${response.msg}; ${purged} counter${purged === 1 ? '' : 's'} purged.` : response.msg);
    onDeleted();
  });
}

// ---------------------------------------------------------------- one database

async function databasePage(current, guid) {
  main.append(pageHeader('Database', null), loading());
  let config;
  try {
    config = (await api.getDatabase(guid)).data;
  } catch (e) {
    if (!current() || e.name === 'AuthError') return;
    main.replaceChildren(
      pageHeader(e.code === 404 ? 'Database not found' : 'Database', null),
      errorBlock(e, e.code === 404 ? null : () => render()),
      h('p', {}, h('a', { href: '/databases', 'data-link': true }, '← All databases')),
    );
    return;
  }
  if (!current()) return;
  const reload = () => render();
  const countersBody = h('div', {}, loading());
  const discoveredBody = h('div', {}, loading());

  const loadCounters = async () => {
    try {
      const list = (await api.counters(config.system_code, config.db_name || '')).data;
      if (!current()) return;
      countersBody.replaceChildren(countersTable(list, 'db-counters-table'));
    } catch (e) {
      if (current() && e.name !== 'AuthError') countersBody.replaceChildren(errorBlock(e, loadCounters));
    }
  };

  const refreshButton = button('Refresh', { small: true, id: 'refresh-discovered' });
  const approveAllButton = button('Approve all', { small: true, kind: 'primary', id: 'approve-all', disabled: true });
  let discovered = [];
  const loadDiscovered = async () => {
    try {
      discovered = (await api.discoveredTables(config.guid)).data;
    } catch (e) {
      if (current() && e.name !== 'AuthError') discoveredBody.replaceChildren(errorBlock(e, loadDiscovered));
      return;
    }
    if (!current()) return;
    approveAllButton.disabled = discovered.length === 0;
    if (discovered.length === 0) {
      discoveredBody.replaceChildren(h('p', { class: 'muted' }, 'No tables waiting. New tables with an integer primary key and no counter appear here after the next scan.'));
      return;
    }
    discoveredBody.replaceChildren(
      table({
        id: 'discovered-table',
        className: 'table-compact responsive',
        columns: [['Database'], ['Table'], ['Primary key'], ['MAX at scan', 'num'], ['', 'col-actions']],
        rows: discovered.map((t) => ({
          attrs: { dataset: { table: t.table } },
          cells: [
            t.database,
            mono(t.table),
            mono(t.primary_key),
            exact(t.max_id),
            button('Approve', { small: true, 'data-action': 'approve', 'aria-label': `Approve ${t.table}`, onclick: (event) => busy(event.currentTarget, 'Approving…', () => approve(t)) }),
          ],
        })),
      }),
    );
  };
  const approve = async (t) => {
    try {
      const response = await api.approveTable(config.guid, t.database, t.table);
      toast(`${t.table}: counter at ${response.data.value}${response.data.changed ? '' : ' (already there)'}`);
    } catch (e) {
      if (e.name !== 'AuthError') toast(`${t.table}: ${e.message}`, 'error');
      return false;
    }
    await Promise.all([loadDiscovered(), loadCounters()]);
    return true;
  };
  refreshButton.addEventListener('click', () => busy(refreshButton, 'Refreshing…', loadDiscovered));
  approveAllButton.addEventListener('click', async () => {
    await busy(approveAllButton, 'Approving…', async () => {
      const tables = [...discovered];
      let done = 0;
      const failed = [];
      for (const t of tables) {
        approveAllButton.textContent = `Approving ${done + 1}/${tables.length}…`;
        try {
          await api.approveTable(config.guid, t.database, t.table);
        } catch (e) {
          if (e.name === 'AuthError') return;
          failed.push(`${t.table}: ${e.message}`);
        }
        done += 1;
      }
      if (failed.length) toast(`Approved ${done - failed.length} of ${tables.length}. ${failed.join('; ')}`, 'error');
      else toast(`Approved ${tables.length} table${tables.length === 1 ? '' : 's'}`);
      await Promise.all([loadDiscovered(), loadCounters()]);
    });
    approveAllButton.disabled = discovered.length === 0;
  });

  main.replaceChildren(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, h('a', { href: '/databases', 'data-link': true }, 'Databases'), h('span', { 'aria-hidden': 'true' }, ' / '), h('span', {}, config.system_code)),
    pageHeader(
      `${config.system_code} · ${databaseName(config)}`,
      `${typeLabel(config.db_type)} at ${config.db_address}`,
      databaseActions(config, { onChanged: reload, onDeleted: () => navigate('/databases'), view: false }),
    ),
    h(
      'div',
      { class: 'grid-2' },
      card(
        'Connection',
        { id: 'connection' },
        h(
          'dl',
          { class: 'details' },
          [
            ['System code', config.system_code],
            ['Type', typeLabel(config.db_type)],
            ['Address', mono(config.db_address)],
            ['User', config.db_user || '—'],
            ['Password', h('span', { class: 'muted' }, 'stored encrypted, never shown')],
            ['Database name', config.db_name || h('span', { class: 'muted' }, 'none: every non-system database')],
            ['GUID', mono(config.guid, 'guid')],
          ].map(([k, val]) => [h('dt', {}, k), h('dd', {}, val)]),
        ),
      ),
      customSequenceCard(config, loadCounters),
    ),
    card(
      'Discovered tables',
      { id: 'discovered', actions: [refreshButton, approveAllButton], intro: 'The scanner lists tables with an integer primary key that have no counter yet. Approving one sets its counter from the table’s MAX(id).' },
      discoveredBody,
    ),
    card(
      'Counters',
      {
        id: 'db-counters',
        actions: [h('a', { class: 'button button-small', href: `/counters?${new URLSearchParams({ system: config.system_code.toLowerCase(), db: (config.db_name || '').toLowerCase() })}`, 'data-link': true }, 'Open in Counters')],
        intro: 'The value is the largest ID handed out or reserved so far (or the table’s MAX(id) after initialization); the next ID is above it.',
      },
      countersBody,
    ),
  );
  await Promise.all([loadDiscovered(), loadCounters()]);
}

function customSequenceCard(config, onAdded) {
  const message = messageBox();
  const fields = {
    table_name: field({ label: 'Table name', id: 'seq-table', required: true, hint: 'Any name; it need not be a real table.', attrs: { maxlength: 128, autocomplete: 'off', spellcheck: 'false', placeholder: 'invoice' } }),
    field_name: field({ label: 'Field name', id: 'seq-field', required: true, attrs: { maxlength: 128, autocomplete: 'off', spellcheck: 'false', placeholder: 'number' } }),
    initial_value: field({ label: 'Initial value', id: 'seq-initial', value: '0', required: true, hint: 'The first ID handed out is this value + 1. Up to 9223372036854775807.', attrs: { inputmode: 'numeric', autocomplete: 'off', spellcheck: 'false' } }),
  };
  const preview = mono('');
  const updatePreview = () => {
    const t = fields.table_name.input.value.trim() || 'table';
    const f = fields.field_name.input.value.trim() || 'field';
    preview.textContent = `${config.system_code}:${config.db_name || '?'}:${t}:${f}`.toLowerCase();
  };
  fields.table_name.input.addEventListener('input', updatePreview);
  fields.field_name.input.addEventListener('input', updatePreview);
  updatePreview();
  const submit = h('button', { type: 'submit', class: 'button button-primary' }, 'Add sequence');
  const form = h(
    'form',
    { id: 'custom-form', novalidate: true },
    message.el,
    h('div', { class: 'form-grid form-grid-3' }, Object.values(fields).map((f) => f.wrap)),
    h('div', { class: 'form-foot' }, h('p', { class: 'hint' }, 'Key: ', preview), submit),
  );
  if (!config.db_name) {
    for (const f of Object.values(fields)) f.input.disabled = true;
    submit.disabled = true;
    message.show('Set a database name on this configuration to add custom sequences: their keys need one.', 'info');
  }
  onSubmit(form, 'Adding…', async () => {
    message.clear();
    const tableName = fields.table_name.input.value.trim();
    const fieldName = fields.field_name.input.value.trim();
    const initial = fields.initial_value.input.value.trim();
    const problems = {};
    if (!tableName) problems.table_name = 'Enter a table name.';
    else if ([...tableName].length > 128) problems.table_name = 'Use at most 128 characters.';
    if (!fieldName) problems.field_name = 'Enter a field name.';
    else if ([...fieldName].length > 128) problems.field_name = 'Use at most 128 characters.';
    if (!/^\d+$/.test(initial)) problems.initial_value = 'Enter a whole number, 0 or more.';
    else if (BigInt(initial) > api.MAX_COUNTER) problems.initial_value = 'At most 9223372036854775807.';
    if (showFieldErrors(fields, problems)) return;
    let response;
    try {
      response = await api.addCustomSequence(config.guid, tableName, fieldName, BigInt(initial).toString());
    } catch (e) {
      if (e.name === 'AuthError') return;
      showFieldErrors(fields, e.fields || {});
      message.show(e.message);
      return;
    }
    message.show(`Created ${response.data.segment_key} at ${response.data.initial_value}.`, 'success');
    toast(response.msg || 'Sequence added');
    fields.table_name.input.value = '';
    fields.field_name.input.value = '';
    fields.initial_value.input.value = '0';
    updatePreview();
    fields.table_name.input.focus();
    await onAdded();
  });
  return card(
    'Custom sequences',
    { id: 'custom-sequences', intro: 'A counter for IDs that are not a table’s primary key (order numbers, invoice numbers, …).' },
    form,
  );
}

// ---------------------------------------------------------------- counters

function countersTable(list, id, note) {
  if (list.length === 0) return h('p', { class: 'muted' }, note || 'No counters.');
  const sorted = [...list].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return table({
    id,
    className: 'responsive',
    columns: [['System'], ['Database'], ['Table'], ['Field'], ['Value', 'num']],
    rows: sorted.map((c) => {
      const k = splitKey(c.key);
      return {
        attrs: { dataset: { key: c.key }, title: c.key },
        cells: [k.system, k.database, mono(k.table), mono(k.field), exact(c.value)],
      };
    }),
  });
}

async function countersPage(current) {
  const params = new URLSearchParams(location.search);
  const systems = h('datalist', { id: 'known-systems' });
  const databases = h('datalist', { id: 'known-databases' });
  const fields = {
    system: field({ label: 'System code', id: 'filter-system', value: params.get('system') || '', attrs: { list: 'known-systems', autocomplete: 'off', spellcheck: 'false' } }),
    db: field({ label: 'Database', id: 'filter-db', value: params.get('db') || '', attrs: { list: 'known-databases', autocomplete: 'off', spellcheck: 'false' } }),
    table: field({ label: 'Table contains', id: 'filter-table', value: params.get('table') || '', attrs: { type: 'search', autocomplete: 'off', spellcheck: 'false' } }),
  };
  const clearButton = button('Clear', { id: 'filter-clear' });
  const form = h(
    'form',
    { id: 'counters-filter', class: 'filters', role: 'search', novalidate: true },
    Object.values(fields).map((f) => f.wrap),
    h('div', { class: 'filter-buttons' }, h('button', { type: 'submit', class: 'button button-primary' }, 'Apply'), clearButton),
    systems,
    databases,
  );
  const summary = h('p', { class: 'summary', role: 'status' });
  const body = h('div', {}, loading());
  main.append(
    pageHeader('Counters', 'Every key with its current value: the largest ID handed out or reserved so far.'),
    h('section', { class: 'card' }, form),
    h('section', { class: 'card card-flush' }, h('div', { class: 'card-head' }, summary), body),
  );

  let all = [];
  const shown = () => {
    const needle = fields.table.input.value.trim().toLowerCase();
    const list = needle ? all.filter((c) => splitKey(c.key).table.includes(needle)) : all;
    summary.textContent = needle
      ? `${list.length} of ${all.length} counter${all.length === 1 ? '' : 's'} (table contains “${needle}”)`
      : `${all.length} counter${all.length === 1 ? '' : 's'}`;
    body.replaceChildren(countersTable(list, 'counters-table', all.length ? 'No counter matches the filters.' : 'No counters yet.'));
  };
  const syncUrl = () => {
    const q = new URLSearchParams();
    for (const [k, f] of Object.entries(fields)) if (f.input.value.trim()) q.set(k, f.input.value.trim());
    const s = q.toString();
    history.replaceState(null, '', `/counters${s ? `?${s}` : ''}`);
  };
  const load = async () => {
    body.replaceChildren(loading());
    summary.textContent = '';
    try {
      all = (await api.counters(fields.system.input.value.trim(), fields.db.input.value.trim())).data;
    } catch (e) {
      if (current() && e.name !== 'AuthError') body.replaceChildren(errorBlock(e, load));
      return;
    }
    if (current()) shown();
  };
  onSubmit(form, 'Loading…', async () => {
    syncUrl();
    await load();
  });
  fields.table.input.addEventListener('input', () => {
    syncUrl();
    if (all.length || summary.textContent) shown();
  });
  clearButton.addEventListener('click', () => {
    for (const f of Object.values(fields)) f.input.value = '';
    form.requestSubmit();
  });
  // Suggestions for the filters; the page works without them.
  api
    .listDatabases()
    .then((response) => {
      const uniq = (xs) => [...new Set(xs.filter(Boolean))].sort();
      systems.replaceChildren(...uniq(response.data.map((c) => c.system_code.toLowerCase())).map((s) => h('option', { value: s })));
      databases.replaceChildren(...uniq(response.data.map((c) => (c.db_name || '').toLowerCase())).map((s) => h('option', { value: s })));
    })
    .catch(() => {});
  await load();
}

// ---------------------------------------------------------------- not found

function notFoundPage() {
  main.append(pageHeader('Page not found', `Nothing lives at ${location.pathname}.`), h('p', {}, h('a', { href: '/databases', 'data-link': true }, '← Databases')));
}

render();
