// /databases: every database configuration, with its actions, and the button that adds one.

import * as api from './api.js';
import { empty, h, loading, table } from './dom.js';
import { typeLabel } from './config.js';
import { databaseActions } from './database-actions.js';
import { openDatabaseForm } from './database-form.js';
import { button, errorBlock, main, mono, pageHeader } from './parts.js';

export async function databasesPage(current) {
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
