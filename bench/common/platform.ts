/**
 * Starts the all-in-one runtime for a benchmark — in a child process on the machine's PostgreSQL
 * with a unique database prefix — and removes its databases afterwards. Also the few API calls
 * every benchmark needs (register assets, wait until telemetry knows them).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createPool, dropServiceDatabase, type Pool, withDatabase } from '@assetops/platform';
import { databaseServices } from '@assetops/runtime';
import type { EventLoopDelay, PlatformChildSettings, PlatformReady } from './platform.child.js';

export const benchAdminUrl =
  process.env.ASSETOPS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PlatformOptions {
  /** Short name in the database prefix (`bench_<label>_<random>`). */
  label: string;
  /** Extra environment of the services. */
  env?: Record<string, string>;
  /** Write a V8 CPU profile of the server process into this folder (`--cpu-prof`). */
  profileDir?: string;
}

export interface Platform {
  gatewayUrl: string;
  adminToken: string;
  mqttUrl: string | undefined;
  /** Each service's own URL (behind the gateway). */
  services: Record<string, string>;
  /** What startAllInOne returned (its keys). */
  runtimeKeys: string[];
  databasePrefix: string;
  pid: number;
  /** The server's event-loop delay since the last call (perf_hooks monitorEventLoopDelay, sampled every 10 ms). */
  eventLoopDelay(): Promise<Omit<EventLoopDelay, 'type'>>;
  /** A superuser pool on one service's database (for checks and the COPY ceiling). */
  adminPool(service: string, max?: number): Pool;
  /**
   * Waits until the event pipeline is idle — no unpublished outbox row, no pending inbox row in any
   * service's database, no pending telemetry feed window — so that one phase's backlog does not
   * weigh on the next. Resolves with how long it waited (it gives up after `timeoutMs`).
   */
  waitUntilQuiet(timeoutMs?: number): Promise<QuietResult>;
  /**
   * What is waiting in the event pipeline now, counted as `waitUntilQuiet` counts it (unpublished
   * outbox rows, pending inbox rows, pending feed windows, by database; zeros left out). For
   * sampling the backlog while a load runs.
   */
  eventBacklog(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** What was waiting in the event pipeline when a phase ended, and how long it took to clear. */
export interface QuietResult {
  seconds: number;
  /** At the start of the wait: unpublished outbox rows, pending inbox rows, pending feed windows, by database. */
  backlogAtEnd: Record<string, number>;
  /** What was still waiting when the wait ended (0 unless it gave up). */
  left: number;
}

/** Every event waiting in the pipeline, from a backlog by queue (`Platform.eventBacklog`). */
export function backlogTotal(byQueue: Record<string, number>): number {
  return Object.values(byQueue).reduce((sum, n) => sum + n, 0);
}

/** Starts the runtime in a child process; resolves once it listens. */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const databasePrefix = `bench_${opts.label}_${randomBytes(3).toString('hex')}`;
  const adminToken = randomBytes(24).toString('hex');
  const settings: PlatformChildSettings = {
    adminUrl: benchAdminUrl,
    databasePrefix,
    adminToken,
    env: opts.env ?? {},
    logLevel: process.env.LOG_LEVEL ?? 'warn',
  };
  const execArgv = ['--import', import.meta.resolve('tsx')];
  if (opts.profileDir) {
    await mkdir(opts.profileDir, { recursive: true });
    execArgv.push('--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`);
  }
  const child: ChildProcess = fork(new URL('./platform.child.ts', import.meta.url), [], {
    execArgv,
    env: { ...process.env, BENCH_PLATFORM: JSON.stringify(settings) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pools: Pool[] = [];
  const checkPools = new Map<string, Pool>();
  const dropDatabases = async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => {})));
    for (const name of databaseServices) {
      await dropServiceDatabase(benchAdminUrl, {
        database: `${databasePrefix}_${name}`,
        role: `${databasePrefix}_${name}`,
      }).catch((err) => console.error(`dropping ${databasePrefix}_${name} failed:`, err));
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let ready: PlatformReady;
  try {
    ready = await new Promise<PlatformReady>((resolve, reject) => {
      child.once('message', (message) => resolve(message as PlatformReady));
      child.once('exit', (code) =>
        reject(new Error(`the runtime exited (code ${code}) before it was ready`)),
      );
    });
  } catch (err) {
    await dropDatabases();
    throw err;
  }

  const adminPool = (service: string, max = 4): Pool => {
    const pool = createPool({
      connectionString: withDatabase(benchAdminUrl, `${databasePrefix}_${service}`),
      applicationName: 'bench-admin',
      max,
    });
    pools.push(pool);
    return pool;
  };
  const backlog = async (): Promise<Record<string, number>> => {
    const found: Record<string, number> = {};
    for (const name of databaseServices) {
      let pool = checkPools.get(name);
      if (!pool) {
        pool = adminPool(name, 1);
        checkPools.set(name, pool);
      }
      const count = async (sql: string) =>
        Number((await pool.query<{ n: number }>(sql).catch(() => ({ rows: [{ n: 0 }] }))).rows[0]?.n ?? 0);
      const add = (key: string, n: number) => {
        if (n > 0) found[key] = n;
      };
      add(
        `${name} outbox`,
        await count('SELECT coalesce(sum(events), 0)::int AS n FROM outbox WHERE published_at IS NULL'),
      );
      add(`${name} inbox`, await count("SELECT count(*)::int AS n FROM inbox WHERE status = 'pending'"));
      if (name === 'telemetry')
        add(
          'telemetry feed_pending',
          await count('SELECT coalesce(sum(cardinality(series_ids)), 0)::int AS n FROM feed_pending'),
        );
    }
    return found;
  };

  let stopped: Promise<void> | undefined;
  return {
    gatewayUrl: ready.gatewayUrl,
    adminToken: ready.adminToken,
    mqttUrl: ready.mqttUrl,
    services: ready.services,
    runtimeKeys: ready.keys,
    databasePrefix,
    pid: child.pid!,
    eventLoopDelay() {
      return new Promise((resolve) => {
        const onMessage = (message: unknown) => {
          if ((message as { type?: string }).type !== 'loop') return;
          child.off('message', onMessage);
          const { type: _type, ...delay } = message as EventLoopDelay;
          resolve(delay);
        };
        child.on('message', onMessage);
        child.send('loop');
      });
    },
    adminPool,
    async waitUntilQuiet(timeoutMs = 60_000) {
      const start = performance.now();
      const backlogAtEnd = await backlog();
      let left = backlogTotal(backlogAtEnd);
      while (left > 0 && performance.now() - start < timeoutMs) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        left = backlogTotal(await backlog());
      }
      return { seconds: Math.round((performance.now() - start) / 100) / 10, backlogAtEnd, left };
    },
    eventBacklog: backlog,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.send('stop');
          const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(timer);
        }
        await dropDatabases();
      })();
      return stopped;
    },
  };
}

/** A JSON call through the gateway with the admin token. */
export async function api<T = unknown>(
  platform: Pick<Platform, 'gatewayUrl' | 'adminToken'>,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${platform.gatewayUrl}${url}`, {
    method,
    headers: {
      authorization: `Bearer ${platform.adminToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

/** Registers `count` assets through the gateway (`parallel` at a time) and returns their ids. */
export async function registerAssets(
  platform: Pick<Platform, 'gatewayUrl' | 'adminToken'>,
  count: number,
  opts: { type?: string; namePrefix?: string; parallel?: number } = {},
): Promise<string[]> {
  const ids: string[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const res = await api<{ id: string }>(platform, 'POST', '/api/v1/assets', {
        name: `${opts.namePrefix ?? 'Bench asset'} ${i + 1}`,
        type: opts.type ?? 'pump',
        location: 'Bench plant',
      });
      if (res.status !== 201)
        throw new Error(`registering an asset failed: ${res.status} ${JSON.stringify(res.body)}`);
      ids[i] = res.body.id;
    }
  };
  await Promise.all(Array.from({ length: opts.parallel ?? 8 }, worker));
  return ids;
}

interface IngestAnswer {
  accepted: number;
  duplicates: number;
  rejected: { index: number; code: string }[];
}

/**
 * Waits until telemetry knows every asset (its AssetRegistered event arrived): sends one reading
 * per (asset, metric) at `tsMs` until none is rejected. This also creates every series.
 */
export async function waitUntilTelemetryKnows(
  platform: Pick<Platform, 'gatewayUrl' | 'adminToken'>,
  assetIds: readonly string[],
  metrics: readonly string[],
  tsMs: number,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const all = assetIds.flatMap((assetId) =>
    metrics.map((metric) => ({ assetId, metric, value: 0, ts: tsMs })),
  );
  for (let start = 0; start < all.length; start += 5000) {
    let readings = all.slice(start, start + 5000);
    for (;;) {
      const res = await api<IngestAnswer>(platform, 'POST', '/api/v1/telemetry', { readings });
      if (res.status !== 200) throw new Error(`ingest failed: ${res.status} ${JSON.stringify(res.body)}`);
      if (res.body.rejected.length === 0) break;
      const codes = new Set(res.body.rejected.map((r) => r.code));
      if ([...codes].some((code) => code !== 'UNKNOWN_ASSET')) {
        throw new Error(`warm-up readings rejected: ${[...codes].join(', ')}`);
      }
      if (Date.now() > deadline) throw new Error('telemetry did not learn of every asset in time');
      readings = res.body.rejected.map((r) => readings[r.index]!);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
