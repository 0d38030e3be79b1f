import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Asset, LatestValues } from '@assetops/contracts';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';
import { main, runSimulation } from '../src/simulate.cli.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// `npm run simulate` against the all-in-one runtime (demo off): over HTTP and over the runtime's
// embedded MQTT broker, and as a real process stopped with Ctrl-C.
describe('simulate CLI against the all-in-one runtime', () => {
  const prefix = `sim_${randomBytes(3).toString('hex')}`;
  const token = 'test-admin-token-0123456789';
  let dataDir: string;
  let platform: AllInOne;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-simulate-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
  });
  afterAll(async () => {
    await platform?.stop();
    for (const name of databaseServices) {
      await dropServiceDatabase(testEnv.databaseUrl, {
        database: `${prefix}_${name}`,
        role: `${prefix}_${name}`,
      });
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  async function get<T>(url: string): Promise<T> {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status, url).toBe(200);
    return (await res.json()) as T;
  }

  function capture() {
    const out: string[] = [];
    const err: string[] = [];
    return {
      out,
      err,
      io: {
        out: { write: (t: string) => out.push(t), isTTY: false },
        err: { write: (t: string) => err.push(t) },
        env: {},
      },
    };
  }

  it('registers its assets and sends readings over HTTP, then prints a summary (exit 0)', async () => {
    const { out, err, io } = capture();
    const code = await main(
      [
        '--assets',
        '3',
        '--rate',
        '60',
        '--duration',
        '3',
        '--batch',
        '20',
        '--url',
        platform.gatewayUrl,
        '--token',
        token,
      ],
      io,
    );
    expect(err.join('')).toBe('');
    expect(code).toBe(0);
    const text = out.join('');
    expect(text).toContain('Summary: 3 assets over http');
    const accepted = Number(
      /accepted\s+([\d,]+)/.exec(text.slice(text.indexOf('Summary')))![1]!.replaceAll(',', ''),
    );
    expect(accepted).toBeGreaterThan(0);
    expect(text).toMatch(/rejected\s+0\b/);
    expect(text).toMatch(/latency\s+p50 [\d.]+ ms · p99/);

    const assets = (await get<{ items: Asset[] }>('/api/v1/assets?q=Simulator&limit=100')).items;
    expect(assets).toHaveLength(3);
    expect(assets.every((a) => a.status === 'active')).toBe(true);
    const latest = await get<LatestValues>(`/api/v1/assets/${assets[0]!.id}/telemetry/latest`);
    expect(latest.values.length).toBeGreaterThan(0);
  }, 60_000);

  it('reuses its assets on the next run and sends over MQTT', async () => {
    const { io } = capture();
    const summary = await runSimulation(
      {
        assets: 4,
        rate: 40,
        via: 'mqtt',
        url: platform.gatewayUrl,
        mqttUrl: platform.mqttUrl,
        token,
        duration: 2,
        batch: 100,
      },
      io,
    );
    expect(summary.errors).toBe(0);
    expect(summary.accepted).toBeGreaterThan(0);
    const assets = (await get<{ items: Asset[] }>('/api/v1/assets?q=Simulator&limit=100')).items;
    // Three reused from the previous run, one new.
    expect(assets).toHaveLength(4);
    // The broker acknowledged them; the telemetry service stores them shortly after.
    const newest = assets.find((a) => (a.metadata.simulator as { index: number }).index === 3)!;
    const until = Date.now() + 30_000;
    for (;;) {
      const latest = await get<LatestValues>(`/api/v1/assets/${newest.id}/telemetry/latest`);
      if (latest.values.length > 0) break;
      if (Date.now() > until) throw new Error('no MQTT readings stored');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);

  it('as a process: Ctrl-C stops it cleanly with the summary', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'runtime/src/simulate.main.ts',
        '--assets',
        '2',
        '--rate',
        '20',
        '--url',
        platform.gatewayUrl,
        '--token',
        token,
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.stderr.on('data', (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait for the first progress line (non-TTY: one every 5 s), then interrupt.
    const until = Date.now() + 45_000;
    while (!/rate [\d,]+\/s {2}accepted [1-9]/.test(out)) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`no progress:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGINT');
    const code = await exited;
    expect(err).toContain('stopping');
    expect(out).toMatch(/Summary: 2 assets over http for [\d.]+ s \(interrupted\)/);
    expect(code).toBe(0);
  }, 60_000);
});
