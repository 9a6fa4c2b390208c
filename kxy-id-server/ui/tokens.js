// /tokens: allocation tokens per system code. A token is shown once, when it is created;
// the server keeps only its hash. Allocation needs one only when the server runs with
// --require-allocation-tokens.

import * as api from './api.js';
import { confirmAction, field, h, loading, messageBox, onSubmit, table, toast } from './dom.js';
import { button, errorBlock, main, mono, pageHeader } from './parts.js';

function tokensTable(list, reload) {
  if (list.length === 0) return h('p', { class: 'muted' }, 'No allocation tokens.');
  return table({
    id: 'tokens-table',
    className: 'responsive',
    columns: [['System code'], ['Id'], ['Created'], ['']],
    rows: list.map((t) => ({
      attrs: { dataset: { id: t.id } },
      cells: [
        t.system_code,
        mono(t.id),
        new Date(t.created_at * 1000).toLocaleString(),
        button('Revoke', { small: true, kind: 'danger-outline', 'data-action': 'revoke', 'aria-label': `Revoke token ${t.id}`, onclick: () => revoke(t, reload) }),
      ],
    })),
  });
}

function revoke(token, reload) {
  confirmAction({
    title: `Revoke token ${token.id}`,
    message: [`Clients of ${token.system_code} that use this token can no longer allocate where tokens are required.`],
    confirmLabel: 'Revoke',
    busyLabel: 'Revoking…',
    danger: true,
    action: () => api.revokeToken(token.id),
  }).then((response) => {
    if (response) {
      toast(response.msg || 'Revoked');
      reload();
    }
  });
}

export async function tokensPage(current) {
  const system = field({ label: 'System code', id: 'token-system', required: true, attrs: { autocomplete: 'off', spellcheck: 'false' } });
  const message = messageBox();
  const shown = h('div', { id: 'new-token' });
  const form = h(
    'form',
    { id: 'token-form', class: 'filters', novalidate: true },
    system.wrap,
    h('div', { class: 'filter-buttons' }, h('button', { type: 'submit', class: 'button button-primary' }, 'Create token')),
  );
  const body = h('div', {}, loading());
  main.append(
    pageHeader('Allocation tokens', 'Bearer tokens that let a system code allocate IDs when the server requires them.'),
    h('section', { class: 'card' }, form, message.el, shown),
    h('section', { class: 'card card-flush' }, body),
  );
  const load = async () => {
    body.replaceChildren(loading());
    try {
      const list = (await api.listTokens()).data;
      if (current()) body.replaceChildren(tokensTable(list, load));
    } catch (e) {
      if (current() && e.name !== 'AuthError') body.replaceChildren(errorBlock(e, load));
    }
  };
  onSubmit(form, 'Creating…', async () => {
    message.clear();
    shown.replaceChildren();
    try {
      const response = await api.createToken(system.input.value.trim());
      shown.replaceChildren(
        h('p', {}, `Token for ${response.data.system_code}. Copy it now: it is not shown again.`),
        h('p', {}, mono(response.data.token)),
      );
      system.input.value = '';
      await load();
    } catch (e) {
      if (e.name !== 'AuthError') message.show(e.message || String(e));
    }
  });
  await load();
}
