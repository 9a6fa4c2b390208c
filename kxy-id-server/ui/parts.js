// Building blocks every page uses: the page head, cards, error blocks, buttons, monospace
// values, and keys split into their parts.

import { h } from './dom.js';

/** Where pages draw themselves. */
export const main = document.getElementById('main');

/** The page's title (also the document's), a subtitle and action buttons. */
export function pageHeader(title, subtitle, ...actions) {
  document.title = `${title} · kxy-id admin`;
  return h(
    'div',
    { class: 'page-head' },
    h('div', {}, h('h1', {}, title), subtitle ? h('p', { class: 'subtitle' }, subtitle) : null),
    actions.length ? h('div', { class: 'actions' }, actions) : null,
  );
}

/** A titled section; `id` names it for tests and `aria-labelledby`. */
export function card(title, { id, actions = [], intro } = {}, ...content) {
  return h(
    'section',
    { class: 'card', id, 'aria-labelledby': id ? `${id}-title` : null },
    h('div', { class: 'card-head' }, h('h2', { id: id ? `${id}-title` : null }, title), actions.length ? h('div', { class: 'actions' }, actions) : null),
    intro ? h('p', { class: 'card-intro' }, intro) : null,
    h('div', { class: 'card-body' }, content),
  );
}

/** A failed request's message, with a "Try again" button when `retry` is given. */
export function errorBlock(error, retry) {
  return h(
    'div',
    { class: 'alert alert-error', role: 'alert' },
    h('span', {}, error.message || String(error)),
    retry ? h('button', { type: 'button', class: 'button button-small', onclick: retry }, 'Try again') : null,
  );
}

export function button(label, { kind = '', small = false, onclick, ...attrs } = {}) {
  const cls = ['button', kind && `button-${kind}`, small && 'button-small'].filter(Boolean).join(' ');
  return h('button', { type: 'button', class: cls, onclick, ...attrs }, label);
}

export const mono = (text, cls = '') => h('span', { class: `mono ${cls}`.trim() }, text);
/** Counter values and IDs: shown exactly as the server sent them (strings past 2^53). */
export const exact = (value) => mono(String(value), 'value');

/** A key `system:database:table:field`; the table part may itself hold colons. */
export function splitKey(key) {
  const parts = key.split(':');
  if (parts.length < 4) return { system: '', database: '', table: key, field: '' };
  return { system: parts[0], database: parts[1], table: parts.slice(2, -1).join(':'), field: parts[parts.length - 1] };
}
