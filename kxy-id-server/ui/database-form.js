// The add / edit form of a database configuration, in a dialog, with the API's checks
// repeated so most mistakes are caught before a request.

import * as api from './api.js';
import { field, h, messageBox, modal, onSubmit, showFieldErrors, toast } from './dom.js';
import { DB_TYPES, databaseName, defaultPort } from './config.js';
import { button } from './parts.js';

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

/** Whether the browser's URL parser takes `text` as an IPv6 address. */
function isIpv6(text) {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

/** The add form (`existing` null) or the edit form; `onSaved` gets the saved configuration. */
export function openDatabaseForm(existing, onSaved) {
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
