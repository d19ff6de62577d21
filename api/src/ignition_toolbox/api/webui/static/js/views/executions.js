// Executions: a live list with status filters, progress (current step of total) and delete.

import { api } from '../api.js';
import { clear, confirmDialog, debounce, emptyState, fmtDuration, fmtTime, h, statusBadge, toast } from '../dom.js';

const FILTERS = ['all', 'pending', 'running', 'paused', 'completed', 'failed', 'cancelled', 'interrupted'];
const ACTIVE = new Set(['pending', 'running', 'paused']);
const LIMIT = 100;

export async function renderExecutions(root, _params, ctx) {
  const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('status');
  let filter = FILTERS.includes(wanted) ? wanted : 'all';
  let rows = [];
  const canDelete = ctx.can('executions:delete');
  const tbody = h('tbody');
  const note = h('p', { class: 'muted', 'aria-live': 'polite' });
  const filterBar = h('div', { class: 'filters', role: 'group', 'aria-label': 'Filter by status' },
    FILTERS.map((f) => h('button', {
      type: 'button', 'data-filter': f, 'aria-pressed': String(f === filter),
      onclick: () => { filter = f; updatePressed(); load(); },
    }, f)));
  function updatePressed() {
    for (const b of filterBar.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.filter === filter));
  }
  const table = h('div', { class: 'table-wrap' }, h('table', { id: 'executions-table' },
    h('caption', { class: 'sr-only' }, 'Executions, newest first'),
    h('thead', {}, h('tr', {}, ['Playbook', 'Status', 'Progress', 'Started', 'Duration', ''].map((t) => h('th', { scope: 'col' }, t)))),
    tbody));
  clear(root, h('div', { class: 'page-head' }, h('h1', {}, 'Executions')), filterBar, note, table);

  function row(e) {
    const total = e.total_steps || 0;
    const active = ACTIVE.has(e.status);
    const current = active ? Math.min(total, (e.current_step_index || 0) + 1) : total;
    return h('tr', { 'data-execution-id': e.execution_id, 'data-status': e.status },
      h('td', {}, h('a', { href: `#/executions/${e.execution_id}` }, e.playbook_name),
        h('div', { class: 'muted small' }, h('code', {}, e.execution_id.slice(0, 8)), e.debug_mode ? ' · debug' : '')),
      h('td', {}, statusBadge(e.status)),
      h('td', {}, active
        ? [h('progress', { max: Math.max(1, total), value: Math.max(0, current - 1), 'aria-label': `Step ${current} of ${total}` }), ' ', h('span', { class: 'small' }, `step ${current} of ${total}`)]
        : h('span', { class: 'small muted' }, `${total} steps`)),
      h('td', {}, fmtTime(e.started_at)),
      h('td', {}, fmtDuration(e.started_at, e.completed_at)),
      h('td', { class: 'row-actions' },
        canDelete && !active ? h('button', {
          type: 'button', class: 'danger small', 'aria-label': `Delete execution ${e.execution_id.slice(0, 8)} of ${e.playbook_name}`,
          onclick: () => remove(e),
        }, 'Delete') : null));
  }

  function draw() {
    note.textContent = `${rows.length} execution${rows.length === 1 ? '' : 's'}${filter === 'all' ? '' : ` ${filter}`}`;
    if (!rows.length) {
      clear(tbody, h('tr', {}, h('td', { colspan: 6 }, emptyState('No executions.'))));
      return;
    }
    clear(tbody, rows.map(row));
  }

  // Answers can arrive out of order (the first load racing a filter click): only the newest
  // request's answer is drawn.
  let latest = 0;
  async function load() {
    const mine = ++latest;
    const query = filter === 'all' ? `?limit=${LIMIT}` : `?limit=${LIMIT}&status=${filter}`;
    try {
      const result = await api(`/api/executions${query}`);
      if (mine !== latest) return;
      rows = result;
      draw();
    } catch (err) {
      if (mine === latest) note.textContent = err.message;
    }
  }
  const loadSoon = debounce(load, 250);

  async function remove(e) {
    if (!(await confirmDialog(`Delete the execution of ${e.playbook_name} (${e.execution_id.slice(0, 8)})?`, { confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api(`/api/executions/${e.execution_id}`, { method: 'DELETE' });
      toast('Execution deleted');
      load();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  function onMessage(event) {
    const message = event.detail;
    if (message.type !== 'execution_update') return;
    const data = message.data;
    const existing = rows.find((r) => r.execution_id === data.execution_id);
    if (existing && (filter === 'all' || filter === data.status)) {
      existing.status = data.status;
      existing.current_step_index = data.current_step_index;
      if (data.total_steps) existing.total_steps = data.total_steps;
      const tr = tbody.querySelector(`tr[data-execution-id="${CSS.escape(data.execution_id)}"]`);
      if (tr) tr.replaceWith(row(existing));
      if (!ACTIVE.has(data.status)) loadSoon(); // completed_at and duration
    } else {
      loadSoon();
    }
  }
  ctx.ws.addEventListener('message', onMessage);
  const poll = setInterval(() => { if (ctx.ws.state !== 'online') load(); }, 5000);
  await load();
  return () => {
    ctx.ws.removeEventListener('message', onMessage);
    clearInterval(poll);
  };
}
