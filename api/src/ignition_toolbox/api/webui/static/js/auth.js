// The API key of this tab: kept in sessionStorage only (tab scope), never in localStorage or cookies.

const STORAGE_KEY = 'itk.apiKey';

// Who the caller is, as GET /api/me tells it. The permissions only enable or hide controls;
// the server still decides every request.
export const session = {
  role: null, // null until known
  keyName: null,
  keyId: null,
  permissions: new Set(),
  authRequired: false, // the server enforces keys (from /api/me)
  required: false, // true once the server answered 401
};

export function getKey() {
  try {
    return sessionStorage.getItem(STORAGE_KEY) || '';
  } catch {
    return '';
  }
}

export function setKey(key) {
  sessionStorage.setItem(STORAGE_KEY, key);
}

function forget() {
  session.role = null;
  session.keyName = null;
  session.keyId = null;
  session.permissions = new Set();
}

export function clearKey() {
  sessionStorage.removeItem(STORAGE_KEY);
  forget();
}

export function can(permission) {
  return session.permissions.has(permission);
}

// A signature of what the caller may do, to tell whether a refresh changed anything.
export function sessionSignature() {
  return [session.keyId, session.role, [...session.permissions].sort().join(',')].join('|');
}

// Ask the server who we are. Without a key on a server that does not enforce keys, this is the
// local admin; with a key, it is that key's name, role and permissions. A 401 propagates.
export async function loadMe(api) {
  let me;
  try {
    me = await api('/api/me');
  } catch (err) {
    forget();
    throw err;
  }
  session.role = me.role || null;
  session.keyName = me.name || '';
  session.keyId = me.key_id || null;
  session.authRequired = Boolean(me.auth_required);
  if (session.authRequired) session.required = true;
  session.permissions = new Set(Array.isArray(me.permissions) ? me.permissions : []);
  return me;
}

// The local single-user mode: the server enforces no keys and the caller has no key of its own.
export function isLocal() {
  return session.role !== null && !session.keyId && !session.authRequired;
}
