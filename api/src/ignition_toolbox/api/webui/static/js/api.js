// The fetch wrapper: JSON in and out, the X-API-Key of the tab, and the API's error envelope
// {"detail": {"error", "message", "details"}} turned into an ApiError.

import { getKey, session } from './auth.js';

export class ApiError extends Error {
  constructor(status, code, message, details = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export const apiEvents = new EventTarget();

function headers(extra = {}) {
  const out = { Accept: 'application/json', ...extra };
  const key = getKey();
  if (key) out['X-API-Key'] = key;
  return out;
}

async function toError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  const detail = body && typeof body.detail === 'object' ? body.detail : null;
  if (detail) return new ApiError(response.status, detail.error, detail.message, detail.details);
  return new ApiError(response.status, 'http_error', `${response.status} ${response.statusText}`);
}

async function send(path, { method = 'GET', json, body, contentType } = {}) {
  const init = { method, headers: headers(), credentials: 'omit', cache: 'no-store' };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['Content-Type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
    if (contentType) init.headers['Content-Type'] = contentType;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    apiEvents.dispatchEvent(new CustomEvent('offline'));
    throw new ApiError(0, 'network_error', 'The server cannot be reached');
  }
  if (!response.ok) {
    const error = await toError(response);
    if (response.status === 401) {
      session.required = true;
      apiEvents.dispatchEvent(new CustomEvent('unauthorized', { detail: error }));
    } else if (response.status === 403 && path !== '/api/me') {
      // The key's role may have changed since /api/me was read: the app asks again.
      apiEvents.dispatchEvent(new CustomEvent('forbidden', { detail: error }));
    }
    throw error;
  }
  return response;
}

export async function api(path, options = {}) {
  const response = await send(path, options);
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

export async function apiText(path, options = {}) {
  return (await send(path, options)).text();
}

export async function apiBlob(path) {
  const response = await send(path);
  return response.blob();
}

// Downloads go through fetch (so the key header is sent) and a short-lived blob: URL.
export async function download(path, filename) {
  const blob = await apiBlob(path);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename || '';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

export async function openInTab(path, type) {
  const blob = await apiBlob(path);
  const url = URL.createObjectURL(type ? new Blob([blob], { type }) : blob);
  window.open(url, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}
