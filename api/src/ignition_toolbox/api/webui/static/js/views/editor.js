// The YAML editor: a textarea with a line gutter; the API validates on save and its errors are
// shown at their line.

import { api, apiText, encodePath } from '../api.js';
import { clear, h, toast } from '../dom.js';
import { navigate } from '../router.js';

const TEMPLATE = `name: New playbook
version: "1.0"
description: What this playbook does
parameters: []
steps:
  - id: hello
    type: utility.log
    parameters:
      message: Hello
`;

export async function renderEditor(root, { path: raw }, ctx) {
  const isNew = raw.endsWith('?new=1');
  const path = isNew ? raw.slice(0, -'?new=1'.length) : raw;
  const text = isNew ? TEMPLATE : await apiText(`/api/playbooks/${encodePath(path)}/export`);
  if (ctx.stale()) return null;
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const area = h('textarea', {
    id: 'yaml-editor', class: 'mono code-area', spellcheck: 'false', wrap: 'off',
    autocapitalize: 'off', 'aria-describedby': 'yaml-errors', value: text,
  });
  const errors = h('div', { id: 'yaml-errors', class: 'yaml-errors', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit', class: 'primary', disabled: !ctx.can('playbooks:write') }, 'Save');
  let badLines = new Set();

  function drawGutter() {
    const lines = area.value.split('\n').length;
    clear(gutter, Array.from({ length: lines }, (_, i) => h('div', {
      class: badLines.has(i + 1) ? 'bad' : '',
    }, String(i + 1))));
    gutter.scrollTop = area.scrollTop;
  }
  area.addEventListener('input', drawGutter);
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener('keydown', (event) => {
    if (event.key === 'Tab' && !event.shiftKey && !event.ctrlKey && !event.altKey && !event.metaKey) {
      // Two spaces, as YAML wants; Esc then Tab still leaves the editor (keyboard users).
      if (area.dataset.escaped === '1') { area.dataset.escaped = ''; return; }
      event.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      drawGutter();
    } else if (event.key === 'Escape') {
      area.dataset.escaped = '1';
    }
  });

  function goToLine(line, column = 1) {
    const lines = area.value.split('\n');
    let offset = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
    offset += Math.max(0, column - 1);
    area.focus();
    area.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (line - 3) * lineHeight);
  }

  function showErrors(err) {
    const details = err.details || {};
    const list = Array.isArray(details.errors) && details.errors.length
      ? details.errors
      : [{ line: details.line, column: details.column, message: err.message, path: details.path }];
    badLines = new Set(list.map((e) => e.line).filter(Boolean));
    drawGutter();
    clear(errors,
      h('div', { class: 'error-box', role: 'alert' },
        h('p', {}, `The playbook was not saved: ${list.length} problem${list.length === 1 ? '' : 's'}.`),
        h('ul', {}, list.map((e) => h('li', {},
          e.line ? h('button', { type: 'button', class: 'link', onclick: () => goToLine(e.line, e.column) },
            `Line ${e.line}${e.column ? `, column ${e.column}` : ''}`) : null,
          e.line ? ': ' : '', e.path ? h('code', {}, e.path) : null, e.path ? ' ' : '', e.message)))));
    const first = list.find((e) => e.line);
    if (first) goToLine(first.line, first.column);
  }

  const form = h('form', { class: 'editor-form', novalidate: true },
    h('label', { for: 'yaml-editor' }, `YAML of ${path}`),
    h('div', { class: 'editor' }, gutter, area),
    errors,
    h('div', { class: 'actions' }, save,
      h('a', { class: 'button', href: isNew ? '#/playbooks' : `#/playbooks/${encodeURI(path)}` }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    badLines = new Set();
    clear(errors);
    drawGutter();
    save.disabled = true;
    try {
      const result = await api(`/api/playbooks/${encodePath(path)}`, {
        method: 'PUT', body: area.value, contentType: 'application/yaml',
      });
      toast(result.message);
      navigate(`/playbooks/${path}`);
    } catch (err) {
      showErrors(err);
    } finally {
      save.disabled = false;
    }
  });
  clear(root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/playbooks' }, 'Playbooks'), ' / ', path),
    h('h1', {}, isNew ? 'New playbook' : 'Edit playbook'),
    form);
  drawGutter();
  return null;
}
