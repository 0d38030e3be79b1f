// Small shared pieces: formatting, badges, a data-loading hook, messages.

import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const SEVERITIES = ['critical', 'major', 'warning', 'info'];
export const ASSET_STATUSES = [
  'active',
  'commissioning',
  'maintenance',
  'commissioning_failed',
  'decommissioning',
  'decommissioned',
];
export const WORK_ORDER_STATUSES = ['open', 'assigned', 'in_progress', 'on_hold', 'completed', 'cancelled'];
export const OPEN_WORK_ORDER_STATUSES = ['open', 'assigned', 'in_progress', 'on_hold'];

export function label(text) {
  return String(text ?? '').replaceAll('_', ' ');
}

export function formatTime(value) {
  if (!value) return '—';
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function timeAgo(value, now = Date.now()) {
  if (!value) return 'never';
  const seconds = Math.round((now - new Date(value).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return '—';
  if (seconds < 0) return 'just now';
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

export function formatValue(value) {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 0.01)) return value.toExponential(2);
  return value.toLocaleString(undefined, { maximumFractionDigits: abs >= 100 ? 1 : 2 });
}

export function Badge({ kind, value, title }) {
  return html`<span class="badge ${kind}-${String(value).replaceAll('_', '-')}" title=${title ?? ''}
    >${label(value)}</span
  >`;
}

export const StatusBadge = ({ status }) => html`<${Badge} kind="status" value=${status} />`;
export const SeverityBadge = ({ severity }) => html`<${Badge} kind="sev" value=${severity} />`;

/** Severity counts as small coloured pills: `{critical: 1, warning: 2}`. */
export function SeverityCounts({ counts }) {
  const entries = SEVERITIES.filter((s) => (counts?.[s] ?? 0) > 0);
  if (entries.length === 0) return html`<span class="muted">none</span>`;
  return html`<span class="sev-counts"
    >${entries.map(
      (s) => html`<span class="badge sev-${s}" title=${`${counts[s]} ${s}`}>${counts[s]} ${s}</span>`,
    )}</span
  >`;
}

export function ErrorBox({ error, onRetry }) {
  if (!error) return null;
  return html`<div class="error" role="alert">
    <span>${error.message ?? String(error)}</span>
    ${onRetry ? html`<button class="btn small" onClick=${onRetry}>Retry</button>` : null}
  </div>`;
}

export function Loading({ what = 'Loading' }) {
  return html`<p class="loading">${what}…</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/**
 * Loads data with `load(signal)` whenever `deps` change; `reload()` loads again (keeping the old
 * data on screen meanwhile), `setData` patches it (live updates).
 */
export function useData(load, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const run = useCallback(() => {
    const mine = ++generation.current;
    const controller = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(controller.signal).then(
      (data) => mine === generation.current && setState({ data, error: undefined, loading: false }),
      (error) => {
        if (controller.signal.aborted || mine !== generation.current) return;
        setState((s) => ({ ...s, error, loading: false }));
      },
    );
    return controller;
  }, deps);
  useEffect(() => {
    const controller = run();
    return () => controller.abort();
  }, [run]);
  const setData = useCallback((update) => setState((s) => ({ ...s, data: update(s.data) })), []);
  return { ...state, reload: run, setData };
}

/** Calls `fn` every `ms` while mounted (and the tab is visible). */
export function useInterval(fn, ms) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    return () => clearInterval(timer);
  }, [ms]);
}

/** A transient message at the bottom of the screen. */
let toastListener;
export function toast(message, kind = 'info') {
  toastListener?.({ message, kind, id: Math.random() });
}
export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    toastListener = (item) => {
      setItems((list) => [...list, item]);
      setTimeout(() => setItems((list) => list.filter((i) => i.id !== item.id)), 4000);
    };
    return () => {
      toastListener = undefined;
    };
  }, []);
  return html`<div class="toasts" aria-live="polite">
    ${items.map((item) => html`<div class="toast ${item.kind}" key=${item.id}>${item.message}</div>`)}
  </div>`;
}

/** Runs an action, reporting success or failure as a toast; resolves to whether it worked. */
export async function act(promise, success) {
  try {
    await promise;
    if (success) toast(success, 'ok');
    return true;
  } catch (err) {
    toast(err.message ?? String(err), 'bad');
    return false;
  }
}

/** The user's name for acknowledgements and notes (asked once, kept in localStorage). */
export function whoAmI() {
  let name = localStorage.getItem('assetops.user');
  if (!name) {
    name = 'operator';
    localStorage.setItem('assetops.user', name);
  }
  return name;
}

/** `due in 3h` or `overdue 2d` (or `done`), for work orders. */
export function dueText(dueAt, status, now = Date.now()) {
  if (status === 'completed' || status === 'cancelled') return label(status);
  const ms = new Date(dueAt).getTime() - now;
  if (!Number.isFinite(ms)) return '—';
  const span = (abs) =>
    abs < 3_600_000
      ? `${Math.max(1, Math.round(abs / 60_000))}m`
      : abs < 86_400_000
        ? `${Math.round(abs / 3_600_000)}h`
        : `${Math.round(abs / 86_400_000)}d`;
  return ms >= 0 ? `due in ${span(ms)}` : `overdue ${span(-ms)}`;
}
