// Credentials: list, create, delete. Secrets go to the server and are never shown back: the form
// fields are cleared after saving and the list shows no secret column at all.

import { api } from '../api.js';
import { clear, confirmDialog, emptyState, h, toast, uid } from '../dom.js';

function input(name, label, attrs = {}, help = '') {
  const id = uid(`cred-${name}`);
  const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
  const control = h('input', { id, name, 'aria-describedby': `${id}-error${help ? ` ${id}-help` : ''}`, ...attrs });
  return {
    control, error, wrapper: h('div', { class: 'field' }, h('label', { for: id }, label), control,
      help ? h('p', { class: 'help', id: `${id}-help` }, help) : null, error),
  };
}

export async function renderCredentials(root, _params, ctx) {
  const canWrite = ctx.can('credentials:write');
  const tbody = h('tbody');
  const fields = {
    name: input('name', 'Name', { required: true, autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}' },
      'Letters, digits, “.”, “_” or “-”.'),
    username: input('username', 'Username', { autocomplete: 'off', spellcheck: 'false' }),
    password: input('password', 'Password', { type: 'password', required: true, autocomplete: 'new-password' }),
    api_token: input('api_token', 'Gateway API token', { type: 'password', autocomplete: 'new-password' },
      'Optional: an Ignition API token (name:secret) for the gateway REST API.'),
    gateway_url: input('gateway_url', 'Gateway URL', { type: 'url', autocomplete: 'off', spellcheck: 'false', placeholder: 'http://localhost:8088' },
      'The credential is only used against this gateway.'),
    description: input('description', 'Description', { autocomplete: 'off' }),
  };
  const formError = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const form = h('form', { id: 'credential-form', class: 'card-form', novalidate: true, 'aria-labelledby': 'new-cred-title' },
    h('h2', { id: 'new-cred-title' }, 'New credential'),
    Object.values(fields).map((f) => f.wrapper),
    formError,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save credential')));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.hidden = true;
    for (const f of Object.values(fields)) { f.error.hidden = true; f.control.removeAttribute('aria-invalid'); }
    const body = {};
    for (const [key, f] of Object.entries(fields)) {
      const value = f.control.value;
      if (value !== '') body[key] = key === 'password' || key === 'api_token' ? value : value.trim();
    }
    try {
      const result = await api('/api/credentials', { method: 'POST', json: body });
      // Forget the secrets at once: the inputs are emptied, and nothing keeps a copy.
      form.reset();
      toast(result.message);
      await load();
      fields.name.control.focus();
    } catch (err) {
      fields.password.control.value = '';
      fields.api_token.control.value = '';
      const f = fields[err.details?.field];
      if (f) {
        f.error.textContent = err.message;
        f.error.hidden = false;
        f.control.setAttribute('aria-invalid', 'true');
        f.control.focus();
      } else {
        formError.textContent = err.message;
        formError.hidden = false;
      }
    }
  });

  async function remove(name) {
    if (!(await confirmDialog(`Delete the credential “${name}”? Playbooks that use it will fail.`, { confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api(`/api/credentials/${encodeURIComponent(name)}`, { method: 'DELETE' });
      toast('Credential deleted');
      await load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function load() {
    const { credentials } = await api('/api/credentials');
    if (!credentials.length) {
      clear(tbody, h('tr', {}, h('td', { colspan: 5 }, emptyState('No credentials stored.'))));
      return;
    }
    clear(tbody, credentials.map((c) => h('tr', { 'data-credential': c.name },
      h('td', {}, h('strong', {}, c.name)),
      h('td', {}, c.username || ''),
      h('td', {}, c.gateway_url || ''),
      h('td', {}, c.description || ''),
      h('td', { class: 'row-actions' }, canWrite ? h('button', {
        type: 'button', class: 'danger small', 'aria-label': `Delete credential ${c.name}`, onclick: () => remove(c.name),
      }, 'Delete') : null))));
  }

  clear(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Credentials')),
    h('p', { class: 'muted' }, 'Secrets are encrypted on the server and never shown again, not even masked.'),
    h('div', { class: 'columns' },
      h('div', { class: 'col' }, h('div', { class: 'table-wrap' }, h('table', { id: 'credentials-table' },
        h('caption', { class: 'sr-only' }, 'Stored credentials'),
        h('thead', {}, h('tr', {}, ['Name', 'Username', 'Gateway', 'Description', ''].map((t) => h('th', { scope: 'col' }, t)))),
        tbody))),
      canWrite ? h('div', { class: 'col' }, form) : null));
  await load();
  return null;
}
