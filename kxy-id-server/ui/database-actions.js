// What can be done to one configuration, on the list and on its own page: edit,
// initialize (with its report) and delete.

import * as api from './api.js';
import { confirmAction, h, toast } from './dom.js';
import { databaseName, typeLabel } from './config.js';
import { openDatabaseForm } from './database-form.js';
import { showInitReport } from './init-report.js';
import { button } from './parts.js';

/** Edit, Initialize and Delete (and View, on the list) for one configuration. */
export function databaseActions(config, { onChanged, onDeleted, view = true }) {
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

/** Asks, initializes, then shows the report. */
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

/** Asks (offering to purge the counters too), deletes, then calls `onDeleted`. */
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
