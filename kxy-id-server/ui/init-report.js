// The initialize report: what initializing a database did to each of its tables, in a
// dialog with one section per outcome.

import { h, modal, table } from './dom.js';
import { databaseName } from './config.js';
import { exact, mono } from './parts.js';

/** The report of `POST /api/database/initialize/{guid}`: counters set, already ahead, skipped, errors. */
export function showInitReport(config, response) {
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
