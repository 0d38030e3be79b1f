// The AssetOps web UI: a single page with hash routes (`#/assets/<id>`), so the gateway serves one
// file for every screen and no server-side routing is needed. Preact + htm, no build step.

import { html, render } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getToken, onTokenChange, setToken } from './lib/api.js';
import { liveStatus, onLiveStatus, startLive, stopLive } from './lib/live.js';
import { Toasts } from './lib/ui.js';
import { AlertsPage } from './pages/alerts.js';
import { AssetPage } from './pages/asset.js';
import { AssetsPage } from './pages/assets.js';
import { FleetPage } from './pages/fleet.js';
import { LoginPage } from './pages/login.js';
import { PlansPage } from './pages/plans.js';
import { RulesPage } from './pages/rules.js';
import { TechniciansPage } from './pages/technicians.js';
import { WorkOrdersPage } from './pages/work-orders.js';

const NAV = [
  ['#/', 'Fleet', 'fleet'],
  ['#/assets', 'Assets', 'assets'],
  ['#/alerts', 'Alerts', 'alerts'],
  ['#/work-orders', 'Work orders', 'work-orders'],
  ['#/rules', 'Rules', 'rules'],
  ['#/technicians', 'Technicians', 'technicians'],
  ['#/plans', 'Plans', 'plans'],
];

/** `#/assets/abc?x=1` → `{ parts: ['assets', 'abc'], params: URLSearchParams }`. */
function parseHash(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    params: new URLSearchParams(search),
  };
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const listener = () => setHash(location.hash);
    addEventListener('hashchange', listener);
    return () => removeEventListener('hashchange', listener);
  }, []);
  return parseHash(hash);
}

function LiveIndicator() {
  const [status, setStatus] = useState(liveStatus());
  useEffect(() => onLiveStatus(setStatus), []);
  const text = { live: 'Live', connecting: 'Connecting…', offline: 'Reconnecting…', idle: 'Offline' }[status];
  return html`<span class="live live-${status}" title="Live updates from the dashboard stream"><i></i>${text}</span>`;
}

function Page({ route }) {
  const [section, id] = route.parts;
  switch (section) {
    case undefined:
    case 'fleet':
      return html`<${FleetPage} />`;
    case 'assets':
      return id
        ? html`<${AssetPage} key=${id} assetId=${id} />`
        : html`<${AssetsPage} params=${route.params} />`;
    case 'alerts':
      return html`<${AlertsPage} params=${route.params} />`;
    case 'work-orders':
      return html`<${WorkOrdersPage} />`;
    case 'rules':
      return html`<${RulesPage} params=${route.params} />`;
    case 'technicians':
      return html`<${TechniciansPage} />`;
    case 'plans':
      return html`<${PlansPage} />`;
    default:
      return html`<section class="card"><h1>Not found</h1><p>No page <code>${location.hash}</code>. <a href="#/">Fleet overview</a></p></section>`;
  }
}

function App() {
  const [token, setTokenState] = useState(getToken());
  const [menuOpen, setMenuOpen] = useState(false);
  const route = useRoute();
  useEffect(() => onTokenChange(setTokenState), []);
  useEffect(() => {
    if (!token) return undefined;
    startLive();
    return () => stopLive();
  }, [token]);
  useEffect(() => setMenuOpen(false), [location.hash]);

  if (!token) return html`<${LoginPage} /><${Toasts} />`;
  const current = route.parts[0] ?? 'fleet';
  return html`<div class="shell">
      <header class="topbar">
        <a class="brand" href="#/"><img src="ui/favicon.svg" alt="" width="26" height="26" />AssetOps</a>
        <button class="menu-toggle" aria-label="Menu" aria-expanded=${menuOpen} onClick=${() => setMenuOpen(!menuOpen)}>☰</button>
        <nav class=${menuOpen ? 'open' : ''} aria-label="Main">
          ${NAV.map(([href, text, key]) => html`<a href=${href} class=${current === key ? 'active' : ''}>${text}</a>`)}
          <button class="btn ghost small menu-only" onClick=${() => setToken(null)}>Sign out</button>
        </nav>
        <div class="topbar-end">
          <${LiveIndicator} />
          <a class="btn ghost small" href="docs" target="_blank" rel="noopener">API</a>
          <button class="btn ghost small" onClick=${() => setToken(null)}>Sign out</button>
        </div>
      </header>
      <main><${Page} route=${route} /></main>
    </div>
    <${Toasts} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading" placeholder: render() adds to what is there
render(html`<${App} />`, root);
