import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createEventConsumer,
  createLogger,
  createNatsBus,
  dropServiceDatabase,
  type EventConsumer,
  messagingMigrations,
  type NatsBus,
  provisionServiceDatabase,
  runMigrations,
  withDatabase,
} from '@assetops/platform';
import { createTestDatabase, natsAvailable, type TestDatabase, testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPort } from './test-port.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const serviceMain = path.join(repoRoot, 'runtime/src/service.main.ts');

function startProcess(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', serviceMain, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  return Object.assign(child, { output: () => output });
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once('exit', (code) => r(code)));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// The distributed runtime: the asset, telemetry and alert services and the gateway each in their own
// process, each service on its own database, all on NATS JetStream (the onboarding saga runs across
// them); a consumer in this process (standing in for another service) receives the asset events
// exactly once, also across a SIGKILL of the producer.
describe.runIf(await natsAvailable())('distributed runtime (one process per service, NATS JetStream)', () => {
  const prefix = `dist_${randomBytes(3).toString('hex')}`;
  const streamPrefix = `T${prefix.toUpperCase()}`;
  const assetDb = {
    database: `${prefix}_asset`,
    role: `${prefix}_asset`,
    password: randomBytes(9).toString('hex'),
  };
  const telemetryDb = {
    database: `${prefix}_telemetry`,
    role: `${prefix}_telemetry`,
    password: randomBytes(9).toString('hex'),
  };
  const alertDb = {
    database: `${prefix}_alert`,
    role: `${prefix}_alert`,
    password: randomBytes(9).toString('hex'),
  };
  const gatewayDb = {
    database: `${prefix}_gateway`,
    role: `${prefix}_gateway`,
    password: randomBytes(9).toString('hex'),
  };
  const token = randomBytes(16).toString('hex');
  const children: ChildProcess[] = [];
  let assetPort: number;
  let telemetryPort: number;
  let alertPort: number;
  let gatewayPort: number;
  let assetEnv: Record<string, string>;
  let consumerDb: TestDatabase;
  let bus: NatsBus;
  let consumer: EventConsumer;

  beforeAll(async () => {
    await provisionServiceDatabase(testEnv.databaseUrl, assetDb);
    await provisionServiceDatabase(testEnv.databaseUrl, telemetryDb);
    await provisionServiceDatabase(testEnv.databaseUrl, alertDb);
    await provisionServiceDatabase(testEnv.databaseUrl, gatewayDb);
    [assetPort, telemetryPort, alertPort, gatewayPort] = [
      await testPort(),
      await testPort(),
      await testPort(),
      await testPort(),
    ];
    assetEnv = {
      DATABASE_URL: withDatabase(testEnv.databaseUrl, assetDb.database, {
        user: assetDb.role,
        password: assetDb.password,
      }),
      NATS_URL: testEnv.natsUrl,
      NATS_STREAM_PREFIX: streamPrefix,
      HOST: '127.0.0.1',
      PORT: String(assetPort),
    };
    children.push(startProcess(['asset'], assetEnv));
    children.push(
      startProcess(['telemetry'], {
        ...assetEnv,
        DATABASE_URL: withDatabase(testEnv.databaseUrl, telemetryDb.database, {
          user: telemetryDb.role,
          password: telemetryDb.password,
        }),
        PORT: String(telemetryPort),
      }),
    );
    children.push(
      startProcess(['alert'], {
        ...assetEnv,
        DATABASE_URL: withDatabase(testEnv.databaseUrl, alertDb.database, {
          user: alertDb.role,
          password: alertDb.password,
        }),
        PORT: String(alertPort),
      }),
    );
    children.push(
      startProcess(['gateway'], {
        ASSETOPS_ADMIN_TOKEN: token,
        DATABASE_URL: withDatabase(testEnv.databaseUrl, gatewayDb.database, {
          user: gatewayDb.role,
          password: gatewayDb.password,
        }),
        ASSETOPS_ASSET_URL: `http://127.0.0.1:${assetPort}`,
        ASSETOPS_TELEMETRY_URL: `http://127.0.0.1:${telemetryPort}`,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
      }),
    );

    consumerDb = await createTestDatabase('dist_consumer');
    await runMigrations(consumerDb.pool, [messagingMigrations]);
    await consumerDb.pool.query(
      'CREATE TABLE seen (event_id uuid PRIMARY KEY, asset_id uuid NOT NULL, name text)',
    );
    const logger = createLogger({ service: 'e2e', level: 'silent' });
    bus = await createNatsBus({ servers: testEnv.natsUrl, name: 'e2e', logger, streamPrefix });
    consumer = createEventConsumer({
      name: 'e2e',
      pool: consumerDb.pool,
      bus,
      logger,
      sources: ['asset'],
      handlers: {
        'assetops.asset.registered.v1': async (tx, event) => {
          const data = event.data as { assetId: string; name: string };
          // No ON CONFLICT: a second application of the same event would fail loudly.
          await tx.query('INSERT INTO seen (event_id, asset_id, name) VALUES ($1, $2, $3)', [
            event.id,
            data.assetId,
            data.name,
          ]);
        },
      },
    });
    await consumer.start();
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${gatewayPort}/ready`)).status === 200 ? true : undefined),
      'the gateway and the asset service to be ready',
    );
    await waitFor(
      async () =>
        (await fetch(`http://127.0.0.1:${telemetryPort}/ready`)).status === 200 ? true : undefined,
      'the telemetry service to be ready',
    );
  }, 60_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await consumer?.stop();
    await bus?.deleteStreams();
    await bus?.close();
    await consumerDb?.drop();
    await dropServiceDatabase(testEnv.databaseUrl, assetDb);
    await dropServiceDatabase(testEnv.databaseUrl, telemetryDb);
    await dropServiceDatabase(testEnv.databaseUrl, alertDb);
    await dropServiceDatabase(testEnv.databaseUrl, gatewayDb);
  });

  async function register(name: string): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/assets`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, type: 'pump' }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: string }).id;
  }

  async function seen(assetId: string): Promise<number> {
    const { rows } = await consumerDb.pool.query('SELECT count(*)::int AS n FROM seen WHERE asset_id = $1', [
      assetId,
    ]);
    return rows[0].n;
  }

  it('delivers AssetRegistered from the asset process through JetStream to another database', async () => {
    const id = await register('Distributed pump');
    await waitFor(async () => ((await seen(id)) === 1 ? true : undefined), 'the event to be consumed');
  });

  it('lets the telemetry process learn the asset from JetStream and accept its readings', async () => {
    const id = await register('Metered pump');
    const post = () =>
      fetch(`http://127.0.0.1:${gatewayPort}/api/v1/telemetry`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ readings: [{ assetId: id, metric: 'flow', value: 12.5 }] }),
      }).then((r) => r.json() as Promise<{ accepted: number }>);
    await waitFor(
      async () => ((await post()).accepted === 1 ? true : undefined),
      'telemetry to accept readings',
    );
    const latest = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/assets/${id}/telemetry/latest`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(((await latest.json()) as { values: { value: number }[] }).values.map((v) => v.value)).toEqual([
      12.5,
    ]);
  });

  it('runs the onboarding saga across the asset, telemetry and alert processes', async () => {
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${alertPort}/ready`)).status === 200 ? true : undefined),
      'the alert service to be ready',
    );
    const id = await register('Onboarded over JetStream');
    const asset = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/assets/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { status: string; statusReason: string | null };
      return body.status === 'active' ? body : undefined;
    }, 'the asset to become active');
    expect(asset.statusReason).toBe('onboarding completed');
  });

  it('keeps delivering exactly once after the asset process is killed and restarted', async () => {
    const before = await register('Before the crash');
    children[0]!.kill('SIGKILL');
    await exited(children[0]!);
    children[0] = startProcess(['asset'], assetEnv);
    await waitFor(
      async () => ((await fetch(`http://127.0.0.1:${assetPort}/ready`)).status === 200 ? true : undefined),
      'the restarted asset service',
    );
    const after = await register('After the crash');
    await waitFor(async () => ((await seen(after)) === 1 ? true : undefined), 'the event after the restart');
    expect(await seen(before)).toBe(1);
    const { rows } = await consumerDb.pool.query(
      'SELECT count(*)::int AS n, count(DISTINCT asset_id)::int AS assets FROM seen',
    );
    expect(rows[0].n).toBe(rows[0].assets);
  }, 60_000);

  it('refuses to start with invalid configuration, naming each bad variable', async () => {
    const child = startProcess(['asset'], {
      DATABASE_URL: 'mysql://nowhere/x',
      NATS_URL: 'http://x',
      PORT: 'eighty',
    });
    expect(await exited(child)).toBe(1);
    expect(child.output()).toContain('PORT="eighty": must be a port number');
    expect(child.output()).toContain('DATABASE_URL=(hidden): must use postgres: or postgresql:');
    expect(child.output()).toContain('NATS_URL="http://x": must use nats: or tls:');
    const gateway = startProcess(['gateway'], {});
    expect(await exited(gateway)).toBe(1);
    expect(gateway.output()).toContain('ASSETOPS_ADMIN_TOKEN is required');
    const placeholder = startProcess(['gateway'], {
      ASSETOPS_ADMIN_TOKEN: 'replace-with-openssl-rand-hex-24',
    });
    expect(await exited(placeholder)).toBe(1);
    expect(placeholder.output()).toContain('ASSETOPS_ADMIN_TOKEN looks like a default or placeholder');
  });
});
