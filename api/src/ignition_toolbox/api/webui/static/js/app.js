// Bootstrap: auth prompt, the live socket, the footer (health, version, connection) and the router.

import { api, apiEvents, ApiError } from './api.js';
import { can, clearKey, getKey, isLocal, loadMe, session, sessionSignature, setKey } from './auth.js';
import { clear, errorBox, h } from './dom.js';
import { Router } from './router.js';
import { LiveSocket } from './ws.js';
import { renderPlaybooks, renderPlaybook } from './views/playbooks.js';
import { renderEditor } from './views/editor.js';
import { renderExecutions } from './views/executions.js';
import { renderExecution } from './views/execution.js';
import { renderCredentials } from './views/credentials.js';
import { renderKeys } from './views/keys.js';
import { renderReference } from './views/reference.js';

const ws = new LiveSocket();
ws.canConnect = () => !session.required || Boolean(getKey());
const main = document.getElementById('main');

function setActiveNav(name) {
  for (const link of document.querySelectorAll('#nav a')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function showError(root, err) {
  if (err instanceof ApiError && err.status === 401) {
    clear(root, h('h1', {}, 'API key required'), h('p', {}, 'This server requires an API key.'),
      h('button', { class: 'primary', onclick: () => askForKey() }, 'Enter API key'));
    return;
  }
  clear(root, h('h1', {}, 'Something went wrong'), errorBox(err));
}

const ctx = { api, ws, session, can, setActiveNav, showError };

const router = new Router(main, [
  { pattern: /^\/playbooks\/?$/, view: renderPlaybooks, nav: 'playbooks' },
  { pattern: /^\/playbooks\/(?<path>.+)$/, view: renderPlaybook, nav: 'playbooks' },
  { pattern: /^\/edit\/(?<path>.+)$/, view: renderEditor, nav: 'playbooks' },
  { pattern: /^\/executions\/?$/, view: renderExecutions, nav: 'executions' },
  { pattern: /^\/executions\/(?<id>[^/]+)$/, view: renderExecution, nav: 'executions' },
  { pattern: /^\/credentials\/?$/, view: renderCredentials, nav: 'credentials' },
  { pattern: /^\/keys\/?$/, view: renderKeys, nav: 'keys' },
  { pattern: /^\/reference\/?$/, view: renderReference, nav: 'reference' },
], ctx);

// -- auth -----------------------------------------------------------------------------------------

let keyDialog = null;

function askForKey(message) {
  if (keyDialog) return;
  const input = h('input', {
    id: 'api-key-input', type: 'password', autocomplete: 'off', spellcheck: 'false',
    required: true, placeholder: 'itk_…', 'aria-describedby': 'api-key-help',
  });
  const error = h('p', { class: 'field-error', id: 'api-key-error', role: 'alert' }, message || '');
  keyDialog = h('dialog', { class: 'modal', 'aria-labelledby': 'api-key-title' },
    h('form', { method: 'dialog', novalidate: true },
      h('h2', { id: 'api-key-title' }, 'API key required'),
      h('p', { id: 'api-key-help' },
        'This server requires an API key. It is kept for this browser tab only and forgotten when the tab closes.'),
      h('label', { for: 'api-key-input' }, 'API key'),
      input,
      error,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', value: 'ok' }, 'Use this key'))));
  keyDialog.addEventListener('cancel', (event) => event.preventDefault());
  keyDialog.querySelector('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) {
      error.textContent = 'Enter a key.';
      return;
    }
    setKey(key);
    try {
      await loadMe(api);
    } catch (err) {
      clearKey();
      error.textContent = err instanceof ApiError && err.status === 401
        ? 'The server did not accept this key.' : err.message;
      return;
    }
    keyDialog.close();
    keyDialog.remove();
    keyDialog = null;
    renderSession();
    ws.restart();
    router.render();
  });
  document.body.append(keyDialog);
  keyDialog.showModal();
  input.focus();
}

apiEvents.addEventListener('unauthorized', () => {
  const hadKey = Boolean(getKey());
  if (hadKey) clearKey();
  ws.stop();
  renderSession();
  askForKey(hadKey ? 'The key was not accepted (expired or revoked?).' : '');
});

// A 403 may mean the key's role changed under us (an admin edited it): read /api/me again and,
// when the permissions differ, redraw the session and the view with the controls that now work.
let lastMeCheck = 0;
apiEvents.addEventListener('forbidden', async () => {
  if (Date.now() - lastMeCheck < 5000) return;
  lastMeCheck = Date.now();
  const before = sessionSignature();
  try {
    await loadMe(api);
  } catch {
    return; // a 401 is handled by its own listener
  }
  if (sessionSignature() !== before) {
    renderSession();
    router.render();
  }
});

function renderSession() {
  const box = document.getElementById('session');
  const children = [];
  if (session.role) {
    children.push(h('span', {
      class: 'who', id: 'session-who', title: 'Your role on this server',
      'data-role': session.role, 'data-permissions': [...session.permissions].sort().join(' '),
    }, isLocal() ? `Local mode (${session.role})` : `${session.keyName || 'key'} · ${session.role}`));
  }
  if (getKey()) {
    children.push(h('button', {
      class: 'link', type: 'button',
      onclick: () => { clearKey(); ws.stop(); renderSession(); askForKey(); },
    }, 'Forget key'));
  }
  clear(box, children);
}

// -- footer ---------------------------------------------------------------------------------------

async function refreshHealth() {
  const el = document.getElementById('health');
  try {
    const health = await api('/api/health');
    el.className = `health health-${health.status}`;
    el.textContent = `Server ${health.status} · version ${health.version} · up ${formatUptime(health.uptime_seconds)}`;
    setOffline(false);
  } catch {
    el.className = 'health health-down';
    el.textContent = 'Server unreachable';
    setOffline(true);
  }
}

function formatUptime(seconds) {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

let serverDown = false;
function setOffline(down) {
  serverDown = down;
  renderConnection();
}

function renderConnection() {
  const state = ws.state;
  const el = document.getElementById('ws-state');
  const banner = document.getElementById('offline-banner');
  el.dataset.state = state;
  if (state === 'online') el.textContent = '● Live updates';
  else if (state === 'connecting') el.textContent = '○ Connecting…';
  else {
    const secs = ws.retryAt ? Math.max(0, Math.ceil((ws.retryAt - Date.now()) / 1000)) : null;
    el.textContent = secs !== null ? `○ Offline, retrying in ${secs} s` : '○ Offline';
  }
  const offline = serverDown || state === 'offline';
  banner.hidden = !offline;
  banner.textContent = serverDown
    ? 'The server cannot be reached. Showing the last known data; reconnecting…'
    : 'Live updates are disconnected. Reconnecting…';
  document.body.classList.toggle('is-offline', offline);
}

ws.addEventListener('state', renderConnection);

// A refused handshake looks like any other drop to a browser. If the tab holds a key, ask the REST
// API whether it still works: a 401 there stops the retries and asks for a new key.
let lastProbe = 0;
ws.addEventListener('state', (event) => {
  if (event.detail.state !== 'offline' || !getKey() || Date.now() - lastProbe < 10000) return;
  lastProbe = Date.now();
  api('/api/me').catch(() => {});
});
setInterval(() => { if (ws.state === 'offline') renderConnection(); }, 1000);

// -- start ----------------------------------------------------------------------------------------

async function start() {
  refreshHealth();
  setInterval(refreshHealth, 10000);
  try {
    await loadMe(api);
  } catch {
    // A 401 asks for a key (its own listener); anything else leaves no write controls shown.
  }
  renderSession();
  ws.start();
  router.render();
}

start();
