/**
 * Noisy-neighbour benchmark: does heavy telemetry ingest hurt the Asset API? (The seed's claim is
 * that a shared database lets one workload kill the other.) Not part of `npm test`; run it with
 *
 *   npx tsx bench/neighbour/run.ts [--duration=20 --read-rate=150 …]   (or: npm run bench:neighbour)
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). Database-per-service here means separate databases
 * and roles on the same PostgreSQL server — and, in the all-in-one runtime, every service and the
 * gateway in one Node process, all on this machine's 2 vCPUs. The phases tell those apart:
 *
 * 1. Asset API alone: BENCH_READ_RATE (150) requests/s for BENCH_DURATION (20) s, open loop,
 *    alternating `GET /api/v1/assets/:id` (one of BENCH_ASSETS (500) assets) and
 *    `GET /api/v1/assets?limit=20`, through the gateway of runtime A.
 * 2. The same while runtime A also ingests at its maximum: HTTP batches of 1,000 readings from
 *    BENCH_INGEST_CLIENTS (8) concurrent clients (closed loop) — the all-in-one as shipped.
 * 3. (BENCH_SEPARATE=1, default) The same reads while the ingest goes to runtime B instead: another
 *    process with its own databases on the same PostgreSQL server — the shared database server
 *    (and CPUs) without the shared event loop.
 *
 * In every phase a database probe reads the asset table directly (the API's two queries, over a
 * superuser connection to A's asset database, BENCH_PROBE_RATE (20) per second), so that the
 * database's share of any slowdown shows apart from the Node process's. Latencies are from each
 * request's scheduled time. Results are printed and written to bench/results/neighbour-<time>.json.
 */
import os from 'node:os';
import type { Pool } from '@assetops/platform';
import { IngestClients, type IngestRunResult, metricNames } from '../common/ingest-clients.js';
import { type Platform, registerAssets, startPlatform, waitUntilTelemetryKnows } from '../common/platform.js';
import { benchPostgresProcesses, CpuSplit, processCpuMs } from '../common/proc.js';
import {
  applyCliOptions,
  environment,
  envNumber,
  type LatencySummary,
  round,
  sleep,
  summarize,
  writeResults,
} from '../common/stats.js';
import { BenchThread } from '../common/threads.js';
import type { ReadsOutcome, ReadsSettings } from './reads.worker.js';

applyCliOptions(process.argv.slice(2));
const options = {
  seconds: envNumber('BENCH_DURATION', 20),
  readRate: envNumber('BENCH_READ_RATE', 150),
  assets: envNumber('BENCH_ASSETS', 500),
  ingestClients: envNumber('BENCH_INGEST_CLIENTS', 8),
  probeRate: envNumber('BENCH_PROBE_RATE', 20),
  separate: (process.env.BENCH_SEPARATE ?? '1') === '1',
};
const ASSETS_PER_CLIENT = 10;
const metrics = metricNames(10);

/** Runtime A's or B's ingest clients, ready to load (assets registered and known to telemetry). */
async function prepareIngest(platform: Platform): Promise<IngestClients> {
  const assets = await registerAssets(platform, options.ingestClients * ASSETS_PER_CLIENT, {
    namePrefix: 'Neighbour ingest pump',
  });
  const startTsMs = Math.floor((Date.now() - 50 * 60_000) / 1000) * 1000;
  await waitUntilTelemetryKnows(platform, assets, metrics, startTsMs - 1000);
  return new IngestClients(
    {
      gatewayUrl: platform.gatewayUrl,
      adminToken: platform.adminToken,
      metrics,
      tsPerSeries: 1000 / (ASSETS_PER_CLIENT * metrics.length),
      tsStepMs: 10,
      startTsMs,
      connections: 32,
    },
    Array.from({ length: options.ingestClients }, (_, i) => ({
      assetIds: assets.slice(i * ASSETS_PER_CLIENT, (i + 1) * ASSETS_PER_CLIENT),
    })),
    2,
    1000,
  );
}

/** Direct reads of the asset table at `rate`/s, open loop; latencies from the scheduled time. */
async function probeDatabase(db: Pool, assetIds: string[], rate: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const start = performance.now() + 20;
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < Math.floor(rate * seconds); i++) {
    const scheduled = start + (i * 1000) / rate;
    const wait = scheduled - performance.now();
    if (wait > 0) await sleep(wait);
    const query =
      i % 2 === 0
        ? db.query('SELECT * FROM assets WHERE id = $1', [
            assetIds[Math.floor(Math.random() * assetIds.length)],
          ])
        : db.query('SELECT * FROM assets ORDER BY id LIMIT 21');
    inFlight.push(query.then(() => void latencies.push(performance.now() - scheduled)));
  }
  await Promise.all(inFlight);
  return latencies;
}

interface PhaseResult {
  phase: string;
  readsPerSecond: number;
  getById: LatencySummary;
  list: LatencySummary;
  dbProbe: LatencySummary;
  failedReads: number;
  readErrors: string[];
  lateReadSends: number;
  ingest?: IngestRunResult;
  runtimeAEventLoopDelayMs: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  runtimeAMainThreadWaitingForCpu: number;
  cores: Record<string, number>;
  /** What the phase left in the event pipelines (A, B) and how long it took to clear. */
  eventBacklogAtEnd?: Record<string, number>[];
  eventBacklogSeconds?: number;
}

async function main(): Promise<void> {
  console.log('starting runtime A (all-in-one, child process) …');
  const a = await startPlatform({ label: 'nbr' });
  let b: Platform | undefined;
  let reader: BenchThread | undefined;
  const ingests: IngestClients[] = [];
  try {
    if (options.separate) {
      console.log('starting runtime B (for phase 3: its own databases, same PostgreSQL server) …');
      b = await startPlatform({ label: 'nbr_b' });
    }
    console.log(`registering ${options.assets} assets in A …`);
    const readAssets = await registerAssets(a, options.assets, { namePrefix: 'Neighbour pump' });
    const ingestA = await prepareIngest(a);
    ingests.push(ingestA);
    const ingestB = b ? await prepareIngest(b) : undefined;
    if (ingestB) ingests.push(ingestB);
    const assetDb = a.adminPool('asset', 4);
    const telemetryDb = a.adminPool('telemetry', 2);
    await assetDb.query('ANALYZE assets');
    reader = new BenchThread(new URL('./reads.worker.ts', import.meta.url), {
      gatewayUrl: a.gatewayUrl,
      adminToken: a.adminToken,
      assetIds: readAssets,
    } satisfies ReadsSettings);
    // Warm-up: JIT, connections, caches.
    await reader.call('run', { ratePerSecond: options.readRate, seconds: 3 });
    await ingestA.closed(options.ingestClients, 2);
    if (ingestB) await ingestB.closed(options.ingestClients, 2);
    await Promise.all([a.waitUntilQuiet(), b?.waitUntilQuiet()]);
    await sleep(1000);

    const cpu = new CpuSplit(
      () => [a.pid],
      benchPostgresProcesses(assetDb, { 'A ': a.databasePrefix, ...(b ? { 'B ': b.databasePrefix } : {}) }),
    );
    const phase = async (name: string, ingest: IngestClients | undefined): Promise<PhaseResult> => {
      console.log(`\n${name}: ${options.readRate} reads/s for ${options.seconds} s …`);
      await cpu.restart();
      await a.eventLoopDelay();
      const bCpu = b ? processCpuMs(b.pid) : 0;
      const started = performance.now();
      const [reads, probe, ingestRun] = await Promise.all([
        reader!.call<ReadsOutcome>('run', { ratePerSecond: options.readRate, seconds: options.seconds }),
        probeDatabase(assetDb, readAssets, options.probeRate, options.seconds),
        ingest?.closed(options.ingestClients, options.seconds),
      ]);
      const cores = await cpu.cores();
      const eventLoop = await a.eventLoopDelay();
      const elapsedMs = performance.now() - started;
      const result: PhaseResult = {
        phase: name,
        readsPerSecond: round((reads.byId.length + reads.list.length) / reads.seconds, 1),
        getById: summarize(reads.byId),
        list: summarize(reads.list),
        dbProbe: summarize(probe),
        failedReads: reads.failed,
        readErrors: reads.errors,
        lateReadSends: reads.lateSends,
        ...(ingestRun ? { ingest: ingestRun } : {}),
        runtimeAEventLoopDelayMs: eventLoop,
        runtimeAMainThreadWaitingForCpu: cores.serverCpuWait,
        cores: {
          runtimeA: cores.serverCores,
          ...(b ? { runtimeB: round((processCpuMs(b.pid) - bCpu) / elapsedMs, 2) } : {}),
          postgres: cores.postgresCores,
          ...Object.fromEntries(
            Object.entries(cores.postgresByGroup)
              .filter(([, used]) => used >= 0.01)
              .map(([group, used]) => [`pg ${group}`, used]),
          ),
          benchClients: cores.benchClientCores,
          other: cores.otherCores,
        },
      };
      // Runtime B's CPU is not the server's of CpuSplit: take it out of "other".
      if (b) result.cores.other = round(Math.max(0, cores.otherCores - (result.cores.runtimeB ?? 0)), 2);
      // The next phase starts once this one's event backlog (telemetry feed → alert) is processed.
      const quiet = await Promise.all([a.waitUntilQuiet(), b?.waitUntilQuiet()]);
      const waited = Math.max(...quiet.map((q) => q?.seconds ?? 0));
      result.eventBacklogAtEnd = quiet.map((q) => q?.backlogAtEnd ?? {});
      result.eventBacklogSeconds = waited;
      if (waited > 1) {
        console.log(
          `  (waited ${waited} s for this phase's event backlog to be processed: ` +
            `${quiet.map((q, i) => `${i === 0 ? 'A' : 'B'} ${JSON.stringify(q?.backlogAtEnd ?? {})}`).join(', ')})`,
        );
      }
      await sleep(1000);
      return result;
    };

    const phases: PhaseResult[] = [];
    phases.push(await phase('1. Asset API alone', undefined));
    phases.push(await phase('2. + ingest at max into the same runtime (all-in-one)', ingestA));
    if (ingestB)
      phases.push(await phase('3. + ingest at max into runtime B (same PostgreSQL server)', ingestB));

    const row = (p: PhaseResult) => ({
      phase: p.phase,
      'reads/s': p.readsPerSecond,
      'GET :id p50/p99/max ms': `${p.getById.p50Ms} / ${p.getById.p99Ms} / ${p.getById.maxMs}`,
      'GET list p50/p99/max ms': `${p.list.p50Ms} / ${p.list.p99Ms} / ${p.list.maxMs}`,
      'DB probe p50/p99/max ms': `${p.dbProbe.p50Ms} / ${p.dbProbe.p99Ms} / ${p.dbProbe.maxMs}`,
      'ingest readings/s': p.ingest?.readingsPerSecond ?? '',
      'failed reads': p.failedReads,
    });
    const process = (p: PhaseResult) => ({
      phase: p.phase,
      'A event-loop delay p50/p99/max ms': `${p.runtimeAEventLoopDelayMs.p50Ms} / ${p.runtimeAEventLoopDelayMs.p99Ms} / ${p.runtimeAEventLoopDelayMs.maxMs}`,
      'A main thread waiting for a CPU': `${round(p.runtimeAMainThreadWaitingForCpu * 100, 1)} %`,
      ...p.cores,
    });
    console.log(
      '\nAsset API latency (through the gateway of runtime A; from each request’s scheduled time) and a direct probe of A’s asset database:',
    );
    console.table(phases.map(row));
    console.log(
      'Runtime A’s event loop, and CPU used in cores (2 vCPUs on this machine; "other" is everything else running on it):',
    );
    console.table(phases.map(process));
    for (const p of phases) {
      if (p.readErrors.length > 0) console.log(`  read errors (${p.phase}):`, p.readErrors);
      if (p.ingest && p.ingest.errors.length > 0)
        console.log(`  ingest errors (${p.phase}):`, p.ingest.errors);
    }
    const alone = phases[0]!;
    console.log('\np99 relative to the Asset API alone:');
    console.table(
      phases.slice(1).map((p) => ({
        phase: p.phase,
        'GET :id p99 ×': round(p.getById.p99Ms / alone.getById.p99Ms, 1),
        'GET list p99 ×': round(p.list.p99Ms / alone.list.p99Ms, 1),
        'DB probe p99 ×': round(p.dbProbe.p99Ms / alone.dbProbe.p99Ms, 1),
      })),
    );
    console.log(
      'Database-per-service in the all-in-one runtime = separate databases and roles on ONE PostgreSQL server; ' +
        'all services and the gateway share one Node process (phase 2). Phase 3 keeps the shared server but not the process.',
    );
    const file = await writeResults('neighbour', {
      options,
      phases,
      environment: {
        ...(await environment(telemetryDb)),
        loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)),
        note: 'separate databases on the same PostgreSQL server; runtime A = all services + gateway in one Node process; runtime B = a second all-in-one process (phase 3); everything shares 2 vCPUs with whatever else runs on the machine',
      },
    });
    console.log(`\nresults written to ${file}`);
  } finally {
    await reader?.call('close').catch(() => {});
    await reader?.terminate();
    for (const ingest of ingests) await ingest.close();
    await Promise.all([a.stop(), b?.stop()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
