// The API key of this tab: kept in sessionStorage only (tab scope), never in localStorage or cookies.

const STORAGE_KEY = 'itk.apiKey';

// Mirrors the role matrix of SECURITY.md §4-B. The API offers no "who am I" endpoint, so the UI
// derives the caller's role from GET /api/keys and uses this table only to enable or hide controls;
// the server still decides every request.
const READONLY = ['playbooks:read', 'executions:read', 'credentials:read'];
const EXECUTOR = [...READONLY, 'executions:control', 'screenshots:read'];
const USER = [...EXECUTOR, 'playbooks:write', 'credentials:write', 'executions:delete'];
const ADMIN = [...USER, 'keys:manage', 'audit:read', 'modules:upload'];
const ROLE_PERMISSIONS = { readonly: READONLY, executor: EXECUTOR, user: USER, admin: ADMIN };

export const session = {
  role: null, // null until known
  keyName: null,
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

export function clearKey() {
  sessionStorage.removeItem(STORAGE_KEY);
  session.role = null;
  session.keyName = null;
}

export function can(permission) {
  const perms = ROLE_PERMISSIONS[session.role] || [];
  return perms.includes(permission);
}

// Work out the caller's role: no key and no 401 means the local single-user mode (admin);
// with a key, GET /api/keys lists the caller's own key (or all keys, for an admin), and the
// key's display prefix identifies which one is ours.
export async function detectRole(api) {
  const key = getKey();
  const body = await api('/api/keys');
  const keys = body.keys || [];
  if (!key) {
    session.role = 'admin';
    session.keyName = 'local';
    return session.role;
  }
  const own = keys.find((k) => k.display_prefix && key.startsWith(k.display_prefix)) || keys[0];
  session.role = own ? own.role : 'readonly';
  session.keyName = own ? own.name : '';
  return session.role;
}
