import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiError, get, setToken } from '../lib/api.js';

/** Sign in by pasting the API token; it is checked with one API call before it is kept. */
export function LoginPage() {
  const [value, setValue] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event) => {
    event.preventDefault();
    const token = value.trim();
    if (!token) return;
    setBusy(true);
    setError('');
    try {
      await get('/api/v1/assets?limit=1', { token });
      setToken(token);
      if (!location.hash || location.hash === '#/login') location.hash = '#/';
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401
          ? 'This token is not valid.'
          : `Could not check the token: ${err.message}`,
      );
    } finally {
      setBusy(false);
    }
  };

  return html`<div class="login">
    <form class="card login-card" onSubmit=${submit}>
      <div class="brand big"><img src="ui/favicon.svg" alt="" width="40" height="40" />AssetOps</div>
      <p class="muted">Paste your API token to sign in. <code>npm start</code> prints the admin token
        and keeps it in <code>.assetops/admin-token</code>.</p>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="current-password" autofocus
        value=${value} onInput=${(e) => setValue(e.currentTarget.value)} placeholder="Bearer token" />
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <button class="btn primary" type="submit" disabled=${busy || !value.trim()}>${busy ? 'Checking…' : 'Sign in'}</button>
      <p class="muted small">The token stays in this browser (localStorage) until you sign out.</p>
    </form>
  </div>`;
}
