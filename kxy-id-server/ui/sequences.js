// Custom sequences: counters for IDs that are not a table's primary key (order numbers,
// invoice numbers), added on a database's page. Their keys need the configuration's
// database name.

import * as api from './api.js';
import { field, h, messageBox, onSubmit, showFieldErrors, toast } from './dom.js';
import { card, mono } from './parts.js';

/** The card of one database's page; `onAdded` runs after a sequence is created. */
export function customSequenceCard(config, onAdded) {
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
