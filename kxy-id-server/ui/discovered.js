// Discovered tables: on a database's page, the tables the scanner found with an integer
// primary key and no counter yet. Approving one sets its counter from the table's MAX(id).

import * as api from './api.js';
import { busy, h, loading, table, toast } from './dom.js';
import { button, card, errorBlock, exact, mono } from './parts.js';

/**
 * The card and its loader. `current()` says whether the page is still shown; `onApproved`
 * runs (with the reload of this list) after approvals, to refresh the counters.
 */
export function discoveredCard(config, current, onApproved) {
  const discoveredBody = h('div', {}, loading());
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
    await Promise.all([loadDiscovered(), onApproved()]);
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
      await Promise.all([loadDiscovered(), onApproved()]);
    });
    approveAllButton.disabled = discovered.length === 0;
  });
  const section = card(
    'Discovered tables',
    { id: 'discovered', actions: [refreshButton, approveAllButton], intro: 'The scanner lists tables with an integer primary key that have no counter yet. Approving one sets its counter from the table’s MAX(id).' },
    discoveredBody,
  );
  return { card: section, load: loadDiscovered };
}
