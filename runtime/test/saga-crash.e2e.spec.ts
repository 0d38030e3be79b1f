import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Asset, SagaDetail } from '@assetops/contracts';
import {
  createLogger,
  createNatsBus,
  dropServiceDatabase,
  provisionServiceDatabase,
  withDatabase,
} from '@assetops/platform';
import { natsAvailable, testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPort } from './test-port.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serviceMain = path.join(repoRoot, 'runtime/src/service.main.ts');
const services = ['asset', 'maintenance', 'alert', 'telemetry'] as const;
type Service = (typeof services)[number];

const output: string[] = [];

function startProcess(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', serviceMain, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Kept for the failure message: what a process said before it died or hung.
  const keep = (chunk: Buffer) => output.push(`[${args[0]}] ${chunk.toString().slice(0, 2000)}`);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return child;
}

function exited(child: ChildProcess): Promise<unknown> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', r));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${output.slice(-20).join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// A crash of the orchestrator mid-saga, one process per service on NATS JetStream: a
// decommissioning saga is started while the Alert process is stopped (Maintenance confirms, the
// alert step waits), the Asset process is SIGKILLed and started again, then Alert comes back — and
// the saga resumes from its stored state and completes.
describe.runIf(await natsAvailable())('orchestrator crash mid-saga (distributed runtime)', () => {
  const prefix = `crash_${randomBytes(3).toString('hex')}`;
  const streamPrefix = `T${prefix.toUpperCase()}`;
  const dbs = Object.fromEntries(
    services.map((name) => [
      name,
      { database: `${prefix}_${name}`, role: `${prefix}_${name}`, password: randomBytes(9).toString('hex') },
    ]),
  ) as Record<Service, { database: string; role: string; password: string }>;
  const ports = {} as Record<Service, number>;
  const processes = new Map<Service, ChildProcess>();

  const envOf = (name: Service): Record<string, string> => ({
    DATABASE_URL: withDatabase(testEnv.databaseUrl, dbs[name].database, {
      user: dbs[name].role,
      password: dbs[name].password,
    }),
    NATS_URL: testEnv.natsUrl,
    NATS_STREAM_PREFIX: streamPrefix,
    HOST: '127.0.0.1',
    PORT: String(ports[name]),
    // Short waits, many attempts: the alert step is asked again while Alert is away, and the saga
    // does not give up before it is back.
    ASSET_SAGA_STEP_TIMEOUT: '2s',
    ASSET_SAGA_MAX_ATTEMPTS: '20',
  });
  const start = (name: Service) => processes.set(name, startProcess([name], envOf(name)));
  const kill = async (name: Service) => {
    const child = processes.get(name)!;
    child.kill('SIGKILL');
    await exited(child);
  };
  const ready = (name: Service) =>
    waitFor(
      async () => ((await fetch(`http://127.0.0.1:${ports[name]}/ready`)).status === 200 ? true : undefined),
      `the ${name} service to be ready`,
    );
  const assetApi = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${ports.asset}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as unknown };
  };
  const saga = async (id: string) => (await assetApi('GET', `/api/v1/sagas/${id}`)).body as SagaDetail;

  beforeAll(async () => {
    for (const name of services) {
      await provisionServiceDatabase(testEnv.databaseUrl, dbs[name]);
      ports[name] = await testPort();
    }
    for (const name of services) start(name);
    // Four processes compile and start at once on a possibly busy machine: generous, polled.
    await Promise.all(services.map(ready));
  }, 120_000);

  afterAll(async () => {
    for (const child of processes.values()) child.kill('SIGKILL');
    await Promise.all([...processes.values()].map(exited));
    const bus = await createNatsBus({
      servers: testEnv.natsUrl,
      name: 'crash-cleanup',
      logger: createLogger({ service: 'e2e', level: 'silent' }),
      streamPrefix,
    });
    await bus.deleteStreams();
    await bus.close();
    for (const name of services) await dropServiceDatabase(testEnv.databaseUrl, dbs[name]);
  });

  it('resumes a decommissioning saga after the asset process is killed, and completes it', async () => {
    const registered = await assetApi('POST', '/api/v1/assets', { name: 'Crash pump', type: 'pump' });
    expect(registered.status).toBe(201);
    const assetId = (registered.body as Asset).id;
    await waitFor(async () => {
      const asset = (await assetApi('GET', `/api/v1/assets/${assetId}`)).body as Asset;
      return asset.status === 'active' ? true : undefined;
    }, 'onboarding to make the asset active');

    await kill('alert');
    const started = await assetApi('POST', `/api/v1/assets/${assetId}/decommission`, {
      reason: 'crash test',
    });
    expect(started.status).toBe(202);
    const sagaId = (started.body as SagaDetail).id;
    // Maintenance confirms; the saga then waits for the absent Alert service, asking again.
    await waitFor(async () => {
      const s = await saga(sagaId);
      return s.step === 'alert' && s.attempts >= 2 ? s : undefined;
    }, 'the saga to wait on the alert step');

    await kill('asset');
    start('asset');
    await ready('asset');
    expect(await saga(sagaId)).toMatchObject({ status: 'running', step: 'alert' });
    start('alert');

    const done = await waitFor(async () => {
      const s = await saga(sagaId);
      return s.status === 'completed' ? s : undefined;
    }, 'the saga to complete');
    expect(done.steps.map((s) => s.status)).toEqual(['done', 'done', 'done']);
    expect(
      done.history.filter((e) => e.step === 'alert' && e.outcome === 'timed_out').length,
    ).toBeGreaterThan(0);
    expect(done.history.at(-1)).toMatchObject({ step: 'asset', action: 'decommission', outcome: 'done' });
    expect((await assetApi('GET', `/api/v1/assets/${assetId}`)).body).toMatchObject({
      status: 'decommissioned',
      statusReason: 'crash test',
    });
    // The participants did their part: telemetry refuses the asset's readings.
    const readings = await fetch(`http://127.0.0.1:${ports.telemetry}/api/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ readings: [{ assetId, metric: 'rpm', value: 1 }] }),
    });
    expect(((await readings.json()) as { rejected: { code: string }[] }).rejected[0]?.code).toMatch(
      /^ASSET_DECOMMISSION(ED|ING)$/,
    );
  }, 180_000);
});
