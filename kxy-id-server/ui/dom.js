// Small DOM helpers: building elements (text is always text, never HTML), buttons that
// cannot fire twice, modal dialogs (Escape closes them), confirmations, fields and toasts.

let nextId = 0;

/** A fresh id for linking labels, hints and errors to their input. */
export function uid(prefix = 'id') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * Creates an element. `props`: `class`, `text`, `dataset`, `on<event>` handlers, `value`,
 * `checked`, anything else as an attribute (`true` → present, `false`/null → absent).
 * Children: nodes or strings (as text), nested arrays, null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  let value;
  for (const [key, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (key === 'class') el.className = v;
    else if (key === 'text') el.textContent = v;
    else if (key === 'dataset') Object.assign(el.dataset, v);
    else if (key === 'value') value = v;
    else if (key === 'checked') el.checked = Boolean(v);
    else if (key.startsWith('on') && typeof v === 'function') el.addEventListener(key.slice(2), v);
    else el.setAttribute(key, v === true ? '' : String(v));
  }
  append(el, children);
  // After the children, so that a <select> already has its options.
  if (value !== undefined) el.value = value;
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Runs `work` with `button` disabled and marked busy (optionally relabelled), so a double
 * click or a second Enter cannot start it twice. Returns what `work` returns, or undefined
 * when the button was already busy.
 */
export async function busy(button, label, work) {
  if (!button || button.disabled) return undefined;
  const old = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (label) button.textContent = label;
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (label) button.textContent = old;
  }
}

/**
 * Handles submission of `form` (Enter in a field or its submit button) with `work`, at most
 * one at a time; the submit button shows `label` while it runs.
 */
export function onSubmit(form, label, work) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (form.dataset.pending) return;
    const button = form.querySelector('button[type=submit]');
    form.dataset.pending = '1';
    busy(button, label, work).finally(() => {
      delete form.dataset.pending;
    });
  });
}

/** An alert box for a form's overall error or message; hidden while empty. */
export function messageBox() {
  const box = h('div', { class: 'alert', role: 'alert', hidden: true });
  return {
    el: box,
    show(text, kind = 'error') {
      box.className = `alert alert-${kind}`;
      box.textContent = text;
      box.hidden = false;
    },
    clear() {
      box.hidden = true;
      box.textContent = '';
    },
  };
}

/**
 * A labelled input with an optional hint and an error line, linked for screen readers.
 * `type: 'select'` takes `options: [[value, label], ...]`.
 */
export function field({ label, id, type = 'text', value = '', hint, required = false, options, attrs = {} }) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  const input =
    type === 'select'
      ? h(
          'select',
          { id, name: id, 'aria-describedby': describedBy, required, value, ...attrs },
          options.map(([v, text]) => h('option', { value: v, text })),
        )
      : h('input', { id, name: id, type, 'aria-describedby': describedBy, required, value, ...attrs });
  const error = h('p', { class: 'field-error', id: errorId, hidden: true });
  const hintEl = hint ? h('p', { class: 'hint', id: hintId }, hint) : null;
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label, required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null),
    input,
    hintEl,
    error,
  );
  return {
    wrap,
    input,
    hint: hintEl,
    setError(text) {
      error.textContent = text || '';
      error.hidden = !text;
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    },
  };
}

/**
 * Shows per-field problems (`{fieldKey: message}`), focuses the first one, and returns
 * whether there were any.
 */
export function showFieldErrors(fields, problems) {
  let first = null;
  for (const [key, f] of Object.entries(fields)) {
    const problem = problems[key];
    f.setError(problem);
    if (problem && !first) first = f.input;
  }
  if (first) first.focus();
  return first !== null;
}

/**
 * Opens a modal dialog and returns its parts: `body` and `foot` to fill, `box` (a <form>
 * when `form` is true, so Enter submits), `close()`, and `closed` (a promise). Escape or the
 * × button close it, except while its form is submitting.
 */
export function modal({ title, id, wide = false, form = false }) {
  const titleId = uid('dialog-title');
  const dialog = h('dialog', { class: `dialog${wide ? ' dialog-wide' : ''}`, id, 'aria-labelledby': titleId });
  const box = h(form ? 'form' : 'div', { class: 'dialog-box', novalidate: form });
  const closeButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': 'Close' }, '×');
  const body = h('div', { class: 'dialog-body' });
  const foot = h('div', { class: 'dialog-foot' });
  box.append(h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: title }), closeButton), body, foot);
  dialog.append(box);
  document.body.append(dialog);
  let resolveClosed;
  const closed = new Promise((resolve) => {
    resolveClosed = resolve;
  });
  const close = () => {
    if (dialog.open) dialog.close();
  };
  closeButton.addEventListener('click', () => {
    if (!box.dataset.pending) close();
  });
  dialog.addEventListener('cancel', (event) => {
    if (box.dataset.pending) event.preventDefault();
  });
  dialog.addEventListener('close', () => {
    dialog.remove();
    resolveClosed();
  });
  dialog.showModal();
  return { dialog, box, body, foot, close, closed };
}

/** Closes every open dialog (e.g. when the session ends). */
export function closeAllDialogs() {
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
}

/**
 * Asks before doing something. `message`: nodes or text; `checkbox`: `{label, hint}` for an
 * explicit extra choice (unchecked by default). On confirm runs `action(checked)`; an error
 * keeps the dialog open and shows the server's message. Resolves to the action's result,
 * or undefined when cancelled.
 */
export function confirmAction({ title, message, confirmLabel, busyLabel, danger = false, checkbox, action }) {
  const d = modal({ title, id: 'confirm-dialog', form: true });
  const error = messageBox();
  const check = checkbox ? h('input', { type: 'checkbox', id: 'confirm-check' }) : null;
  d.body.append(
    ...[].concat(message).map((m) => (typeof m === 'string' ? h('p', {}, m) : m)),
    checkbox
      ? h(
          'div',
          { class: 'check' },
          check,
          h('label', { for: 'confirm-check' }, h('strong', {}, checkbox.label), checkbox.hint ? h('span', { class: 'hint' }, checkbox.hint) : null),
        )
      : null,
    error.el,
  );
  const cancel = h('button', { type: 'button', class: 'button', onclick: d.close }, 'Cancel');
  const ok = h('button', { type: 'submit', class: `button ${danger ? 'button-danger' : 'button-primary'}`, id: 'confirm-ok' }, confirmLabel);
  d.foot.append(cancel, ok);
  let result;
  onSubmit(d.box, busyLabel, async () => {
    error.clear();
    try {
      result = await action(check ? check.checked : false);
      d.close();
    } catch (e) {
      if (e && e.name === 'AuthError') return;
      error.show(e.message || String(e));
    }
  });
  (danger ? cancel : ok).focus();
  return d.closed.then(() => result);
}

/** A short message in the corner; errors stay longer. Never blocks clicks. */
export function toast(text, kind = 'success') {
  const area = document.getElementById('toasts');
  const el = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  area.append(el);
  while (area.children.length > 3) area.firstElementChild.remove();
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/** A table with a header row; each row is `{cells: [[label, content, class?], ...], attrs}`. */
export function table({ columns, rows, id, className = '' }) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: `table ${className}`, id },
      h('thead', {}, h('tr', {}, columns.map(([label, cls]) => h('th', { scope: 'col', class: cls }, label)))),
      h(
        'tbody',
        {},
        rows.map((row) =>
          h(
            'tr',
            row.attrs || {},
            row.cells.map((content, i) => h('td', { 'data-label': columns[i][0], class: columns[i][1] }, content)),
          ),
        ),
      ),
    ),
  );
}

/** A "Loading…" line with a spinner. */
export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), text);
}

/** An empty-state block. */
export function empty(title, ...children) {
  return h('div', { class: 'empty' }, h('p', { class: 'empty-title' }, title), ...children);
}
