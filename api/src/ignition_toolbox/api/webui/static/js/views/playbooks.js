// Playbooks: the library grouped by domain with search, and one playbook's details, run form,
// duplicate, edit and delete.

import { api, encodePath } from '../api.js';
import { clear, confirmDialog, emptyState, h, toast } from '../dom.js';
import { buildRunForm } from '../form.js';
import { navigate } from '../router.js';

export async function renderPlaybooks(root, _params, ctx) {
  const { playbooks } = await api('/api/playbooks');
  if (ctx.stale()) return null;
  const search = h('input', {
    id: 'playbook-search', type: 'search', placeholder: 'Search by name, description or path',
    autocomplete: 'off', 'aria-controls': 'playbook-groups',
  });
  const count = h('p', { class: 'muted', 'aria-live': 'polite', id: 'playbook-count' });
  const groups = h('div', { id: 'playbook-groups' });
  const actions = [];
  if (ctx.can('playbooks:write')) {
    actions.push(h('button', { type: 'button', onclick: () => newPlaybook() }, 'New playbook'));
  }
  clear(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Playbooks'), h('div', { class: 'actions' }, actions)),
    h('div', { class: 'toolbar' }, h('label', { for: 'playbook-search', class: 'sr-only' }, 'Search playbooks'), search, count),
    groups);

  function draw() {
    const q = search.value.trim().toLowerCase();
    const words = q.split(/\s+/).filter(Boolean);
    const shown = playbooks.filter((p) => {
      const text = [p.name, p.description, p.path, p.domain].join(' ').toLowerCase();
      return words.every((w) => text.includes(w));
    });
    const byDomain = new Map();
    for (const p of shown) {
      const domain = p.domain || 'other';
      if (!byDomain.has(domain)) byDomain.set(domain, []);
      byDomain.get(domain).push(p);
    }
    count.textContent = `${shown.length} of ${playbooks.length} playbooks`;
    if (!shown.length) {
      clear(groups, emptyState(q ? 'No playbook matches this search.' : 'No playbooks yet.'));
      return;
    }
    clear(groups, [...byDomain.keys()].sort().map((domain) => h('section', { class: 'domain', 'aria-labelledby': `domain-${domain}` },
      h('h2', { id: `domain-${domain}` }, domain, h('span', { class: 'count' }, ` ${byDomain.get(domain).length}`)),
      h('ul', { class: 'cards' }, byDomain.get(domain).map((p) => h('li', { class: 'card' },
        h('a', { href: `#/playbooks/${encodeURI(p.path)}`, class: 'card-link' },
          h('span', { class: 'card-title' }, p.name || p.path)),
        h('p', { class: 'card-desc' }, p.description || ''),
        h('p', { class: 'card-meta' },
          h('code', {}, p.path),
          p.version ? h('span', {}, ` · v${p.version}`) : null,
          p.writable ? h('span', { class: 'badge' }, 'editable') : null,
          p.valid === false ? h('span', { class: 'badge status-failed', title: p.error || '' }, 'invalid') : null)))))));
  }
  search.addEventListener('input', draw);
  draw();

  async function newPlaybook() {
    const path = window.prompt('Path of the new playbook (for example my/check.yaml)', 'custom/new-playbook.yaml');
    if (path) navigate(`/edit/${path}?new=1`);
  }
  return null;
}

export async function renderPlaybook(root, { path }, ctx) {
  const [playbook, credentials] = await Promise.all([
    api(`/api/playbooks/${encodePath(path)}`),
    api('/api/credentials').then((b) => b.credentials).catch(() => []),
  ]);
  if (ctx.stale()) return null;
  const canWrite = ctx.can('playbooks:write');
  const actions = h('div', { class: 'actions' });
  if (canWrite) {
    actions.append(h('button', { type: 'button', onclick: () => duplicate() }, 'Duplicate'));
    if (playbook.writable) {
      actions.append(
        h('a', { class: 'button', href: `#/edit/${encodeURI(playbook.path)}` }, 'Edit YAML'),
        h('button', { type: 'button', class: 'danger', onclick: () => remove() }, 'Delete'));
    }
  }
  const form = buildRunForm({
    playbook,
    credentials,
    canRun: ctx.can('executions:control'),
    upload: ctx.can('modules:upload')
      ? (file) => api(`/api/uploads?fileName=${encodeURIComponent(file.name)}`, {
        method: 'POST', body: file, contentType: 'application/octet-stream',
      })
      : null,
    onSubmit: async (body) => {
      const started = await api('/api/executions', { method: 'POST', json: body });
      toast(`Started ${started.playbook_name}`);
      navigate(`/executions/${started.execution_id}`);
    },
  });
  clear(root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/playbooks' }, 'Playbooks'), ' / ', playbook.domain || ''),
    h('div', { class: 'page-head' },
      h('div', {}, h('h1', {}, playbook.name), h('p', { class: 'muted' }, h('code', {}, playbook.path),
        playbook.version ? ` · version ${playbook.version}` : '',
        playbook.writable ? ' · editable' : ' · read-only (shipped)')),
      actions),
    h('div', { class: 'columns' },
      h('div', { class: 'col' },
        playbook.description ? h('p', { class: 'description' }, playbook.description) : null,
        h('h2', {}, 'Parameters'),
        (playbook.parameters || []).length ? h('div', { class: 'table-wrap' }, h('table', {},
          h('thead', {}, h('tr', {}, ['Name', 'Type', 'Required', 'Default', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, playbook.parameters.map((p) => h('tr', {},
            h('td', {}, h('code', {}, p.name)),
            h('td', {}, p.enum ? `enum: ${p.enum.join(', ')}` : p.type, p.secret ? ' (secret)' : ''),
            h('td', {}, p.required ? 'yes' : 'no'),
            h('td', {}, p.default !== undefined ? JSON.stringify(p.default) : ''),
            h('td', {}, p.description || '')))))) : emptyState('No parameters.'),
        h('h2', {}, `Steps (${(playbook.steps || []).length})`),
        h('ol', { class: 'step-list' }, (playbook.steps || []).map((s) => h('li', {},
          h('span', { class: 'step-name' }, s.name || s.id), ' ',
          h('code', { class: 'muted' }, s.type)))),
        (playbook.finally || []).length ? [h('h3', {}, 'Finally'), h('ol', { class: 'step-list' },
          playbook.finally.map((s) => h('li', {}, s.name || s.id, ' ', h('code', { class: 'muted' }, s.type))))] : null),
      h('div', { class: 'col' }, form)));

  async function duplicate() {
    const name = window.prompt('Name of the copy', `${playbook.name} (copy)`);
    if (!name) return;
    try {
      const result = await api('/api/playbooks/duplicate', { method: 'POST', json: { source_path: playbook.path, new_name: name } });
      toast(result.message);
      navigate(`/playbooks/${result.new_path}`);
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  async function remove() {
    if (!(await confirmDialog(`Delete the playbook ${playbook.path}? This cannot be undone.`, { confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api(`/api/playbooks/${encodePath(playbook.path)}`, { method: 'DELETE' });
      toast('Playbook deleted');
      navigate('/playbooks');
    } catch (err) {
      toast(err.message, 'error');
    }
  }
  return null;
}
