/**
 * Dashboard benchmark, end to end on the all-in-one runtime (demo off). Not part of `npm test`;
 * run it with
 *
 *   npm run bench:dashboard [-- --parts=lag,overview,rebuild --assets=10000 --lag-duration=60 …]
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). The runtime runs in a child process with databases
 * `bench_dashboard_<random>_*`, dropped at the end. Every option is also a flag (`--assets=1000` is
 * BENCH_ASSETS=1000). BENCH_PARTS (lag,overview,rebuild) picks the parts; they run in this order,
 * so that the rebuild replays the journal the others filled.
 *
 * 1. lag — projection lag under the ingest benchmark's load. BENCH_CLIENTS (8) clients each own
 *    BENCH_ASSETS_PER_CLIENT (10) assets × 10 metrics and send HTTP batches of 1,000 readings
 *    (`POST /api/v1/telemetry`, as bench/ingest does; reading times from 50 minutes back, 10 ms
 *    apart). The maximum rate is measured first (closed loop, BENCH_MAX_DURATION, 10 s, after a 2 s
 *    warm-up); then the load runs paced (open loop) at BENCH_LOAD (0.5) × that maximum — or at
 *    BENCH_RATE readings/s when given (no maximum run) — for BENCH_LAG_DURATION (60) s; a list
 *    (`--load=0.1,0.3,0.5`) runs one phase per value, each after the pipeline went idle. Measured:
 *    (a) the dashboard's own `assetops_dashboard_projection_lag_seconds` histogram (event time →
 *        applied), the difference of its /metrics before the load and after the pipeline drained
 *        again: p50/p99 interpolated in its buckets, and the exact share of events ≤ 1 s;
 *    (b) the same per TelemetryAggregated event, from the dashboard's inbox (processed rows keep ids
 *        only; event times come from telemetry's outbox): event time → start of the consumer round
 *        that applied it (exact per event, so a true max; short of (a) by the round's duration);
 *    (c) end to end: BENCH_PROBE_ASSETS (16) probe assets get one reading each (metric `probe`,
 *        reading time = now) every BENCH_PROBE_INTERVAL_MIN–MAX (100–160) ms, one in flight per
 *        asset, after BENCH_SETTLE (3) s of load; the time from the ingest answer (and from the
 *        reading time) to the asset's `latest.probe` arriving on `GET /api/v1/dashboard/stream`
 *        (SSE, through the gateway with the bearer token). Misses after BENCH_PROBE_TIMEOUT (30) s.
 *    Once a second the dashboard's last-event lag gauge and its pending inbox are sampled, and the
 *    TelemetryAggregated events the feed produced per second are set against the events the
 *    dashboard applied (when it applies fewer, the lag grows with the run's length). After each
 *    phase: the dashboard journal's rows and the superseded windows its trimming deleted during the
 *    phase (`assetops_dashboard_journal_trimmed_total`). Goal: p99 ≤ 1 s.
 * 2. overview — `GET /api/v1/assets/:id/overview` (gateway API composition). Registers assets
 *    until BENCH_ASSETS (10,000) exist (BENCH_REGISTER_PARALLEL, 32, requests in parallel through
 *    the asset API), waits at most BENCH_ONBOARD_WAIT (60) s for the event pipeline (onboarding)
 *    to go idle, then sends BENCH_OVERVIEW_RATE (200) requests/s open loop (fixed schedule, latency
 *    from the scheduled time) for a random registered asset each, for BENCH_OVERVIEW_DURATION (30)
 *    s after BENCH_OVERVIEW_WARMUP (3) s at the same rate; a list (`--overview-rate=50,100,200`)
 *    runs each. Answers with a part `degraded` (an upstream over GATEWAY_COMPOSITION_TIMEOUT) are
 *    counted by part and fail the goal. Goal: p99 ≤ 25 ms.
 * 3. rebuild — `POST /api/v1/dashboard/rebuild`, polled (`GET /api/v1/dashboard/rebuild/:id`,
 *    every 250 ms) until completed (at most BENCH_REBUILD_TIMEOUT, 900 s): events replayed per
 *    second (replayed ÷ (finishedAt − startedAt), the service's own times), with no other load.
 *
 * BENCH_QUIET_WAIT (90) s bounds each wait for the event pipeline to go idle; BENCH_THREADS (2)
 * ingest client threads; BENCH_PROFILE=1 writes a CPU profile of the server process to
 * bench/results/profiles/. Server, PostgreSQL and the bench share the machine's CPUs: every part
 * reports the cores each party used and the load average. Results are printed and written to
 * bench/results/dashboard-<time>.json (git-ignored). A scaled-down run (about 4 minutes):
 *
 *   npm run bench:dashboard -- --assets=1000 --lag-duration=20 --max-duration=5 --overview-duration=15
 *
 * LOG_LEVEL defaults to `error` here (the gateway logs each degraded overview part at `warn`).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from '@assetops/platform';
import { type TailSummary, tail } from '../alert-latency/tail.js';
import { IngestClients, metricNames, type PacedRunResult } from '../common/ingest-clients.js';
import type { IngestSlot } from '../common/ingest-load.worker.js';
import {
  api,
  type Platform,
  registerAssets,
  startPlatform,
  waitUntilTelemetryKnows,
} from '../common/platform.js';
import { benchPostgresProcesses, CpuSplit } from '../common/proc.js';
import {
  applyCliOptions,
  environment,
  envNumber,
  envNumbers,
  round,
  sleep,
  verdict,
  writeResults,
} from '../common/stats.js';
import { BenchThread } from '../common/threads.js';
import {
  type Histogram,
  histogramDelta,
  histogramQuantile,
  maxBound,
  parseHistogram,
  shareAtOrBelow,
} from './histogram.js';
import type { OverviewOutcome, OverviewSettings } from './overview.worker.js';
import type { StreamProbeOutcome, StreamProbeSettings } from './stream-probe.worker.js';

applyCliOptions(process.argv.slice(2));
// The gateway logs every degraded overview part at warn: counted in the results instead.
process.env.LOG_LEVEL ??= 'error';
const PARTS = ['lag', 'overview', 'rebuild'] as const;
type Part = (typeof PARTS)[number];
const parts = new Set(
  (process.env.BENCH_PARTS ?? PARTS.join(','))
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean),
);
for (const part of parts) {
  if (!PARTS.includes(part as Part))
    throw new Error(`BENCH_PARTS: unknown part ${part} (${PARTS.join(', ')})`);
}
const options = {
  parts: [...parts],
  clients: envNumber('BENCH_CLIENTS', 8),
  assetsPerClient: envNumber('BENCH_ASSETS_PER_CLIENT', 10),
  loads: envNumbers('BENCH_LOAD', [0.5]),
  rates: envNumbers('BENCH_RATE', []),
  maxSeconds: envNumber('BENCH_MAX_DURATION', 10),
  lagSeconds: envNumber('BENCH_LAG_DURATION', 60),
  settleSeconds: envNumber('BENCH_SETTLE', 3),
  probeAssets: envNumber('BENCH_PROBE_ASSETS', 16),
  intervalMinMs: envNumber('BENCH_PROBE_INTERVAL_MIN', 100),
  intervalMaxMs: envNumber('BENCH_PROBE_INTERVAL_MAX', 160),
  probeTimeoutSeconds: envNumber('BENCH_PROBE_TIMEOUT', 30),
  assets: envNumber('BENCH_ASSETS', 10_000),
  registerParallel: envNumber('BENCH_REGISTER_PARALLEL', 32),
  onboardWaitSeconds: envNumber('BENCH_ONBOARD_WAIT', 60),
  overviewRates: envNumbers('BENCH_OVERVIEW_RATE', [200]),
  overviewSeconds: envNumber('BENCH_OVERVIEW_DURATION', 30),
  overviewWarmupSeconds: envNumber('BENCH_OVERVIEW_WARMUP', 3),
  rebuildTimeoutSeconds: envNumber('BENCH_REBUILD_TIMEOUT', 900),
  quietSeconds: envNumber('BENCH_QUIET_WAIT', 90),
  threads: envNumber('BENCH_THREADS', 2),
  profile: process.env.BENCH_PROFILE === '1',
};
const GOALS = { lagP99Seconds: 1, overviewP99Ms: 25 };
const BATCH = 1000;
const TS_STEP_MS = 10;
const metrics = metricNames(10);
const TS_PER_SERIES = BATCH / (options.assetsPerClient * metrics.length);
if (!Number.isInteger(TS_PER_SERIES) || TS_PER_SERIES < 1) {
  throw new Error(
    'BENCH_ASSETS_PER_CLIENT × 10 metrics must divide the batch of 1,000 (1, 2, 4, 5, 10 … 100)',
  );
}
if (options.intervalMaxMs < options.intervalMinMs) throw new Error('BENCH_PROBE_INTERVAL_MAX < _MIN');
const PROBE_METRIC = 'probe';
const LAG_METRIC = 'assetops_dashboard_projection_lag_seconds';
const LAST_LAG_METRIC = 'assetops_dashboard_projection_last_lag_seconds';
const TRIMMED_METRIC = 'assetops_dashboard_journal_trimmed_total';
const DAY = 86_400_000;

const loadAverage = () => os.loadavg().map((v) => round(v, 2));
const ms = (seconds: number) => round(seconds * 1000, 1);

interface Context {
  platform: Platform;
  dashboardDb: Pool;
  telemetryDb: Pool;
  cpu: CpuSplit;
  /** Every asset registered so far. */
  assets: string[];
}

async function main(): Promise<void> {
  console.log('starting the all-in-one runtime (child process, demo off) …');
  const profileDir = options.profile
    ? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results', 'profiles')
    : undefined;
  const platform = await startPlatform({
    label: 'dashboard',
    env: { ASSETOPS_DEMO: 'false' },
    ...(profileDir ? { profileDir } : {}),
  });
  const results: Record<string, unknown> = {
    options,
    goals: GOALS,
    loadAverageAtStart: loadAverage(),
  };
  try {
    if (!platform.services.dashboard) throw new Error('the runtime has no dashboard service');
    const dashboardDb = platform.adminPool('dashboard', 2);
    const cpu = new CpuSplit(
      () => [platform.pid],
      benchPostgresProcesses(dashboardDb, { '': platform.databasePrefix }),
    );
    const ctx: Context = {
      platform,
      dashboardDb,
      telemetryDb: platform.adminPool('telemetry', 1),
      cpu,
      assets: [],
    };
    const summary: Record<string, unknown>[] = [];

    if (parts.has('lag')) {
      const lag = await lagPart(ctx);
      results.lag = lag;
      summary.push(...lag.summary);
    }
    if (parts.has('overview')) {
      const overview = await overviewPart(ctx);
      results.overview = overview;
      summary.push(...overview.summary);
    }
    if (parts.has('rebuild')) {
      const rebuild = await rebuildPart(ctx);
      results.rebuild = rebuild;
      summary.push(rebuild.summary);
    }

    console.log(
      `\nsummary (one machine: ${os.cpus().length} CPUs shared by the server, PostgreSQL, the bench and whatever else runs; ` +
        `load average at start ${JSON.stringify(results.loadAverageAtStart)}, now ${JSON.stringify(loadAverage())}):`,
    );
    console.table(summary);
    results.summary = summary;
    results.environment = {
      ...(await environment(dashboardDb)),
      loadAverageAtEnd: loadAverage(),
      note:
        'server (gateway + all services, one Node process), PostgreSQL and the bench share the same CPUs; ' +
        'other work may run on the machine at the same time — see cpu.otherCores and the load averages',
    };
    const file = await writeResults('dashboard', results);
    console.log(`\nresults written to ${file}`);
  } finally {
    await platform.stop();
    if (profileDir) console.log(`server CPU profile written to ${path.relative(process.cwd(), profileDir)}/`);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Projection lag under ingest load

async function scrapeDashboard(platform: Platform): Promise<string> {
  const res = await fetch(`${platform.services.dashboard}/metrics`, {
    headers: { authorization: `Bearer ${platform.adminToken}` },
  });
  if (!res.ok) throw new Error(`dashboard /metrics answered ${res.status}`);
  return res.text();
}

function gauge(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name) && !l.startsWith(`${name}_`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : Number.NaN;
}

async function dashboardInboxPending(db: Pool): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM inbox WHERE status = 'pending'",
  );
  return rows[0]?.n ?? 0;
}

/** The dashboard journal's size now, and the rows its trimming deleted between two scrapes. */
async function journalState(
  db: Pool,
  beforeText: string,
  afterText: string,
): Promise<{ rows: number; trimmedDuringPhase: number }> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal');
  return {
    rows: rows[0]?.n ?? 0,
    trimmedDuringPhase: gauge(afterText, TRIMMED_METRIC) - gauge(beforeText, TRIMMED_METRIC),
  };
}

interface InboxLag {
  events: number;
  telemetryEvents: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Events applied per second over the load. */
  appliedPerSecond: number;
}

/**
 * Event time → start of the consumer round that applied it, per TelemetryAggregated event, for the
 * events processed in [from, to). A processed inbox row keeps only the event's id (its body is
 * dropped), so the event times come from the telemetry outbox (`outbox_events`) and are joined by id.
 */
async function inboxLag(
  db: Pool,
  telemetryDb: Pool,
  from: Date,
  to: Date,
  loadSeconds: number,
): Promise<InboxLag> {
  const produced = await telemetryDb.query<{ ids: string[] | null; times: number[] | null }>(
    `SELECT array_agg(id::text) AS ids,
            array_agg(extract(epoch FROM (event->>'time')::timestamptz)::float8) AS times
       FROM outbox_events
      WHERE type = 'assetops.telemetry.aggregated.v2'
        AND created_at >= $1::timestamptz - interval '1 minute' AND created_at < $2`,
    [from, to],
  );
  const { ids, times } = produced.rows[0] ?? { ids: null, times: null };
  const { rows } = await db.query<{
    n: number;
    telemetry: number;
    p50: number | null;
    p99: number | null;
    max: number | null;
  }>(
    `WITH produced AS (SELECT * FROM unnest($3::uuid[], $4::float8[]) AS p(id, time))
     SELECT count(*)::int AS n,
            count(*) FILTER (WHERE type = 'assetops.telemetry.aggregated.v2')::int AS telemetry,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY lag) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY lag) AS p99,
            max(lag) AS max
       FROM (SELECT i.type, extract(epoch FROM i.processed_at)::float8 - p.time AS lag
               FROM inbox i LEFT JOIN produced p ON p.id = i.event_id
              WHERE i.status = 'processed' AND i.processed_at >= $1 AND i.processed_at < $2) l`,
    [from, to, ids ?? [], times ?? []],
  );
  const r = rows[0]!;
  return {
    events: r.n,
    telemetryEvents: r.telemetry,
    p50Ms: ms(r.p50 ?? Number.NaN),
    p99Ms: ms(r.p99 ?? Number.NaN),
    maxMs: ms(r.max ?? Number.NaN),
    appliedPerSecond: Math.round(r.n / Math.max(0.001, loadSeconds)),
  };
}

interface LagSamples {
  lastLagSeconds: number[];
  inboxPending: number[];
}

/** Once a second: the dashboard's last-event lag gauge and its pending inbox rows. */
function sampleLag(platform: Platform, db: Pool): { stop: () => Promise<LagSamples> } {
  const samples: LagSamples = { lastLagSeconds: [], inboxPending: [] };
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const [text, pending] = await Promise.all([
        scrapeDashboard(platform).catch(() => ''),
        dashboardInboxPending(db).catch(() => Number.NaN),
      ]);
      samples.lastLagSeconds.push(round(gauge(text, LAST_LAG_METRIC), 3));
      samples.inboxPending.push(pending);
      await sleep(Math.max(0, started + 1000 - Date.now()));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

async function lagPart(ctx: Context) {
  const { platform } = ctx;
  const loadCount = options.clients * options.assetsPerClient;
  console.log(
    `\n1. projection lag: registering ${loadCount} load assets and ${options.probeAssets} probe assets …`,
  );
  const loadAssets = await registerAssets(platform, loadCount, {
    namePrefix: 'Dashboard bench pump',
    parallel: options.registerParallel,
  });
  const probeAssets = await registerAssets(platform, options.probeAssets, {
    namePrefix: 'Dashboard bench probe',
    parallel: options.registerParallel,
  });
  ctx.assets.push(...loadAssets, ...probeAssets);
  const now = Date.now();
  const startTsMs = Math.max(Math.floor((now - 50 * 60_000) / 1000) * 1000, Math.floor(now / DAY) * DAY);
  await waitUntilTelemetryKnows(platform, loadAssets, metrics, startTsMs - 1000);
  await waitUntilTelemetryKnows(platform, probeAssets, [PROBE_METRIC], now - 60_000);
  console.log('   telemetry knows every asset; series created');

  const slots: IngestSlot[] = Array.from({ length: options.clients }, (_, i) => ({
    assetIds: loadAssets.slice(i * options.assetsPerClient, (i + 1) * options.assetsPerClient),
  }));
  const clients = new IngestClients(
    {
      gatewayUrl: platform.gatewayUrl,
      adminToken: platform.adminToken,
      metrics,
      tsPerSeries: TS_PER_SERIES,
      tsStepMs: TS_STEP_MS,
      startTsMs,
      connections: 32,
    },
    slots,
    options.threads,
    BATCH,
  );
  const probe = new BenchThread(new URL('./stream-probe.worker.ts', import.meta.url), {
    gatewayUrl: platform.gatewayUrl,
    adminToken: platform.adminToken,
    assetIds: probeAssets,
    metric: PROBE_METRIC,
    timeoutMs: options.probeTimeoutSeconds * 1000,
  } satisfies StreamProbeSettings);
  try {
    let maximum: Record<string, unknown> | undefined;
    let targets = options.rates.map((rate) => ({ label: `${rate} readings/s (BENCH_RATE)`, rate }));
    if (targets.length === 0) {
      console.log(`   maximum ingest rate: ${options.clients} clients, closed loop, warm-up 2 s …`);
      await clients.closed(options.clients, 2);
      await platform.waitUntilQuiet(options.quietSeconds * 1000);
      const max = await clients.closed(options.clients, options.maxSeconds);
      const quiet = await platform.waitUntilQuiet(options.quietSeconds * 1000);
      console.log(
        `   ${max.readingsPerSecond} readings/s (batch p99 ${max.batchLatencyMs.p99Ms} ms, ${max.failedBatches} failed); ` +
          `event backlog ${JSON.stringify(quiet.backlogAtEnd)} drained in ${quiet.seconds} s` +
          (quiet.left ? ` (${quiet.left} still waiting)` : ''),
      );
      maximum = { ...max, eventBacklogAfter: quiet };
      targets = options.loads.map((load) => ({
        label: `${Math.round(load * 100)} % of max`,
        rate: load * max.readingsPerSecond,
      }));
    }
    await probe.call('open');
    const phases = [];
    for (const target of targets) phases.push(await lagPhase(ctx, clients, probe, target));
    return { maximum, phases, summary: phases.flatMap((p) => p.summary) };
  } finally {
    await probe.call('close').catch(() => {});
    await probe.terminate();
    await clients.close();
  }
}

/** TelemetryAggregated events the telemetry feed produced in [from, to). */
async function producedEvents(telemetryDb: Pool, from: Date, to: Date): Promise<number> {
  const { rows } = await telemetryDb.query<{ n: number }>(
    `SELECT coalesce(sum(events), 0)::int AS n FROM outbox
      WHERE type = 'assetops.telemetry.aggregated.v2' AND created_at >= $1 AND created_at < $2`,
    [from, to],
  );
  return rows[0]?.n ?? 0;
}

async function lagPhase(
  ctx: Context,
  clients: IngestClients,
  probe: BenchThread,
  target: { label: string; rate: number },
) {
  const { platform } = ctx;
  await platform.waitUntilQuiet(options.quietSeconds * 1000);
  const loadSeconds = options.lagSeconds;
  const probeSeconds = Math.max(1, loadSeconds - options.settleSeconds - 2);
  const meanInterval = (options.intervalMinMs + options.intervalMaxMs) / 2;
  const loadCount = options.clients * options.assetsPerClient;
  console.log(
    `\n   [${target.label}] paced ingest at ${Math.round(target.rate)} readings/s for ${loadSeconds} s ` +
      `(${round(target.rate / BATCH, 1)} batches/s over ${loadCount} assets); probes every ${options.intervalMinMs}–${options.intervalMaxMs} ms after ${options.settleSeconds} s …`,
  );
  const beforeText = await scrapeDashboard(platform);
  const before = parseHistogram(beforeText, LAG_METRIC);
  await ctx.cpu.restart();
  await platform.eventLoopDelay();
  const sampler = sampleLag(platform, ctx.dashboardDb);
  const loadStart = new Date();
  const loadAverageAtStart = loadAverage();
  const loadRun = clients.paced(target.rate, loadSeconds);
  await sleep(options.settleSeconds * 1000);
  const probes = await probe.call<StreamProbeOutcome>('run', {
    samples: Math.ceil((probeSeconds * 1000) / meanInterval) * 2,
    maxSeconds: probeSeconds,
    minIntervalMs: options.intervalMinMs,
    maxIntervalMs: options.intervalMaxMs,
  });
  const load: PacedRunResult = await loadRun;
  const loadEnd = new Date();
  const cores = await ctx.cpu.cores();
  const eventLoopDelayMs = await platform.eventLoopDelay();
  const loadAverageAtEnd = loadAverage();
  const quiet = await platform.waitUntilQuiet(options.quietSeconds * 1000);
  const drainedAt = new Date();
  const samples = await sampler.stop();
  const afterText = await scrapeDashboard(platform);
  const after = parseHistogram(afterText, LAG_METRIC);
  if (!after) throw new Error(`the dashboard's /metrics has no ${LAG_METRIC}`);
  const journal = await journalState(ctx.dashboardDb, beforeText, afterText);
  const delta: Histogram = histogramDelta(after, before);
  const seconds = (loadEnd.getTime() - loadStart.getTime()) / 1000;
  const inbox = await inboxLag(ctx.dashboardDb, ctx.telemetryDb, loadStart, drainedAt, seconds);
  const producedPerSecond = Math.round(
    (await producedEvents(ctx.telemetryDb, loadStart, loadEnd)) / Math.max(0.001, seconds),
  );
  const appliedDuringLoad = await inboxLag(ctx.dashboardDb, ctx.telemetryDb, loadStart, loadEnd, seconds);

  const seen = probes.records.filter((r) => r.seenAt !== undefined);
  const missed = probes.records.filter((r) => r.seenAt === undefined && Number.isFinite(r.ackAt)).length;
  const failed = probes.records.filter((r) => !Number.isFinite(r.ackAt)).length;
  const timeoutMs = options.probeTimeoutSeconds * 1000;
  const withMisses = (values: number[]) => [...values, ...Array<number>(missed).fill(timeoutMs)];
  const fromAck: TailSummary = tail(withMisses(seen.map((r) => r.seenAt! - r.ackAt)));
  const fromReading: TailSummary = tail(withMisses(seen.map((r) => r.seenAt! - r.tsMs)));
  const ingestAck: TailSummary = tail(
    probes.records.filter((r) => Number.isFinite(r.ackAt)).map((r) => r.ackAt - r.sentAt),
  );
  const metric = {
    events: delta.count,
    p50Ms: ms(histogramQuantile(delta, 0.5)),
    p99Ms: ms(histogramQuantile(delta, 0.99)),
    /** The max lies at or below this bucket bound. */
    maxAtOrBelowMs: ms(maxBound(delta)),
    meanMs: ms(delta.sum / Math.max(1, delta.count)),
    shareAtOrBelow1s: round(shareAtOrBelow(delta, 1), 5),
    buckets: delta.buckets.map((b) => ({ le: b.le, count: b.count })),
  };
  const { records, ...probeRun } = probes;
  const result = {
    label: target.label,
    targetReadingsPerSecond: Math.round(target.rate),
    load,
    pipeline: {
      telemetryAggregatedProducedPerSecond: producedPerSecond,
      dashboardAppliedPerSecondDuringLoad: appliedDuringLoad.appliedPerSecond,
      drainedAfterLoad: quiet,
    },
    cpu: cores,
    serverEventLoopDelayMs: eventLoopDelayMs,
    loadAverageAtStart,
    loadAverageAtEnd,
    metric,
    inbox,
    e2e: {
      fromIngestAckMs: fromAck,
      fromReadingTimeMs: fromReading,
      probeIngestAckMs: ingestAck,
      probes: records.length,
      missed,
      failed,
      errors: [...new Set(records.map((r) => r.error).filter(Boolean))].slice(0, 5),
      ...probeRun,
    },
    journal,
    samples: {
      // The first sample still shows the last event before the phase.
      lastLagMaxSeconds: Math.max(0, ...samples.lastLagSeconds.slice(1).filter(Number.isFinite)),
      inboxPendingMax: Math.max(0, ...samples.inboxPending.filter(Number.isFinite)),
      ...samples,
    },
  };

  console.log(
    `   ingest: ${load.achievedReadingsPerSecond} readings/s achieved (target ${load.targetReadingsPerSecond}), ack p99 ${load.ackLatencyMs.p99Ms} ms, ` +
      `${load.failedBatches} failed, ${load.lateSends} late sends`,
  );
  console.log(
    `   events: the feed produced ${producedPerSecond} TelemetryAggregated/s, the dashboard applied ${appliedDuringLoad.appliedPerSecond} events/s during the load ` +
      `(${inbox.events} in all, ${inbox.telemetryEvents} TelemetryAggregated); pipeline idle ${quiet.seconds} s after the load` +
      (quiet.left ? ` (${quiet.left} still waiting)` : ''),
  );
  console.log(
    `   dashboard inbox pending (sampled every second) max ${result.samples.inboxPendingMax}; last-event lag gauge max ${result.samples.lastLagMaxSeconds} s; ` +
      `stream carried ${probes.stream.assetMessages} asset messages (${Math.round(probes.stream.bytes / 1024)} KiB), ${probes.stream.reconnects} reconnects`,
  );
  console.log(
    `   dashboard journal: ${journal.rows} rows after the phase, ${journal.trimmedDuringPhase} superseded windows trimmed during it`,
  );
  console.log(
    `   cores: server ${cores.serverCores} (event loop waiting for a CPU ${cores.serverCpuWait}), postgres ${cores.postgresCores} ` +
      `${JSON.stringify(cores.postgresByGroup)}, bench ${cores.benchClientCores}, other ${cores.otherCores}, machine ${cores.machineBusyCores}; ` +
      `server event-loop delay p99 ${eventLoopDelayMs.p99Ms} / max ${eventLoopDelayMs.maxMs} ms; load average ${JSON.stringify(loadAverageAtStart)} → ${JSON.stringify(loadAverageAtEnd)}`,
  );
  console.table({
    [`${LAG_METRIC} (event time → applied; bucket-interpolated)`]: {
      n: metric.events,
      p50Ms: metric.p50Ms,
      p99Ms: metric.p99Ms,
      maxMs: `≤ ${metric.maxAtOrBelowMs}`,
      '≤ 1 s': `${round(metric.shareAtOrBelow1s * 100, 3)} %`,
    },
    'dashboard inbox: event time → its consumer round began': {
      n: inbox.events,
      p50Ms: inbox.p50Ms,
      p99Ms: inbox.p99Ms,
      maxMs: inbox.maxMs,
    },
    'e2e: ingest answer → latest value on the SSE stream': {
      n: fromAck.count,
      p50Ms: fromAck.p50Ms,
      p99Ms: fromAck.p99Ms,
      maxMs: fromAck.maxMs,
      missed,
    },
    'e2e: reading time → latest value on the SSE stream': {
      n: fromReading.count,
      p50Ms: fromReading.p50Ms,
      p99Ms: fromReading.p99Ms,
      maxMs: fromReading.maxMs,
    },
  });
  const goalMs = GOALS.lagP99Seconds * 1000;
  const rate = `${load.achievedReadingsPerSecond} readings/s`;
  const summary = [
    {
      part: 'projection lag (metric)',
      load: rate,
      'p50 ms': metric.p50Ms,
      'p99 ms': metric.p99Ms,
      'max ms': `≤ ${metric.maxAtOrBelowMs}`,
      goal: 'p99 ≤ 1 s',
      verdict: verdict(metric.shareAtOrBelow1s >= 0.99),
    },
    {
      part: 'projection lag (inbox, per event)',
      load: rate,
      'p50 ms': inbox.p50Ms,
      'p99 ms': inbox.p99Ms,
      'max ms': inbox.maxMs,
      goal: 'p99 ≤ 1 s',
      verdict: verdict(inbox.p99Ms <= goalMs),
    },
    {
      part: `ingest answer → SSE latest (e2e, n=${fromAck.count})`,
      load: rate,
      'p50 ms': fromAck.p50Ms,
      'p99 ms': fromAck.p99Ms,
      'max ms': fromAck.maxMs,
      goal: 'p99 ≤ 1 s',
      verdict: verdict(fromAck.p99Ms <= goalMs && fromAck.count > 0),
    },
  ];
  return { ...result, summary };
}

// ---------------------------------------------------------------------------------------------
// 2. Asset overview (API composition) at a fixed rate

async function countByStatus(platform: Platform): Promise<Record<string, number>> {
  const res = await api<{ assets: { byStatus: Record<string, number> } }>(
    platform,
    'GET',
    '/api/v1/dashboard/fleet',
  );
  return res.status === 200 ? res.body.assets.byStatus : {};
}

async function overviewPart(ctx: Context) {
  const { platform } = ctx;
  const missing = Math.max(0, options.assets - ctx.assets.length);
  console.log(
    `\n2. overview: registering ${missing} assets (${options.registerParallel} in parallel) to reach ${options.assets} …`,
  );
  const started = performance.now();
  const registered = await registerAssets(platform, missing, {
    namePrefix: 'Dashboard bench asset',
    parallel: options.registerParallel,
  });
  const registerSeconds = (performance.now() - started) / 1000;
  ctx.assets.push(...registered);
  console.log(
    `   ${registered.length} registered in ${round(registerSeconds, 1)} s (${Math.round(registered.length / Math.max(0.001, registerSeconds))}/s); ` +
      'waiting for onboarding to settle …',
  );
  const onboarding = await platform.waitUntilQuiet(options.onboardWaitSeconds * 1000);
  const statuses = await countByStatus(platform);
  console.log(
    `   pipeline ${onboarding.left ? `still busy after ${onboarding.seconds} s (${onboarding.left} waiting)` : `idle after ${onboarding.seconds} s`}; ` +
      `dashboard counts by status ${JSON.stringify(statuses)}`,
  );

  const thread = new BenchThread(new URL('./overview.worker.ts', import.meta.url), {
    gatewayUrl: platform.gatewayUrl,
    adminToken: platform.adminToken,
    assetIds: ctx.assets,
    connections: 64,
  } satisfies OverviewSettings);
  const register = {
    count: registered.length,
    seconds: round(registerSeconds, 1),
    perSecond: Math.round(registered.length / Math.max(0.001, registerSeconds)),
    onboardingWait: onboarding,
    dashboardByStatus: statuses,
  };
  try {
    const runs = [];
    for (const rate of options.overviewRates) {
      // Between rates: let the backlog of an overloaded run clear (the gateway's queued requests).
      await sleep(2000);
      if (options.overviewWarmupSeconds > 0) {
        await thread.call<OverviewOutcome>('run', { rate, seconds: options.overviewWarmupSeconds });
      }
      console.log(
        `   ${rate} requests/s, open loop, for ${options.overviewSeconds} s (${ctx.assets.length} assets) …`,
      );
      const loadAverageAtStart = loadAverage();
      await ctx.cpu.restart();
      await platform.eventLoopDelay();
      const out = await thread.call<OverviewOutcome>('run', { rate, seconds: options.overviewSeconds });
      const cores = await ctx.cpu.cores();
      const eventLoopDelayMs = await platform.eventLoopDelay();
      const latency = tail(out.latencies);
      const service = tail(out.serviceLatencies);
      const { latencies: _l, serviceLatencies: _s, ...counts } = out;
      const loadAverageAtEnd = loadAverage();
      console.table({
        'scheduled → answered (open loop)': latency,
        'sent → answered': service,
      });
      console.log(
        `   ${out.requests} requests (${round(out.requests / Math.max(0.001, out.seconds), 1)}/s), statuses ${JSON.stringify(out.statuses)}, ` +
          `degraded parts ${JSON.stringify(out.degraded)}, ${out.lateSends} late sends${out.errors.length ? `, errors: ${out.errors.join('; ')}` : ''}`,
      );
      console.log(
        `   cores: server ${cores.serverCores} (event loop waiting for a CPU ${cores.serverCpuWait}), postgres ${cores.postgresCores} ` +
          `${JSON.stringify(cores.postgresByGroup)}, bench ${cores.benchClientCores}, other ${cores.otherCores}, machine ${cores.machineBusyCores}; ` +
          `server event-loop delay p99 ${eventLoopDelayMs.p99Ms} / max ${eventLoopDelayMs.maxMs} ms; load average ${JSON.stringify(loadAverageAtStart)} → ${JSON.stringify(loadAverageAtEnd)}`,
      );
      const ok200 = out.statuses['200'] ?? 0;
      const degraded = Object.values(out.degraded).reduce((a, b) => a + b, 0);
      runs.push({
        rate,
        achievedPerSecond: round(out.requests / Math.max(0.001, out.seconds), 1),
        latencyMs: latency,
        serviceLatencyMs: service,
        ...counts,
        cpu: cores,
        serverEventLoopDelayMs: eventLoopDelayMs,
        loadAverageAtStart,
        loadAverageAtEnd,
        summary: {
          part: `GET /assets/:id/overview (${ctx.assets.length} assets${degraded ? `, ${degraded} parts degraded` : ''})`,
          load: `${rate} req/s`,
          'p50 ms': latency.p50Ms,
          'p99 ms': latency.p99Ms,
          'max ms': latency.maxMs,
          goal: 'p99 ≤ 25 ms',
          verdict: verdict(latency.p99Ms <= GOALS.overviewP99Ms && ok200 === out.requests && degraded === 0),
        },
      });
    }
    return { assets: ctx.assets.length, register, runs, summary: runs.map((r) => r.summary) };
  } finally {
    await thread.call('close').catch(() => {});
    await thread.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Rebuild

interface Rebuild {
  id: string;
  state: 'running' | 'completed' | 'failed';
  generation: number;
  replayed: number;
  total: number;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
}

async function rebuildPart(ctx: Context) {
  const { platform } = ctx;
  await platform.waitUntilQuiet(options.quietSeconds * 1000);
  const { rows } = await ctx.dashboardDb.query<{ n: number; bytes: string }>(
    "SELECT count(*)::int AS n, pg_size_pretty(pg_total_relation_size('journal')) AS bytes FROM journal",
  );
  const journal = { events: rows[0]?.n ?? 0, size: rows[0]?.bytes ?? '?' };
  console.log(`\n3. rebuild: ${journal.events} journaled events (${journal.size}) …`);
  const loadAverageAtStart = loadAverage();
  await ctx.cpu.restart();
  const t0 = performance.now();
  const started = await api<Rebuild>(platform, 'POST', '/api/v1/dashboard/rebuild');
  if (started.status !== 202) {
    throw new Error(
      `POST /api/v1/dashboard/rebuild answered ${started.status}: ${JSON.stringify(started.body)}`,
    );
  }
  let rebuild = started.body;
  const deadline = t0 + options.rebuildTimeoutSeconds * 1000;
  let lastLog = t0;
  while (rebuild.state === 'running') {
    if (performance.now() > deadline)
      throw new Error(`the rebuild did not finish in ${options.rebuildTimeoutSeconds} s`);
    await sleep(250);
    const res = await api<Rebuild>(platform, 'GET', `/api/v1/dashboard/rebuild/${rebuild.id}`);
    if (res.status === 200) rebuild = res.body;
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      console.log(`   … ${rebuild.replayed} / ${rebuild.total} replayed`);
    }
  }
  const wallSeconds = (performance.now() - t0) / 1000;
  const cores = await ctx.cpu.cores();
  if (rebuild.state !== 'completed') throw new Error(`the rebuild ${rebuild.state}: ${rebuild.error}`);
  const serviceSeconds = (Date.parse(rebuild.finishedAt!) - Date.parse(rebuild.startedAt)) / 1000;
  const perSecond = Math.round(rebuild.replayed / Math.max(0.001, serviceSeconds));
  const result = {
    journal,
    rebuild,
    serviceSeconds: round(serviceSeconds, 2),
    wallSeconds: round(wallSeconds, 2),
    eventsPerSecond: perSecond,
    cpu: cores,
    loadAverageAtStart,
    loadAverageAtEnd: loadAverage(),
  };
  console.log(
    `   ${rebuild.replayed} events replayed in ${result.serviceSeconds} s (startedAt → finishedAt; ${result.wallSeconds} s as polled): ` +
      `${perSecond} events/s; generation ${rebuild.generation}`,
  );
  console.log(
    `   cores: server ${cores.serverCores}, postgres ${cores.postgresCores} ${JSON.stringify(cores.postgresByGroup)}, ` +
      `bench ${cores.benchClientCores}, other ${cores.otherCores}, machine ${cores.machineBusyCores}; load average ${JSON.stringify(loadAverageAtStart)} → ${JSON.stringify(result.loadAverageAtEnd)}`,
  );
  const summary = {
    part: `rebuild (${rebuild.replayed} events)`,
    load: 'none',
    'p50 ms': '',
    'p99 ms': '',
    'max ms': '',
    goal: `${perSecond} events/s`,
    verdict: 'measured',
  };
  return { ...result, summary };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
