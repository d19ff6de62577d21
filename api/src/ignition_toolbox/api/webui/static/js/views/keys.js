// API keys: admins create (the key is shown once, with a copy button), list and revoke;
// everyone else sees and may revoke their own key.

import { api } from '../api.js';
import { clear, confirmDialog, emptyState, fmtTime, h, toast, uid } from '../dom.js';

const ROLES = ['readonly', 'executor', 'user', 'admin'];

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export async function renderKeys(root, _params, ctx) {
  const isAdmin = ctx.can('keys:manage');
  const tbody = h('tbody');
  const created = h('div', { id: 'new-key', 'aria-live': 'polite' });
  const nameId = uid('key-name');
  const roleId = uid('key-role');
  const daysId = uid('key-days');
  const formError = h('p', { class: 'field-error', role: 'alert', hidden: true });
  const nameInput = h('input', { id: nameId, name: 'name', required: true, autocomplete: 'off' });
  const roleSelect = h('select', { id: roleId, name: 'role' },
    ROLES.map((r) => h('option', { value: r, selected: r === 'executor' }, r)));
  const daysInput = h('input', { id: daysId, name: 'expires_in_days', type: 'number', min: 1, max: 365, value: 90 });
  const form = h('form', { id: 'key-form', class: 'card-form', novalidate: true, 'aria-labelledby': 'new-key-title' },
    h('h2', { id: 'new-key-title' }, 'New API key'),
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Name'), nameInput),
    h('div', { class: 'field' }, h('label', { for: roleId }, 'Role'), roleSelect),
    h('div', { class: 'field' }, h('label', { for: daysId }, 'Expires after (days)'), daysInput),
    formError,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create key')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.hidden = true;
    const days = Number(daysInput.value);
    try {
      const key = await api('/api/keys', {
        method: 'POST',
        json: { name: nameInput.value.trim(), role: roleSelect.value, expires_in_days: Number.isInteger(days) ? days : daysInput.value },
      });
      form.reset();
      daysInput.value = '90';
      showOnce(key);
      await load();
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
    }
  });

  function showOnce(key) {
    const outputId = uid('raw-key');
    const output = h('input', { id: outputId, class: 'mono', readonly: true, value: key.key, size: 40 });
    const status = h('span', { class: 'muted', 'aria-live': 'polite' });
    clear(created, h('div', { class: 'once', role: 'region', 'aria-label': 'Key created' },
      h('p', {}, h('strong', {}, `Key “${key.name}” (${key.role}) created.`), ' Copy it now: it is shown only once.'),
      h('label', { for: outputId, class: 'sr-only' }, 'The created key'),
      h('div', { class: 'copy-row' }, output,
        h('button', { type: 'button', class: 'primary', onclick: async () => {
          output.select();
          status.textContent = (await copyText(key.key)) ? 'Copied.' : 'Select the text and copy it.';
        } }, 'Copy'),
        h('button', { type: 'button', onclick: () => clear(created) }, 'Done')),
      status));
    output.focus();
    output.select();
  }

  async function revoke(k) {
    if (!(await confirmDialog(`Revoke the key “${k.name}”? Clients using it stop working at once.`, { confirmLabel: 'Revoke', danger: true }))) return;
    try {
      await api(`/api/keys/${encodeURIComponent(k.key_id)}`, { method: 'DELETE' });
      toast('Key revoked');
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function load() {
    const { keys } = await api('/api/keys');
    if (!keys.length) {
      clear(tbody, h('tr', {}, h('td', { colspan: 7 }, emptyState('No API keys. In local mode none are needed.'))));
      return;
    }
    clear(tbody, keys.map((k) => h('tr', { 'data-key-id': k.key_id },
      h('td', {}, k.name),
      h('td', {}, k.role),
      h('td', {}, h('code', {}, `${k.display_prefix}…`)),
      h('td', {}, fmtTime(k.created_at)),
      h('td', {}, fmtTime(k.expires_at)),
      h('td', {}, k.revoked ? 'revoked' : (k.active ? 'active' : 'expired'), k.last_used ? h('div', { class: 'small muted' }, `used ${fmtTime(k.last_used)}`) : null),
      h('td', { class: 'row-actions' }, k.revoked ? null : h('button', {
        type: 'button', class: 'danger small', 'aria-label': `Revoke key ${k.name}`, onclick: () => revoke(k),
      }, 'Revoke')))));
  }

  clear(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'API keys')),
    h('p', { class: 'muted' }, isAdmin ? 'Keys authenticate scripts, CI and other users. A key is shown once, when it is created.'
      : 'Your own key. Only admins create keys.'),
    created,
    h('div', { class: 'columns' },
      h('div', { class: 'col' }, h('div', { class: 'table-wrap' }, h('table', { id: 'keys-table' },
        h('caption', { class: 'sr-only' }, 'API keys'),
        h('thead', {}, h('tr', {}, ['Name', 'Role', 'Prefix', 'Created', 'Expires', 'Status', ''].map((t) => h('th', { scope: 'col' }, t)))),
        tbody))),
      isAdmin ? h('div', { class: 'col narrow' }, form) : null));
  await load();
  return null;
}
