import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// The web UI in a real browser: Debian's Chromium driven by playwright-core against the all-in-one
// runtime (on the test PostgreSQL server), through the flows people use. Screenshots of each step
// go to test-results/screenshots/ (git-ignored).
// Browser globals, used only inside page.evaluate callbacks (the project's tsconfig has no DOM types).
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
  documentElement: { scrollWidth: number };
};
declare const window: { innerWidth: number };
declare const location: { hash: string };
declare const localStorage: { getItem(key: string): string | null };

const CHROMIUM = process.env.ASSETOPS_CHROMIUM ?? '/usr/bin/chromium';
const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing && testEnv.requireServers) {
  throw new Error(
    `web UI end-to-end tests need Chromium at ${CHROMIUM} (apt-get install -y chromium, or set ASSETOPS_CHROMIUM)`,
  );
}
const SCREENSHOTS = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test-results/screenshots',
);
const TOKEN = 'test-admin-token-0123456789';
const STEP_TIMEOUT = 15_000;

describe.skipIf(chromiumMissing)('web UI in headless Chromium (all-in-one runtime)', () => {
  let platform: AllInOne;
  let dataDir: string;
  let browser: Browser;
  let page: Page;
  const prefix = `webui_${randomBytes(3).toString('hex')}`;
  const ids: Record<string, string> = {};

  async function api(method: string, url: string, body?: unknown) {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url} answered ${res.status}: ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  async function until<T>(
    probe: () => Promise<T | undefined>,
    what: string,
    timeoutMs = STEP_TIMEOUT,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function registerActive(name: string, type: string, location: string): Promise<string> {
    const created = await api('POST', '/api/v1/assets', { name, type, location });
    await until(
      async () => ((await api('GET', `/api/v1/assets/${created.id}`)).status === 'active' ? true : undefined),
      `${name} active`,
    );
    return created.id;
  }

  const shot = (name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const go = (hash: string) =>
    page.evaluate((h) => {
      location.hash = h;
    }, hash);

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-webui-'));
    await mkdir(SCREENSHOTS, { recursive: true });
    [platform, browser] = await Promise.all([
      startAllInOne({
        dataDir,
        port: 0,
        host: '127.0.0.1',
        adminToken: TOKEN,
        postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
        env: { ...process.env, ASSETOPS_DEMO: 'false' },
        logger: createLogger({ service: 'runtime', level: 'silent' }),
      }),
      chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    ]);
    page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.on('pageerror', (err) => console.error('page error:', err.message));

    ids.technician = (
      await api('POST', '/api/v1/technicians', { name: 'Ana Silva', skills: ['mechanical'] })
    ).id;
    [ids.pump, ids.compressor] = await Promise.all([
      registerActive('E2E feed pump', 'pump', 'Plant A'),
      registerActive('E2E air compressor', 'compressor', 'Plant B'),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await platform?.stop();
    for (const name of databaseServices) {
      await dropServiceDatabase(testEnv.databaseUrl, {
        database: `${prefix}_${name}`,
        role: `${prefix}_${name}`,
      });
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('signs in with the token and shows the fleet counts', async () => {
    await page.goto(platform.gatewayUrl);
    await page.getByLabel('API token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This token is not valid.').waitFor();
    await shot('01-login-refused');

    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Fleet overview' }).waitFor();
    // The dashboard's projection may trail the registrations by its lag: wait for the counts.
    await page.locator('[data-testid="fleet-assets-total"]', { hasText: /^2$/ }).waitFor();
    await page.locator('[data-testid="fleet-assets"] li[data-key="active"]', { hasText: '2' }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem('assetops.token'))).toBe(TOKEN);
    await shot('02-fleet-overview');
  });

  it('searches and filters the asset list', async () => {
    await go('#/assets');
    const rows = page.locator('[data-testid="asset-table"] tbody tr');
    await rows.nth(1).waitFor();
    expect(await rows.count()).toBe(2);

    const onlyRow = (name: string) =>
      page.waitForFunction((text) => {
        const shown = document.querySelectorAll('[data-testid="asset-table"] tbody tr');
        return shown.length === 1 && shown[0]!.textContent!.includes(text);
      }, name);
    await page.getByLabel('Search assets').fill('compressor');
    await onlyRow('E2E air compressor');

    await page.getByLabel('Search assets').fill('');
    await page.getByLabel('Type', { exact: true }).selectOption('pump');
    await onlyRow('E2E feed pump');
    await page.getByLabel('Status', { exact: true }).selectOption('maintenance');
    await page.getByText('No assets match.').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await rows.first().waitFor();
    await shot('03-asset-list-filtered');
  });

  it('shows latest values and a chart on the asset page after readings arrive', async () => {
    // Ten minutes of normal bearing temperature, then 15 s above the pump profile's 85 °C limit
    // (for 10 s): the default rule raises a major alert.
    const now = Date.now();
    const readings = [];
    for (let s = 600; s > 20; s -= 10) {
      readings.push({
        assetId: ids.pump,
        metric: 'temperature',
        value: 70 + Math.sin(s / 60) * 3,
        ts: now - s * 1000,
      });
      readings.push({
        assetId: ids.pump,
        metric: 'pressure',
        value: 4 + Math.cos(s / 90) * 0.3,
        ts: now - s * 1000,
      });
    }
    for (let s = 15; s >= 0; s--)
      readings.push({ assetId: ids.pump, metric: 'temperature', value: 95, ts: now - s * 1000 });
    const result = await api('POST', '/api/v1/telemetry', { readings });
    expect(result.rejected).toEqual([]);

    await page.locator(`[data-asset-id="${ids.pump}"] a`).click();
    await page.locator('[data-testid="asset-name"]', { hasText: 'E2E feed pump' }).waitFor();
    await page
      .locator('[data-testid="latest-values"] [data-metric="temperature"]', { hasText: '95' })
      .waitFor();
    await page.locator('[data-testid="latest-values"] [data-metric="pressure"]').waitFor();
    // A chart per selected metric, drawn by uPlot on a canvas, with the readings' points.
    const chart = page.locator('.chart-panel[data-metric="temperature"]');
    await chart.locator('canvas').waitFor();
    expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(10);
    await page.locator('.chart-panel[data-metric="pressure"] canvas').waitFor();

    // Range and bucket pickers ask again; zooming in narrows the shown window.
    await page.getByRole('button', { name: '6h' }).click();
    await page.getByLabel('Bucket').selectOption('1m');
    await page.locator('.chart-meta', { hasText: 'bucket 1m' }).waitFor();
    await page.getByRole('button', { name: 'Zoom in' }).click();
    await page.getByRole('button', { name: 'Reset' }).waitFor();
    await page.getByRole('button', { name: 'Reset' }).click();
    await page.locator('[data-testid="asset-alerts"]', { hasText: 'Bearing temperature high' }).waitFor();
    await shot('04-asset-page');
  });

  it('acknowledges an alert from the alerts page', async () => {
    await go('#/alerts');
    const row = page.locator('[data-testid="alert-table"] tbody tr', { hasText: 'Bearing temperature high' });
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.locator('.badge', { hasText: 'acknowledged' }).waitFor();
    const alerts = await api('GET', `/api/v1/alerts?assetId=${ids.pump}&status=acknowledged`);
    expect(alerts.items).toHaveLength(1);
    expect(alerts.items[0].acknowledgedBy).toBe('operator');
    await shot('05-alert-acknowledged');
  });

  it('moves a work order through the board', async () => {
    const workOrder = await api('POST', '/api/v1/work-orders', {
      assetId: ids.compressor,
      title: 'E2E replace inlet filter',
      priority: 'medium',
    });
    await go('#/work-orders');
    const card = page.locator(`[data-work-order-id="${workOrder.id}"]`);
    const inColumn = (status: string) =>
      page.locator(`[data-column="${status}"] [data-work-order-id="${workOrder.id}"]`).waitFor();

    await inColumn('open');
    await card.getByRole('button', { name: 'Assign' }).click();
    await card.getByLabel('Technician').selectOption(ids.technician!);
    await card.getByRole('button', { name: 'Assign' }).click();
    await inColumn('assigned');
    await card.getByText('Ana Silva').waitFor();
    await card.getByRole('button', { name: 'Start' }).click();
    await inColumn('in_progress');
    await card.getByRole('button', { name: 'Hold' }).click();
    await inColumn('on_hold');
    await shot('06-work-order-on-hold');
    await card.getByRole('button', { name: 'Resume' }).click();
    await inColumn('in_progress');
    await card.getByRole('button', { name: 'Complete' }).click();
    await inColumn('completed');
    const done = await api('GET', `/api/v1/work-orders/${workOrder.id}`);
    expect(done.history.map((h: { to: string }) => h.to)).toEqual([
      'open',
      'assigned',
      'in_progress',
      'on_hold',
      'in_progress',
      'completed',
    ]);
    await shot('07-work-order-board');
  });

  it('previews a rule with a backtest, then creates it', async () => {
    await go('#/rules');
    const editor = page.locator('[data-testid="rule-editor"]');
    await editor.getByLabel('Name').fill('E2E bearing above 90');
    await editor.getByLabel('Asset', { exact: true }).selectOption(ids.pump!);
    await editor.getByLabel('Metric').fill('temperature');
    await editor.getByLabel('Threshold').fill('90');
    await editor.getByLabel('Severity', { exact: true }).selectOption('critical');
    await editor.getByLabel('Backtest range').selectOption('1h');
    await editor.getByRole('button', { name: 'Preview (backtest)' }).click();
    // The 16 readings at 95 °C are one episode, still firing at the end of the range.
    await page.locator('[data-testid="backtest-episodes"]', { hasText: /^1$/ }).waitFor();
    await shot('08-rule-backtest');

    await editor.getByRole('button', { name: 'Create rule' }).click();
    await page.locator('[data-testid="rule-table"] tr', { hasText: 'E2E bearing above 90' }).waitFor();
    const rules = await api('GET', `/api/v1/alert-rules?assetId=${ids.pump}&metric=temperature`);
    expect(rules.items.map((r: { name: string }) => r.name)).toContain('E2E bearing above 90');
  });

  it('fits a tablet screen and signs out', async () => {
    await page.setViewportSize({ width: 820, height: 1180 });
    await go(`#/assets/${ids.pump}`);
    await page.locator('[data-testid="asset-name"]', { hasText: 'E2E feed pump' }).waitFor();
    await page.locator('.chart-panel canvas').first().waitFor();
    // Nothing wider than the screen but the scrolling tables and board.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await shot('09-asset-page-tablet');

    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('assetops.token'))).toBeNull();
  });
});
