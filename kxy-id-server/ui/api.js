// Talking to the server: the session (token in localStorage), the response envelope
// ({"code","msg","data"}), 401/422 handling, and one function per endpoint.

const TOKEN_KEY = 'kxy-id.token';
const USER_KEY = 'kxy-id.username';
const LAST_USER_KEY = 'kxy-id.last-username';

/** The largest counter value (2^63 − 1), as a BigInt. */
export const MAX_COUNTER = 9223372036854775807n;

/** The logged-in admin, kept across reloads. */
export const session = {
  get token() {
    return localStorage.getItem(TOKEN_KEY);
  },
  get username() {
    return localStorage.getItem(USER_KEY) || '';
  },
  /** Who logged in last (kept after logout, to fill in the login form). */
  get lastUsername() {
    return localStorage.getItem(LAST_USER_KEY) || '';
  },
  set(token, username) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, username);
    localStorage.setItem(LAST_USER_KEY, username);
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
  },
};

/** A failed request; `message` is what to show the user. */
export class ApiError extends Error {
  constructor(message, { code = null, status = 0, fields = {} } = {}) {
    super(message);
    this.name = new.target.name;
    /** The envelope's `code` (400, 404, 409, 500, ...), when there was one. */
    this.code = code;
    /** The HTTP status (0 when the server could not be reached). */
    this.status = status;
    /** Problems per request field (from a 422 body): {field: message}. */
    this.fields = fields;
  }
}

/** The token was missing, expired or rejected (HTTP 401); the app has gone to the login page. */
export class AuthError extends ApiError {}

let unauthorized = () => {};

/** Sets what happens when a protected call answers 401 (`detail` is the server's reason). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

/**
 * Parses JSON, keeping integers that a JavaScript number cannot hold exactly as their
 * decimal strings. (The server already writes such integers as strings; this only matters
 * for a server or proxy that does not.)
 */
export function parseJson(text) {
  return JSON.parse(text, function (key, value, context) {
    if (
      typeof value === 'number' &&
      !Number.isSafeInteger(value) &&
      context &&
      typeof context.source === 'string' &&
      /^-?\d+$/.test(context.source)
    ) {
      return context.source;
    }
    return value;
  });
}

/**
 * Calls the API. `body` is an object (sent as JSON) or a string (sent as is, for JSON with
 * exact big integers). Resolves to the envelope on `code` 0; rejects with an ApiError whose
 * message is the envelope's `msg`, the 422 problems, or what went wrong on the way.
 */
async function call(method, path, { body, auth = true } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth && session.token) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError('Cannot reach the server. Check that it is running and try again.');
  }
  const text = await response.text();
  let json = null;
  try {
    json = parseJson(text);
  } catch {
    // Not JSON: handled below.
  }
  const status = response.status;
  if (status === 401 && auth) {
    const detail = (json && typeof json.detail === 'string' && json.detail) || 'Unauthorized';
    session.clear();
    unauthorized(detail);
    throw new AuthError(`Your session has ended: ${detail}`, { status });
  }
  if (status === 422 && json && Array.isArray(json.detail)) {
    const fields = {};
    const lines = json.detail.map((problem) => {
      const loc = Array.isArray(problem.loc) ? problem.loc.filter((p) => p !== 'body') : [];
      const name = loc.join('.') || 'request';
      if (!(name in fields)) fields[name] = problem.msg;
      return `${name}: ${problem.msg}`;
    });
    throw new ApiError(`The server refused the request. ${lines.join('; ')}`, { status, fields });
  }
  if (!json || typeof json !== 'object') {
    throw new ApiError(`Unexpected answer from the server (HTTP ${status}).`, { status });
  }
  if ('code' in json && json.code !== 0) {
    throw new ApiError(json.msg || `The request failed (code ${json.code}).`, { code: json.code, status });
  }
  if (!response.ok) {
    const detail = typeof json.detail === 'string' ? json.detail : `HTTP ${status}`;
    throw new ApiError(`The request failed: ${detail}.`, { status });
  }
  return json;
}

const enc = encodeURIComponent;

export const checkInit = () => call('GET', '/api/auth/check-init', { auth: false });
export const initUser = (username, password) =>
  call('POST', '/api/auth/init-user', { body: { username, password }, auth: false });
export const login = (username, password) =>
  call('POST', '/api/auth/login', { body: { username, password }, auth: false });

export const listDatabases = () => call('GET', '/api/database/list');
export const getDatabase = (guid) => call('GET', `/api/database/${enc(guid)}`);
export const addDatabase = (input) => call('POST', '/api/database/add', { body: input });
export const updateDatabase = (guid, input) => call('PUT', `/api/database/${enc(guid)}`, { body: input });
export const deleteDatabase = (guid, purgeSegments) =>
  call('DELETE', `/api/database/${enc(guid)}${purgeSegments ? '?purge_segments=true' : ''}`);
export const initializeDatabase = (guid) => call('POST', `/api/database/initialize/${enc(guid)}`);

/** `initialValue` is a string of decimal digits; it goes into the JSON text as written, so
 * values past 2^53 stay exact. */
export function addCustomSequence(guid, tableName, fieldName, initialValue) {
  if (!/^\d+$/.test(initialValue)) throw new ApiError('The initial value must be a whole number.');
  const body = `{"table_name":${JSON.stringify(tableName)},"field_name":${JSON.stringify(fieldName)},"initial_value":${initialValue}}`;
  return call('POST', `/api/database/${enc(guid)}/add-config`, { body });
}

export const discoveredTables = (guid) => call('GET', `/api/database/${enc(guid)}/discovered-tables`);
export const approveTable = (guid, database, table) =>
  call('POST', `/api/database/${enc(guid)}/approve`, { body: { database, table } });

export function counters(systemCode = '', dbName = '') {
  const query = new URLSearchParams();
  if (systemCode) query.set('system_code', systemCode);
  if (dbName) query.set('db_name', dbName);
  const q = query.toString();
  return call('GET', `/api/segment/counters${q ? `?${q}` : ''}`);
}

export const listTokens = () => call('GET', '/api/tokens');
export const createToken = (systemCode) => call('POST', '/api/tokens', { body: { system_code: systemCode } });
export const revokeToken = (id) => call('DELETE', `/api/tokens/${enc(id)}`);
