// The AssetOps HTTP API as the UI calls it: every call carries the bearer token kept in
// localStorage; a 401 signs the user out (the token was wrong or has been changed).

const TOKEN_KEY = 'assetops.token';
const listeners = new Set();

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(token) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  for (const listener of listeners) listener(token);
}

/** Calls `listener(token | null)` whenever the user signs in or out; returns the unsubscribe. */
export function onTokenChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An answer other than 2xx, with the problem document's code and detail when there is one. */
export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && typeof body === 'object' ? body.detail || body.title : undefined;
    super(detail ? `${detail} (${status})` : `request failed with ${status}`);
    this.status = status;
    this.code = body && typeof body === 'object' ? body.code : undefined;
    this.body = body;
  }
}

/** Builds a query string from an object, skipping empty values; arrays repeat the parameter. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const item of Array.isArray(value) ? value : [value]) search.append(key, String(item));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * `api('GET', '/api/v1/assets')`, `api('POST', '/api/v1/alerts/…/acknowledge', { by: 'me' })`.
 * Resolves with the parsed JSON (undefined for an empty body), rejects with an {@link ApiError}.
 */
export async function api(method, path, body, { signal, token = getToken() } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  const text = await response.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!response.ok) {
    if (response.status === 401 && token && token === getToken()) setToken(null);
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const get = (path, options) => api('GET', path, undefined, options);
export const post = (path, body, options) => api('POST', path, body ?? {}, options);
export const patch = (path, body, options) => api('PATCH', path, body, options);
