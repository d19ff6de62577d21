// Plugins and step types: a reference generated from the step schemas the server reports.

import { api } from '../api.js';
import { clear, emptyState, h } from '../dom.js';

function typeOf(schema) {
  if (!schema || typeof schema !== 'object') return '';
  if (schema.enum) return `one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  if (Array.isArray(schema.type)) return schema.type.join(' | ');
  if (schema.type === 'array' && schema.items) return `list of ${typeOf(schema.items) || 'values'}`;
  if (schema.anyOf || schema.oneOf) return (schema.anyOf || schema.oneOf).map(typeOf).filter(Boolean).join(' | ');
  return schema.type || 'any';
}

function limits(schema) {
  const out = [];
  if (schema.minimum !== undefined) out.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) out.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) out.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) out.push(`min length ${schema.minLength}`);
  if (schema.maxLength !== undefined) out.push(`max length ${schema.maxLength}`);
  if (schema.pattern) out.push(`pattern ${schema.pattern}`);
  return out.join(', ');
}

function propertiesTable(schema, caption, withRequired = true) {
  const props = schema?.properties || {};
  const names = Object.keys(props);
  if (!names.length) return emptyState(`${caption}: none.`);
  const required = new Set(schema.required || []);
  const head = ['Name', 'Type', ...(withRequired ? ['Required', 'Default'] : []), 'Description'];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'schema' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, head.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, names.map((name) => {
      const p = props[name];
      return h('tr', {},
        h('td', {}, h('code', {}, name)),
        h('td', {}, typeOf(p), limits(p) ? h('div', { class: 'small muted' }, limits(p)) : null),
        withRequired ? [h('td', {}, required.has(name) ? 'yes' : ''), h('td', {}, p.default !== undefined ? h('code', {}, JSON.stringify(p.default)) : '')] : null,
        h('td', {}, p.description || ''));
    }))));
}

export async function renderReference(root, _params, ctx) {
  const [{ step_types: types }, { plugins }] = await Promise.all([api('/api/step-types'), api('/api/plugins')]);
  if (ctx.stale()) return null;
  const search = h('input', { id: 'step-search', type: 'search', placeholder: 'Filter step types', autocomplete: 'off' });
  const list = h('div', { id: 'step-types' });
  const index = h('nav', { class: 'toc', 'aria-label': 'Step types' });

  function draw() {
    const q = search.value.trim().toLowerCase();
    const shown = types.filter((t) => !q || `${t.name} ${t.summary} ${t.description}`.toLowerCase().includes(q));
    const domains = [...new Set(shown.map((t) => t.domain || t.name.split('.')[0]))].sort();
    clear(index, domains.map((d) => h('div', {}, h('strong', {}, d), h('ul', {},
      shown.filter((t) => (t.domain || t.name.split('.')[0]) === d).map((t) => h('li', {}, h('a', { href: `#/reference`, 'data-target': t.name, onclick: (e) => { e.preventDefault(); document.getElementById(`step-${t.name}`)?.scrollIntoView(); document.getElementById(`step-${t.name}`)?.focus(); } }, t.name)))))));
    clear(list, shown.length ? shown.map((t) => h('article', { class: 'step-type', id: `step-${t.name}`, tabindex: '-1', 'aria-labelledby': `st-${t.name}` },
      h('h3', { id: `st-${t.name}` }, h('code', {}, t.name)),
      h('p', {}, t.summary),
      t.description ? h('p', { class: 'muted' }, t.description) : null,
      h('p', { class: 'small muted' }, `Plugin: ${t.plugin || '?'}`, (t.resources || []).length ? ` · needs: ${t.resources.join(', ')}` : ''),
      propertiesTable(t.parameters, 'Parameters'),
      propertiesTable(t.output, 'Output', false))) : emptyState('No step type matches.'));
  }
  search.addEventListener('input', draw);

  clear(root,
    h('div', { class: 'page-head' }, h('h1', {}, 'Plugins and step types')),
    h('h2', {}, 'Installed plugins'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'plugins-table' },
      h('thead', {}, h('tr', {}, ['Plugin', 'Distribution', 'Version', 'Resources', 'Step types'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, plugins.map((p) => h('tr', {},
        h('td', {}, h('strong', {}, p.name)),
        h('td', {}, p.distribution || ''),
        h('td', {}, p.version || ''),
        h('td', {}, (p.resources || []).join(', ')),
        h('td', {}, String((p.step_types || []).length))))))),
    h('h2', {}, `Step types (${types.length})`),
    h('div', { class: 'toolbar' }, h('label', { for: 'step-search', class: 'sr-only' }, 'Filter step types'), search),
    h('div', { class: 'reference' }, index, list));
  draw();
  return null;
}
