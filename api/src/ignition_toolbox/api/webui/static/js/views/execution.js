// One execution: verdict, controls, live browser view, step timeline, log and artifacts.

import { api, apiBlob, download, encodePath, openInTab } from '../api.js';
import {
  clear, confirmDialog, debounce, emptyState, fmtBytes, fmtDuration, fmtTime, h, statusBadge, toast,
} from '../dom.js';
import { navigate } from '../router.js';

const ACTIVE = new Set(['pending', 'running', 'paused']);
// Which control each state allows (the executor's rules). Retry only exists in debug mode, while
// the run is paused on a failed step: then Resume means "accept the failure".
const ALLOWED = {
  pause: (e) => ['pending', 'running'].includes(e.status),
  resume: (e) => e.status === 'paused',
  retry: (e, failed) => Boolean(failed),
  skip: (e) => ['running', 'paused'].includes(e.status),
  cancel: (e) => ACTIVE.has(e.status),
};
const CONTROL_LABELS = {
  pause: 'Pause', resume: 'Resume', retry: 'Retry step', skip: 'Skip step', cancel: 'Cancel',
};
const CONTROL_HINTS = {
  pause: 'Pause at the next step boundary',
  resume: 'Continue the run',
  retry: 'Run the failed step again (debug mode)',
  skip: 'Go on without this step',
  cancel: 'Stop the run',
};
const MAX_LOG_LINES = 500;

// Debug mode stopped on a failure: the run is paused and the step that failed is still open
// (status "failed", not yet completed) until the operator retries, skips, accepts or cancels.
export function awaitingFailure(execution) {
  if (execution.status !== 'paused') return null;
  const open = (execution.step_results || []).filter((r) => r.status === 'failed' && !r.completed_at);
  return open.length ? open[open.length - 1] : null;
}

function verdict(execution, steps) {
  const s = execution.status;
  const failed = steps.find((st) => st.status === 'failed');
  const err = execution.error || failed?.error;
  switch (s) {
    case 'completed': {
      const passed = steps.filter((st) => st.status === 'completed').length;
      const skipped = steps.filter((st) => st.status === 'skipped').length;
      return ['pass', `Passed: ${passed} step${passed === 1 ? '' : 's'} completed${skipped ? `, ${skipped} skipped` : ''}.`];
    }
    case 'failed':
      return ['fail', `Failed${failed ? ` at step “${failed.step_name || failed.step_id}”` : ''}${err?.message ? `: ${err.message}` : '.'}`];
    case 'cancelled':
      return ['cancelled', 'Cancelled before it finished.'];
    case 'interrupted':
      return ['fail', `Interrupted: ${err?.message || 'the server stopped while it was running'}.`];
    case 'paused': {
      const open = awaitingFailure(execution);
      if (open) {
        // Debug mode stopped on a failed step: retry it, skip it, resume (accept) or cancel.
        const why = open.error || execution.error || {};
        return ['fail', `Paused on a failure at step “${open.step_name || open.step_id}”: ${why.message || why.code || 'it failed'}. Retry step to run it again, Skip step to go on without it, Resume to accept the failure, or Cancel.`];
      }
      return ['paused', execution.debug_mode
        ? 'Paused before the next step (debug mode). Resume to run it, skip it, or cancel.'
        : 'Paused. Resume to continue, skip the next step, or cancel.'];
    }
    case 'pending':
      return ['pending', 'Waiting for a free worker…'];
    default:
      return ['running', 'Running…'];
  }
}

function stepDuration(step) {
  if (!step.started_at) return '';
  return fmtDuration(step.started_at, step.completed_at || (step.status === 'running' ? null : step.started_at));
}

function jsonBlock(value) {
  return h('pre', { class: 'json' }, JSON.stringify(value, null, 2));
}

export async function renderExecution(root, { id }, ctx) {
  let execution = await api(`/api/executions/${encodeURIComponent(id)}`);
  if (ctx.stale()) return null;
  let plannedSteps = [];
  try {
    const playbook = await api(`/api/playbooks/${encodePath(execution.playbook_path)}`);
    plannedSteps = [...(playbook.steps || []), ...(playbook.finally || [])];
  } catch {
    plannedSteps = []; // the playbook may have been deleted since; the results still show
  }
  const canControl = ctx.can('executions:control');
  const canImages = ctx.can('screenshots:read');
  const canDelete = ctx.can('executions:delete');

  const title = h('h1', {}, execution.playbook_name);
  const statusEl = h('span', { id: 'execution-status' });
  const progressEl = h('progress', { id: 'execution-progress', max: 1, value: 0, 'aria-label': 'Progress' });
  const progressText = h('span', { class: 'muted', id: 'execution-progress-text' });
  const verdictEl = h('div', { id: 'verdict', class: 'verdict', role: 'status', 'aria-live': 'polite' });
  const controls = {};
  const controlBar = h('div', { class: 'controls', role: 'group', 'aria-label': 'Execution controls' });
  for (const action of Object.keys(ALLOWED)) {
    controls[action] = h('button', {
      type: 'button', 'data-action': action, class: action === 'cancel' ? 'danger' : '',
      title: CONTROL_HINTS[action], onclick: () => control(action),
    }, CONTROL_LABELS[action]);
    controlBar.append(controls[action]);
  }
  const deleteButton = h('button', { type: 'button', class: 'danger', onclick: () => remove() }, 'Delete execution');
  const frameImg = h('img', { id: 'live-frame', alt: 'Live view of the browser of this execution', hidden: true });
  const framePlaceholder = h('p', { class: 'live-placeholder' },
    canImages ? 'No browser view yet: frames appear when a step drives a browser.' : 'Your role does not receive screenshots.');
  const frameNote = h('p', { class: 'live-note muted', 'aria-live': 'polite' });
  const timeline = h('ol', { id: 'timeline', class: 'timeline' });
  const logList = h('ol', { id: 'log', class: 'log', 'aria-live': 'off' });
  const artifactsEl = h('div', { id: 'artifacts' });
  const reportsEl = h('div', { class: 'reports actions' },
    h('button', { type: 'button', onclick: () => openInTab(`/api/executions/${id}/report?format=html`, 'text/html').catch((e) => toast(e.message, 'error')) }, 'HTML report'),
    h('button', { type: 'button', onclick: () => download(`/api/executions/${id}/report?format=junit`, `${id}-junit.xml`).catch((e) => toast(e.message, 'error')) }, 'JUnit XML'),
    h('button', { type: 'button', onclick: () => download(`/api/executions/${id}/report?format=json`, `${id}.json`).catch((e) => toast(e.message, 'error')) }, 'JSON'));
  const meta = h('dl', { class: 'meta' });

  clear(root,
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/executions' }, 'Executions'), ' / ', h('code', {}, id.slice(0, 8))),
    h('div', { class: 'page-head' },
      h('div', {}, title, h('p', { class: 'muted' }, statusEl, ' ', progressEl, ' ', progressText)),
      h('div', { class: 'actions' }, canControl ? controlBar : null, canDelete ? deleteButton : null)),
    verdictEl,
    h('div', { class: 'columns exec-columns' },
      h('section', { class: 'col', 'aria-labelledby': 'timeline-title' },
        h('h2', { id: 'timeline-title' }, 'Steps'), timeline,
        h('h2', {}, 'Details'), meta,
        h('details', { class: 'log-box' }, h('summary', {}, 'Log'), logList)),
      h('section', { class: 'col', 'aria-labelledby': 'live-title' },
        h('h2', { id: 'live-title' }, 'Live view'),
        h('div', { class: 'live' }, frameImg, framePlaceholder),
        frameNote,
        h('h2', {}, 'Artifacts'), artifactsEl,
        h('h3', {}, 'Reports'), reportsEl)));

  function draw() {
    const steps = execution.step_results || [];
    clear(statusEl, statusBadge(execution.status), execution.debug_mode ? h('span', { class: 'badge' }, 'debug') : null);
    const total = execution.total_steps || plannedSteps.length || steps.length;
    const done = steps.filter((s) => !['running', 'pending'].includes(s.status)).length;
    progressEl.max = Math.max(1, total);
    progressEl.value = Math.min(done, total);
    const current = Math.min(total, (execution.current_step_index ?? 0) + 1);
    progressText.textContent = ACTIVE.has(execution.status)
      ? `step ${current} of ${total}` : `${done} of ${total} steps ran`;
    const [kind, text] = verdict(execution, steps);
    verdictEl.className = `verdict verdict-${kind}`;
    verdictEl.textContent = text;
    const failed = awaitingFailure(execution);
    for (const [action, button] of Object.entries(controls)) {
      button.disabled = !ALLOWED[action](execution, failed);
    }
    // Retry belongs to debug mode: shown on debug runs only.
    controls.retry.hidden = !execution.debug_mode;
    controls.resume.textContent = failed ? 'Resume (accept failure)' : CONTROL_LABELS.resume;
    controls.resume.title = failed ? 'Accept the failure and go on (the step stays failed)' : CONTROL_HINTS.resume;
    controls.resume.dataset.meaning = failed ? 'accept-failure' : 'resume';
    deleteButton.disabled = ACTIVE.has(execution.status);
    deleteButton.title = ACTIVE.has(execution.status) ? 'Cancel the execution before deleting it' : '';
    frameNote.textContent = execution.status === 'paused' && !frameImg.hidden ? 'Paused: showing the last frame.' : '';
    drawTimeline(steps);
    clear(meta,
      h('dt', {}, 'Execution'), h('dd', {}, h('code', {}, execution.execution_id)),
      h('dt', {}, 'Playbook'), h('dd', {}, h('a', { href: `#/playbooks/${encodeURI(execution.playbook_path)}` }, execution.playbook_path)),
      h('dt', {}, 'Started'), h('dd', {}, fmtTime(execution.started_at)),
      h('dt', {}, 'Finished'), h('dd', {}, fmtTime(execution.completed_at) || '—'),
      h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(execution.started_at, execution.completed_at)),
      h('dt', {}, 'Gateway'), h('dd', {}, execution.gateway_url || '—'),
      h('dt', {}, 'Credential'), h('dd', {}, execution.credential || '—'),
      h('dt', {}, 'Parameters'), h('dd', {}, jsonBlock(execution.parameters || {})));
  }

  function drawTimeline(results) {
    const byIndex = new Map(results.map((r) => [r.step_index, r]));
    const rows = plannedSteps.length ? plannedSteps.map((s, i) => byIndex.get(i) || {
      step_index: i, step_id: s.id, step_name: s.name || s.id, step_type: s.type, status: 'pending',
    }) : results;
    for (const r of results) if (r.step_index >= rows.length) rows.push(r);
    const open = awaitingFailure(execution);
    clear(timeline, rows.map((step) => {
      const awaiting = open && open.step_index === step.step_index;
      const retries = step.attempts > 1 ? step.attempts - 1 : 0;
      const hasOutput = step.output && Object.keys(step.output).length;
      return h('li', {
        class: `step step-${step.status}`, 'data-step-id': step.step_id, 'data-status': step.status,
        'data-attempts': step.attempts ?? null, 'data-awaiting': awaiting ? 'decision' : null,
      },
        h('div', { class: 'step-head' },
          statusBadge(step.status),
          h('span', { class: 'step-name' }, step.step_name || step.step_id),
          h('code', { class: 'muted' }, step.step_type || ''),
          h('span', { class: 'step-duration muted' }, stepDuration(step)),
          retries ? h('span', { class: 'badge', title: 'Retries' }, `${retries} retr${retries === 1 ? 'y' : 'ies'}`) : null),
        step.error ? h('p', { class: 'step-error' }, step.error.code ? h('code', {}, step.error.code) : null, ' ', step.error.message || '') : null,
        awaiting ? h('p', { class: 'step-awaiting' }, 'Waiting for your decision: retry, skip, or resume to accept the failure.') : null,
        hasOutput ? h('details', { class: 'step-output' }, h('summary', {}, 'Output'), jsonBlock(step.output)) : null);
    }));
  }

  async function refresh() {
    try {
      execution = await api(`/api/executions/${encodeURIComponent(id)}`);
      draw();
    } catch (err) {
      if (err.code === 'execution_not_found') {
        verdictEl.textContent = 'This execution was deleted.';
      }
    }
  }
  const refreshSoon = debounce(refresh, 150);

  async function control(action) {
    for (const b of Object.values(controls)) b.disabled = true;
    try {
      const result = await api(`/api/executions/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
      toast(result.message);
    } catch (err) {
      toast(err.message, 'error');
    }
    await refresh();
  }

  async function remove() {
    if (!(await confirmDialog('Delete this execution, its step results and artifacts?', { confirmLabel: 'Delete', danger: true }))) return;
    try {
      await api(`/api/executions/${encodeURIComponent(id)}`, { method: 'DELETE' });
      toast('Execution deleted');
      navigate('/executions');
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  // -- artifacts ------------------------------------------------------------------------------
  const blobUrls = new Map(); // artifact_id -> object URL of a thumbnail
  async function loadArtifacts() {
    if (!canImages) {
      clear(artifactsEl, emptyState('Your role cannot download artifacts.'));
      return;
    }
    let artifacts;
    try {
      ({ artifacts } = await api(`/api/executions/${encodeURIComponent(id)}/artifacts`));
    } catch (err) {
      clear(artifactsEl, emptyState(err.message));
      return;
    }
    const shots = artifacts.filter((a) => a.kind === 'screenshot' || (a.content_type || '').startsWith('image/'));
    const files = artifacts.filter((a) => !shots.includes(a));
    const gallery = h('ul', { class: 'gallery', 'aria-label': 'Screenshots' });
    for (const shot of shots) {
      const img = h('img', { alt: shot.name, loading: 'lazy' });
      gallery.append(h('li', {}, h('button', { type: 'button', class: 'thumb', onclick: () => viewImage(shot), 'aria-label': `Open screenshot ${shot.name}` },
        img, h('span', {}, shot.name))));
      thumbnail(shot, img);
    }
    clear(artifactsEl,
      shots.length ? gallery : null,
      files.length ? h('ul', { class: 'files' }, files.map((a) => h('li', {},
        h('button', { type: 'button', class: 'link', 'data-artifact': a.artifact_id,
          onclick: () => download(`/api/executions/${id}/artifacts/${a.artifact_id}`, a.name).catch((e) => toast(e.message, 'error')) },
        `Download ${a.name}`),
        h('span', { class: 'muted' }, ` ${a.kind} · ${fmtBytes(a.size)}${a.step_id ? ` · step ${a.step_id}` : ''}`)))) : null,
      !artifacts.length ? emptyState('No artifacts yet.') : null);
  }
  async function thumbnail(shot, img) {
    try {
      let url = blobUrls.get(shot.artifact_id);
      if (!url) {
        url = URL.createObjectURL(await apiBlob(`/api/executions/${id}/artifacts/${shot.artifact_id}`));
        blobUrls.set(shot.artifact_id, url);
      }
      img.src = url;
    } catch {
      img.alt = `${shot.name} (could not load)`;
    }
  }
  function viewImage(shot) {
    const img = h('img', { alt: shot.name, class: 'full' });
    const dialog = h('dialog', { class: 'modal image-modal', 'aria-label': shot.name },
      h('form', { method: 'dialog' }, h('div', { class: 'actions' },
        h('strong', {}, shot.name),
        h('button', { type: 'button', onclick: () => download(`/api/executions/${id}/artifacts/${shot.artifact_id}`, shot.name) }, 'Download'),
        h('button', { type: 'submit', class: 'primary' }, 'Close')), img));
    dialog.addEventListener('close', () => dialog.remove());
    document.body.append(dialog);
    thumbnail(shot, img);
    dialog.showModal();
  }
  const loadArtifactsSoon = debounce(loadArtifacts, 300);

  // -- live updates ---------------------------------------------------------------------------
  function showFrame(frame) {
    if (typeof frame !== 'string' || !frame.startsWith('data:image/')) return;
    frameImg.src = frame;
    frameImg.hidden = false;
    framePlaceholder.hidden = true;
    frameImg.dataset.frames = String(Number(frameImg.dataset.frames || 0) + 1);
  }
  function appendLog(data) {
    logList.append(h('li', { class: `log-${data.level}` },
      h('time', {}, fmtTime(data.timestamp)), ' ', data.step_id ? h('code', {}, data.step_id) : null, ' ', data.message));
    while (logList.children.length > MAX_LOG_LINES) logList.firstChild.remove();
  }
  function onMessage(event) {
    const message = event.detail;
    const data = message.data || {};
    if (data.execution_id !== id) return;
    if (message.type === 'screenshot_frame') {
      showFrame(data.frame);
    } else if (message.type === 'execution_update') {
      if (data.status) {
        execution.status = data.status;
        execution.current_step_index = data.current_step_index ?? execution.current_step_index;
      }
      refreshSoon();
      if (!ACTIVE.has(data.status)) loadArtifactsSoon();
    } else if (message.type === 'artifact') {
      loadArtifactsSoon();
    } else if (message.type === 'execution_log') {
      appendLog(data);
    }
  }
  ctx.ws.addEventListener('message', onMessage);
  // A safety net: poll an active execution, often while the socket is down, rarely otherwise.
  let ticks = 0;
  const poll = setInterval(() => {
    ticks += 1;
    if (ACTIVE.has(execution.status) && (ctx.ws.state !== 'online' || ticks % 5 === 0)) refresh();
  }, 2000);
  const onState = (event) => { if (event.detail.state === 'online') refresh(); };
  ctx.ws.addEventListener('state', onState);

  if (canImages && ctx.ws.lastFrames.has(id)) showFrame(ctx.ws.lastFrames.get(id));
  draw();
  // Updates sent between the first fetch and the listener above are caught by this one.
  refresh();
  loadArtifacts();
  return () => {
    ctx.ws.removeEventListener('message', onMessage);
    ctx.ws.removeEventListener('state', onState);
    clearInterval(poll);
    for (const url of blobUrls.values()) URL.revokeObjectURL(url);
  };
}
