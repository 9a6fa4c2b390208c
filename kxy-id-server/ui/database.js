// /databases/{guid}: one configuration: its connection, custom sequences, discovered
// tables and counters, and its actions.

import * as api from './api.js';
import { h, loading } from './dom.js';
import { databaseName, typeLabel } from './config.js';
import { countersTable } from './counters.js';
import { databaseActions } from './database-actions.js';
import { discoveredCard } from './discovered.js';
import { navigate, rerender } from './nav.js';
import { card, errorBlock, main, mono, pageHeader } from './parts.js';
import { customSequenceCard } from './sequences.js';

export async function databasePage(current, guid) {
  main.append(pageHeader('Database', null), loading());
  let config;
  try {
    config = (await api.getDatabase(guid)).data;
  } catch (e) {
    if (!current() || e.name === 'AuthError') return;
    main.replaceChildren(
      pageHeader(e.code === 404 ? 'Database not found' : 'Database', null),
      errorBlock(e, e.code === 404 ? null : () => rerender()),
      h('p', {}, h('a', { href: '/databases', 'data-link': true }, '← All databases')),
    );
    return;
  }
  if (!current()) return;
  const reload = () => rerender();
  const countersBody = h('div', {}, loading());

  const loadCounters = async () => {
    try {
      const list = (await api.counters(config.system_code, config.db_name || '')).data;
      if (!current()) return;
      countersBody.replaceChildren(countersTable(list, 'db-counters-table'));
    } catch (e) {
      if (current() && e.name !== 'AuthError') countersBody.replaceChildren(errorBlock(e, loadCounters));
    }
  };

  const discovered = discoveredCard(config, current, loadCounters);

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
    discovered.card,
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
  await Promise.all([discovered.load(), loadCounters()]);
}
