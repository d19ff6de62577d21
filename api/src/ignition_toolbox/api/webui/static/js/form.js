// The run form, generated from a playbook's parameters, and the mapping of the API's validation
// errors back to the field they concern.

import { h, uid } from './dom.js';

// A field: {name, label, control, errorEl, read()}.
function field(label, control, { help, required, error } = {}) {
  const id = control.id || uid('f');
  control.id = id;
  const helpId = help ? `${id}-help` : null;
  const errorEl = error || h('p', { class: 'field-error', id: `${id}-error`, role: 'alert', hidden: true });
  const described = [helpId, errorEl.id].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  if (required) control.setAttribute('aria-required', 'true');
  const wrapper = h('div', { class: 'field' },
    h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    control,
    help ? h('p', { class: 'help', id: helpId }, help) : null,
    errorEl);
  return { wrapper, control, errorEl };
}

function switchControl(name, checked) {
  return h('input', { type: 'checkbox', role: 'switch', class: 'switch', name, checked: Boolean(checked) });
}

function credentialSelect(name, credentials, selected) {
  return h('select', { name },
    h('option', { value: '' }, '— none —'),
    credentials.map((c) => h('option', { value: c.name, selected: c.name === selected },
      c.gateway_url ? `${c.name} (${c.gateway_url})` : c.name)));
}

// Parse what the user typed into the JSON value the API expects. When the text is not a valid
// value of the type, it is sent as typed, and the API's message says what is wrong with it.
function readValue(param, control) {
  if (param.type === 'boolean' && !param.enum) return control.checked;
  const raw = control.value;
  if (raw === '') return undefined;
  if (param.enum) {
    const match = param.enum.find((v) => String(v) === raw);
    return match === undefined ? raw : match;
  }
  switch (param.type) {
    case 'integer':
    case 'float': {
      const n = Number(raw);
      return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
    }
    case 'list':
    case 'dict':
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

function parameterControl(param, credentials) {
  const name = `param-${param.name}`;
  if (param.enum) {
    return h('select', { name },
      param.required ? null : h('option', { value: '' }, '— default —'),
      param.enum.map((v) => h('option', { value: String(v), selected: param.default === v }, String(v))));
  }
  switch (param.type) {
    case 'boolean':
      return switchControl(name, param.default);
    case 'integer':
      return h('input', { name, type: 'number', step: '1', inputmode: 'numeric', value: param.default ?? '' });
    case 'float':
      return h('input', { name, type: 'number', step: 'any', inputmode: 'decimal', value: param.default ?? '' });
    case 'credential':
      return credentialSelect(name, credentials, param.default);
    case 'list':
    case 'dict':
      return h('textarea', {
        name, rows: 3, spellcheck: 'false', class: 'mono',
        value: param.default !== undefined ? JSON.stringify(param.default) : '',
      });
    case 'file':
      return h('input', {
        name, type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono',
        'data-file-parameter': 'true', placeholder: 'file name on the server', value: param.default ?? '',
      });
    default:
      return h('input', {
        name,
        type: param.secret ? 'password' : 'text',
        autocomplete: param.secret ? 'new-password' : 'off',
        spellcheck: 'false',
        value: param.secret ? '' : (param.default ?? ''),
      });
  }
}

function typeHint(param, canUpload) {
  const parts = [];
  if (param.description) parts.push(param.description);
  const type = {
    list: 'JSON list',
    dict: 'JSON object',
    file: canUpload
      ? `upload a ${acceptOf(param).join(' or ')} file, or name one in the server’s folders`
      : 'the name of a file in the server’s upload or configured folders',
  }[param.type];
  if (type) parts.push(`(${type})`);
  if (param.default !== undefined && param.type !== 'boolean' && !param.secret) {
    parts.push(`Default: ${JSON.stringify(param.default)}`);
  }
  return parts.join(' ');
}

// A parameter that names a file the steps read on the server (`type: file`). The caller who may
// upload modules gets an "Upload .modl…" picker next to the field; everyone else types the name
// of a file already in the server's folders.
export function isFileParameter(param) {
  return param.type === 'file' && !param.enum;
}

// The endings the playbook says the file parameter takes (`accept:`), modules when it says none.
function acceptOf(param) {
  return Array.isArray(param.accept) && param.accept.length ? param.accept : ['.modl'];
}

// A file picker next to the parameter: the chosen file is sent to the server, and the name
// the server stored it under becomes the parameter's value.
function uploadControl(param, control, upload, errorEl) {
  const endings = acceptOf(param);
  const picker = h('input', {
    type: 'file', accept: endings.join(','), class: 'sr-only', tabindex: '-1',
    'aria-label': `File to upload for ${param.name}`,
    'data-upload-for': param.name,
  });
  const status = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const button = h('button', { type: 'button', onclick: () => picker.click() },
    `Upload ${endings.join(' / ')}…`);
  picker.addEventListener('change', async () => {
    const file = picker.files && picker.files[0];
    if (!file) return;
    errorEl.hidden = true;
    control.removeAttribute('aria-invalid');
    status.textContent = `Uploading ${file.name}…`;
    button.disabled = true;
    try {
      const result = await upload(file);
      control.value = result.path;
      status.textContent = `Uploaded ${file.name} (${Math.round(result.size / 1024)} KiB).`;
    } catch (err) {
      status.textContent = '';
      errorEl.textContent = err.message;
      errorEl.hidden = false;
      control.setAttribute('aria-invalid', 'true');
    } finally {
      button.disabled = false;
      picker.value = '';
    }
  });
  return h('div', { class: 'upload-row' }, button, picker, status);
}

export function buildRunForm({ playbook, credentials, onSubmit, canRun, upload }) {
  const fields = new Map(); // name -> {control, errorEl}
  const paramFields = [];
  for (const param of playbook.parameters || []) {
    const control = parameterControl(param, credentials);
    const canUpload = Boolean(upload) && isFileParameter(param);
    const f = field(param.label || param.name, control, { help: typeHint(param, canUpload), required: param.required });
    if (canUpload) {
      f.wrapper.insertBefore(uploadControl(param, control, upload, f.errorEl), f.errorEl);
    }
    fields.set(`parameters.${param.name}`, f);
    paramFields.push({ param, control });
  }
  const gateway = field('Gateway URL', h('input', {
    name: 'gateway_url', type: 'url', placeholder: 'http://localhost:8088', autocomplete: 'url', spellcheck: 'false',
  }), { help: 'Leave empty to use the URL stored with the credential.' });
  const credential = field('Credential', credentialSelect('credential_name', credentials, ''),
    { help: 'A stored credential; its secrets stay on the server.' });
  const debug = field('Debug mode', switchControl('debug_mode', false),
    { help: 'Pause before every step; on failure, choose to retry or skip.' });
  fields.set('gateway_url', gateway);
  fields.set('credential_name', credential);
  fields.set('debug_mode', debug);

  const formError = h('div', { class: 'error-box', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary', disabled: !canRun }, 'Run playbook');
  const form = h('form', { class: 'run-form', novalidate: true, 'aria-labelledby': 'run-title' },
    h('h2', { id: 'run-title' }, 'Run'),
    paramFields.length ? h('fieldset', {}, h('legend', {}, 'Parameters'), paramFields.map(({ param }) => fields.get(`parameters.${param.name}`).wrapper)) : null,
    h('fieldset', {}, h('legend', {}, 'Target'), gateway.wrapper, credential.wrapper, debug.wrapper),
    formError,
    h('div', { class: 'actions' }, submit,
      canRun ? null : h('span', { class: 'muted' }, 'Your role cannot start executions.')));

  function clearErrors() {
    formError.hidden = true;
    formError.textContent = '';
    for (const f of fields.values()) {
      f.errorEl.hidden = true;
      f.errorEl.textContent = '';
      f.control.removeAttribute('aria-invalid');
    }
  }

  function showError(err) {
    const details = err.details || {};
    const shown = [];
    const entries = [];
    if (Array.isArray(details.errors)) {
      for (const e of details.errors) entries.push([e.path, e.message]);
    }
    if (details.field) entries.push([details.field, err.message]);
    if (!entries.length && details.path) entries.push([details.path, err.message]);
    for (const [key, message] of entries) {
      const f = fields.get(key) || fields.get(`parameters.${key}`);
      if (!f) continue;
      f.errorEl.hidden = false;
      f.errorEl.textContent = f.errorEl.textContent ? `${f.errorEl.textContent} ${message}` : message;
      f.control.setAttribute('aria-invalid', 'true');
      shown.push(f);
    }
    if (shown.length) {
      shown[0].control.focus();
    } else {
      formError.hidden = false;
      formError.textContent = err.message;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearErrors();
    const parameters = {};
    for (const { param, control } of paramFields) {
      const value = readValue(param, control);
      if (value !== undefined) parameters[param.name] = value;
    }
    const body = {
      playbook_path: playbook.path,
      parameters,
      debug_mode: debug.control.checked,
    };
    const url = gateway.control.value.trim();
    if (url) body.gateway_url = url;
    if (credential.control.value) body.credential_name = credential.control.value;
    submit.disabled = true;
    try {
      await onSubmit(body);
    } catch (err) {
      showError(err);
    } finally {
      submit.disabled = !canRun;
    }
  });

  return form;
}
