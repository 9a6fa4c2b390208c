// /counters: every counter with its value, filtered by system, database and table; the
// table of counters is shared with a database's page.

import * as api from './api.js';
import { field, h, loading, onSubmit, table } from './dom.js';
import { button, errorBlock, exact, main, mono, pageHeader, splitKey } from './parts.js';

/** Counters sorted by key, one column per key part; `note` when there are none. */
export function countersTable(list, id, note) {
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

/** Filters live in the URL (`?system=&db=&table=`), so a filtered view can be linked. */
export async function countersPage(current) {
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
