/**
 * Outbox → JetStream → inbox benchmark. Not part of `npm test`; run it with
 *
 *   npx tsx bench/outbox/run.ts            (or: npm run bench:outbox)
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) and NATS (ASSETOPS_BENCH_NATS_URL, default
 * nats://127.0.0.1:4222). It creates a producer and a consumer database and its own streams, and
 * removes them at the end. The producing service (paced producers + outbox relay) and the
 * consuming service each run on their own thread, as they would in their own processes.
 *
 * (a) Throughput: BENCH_EVENTS (100k) events are appended to the outbox first (transactions of 100),
 *     then the relay and the consumer start; measured is the time until every event is published,
 *     and until every event is processed by a trivial handler (one INSERT).
 * (b) Steady load: BENCH_RATE (5,000) events/s for BENCH_SECONDS (20) s, appended by
 *     BENCH_PRODUCERS (8) paced producers in transactions of BENCH_TX_SIZE (10) events.
 *     Relay lag = JetStream ack time − the producer's COMMIT time of the event; end-to-end lag =
 *     the consumer's COMMIT time − the producer's COMMIT time. Goal: relay lag p99 ≤ 100 ms.
 * (c) The same steady load with the consumer stopped (it catches up afterwards): the relay's lag
 *     without a consumer competing for the same CPUs.
 *
 * At the end it checks that every event has exactly one effect row and that no asset's events
 * arrived out of order. Results are printed and written to bench/results/ (git-ignored).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPool,
  dropServiceDatabase,
  messagingMigrations,
  provisionServiceDatabase,
  runMigrations,
  withDatabase,
} from '@assetops/platform';
import { ServiceThread } from './bench-rpc.js';
import type { ConsumerSettings } from './consumer.worker.js';
import type { ProducerSettings, SteadyLoad } from './producer.worker.js';

const adminUrl = process.env.ASSETOPS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.ASSETOPS_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const throughputEvents = Number(process.env.BENCH_EVENTS ?? 100_000);
const steady: SteadyLoad = {
  rate: Number(process.env.BENCH_RATE ?? 5000),
  seconds: Number(process.env.BENCH_SECONDS ?? 20),
  txSize: Number(process.env.BENCH_TX_SIZE ?? 10),
};
const producerWorkers = Number(process.env.BENCH_PRODUCERS ?? 8);
const LAG_GOAL_MS = 100;

interface LagSummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

function summarize(values: number[]): LagSummary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const mean = sorted.reduce((sum, v) => sum + v, 0) / Math.max(1, sorted.length);
  return {
    count: sorted.length,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    maxMs: sorted.at(-1) ?? Number.NaN,
    meanMs: Math.round(mean * 10) / 10,
  };
}

const round = (value: number) => Math.round(value * 100) / 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function createBenchDatabase(name: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const password = randomBytes(12).toString('hex');
  await provisionServiceDatabase(adminUrl, { database: name, role: name, password });
  const url = withDatabase(adminUrl, name, { user: name, password });
  const pool = createPool({ connectionString: url, applicationName: name, max: 2 });
  try {
    await runMigrations(pool, [messagingMigrations]);
  } finally {
    await pool.end();
  }
  return { url, drop: () => dropServiceDatabase(adminUrl, { database: name, role: name }) };
}

async function main(): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const producerDb = await createBenchDatabase(`bench_outbox_prod_${suffix}`);
  const consumerDb = await createBenchDatabase(`bench_outbox_cons_${suffix}`);
  const consumerPool = createPool({
    connectionString: consumerDb.url,
    applicationName: 'bench-check',
    max: 1,
  });
  await consumerPool.query(
    'CREATE TABLE bench_effects (event_id uuid NOT NULL, asset_id uuid NOT NULL, version int NOT NULL)',
  );
  const streamPrefix = `BENCH_${suffix.toUpperCase()}`;
  const producer = new ServiceThread(new URL('./producer.worker.ts', import.meta.url), {
    databaseUrl: producerDb.url,
    natsUrl,
    streamPrefix,
    producerWorkers,
    assetsPerWorker: 250,
  } satisfies ProducerSettings);
  const consumer = new ServiceThread(new URL('./consumer.worker.ts', import.meta.url), {
    databaseUrl: consumerDb.url,
    natsUrl,
    streamPrefix,
  } satisfies ConsumerSettings);
  const processed = async () => (await consumer.call<{ processed: number }>('progress')).processed;
  const results: Record<string, unknown> = {};

  try {
    // (a) Throughput: a backlog of events, then the pipeline drains it as fast as it can.
    console.log(`\n(a) throughput: appending ${throughputEvents} events in transactions of 100 …`);
    const fill = await producer.call<{ events: number; seconds: number }>('fill', throughputEvents);
    let appended = fill.events;
    const start = performance.now();
    await consumer.call('start');
    await producer.call('startRelay');
    let publishedSeconds = 0;
    await waitUntil(
      'the backlog to be processed',
      async () => {
        if (!publishedSeconds && (await producer.call<number>('acked')) >= appended) {
          publishedSeconds = (performance.now() - start) / 1000;
        }
        return (await processed()) >= appended;
      },
      600_000,
    );
    const processedSeconds = (performance.now() - start) / 1000;
    results.throughput = {
      events: appended,
      appendPerSecond: Math.round(appended / fill.seconds),
      relayPublishedPerSecond: Math.round(appended / publishedSeconds),
      endToEndProcessedPerSecond: Math.round(appended / processedSeconds),
      secondsToPublishAll: round(publishedSeconds),
      secondsToProcessAll: round(processedSeconds),
    };
    console.table(results.throughput);

    // (b) Steady load through the whole pipeline.
    console.log(
      `\n(b) steady load, whole pipeline: ${steady.rate} events/s for ${steady.seconds} s, transactions of ${steady.txSize} …`,
    );
    const pipeline = await producer.call<{ ids: string[]; seconds: number; fellBehind: number }>(
      'steady',
      steady,
    );
    appended += pipeline.ids.length;
    await waitUntil('the steady load to be processed', async () => (await processed()) >= appended, 300_000);
    const pipelineLags = await producer.call<{ fromCommit: number[]; fromAppend: number[] }>(
      'relayLags',
      pipeline.ids,
    );
    const commitTimes = await producer.call<number[]>('commitTimes', pipeline.ids);
    const processedTimes = await consumer.call<number[]>('processedTimes', pipeline.ids);
    results.steadyPipeline = {
      targetPerSecond: steady.rate,
      achievedPerSecond: Math.round(pipeline.ids.length / pipeline.seconds),
      events: pipeline.ids.length,
      relayLagMs: summarize(pipelineLags.fromCommit),
      relayLagFromAppendMs: summarize(pipelineLags.fromAppend),
      endToEndLagMs: summarize(processedTimes.map((at, i) => at - commitTimes[i]!)),
    };
    printSteady(results.steadyPipeline as SteadyResult);

    // (c) The same load with the consumer stopped: the relay without a consumer competing for the
    // CPUs (in production it runs in another process, usually on another machine).
    console.log('\n(c) steady load, relay only (the consumer is stopped and catches up afterwards) …');
    await consumer.call('stop');
    const relayOnly = await producer.call<{ ids: string[]; seconds: number; fellBehind: number }>(
      'steady',
      steady,
    );
    appended += relayOnly.ids.length;
    await waitUntil(
      'the relay to publish everything',
      () => producer.call('allAcked', relayOnly.ids),
      120_000,
    );
    const relayOnlyLags = await producer.call<{ fromCommit: number[]; fromAppend: number[] }>(
      'relayLags',
      relayOnly.ids,
    );
    results.steadyRelayOnly = {
      targetPerSecond: steady.rate,
      achievedPerSecond: Math.round(relayOnly.ids.length / relayOnly.seconds),
      events: relayOnly.ids.length,
      relayLagMs: summarize(relayOnlyLags.fromCommit),
      relayLagFromAppendMs: summarize(relayOnlyLags.fromAppend),
    };
    printSteady(results.steadyRelayOnly as SteadyResult);
    await consumer.call('start');
    await waitUntil('the consumer to catch up', async () => (await processed()) >= appended, 300_000);

    // Exactly once, and in order per asset.
    const { rows } = await consumerPool.query<{ rows: number; events: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS events FROM bench_effects',
    );
    const { orderViolations } = await consumer.call<{ orderViolations: number }>('progress');
    results.exactlyOnce = {
      appended,
      effectRows: rows[0]!.rows,
      distinctEvents: rows[0]!.events,
      orderViolations,
    };
    console.log('\nexactly once, in order:');
    console.table(results.exactlyOnce);
    for (const [label, phase] of [
      ['whole pipeline', results.steadyPipeline],
      ['relay only', results.steadyRelayOnly],
    ] as const) {
      const p99 = (phase as SteadyResult).relayLagMs.p99Ms;
      console.log(
        `relay lag p99 (${label}) = ${p99} ms: goal ≤ ${LAG_GOAL_MS} ms ${p99 <= LAG_GOAL_MS ? 'met' : 'NOT met'}`,
      );
    }

    const setting = async (name: string) =>
      (await consumerPool.query<{ v: string }>('SELECT current_setting($1) AS v', [name])).rows[0]?.v;
    const environment = {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      postgres: await setting('server_version'),
      synchronousCommit: await setting('synchronous_commit'),
      nats: natsUrl,
    };
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `outbox-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const settings = { throughputEvents, steady, producerWorkers };
    await writeFile(
      file,
      `${JSON.stringify({ at: new Date().toISOString(), environment, settings, ...results }, null, 2)}\n`,
    );
    console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await consumer.call('close').catch((err) => console.error('consumer close failed', err));
    await producer.call('close').catch((err) => console.error('producer close failed', err));
    await Promise.all([consumer.terminate(), producer.terminate()]);
    await consumerPool.end();
    await Promise.all([producerDb.drop(), consumerDb.drop()]);
  }
}

interface SteadyResult {
  achievedPerSecond: number;
  events: number;
  relayLagMs: LagSummary;
  relayLagFromAppendMs: LagSummary;
  endToEndLagMs?: LagSummary;
}

function printSteady(result: SteadyResult): void {
  console.table({ achievedPerSecond: result.achievedPerSecond, events: result.events });
  console.log('relay lag (JetStream ack − producer COMMIT), ms:');
  console.table(result.relayLagMs);
  console.log('relay lag as the relay sees it (ack − outbox created_at = transaction start), ms:');
  console.table(result.relayLagFromAppendMs);
  if (result.endToEndLagMs) {
    console.log('end-to-end lag (consumer COMMIT − producer COMMIT), ms:');
    console.table(result.endToEndLagMs);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
