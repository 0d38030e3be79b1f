/**
 * Alert latency under ingest load, end to end on the all-in-one runtime. Not part of `npm test`;
 * run it with
 *
 *   npx tsx bench/alert-latency/run.ts [--samples=1000 --load=0.5 --load-rules=1 …]
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). The runtime runs in a child process (its own event
 * loop) with databases `bench_alertlat_<random>_*`, dropped at the end.
 *
 * Measured: the time from a threshold-crossing reading being accepted by the ingest API (its HTTP
 * answer arriving, t0) to (a) `AlertRaised` being committed — the alert row and its event commit in
 * one transaction; seen by a thread polling the alert database every BENCH_DB_POLL (2) ms — and
 * (b) the alert being listed by `GET /api/v1/alerts?assetId=…&status=firing` through the gateway
 * (the answer's arrival), polled every BENCH_API_POLL (5) ms once the watcher announced the commit
 * (it cannot be listed before), and every BENCH_API_FALLBACK_POLL (250) ms from t0 in case the
 * watcher misses it — polling every in-flight probe every 5 ms from t0 overloads the server being
 * measured as soon as alerts are slow. Goals: p99 ≤ 250 ms and p99.9 ≤ 1 s.
 *
 * 1. Assets: BENCH_CLIENTS (4) × 10 load assets (type `bench-load`, no default rules: the alert
 *    consumer reads each of their TelemetryAggregated events and finds no rule) and
 *    BENCH_PROBE_ASSETS (32) probe assets (type `bench-probe`), each with one rule
 *    `probe above 100` (severity warning: no work order). The load starts once telemetry accepts
 *    readings for all of them.
 * 2. Maximum ingest rate, briefly: closed loop, BENCH_CLIENTS concurrent clients, batches of 1,000
 *    (10 assets × 10 metrics × 10 times 10 ms apart), for BENCH_MAX_DURATION (10) s after a 2 s
 *    warm-up; then it waits until the event pipeline is idle again.
 * 3. Paced load at BENCH_LOAD (0.5) × that maximum (open loop, fixed schedule, every load asset),
 *    and after BENCH_SETTLE (3) s the probes: every 100–160 ms (random, so that they do not beat with
 *    the feed publisher's 100 ms period; BENCH_PROBE_INTERVAL_MIN/MAX) an idle probe asset gets one
 *    reading of 150 (time = now); once listed, a reading of 0 clears it, and the asset is reused
 *    only once its alert is no longer firing (announced by the watcher; the API as the fallback).
 *    BENCH_SAMPLES (1000) probes. (The load's reading times start 50 minutes back, as in
 *    bench/ingest, and advance 100 ms per batch and asset; the feed drains the oldest windows first.)
 * 4. With BENCH_LOAD_RULES=1 the same again with a type-wide rule on each load metric
 *    (`above 1e12`: evaluated for every load event, never fires).
 *
 * A probe not listed within BENCH_PROBE_TIMEOUT (60) s is a miss (counted as the timeout: the
 * percentiles reaching it are lower bounds); one whose clear is not seen within it retires its asset.
 *
 * Afterwards each probe's path is taken apart from the timestamps the platform leaves (see
 * breakdown.ts): feed drain, relay, alert inbox, the consumer's round, commit, API — with the
 * pipeline's rates (events produced by the feed vs processed by the alert consumer, the inbox's
 * growth), the backlogs sampled every second, what the alert database's connections do, the CPU
 * each party used and the server's event-loop delay. BENCH_PROFILE=1 writes a CPU profile of the
 * server process to bench/results/profiles/ (`npx tsx bench/common/cpuprofile-summary.ts <file>`).
 * Every option is also a flag (`--samples=2000` is BENCH_SAMPLES=2000). Results are printed and
 * written to bench/results/alert-latency-<time>.json (git-ignored).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDatabase } from '@assetops/platform';
import {
  IngestClients,
  type IngestRunResult,
  metricNames,
  type PacedRunResult,
} from '../common/ingest-clients.js';
import type { IngestSlot } from '../common/ingest-load.worker.js';
import {
  api,
  benchAdminUrl,
  type Platform,
  registerAssets,
  startPlatform,
  waitUntilTelemetryKnows,
} from '../common/platform.js';
import { benchPostgresProcesses, type CpuCores, CpuSplit } from '../common/proc.js';
import {
  applyCliOptions,
  environment,
  envNumber,
  round,
  sleep,
  verdict,
  writeResults,
} from '../common/stats.js';
import { BenchThread } from '../common/threads.js';
import { BackendStateSampler } from './backend-states.js';
import {
  type ProbeTimeline,
  probeTimelines,
  queueContext,
  type SegmentSummary,
  segmentSummaries,
  slowest,
} from './breakdown.js';
import type { WatchOutcome, WatchSettings } from './commit-watch.worker.js';
import type { ProbeRunOutcome, ProbeSettings } from './probe.worker.js';
import { epochMs, fiveNumbers, type TailSummary, tail } from './tail.js';

applyCliOptions(process.argv.slice(2));
const options = {
  samples: envNumber('BENCH_SAMPLES', 1000),
  probeAssets: envNumber('BENCH_PROBE_ASSETS', 32),
  intervalMinMs: envNumber('BENCH_PROBE_INTERVAL_MIN', 100),
  intervalMaxMs: envNumber('BENCH_PROBE_INTERVAL_MAX', 160),
  apiPollMs: envNumber('BENCH_API_POLL', 5),
  fallbackPollMs: envNumber('BENCH_API_FALLBACK_POLL', 250),
  dbPollMs: envNumber('BENCH_DB_POLL', 2),
  load: envNumber('BENCH_LOAD', 0.5),
  clients: envNumber('BENCH_CLIENTS', 4),
  maxSeconds: envNumber('BENCH_MAX_DURATION', 10),
  settleSeconds: envNumber('BENCH_SETTLE', 3),
  timeoutSeconds: envNumber('BENCH_PROBE_TIMEOUT', 60),
  quietSeconds: envNumber('BENCH_QUIET_WAIT', 90),
  threads: envNumber('BENCH_THREADS', 2),
  loadRules: process.env.BENCH_LOAD_RULES === '1',
  profile: process.env.BENCH_PROFILE === '1',
};
const GOALS = { p99Ms: 250, p999Ms: 1000 };
const BATCH = 1000;
const ASSETS_PER_CLIENT = 10;
const TS_STEP_MS = 10;
const metrics = metricNames(10);
const TS_PER_SERIES = BATCH / (ASSETS_PER_CLIENT * metrics.length);
const PROBE_METRIC = 'probe';
const LOAD_TYPE = 'bench-load';
const WATCH_CHANNEL = `bench-alert-latency-${process.pid}`;
const PROBE_TYPE = 'bench-probe';
if (options.intervalMaxMs < options.intervalMinMs) throw new Error('BENCH_PROBE_INTERVAL_MAX < _MIN');

interface PhaseResult {
  phase: string;
  loadRules: boolean;
  commitLatencyMs: TailSummary;
  apiLatencyMs: TailSummary;
  /**
   * Probes whose alert was not seen committed / not listed (within the probe timeout): counted in
   * the percentiles as the timeout (so percentiles that reach them are lower bounds).
   */
  missedCommit: number;
  missedApi: number;
  probeIngestAckMs: TailSummary;
  probes: Omit<ProbeRunOutcome, 'records'>;
  probeErrors: string[];
  load: PacedRunResult;
  /** While the paced load ran: events produced by the feed, processed by the alert consumer, and the inbox's growth. */
  pipeline: PipelineRates;
  backlog: Record<string, { mean: number; max: number }>;
  backlogOverTime: Record<string, number[]>;
  cpu: CpuCores;
  /** The Alert service's database connections: PostgreSQL working (active) vs waiting for the service (idle in transaction). */
  alertDbBackends: { what: string; backends: number; share: string }[];
  serverEventLoopDelayMs: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
  watcher: Omit<WatchOutcome, 'seen'>;
  /** From the watcher seeing a commit to the probe thread hearing of it (when its API polling starts). */
  commitSignalLagMs: TailSummary;
  /** Per 10 s of the probe run (by t0): how the latencies moved while the load went on. */
  latencyOverTime: {
    fromSecond: number;
    probes: number;
    commitP50Ms: number;
    commitMaxMs: number;
    apiMaxMs: number;
  }[];
  segments: SegmentSummary[];
  queue: Record<string, TailSummary>;
  slowest: Record<string, unknown>[];
  timelines: ProbeTimeline[];
}

async function main(): Promise<void> {
  console.log('starting the all-in-one runtime (child process) …');
  const profileDir = options.profile
    ? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results', 'profiles')
    : undefined;
  const platform = await startPlatform({ label: 'alertlat', ...(profileDir ? { profileDir } : {}) });
  let clients: IngestClients | undefined;
  const threads: BenchThread[] = [];
  const results: Record<string, unknown> = { options, goals: GOALS };
  try {
    const telemetryDb = platform.adminPool('telemetry', 2);
    const alertDb = platform.adminPool('alert', 2);
    const cpu = new CpuSplit(
      () => [platform.pid],
      benchPostgresProcesses(telemetryDb, { '': platform.databasePrefix }),
    );

    // 1. Assets, rules, series.
    const loadCount = options.clients * ASSETS_PER_CLIENT;
    console.log(`registering ${loadCount} load assets and ${options.probeAssets} probe assets …`);
    const loadAssets = await registerAssets(platform, loadCount, {
      type: LOAD_TYPE,
      namePrefix: 'Alert bench load',
    });
    const probeAssets = await registerAssets(platform, options.probeAssets, {
      type: PROBE_TYPE,
      namePrefix: 'Alert bench probe',
    });
    for (const [i, assetId] of probeAssets.entries()) {
      const res = await api(platform, 'POST', '/api/v1/alert-rules', {
        name: `Bench probe ${i + 1} high`,
        assetId,
        metric: PROBE_METRIC,
        condition: { kind: 'above', threshold: 100 },
        severity: 'warning',
      });
      if (res.status !== 201)
        throw new Error(`creating a rule failed: ${res.status} ${JSON.stringify(res.body)}`);
    }
    const DAY = 86_400_000;
    const now = Date.now();
    const startTsMs = Math.max(Math.floor((now - 50 * 60_000) / 1000) * 1000, Math.floor(now / DAY) * DAY);
    await waitUntilTelemetryKnows(platform, loadAssets, metrics, startTsMs - 1000);
    await waitUntilTelemetryKnows(platform, probeAssets, [PROBE_METRIC], now - 60_000);
    console.log('telemetry knows every asset; series created; one rule per probe asset');

    const slots: IngestSlot[] = Array.from({ length: options.clients }, (_, i) => ({
      assetIds: loadAssets.slice(i * ASSETS_PER_CLIENT, (i + 1) * ASSETS_PER_CLIENT),
    }));
    clients = new IngestClients(
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

    // 2. Maximum rate.
    console.log(`\nmaximum ingest rate: ${options.clients} clients, closed loop, warm-up 2 s …`);
    await clients.closed(options.clients, 2);
    await platform.waitUntilQuiet(options.quietSeconds * 1000);
    console.log(`    measuring for ${options.maxSeconds} s …`);
    const max: IngestRunResult = await clients.closed(options.clients, options.maxSeconds);
    console.log(
      `    ${max.readingsPerSecond} readings/s (batch p50 ${max.batchLatencyMs.p50Ms} ms, p99 ${max.batchLatencyMs.p99Ms} ms, ${max.failedBatches} failed)`,
    );
    const quietAfterMax = await platform.waitUntilQuiet(options.quietSeconds * 1000);
    console.log(
      `    event backlog when it ended: ${JSON.stringify(quietAfterMax.backlogAtEnd)}, processed in ${quietAfterMax.seconds} s` +
        (quietAfterMax.left ? ` (${quietAfterMax.left} still waiting)` : ''),
    );
    results.maximum = { ...max, eventBacklogAfter: quietAfterMax };

    const probeThread = new BenchThread(new URL('./probe.worker.ts', import.meta.url), {
      gatewayUrl: platform.gatewayUrl,
      adminToken: platform.adminToken,
      assetIds: probeAssets,
      metric: PROBE_METRIC,
      highValue: 150,
      lowValue: 0,
      apiPollMs: options.apiPollMs,
      fallbackPollMs: options.fallbackPollMs,
      channel: WATCH_CHANNEL,
      timeoutMs: options.timeoutSeconds * 1000,
      connections: 16,
    } satisfies ProbeSettings);
    threads.push(probeThread);
    const watchThread = new BenchThread(new URL('./commit-watch.worker.ts', import.meta.url), {
      connectionString: withDatabase(benchAdminUrl, `${platform.databasePrefix}_alert`),
      assetIds: probeAssets,
      intervalMs: options.dbPollMs,
      channel: WATCH_CHANNEL,
    } satisfies WatchSettings);
    threads.push(watchThread);

    const target = options.load * max.readingsPerSecond;
    const context = {
      platform,
      clients,
      cpu,
      telemetryDb,
      alertDb,
      probeThread,
      watchThread,
      probeAssets,
      target,
    };
    const phases: PhaseResult[] = [];
    phases.push(await runPhase('no rules on the load metrics', false, context));
    if (options.loadRules) {
      for (const metric of metrics) {
        const res = await api(platform, 'POST', '/api/v1/alert-rules', {
          name: `Bench load ${metric} (never fires)`,
          assetType: LOAD_TYPE,
          metric,
          condition: { kind: 'above', threshold: 1e12 },
          severity: 'warning',
        });
        if (res.status !== 201)
          throw new Error(`creating a rule failed: ${res.status} ${JSON.stringify(res.body)}`);
      }
      phases.push(await runPhase('a rule on every load metric (never fires)', true, context));
    }

    // Summary.
    const summary = phases.flatMap((p) => [
      {
        phase: p.phase,
        measure: `ingest accepted → AlertRaised committed (n=${p.commitLatencyMs.count}, missed ${p.missedCommit})`,
        'p50/p90/p99/p99.9/max ms': fiveNumbers(p.commitLatencyMs),
        'p99 ≤ 250 ms': verdict(p.commitLatencyMs.p99Ms <= GOALS.p99Ms && p.missedCommit === 0),
        'p99.9 ≤ 1 s': verdict(p.commitLatencyMs.p999Ms <= GOALS.p999Ms && p.missedCommit === 0),
      },
      {
        phase: p.phase,
        measure: `ingest accepted → listed by GET /api/v1/alerts (n=${p.apiLatencyMs.count}, missed ${p.missedApi})`,
        'p50/p90/p99/p99.9/max ms': fiveNumbers(p.apiLatencyMs),
        'p99 ≤ 250 ms': verdict(p.apiLatencyMs.p99Ms <= GOALS.p99Ms && p.missedApi === 0),
        'p99.9 ≤ 1 s': verdict(p.apiLatencyMs.p999Ms <= GOALS.p999Ms && p.missedApi === 0),
      },
    ]);
    console.log(
      `\nsummary — background ingest at ${Math.round(options.load * 100)}% of the ${max.readingsPerSecond} readings/s maximum ` +
        '(one machine: 2 vCPUs shared by the server, PostgreSQL, the bench and whatever else runs):',
    );
    console.table(summary);
    for (const p of phases) {
      console.log(
        `  ${p.phase}: background ingest achieved ${p.load.achievedReadingsPerSecond} readings/s (target ${p.load.targetReadingsPerSecond}), ` +
          `${p.pipeline.telemetryAggregatedPerSecond} TelemetryAggregated events/s produced, ${p.pipeline.alertProcessedPerSecond}/s processed by the alert consumer, cores: server ${p.cpu.serverCores}, ` +
          `postgres ${p.cpu.postgresCores}, bench ${p.cpu.benchClientCores}, other ${p.cpu.otherCores}`,
      );
    }
    results.phases = phases;
    results.summary = summary;
    results.environment = {
      ...(await environment(telemetryDb)),
      loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)),
      note:
        'server (gateway + all services, one Node process), PostgreSQL and the bench (load clients, probes, commit watcher) share the same 2 vCPUs; ' +
        'other engineers’ work may run on the machine at the same time — see cpu.otherCores and the load averages',
    };
    const file = await writeResults('alert-latency', results);
    console.log(`\nresults written to ${file}`);
  } finally {
    for (const thread of threads) await thread.call('close').catch(() => {});
    await Promise.all(threads.map((thread) => thread.terminate()));
    await clients?.close();
    await platform.stop();
    if (profileDir) console.log(`server CPU profile written to ${path.relative(process.cwd(), profileDir)}/`);
  }
}

interface PhaseContext {
  platform: Platform;
  clients: IngestClients;
  cpu: CpuSplit;
  telemetryDb: ReturnType<Platform['adminPool']>;
  alertDb: ReturnType<Platform['adminPool']>;
  probeThread: BenchThread;
  watchThread: BenchThread;
  probeAssets: string[];
  target: number;
}

async function runPhase(phase: string, loadRules: boolean, ctx: PhaseContext): Promise<PhaseResult> {
  const meanInterval = (options.intervalMinMs + options.intervalMaxMs) / 2;
  const probeSeconds = (options.samples * meanInterval * 1.05) / 1000 + 3;
  const loadSeconds = options.settleSeconds + probeSeconds + 2;
  console.log(
    `\nphase "${phase}": paced ingest at ${Math.round(ctx.target)} readings/s for ${Math.round(loadSeconds)} s; ` +
      `${options.samples} probes every ${options.intervalMinMs}–${options.intervalMaxMs} ms after ${options.settleSeconds} s …`,
  );
  await ctx.platform.waitUntilQuiet(options.quietSeconds * 1000);
  await ctx.watchThread.call('start');
  await ctx.cpu.restart();
  await ctx.platform.eventLoopDelay();
  const sampler = new BacklogSampler(ctx.telemetryDb, ctx.alertDb);
  sampler.start();
  const backends = new BackendStateSampler(ctx.alertDb, `${ctx.platform.databasePrefix}_alert`);
  backends.start();
  const loadStart = new Date();
  const pendingAtStart = await alertInboxPending(ctx.alertDb);
  let loadEnd = loadStart;
  let pendingAtEnd = 0;
  const loadRun = ctx.clients.paced(ctx.target, loadSeconds).then(async (result) => {
    loadEnd = new Date();
    pendingAtEnd = await alertInboxPending(ctx.alertDb);
    return result;
  });
  await sleep(options.settleSeconds * 1000);
  const probeRun = await ctx.probeThread.call<ProbeRunOutcome>('run', {
    samples: options.samples,
    maxSeconds: probeSeconds,
    minIntervalMs: options.intervalMinMs,
    maxIntervalMs: options.intervalMaxMs,
  });
  const load = await loadRun;
  const cores = await ctx.cpu.cores();
  const alertDbBackends = backends.stop();
  const serverEventLoopDelayMs = await ctx.platform.eventLoopDelay();
  const backlog = await sampler.stop();
  // The watcher keeps watching until the pipeline is idle: alerts of the last probes may commit late.
  const quiet = await ctx.platform.waitUntilQuiet(options.quietSeconds * 1000);
  const { seen, ...watcher } = await ctx.watchThread.call<WatchOutcome>('stop');

  const { records, ...probes } = probeRun;
  const timelines = await probeTimelines(records, seen, ctx.alertDb, ctx.telemetryDb, ctx.probeAssets);
  const commit = timelines.map((t) => (t.commitAt === undefined ? Number.NaN : t.commitAt - t.ackAt));
  const listed = timelines.map((t) => (t.apiSeenAt === undefined ? Number.NaN : t.apiSeenAt - t.ackAt));
  // A probe without a commit or a listing counts as the timeout (a lower bound), not as absent.
  const missedCommit = commit.filter((v) => !Number.isFinite(v)).length;
  const missedApi = listed.filter((v) => !Number.isFinite(v)).length;
  const withMisses = (values: number[]) =>
    values.map((v) => (Number.isFinite(v) ? v : options.timeoutSeconds * 1000));
  const pipeline = await pipelineRates(
    ctx.telemetryDb,
    ctx.alertDb,
    loadStart,
    loadEnd,
    pendingAtStart,
    pendingAtEnd,
  );

  const result: PhaseResult = {
    phase,
    loadRules,
    commitLatencyMs: missedCommit ? tail(withMisses(commit)) : tail(commit),
    apiLatencyMs: missedApi ? tail(withMisses(listed)) : tail(listed),
    missedCommit,
    missedApi,
    probeIngestAckMs: tail(records.map((r) => r.ackAt - r.sentAt)),
    probes,
    probeErrors: [...new Set(records.map((r) => r.error).filter((e): e is string => e !== undefined))].slice(
      0,
      5,
    ),
    load,
    pipeline,
    backlog: backlog.summary,
    backlogOverTime: backlog.series,
    cpu: cores,
    alertDbBackends,
    serverEventLoopDelayMs,
    watcher,
    commitSignalLagMs: tail(
      timelines.map((t) =>
        t.commitSignalAt !== undefined && t.commitAt !== undefined
          ? t.commitSignalAt - t.commitAt
          : Number.NaN,
      ),
    ),
    latencyOverTime: overTime(timelines),
    segments: segmentSummaries(timelines),
    queue: queueContext(timelines),
    slowest: slowest(timelines, 12),
    timelines,
  };
  printPhase(result, quiet.seconds);
  return result;
}

function printPhase(r: PhaseResult, quietSeconds: number): void {
  console.log(`\n  latency from the ingest answer (t0), ms — ${r.phase}:`);
  console.table({
    'AlertRaised committed': r.commitLatencyMs,
    'listed by GET /api/v1/alerts': r.apiLatencyMs,
    '(probe ingest: sent → answered)': r.probeIngestAckMs,
  });
  if (r.missedCommit || r.missedApi) {
    console.log(
      `  missed: ${r.missedCommit} commits, ${r.missedApi} listings (counted as the ${options.timeoutSeconds} s timeout: ` +
        `percentiles reaching them are lower bounds); errors: ${r.probeErrors.join('; ')}`,
    );
  }
  console.log(
    `  probes: ${r.probes.seconds.toFixed(1)} s, ${r.probes.skippedTicks} ticks with every probe asset busy, ` +
      `${r.probes.lateTicks} late ticks, ${r.probes.apiRequests} alert listings (${Math.round(r.probes.apiRequests / r.probes.seconds)}/s), ` +
      `${r.probes.retiredAssets} probe assets retired`,
  );
  console.log(
    `  commit watcher: ${r.watcher.polls} polls, gap between polls p50 ${r.watcher.pollGapMs.p50Ms} / p99 ${r.watcher.pollGapMs.p99Ms} / max ${r.watcher.pollGapMs.maxMs} ms ` +
      `(the commit times' resolution), query p50 ${r.watcher.queryMs.p50Ms} ms${r.watcher.errors.length ? `, errors ${r.watcher.errors}` : ''}; ` +
      `its announcement reached the probe thread after p50 ${r.commitSignalLagMs.p50Ms} / p99 ${r.commitSignalLagMs.p99Ms} ms`,
  );
  console.log(
    `  background ingest: ${r.load.achievedReadingsPerSecond} readings/s achieved (target ${r.load.targetReadingsPerSecond}; ` +
      `the load metrics ${r.loadRules ? 'have a rule each' : 'have no rules'}), ack p99 ${r.load.ackLatencyMs.p99Ms} ms, ` +
      `${r.load.failedBatches} failed, ${r.load.lateSends} late sends`,
  );
  const p = r.pipeline;
  console.log(
    `  while the load ran (${p.seconds} s): ${p.telemetryAggregatedPerSecond} TelemetryAggregated events/s produced, ` +
      `${p.alertProcessedPerSecond} events/s processed by the alert consumer; alert inbox ${p.inboxPendingAtStart} → ${p.inboxPendingAtEnd} pending ` +
      `(${p.inboxGrowthPerSecond >= 0 ? '+' : ''}${p.inboxGrowthPerSecond}/s${p.inboxGrowthPerSecond > 50 ? ': the consumer does not keep up, latency grows with the run' : ''}); ` +
      `pipeline idle again ${quietSeconds} s after the probes ended`,
  );
  console.log(
    `  cores: server ${r.cpu.serverCores} (event loop waiting for a CPU ${r.cpu.serverCpuWait}), postgres ${r.cpu.postgresCores} ` +
      `${JSON.stringify(r.cpu.postgresByGroup)}, bench ${r.cpu.benchClientCores}, other ${r.cpu.otherCores}, machine ${r.cpu.machineBusyCores}; ` +
      `server event-loop delay p50 ${r.serverEventLoopDelayMs.p50Ms} / p99 ${r.serverEventLoopDelayMs.p99Ms} / max ${r.serverEventLoopDelayMs.maxMs} ms`,
  );
  console.log('  backlog sampled every second (mean / max):');
  console.table(r.backlog);
  console.log(
    "  the Alert service's database connections (pg_stat_activity every 25 ms; backends = average number in that state):",
  );
  console.table(r.alertDbBackends);
  console.log('  latency over the run (by t0, 10 s buckets):');
  console.table(r.latencyOverTime);
  console.log(
    '  where the time goes (ms; probes with a complete timeline; share = of the mean commit latency):',
  );
  console.table(
    Object.fromEntries(
      r.segments.map(({ segment, ...s }) => [
        segment,
        {
          p50: s.p50Ms,
          p90: s.p90Ms,
          p99: s.p99Ms,
          'p99.9': s.p999Ms,
          max: s.maxMs,
          mean: s.meanMs,
          share: s.share,
        },
      ]),
    ),
  );
  console.log('  queue context (counts, not ms):');
  console.table(
    Object.fromEntries(
      Object.entries(r.queue).map(([k, s]) => [
        k,
        { p50: s.p50Ms, p90: s.p90Ms, p99: s.p99Ms, max: s.maxMs, mean: s.meanMs },
      ]),
    ),
  );
  console.log('  slowest probes (commit latency; s1…s7 = the segments above, ms):');
  console.table(r.slowest);
}

function overTime(timelines: readonly ProbeTimeline[]): PhaseResult['latencyOverTime'] {
  const first = Math.min(...timelines.map((t) => t.ackAt).filter((v) => Number.isFinite(v)));
  const buckets = new Map<number, ProbeTimeline[]>();
  for (const t of timelines) {
    if (!Number.isFinite(t.ackAt)) continue;
    const bucket = Math.floor((t.ackAt - first) / 10_000) * 10;
    buckets.set(bucket, [...(buckets.get(bucket) ?? []), t]);
  }
  return [...buckets.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([fromSecond, list]) => {
      const commit = tail(list.map((t) => (t.commitAt ?? Number.NaN) - t.ackAt));
      const listed = tail(list.map((t) => (t.apiSeenAt ?? Number.NaN) - t.ackAt));
      return {
        fromSecond,
        probes: list.length,
        commitP50Ms: commit.p50Ms,
        commitMaxMs: commit.maxMs,
        apiMaxMs: listed.maxMs,
      };
    });
}

interface PipelineRates {
  seconds: number;
  telemetryAggregatedPerSecond: number;
  alertProcessedPerSecond: number;
  inboxPendingAtStart: number;
  inboxPendingAtEnd: number;
  inboxGrowthPerSecond: number;
}

async function alertInboxPending(alertDb: PhaseContext['alertDb']): Promise<number> {
  const { rows } = await alertDb.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM inbox WHERE consumer = 'alert' AND status = 'pending'",
  );
  return rows[0]?.n ?? 0;
}

/** Events per second while the load ran: produced by the feed, processed by the alert consumer. */
async function pipelineRates(
  telemetryDb: PhaseContext['telemetryDb'],
  alertDb: PhaseContext['alertDb'],
  from: Date,
  to: Date,
  pendingAtStart: number,
  pendingAtEnd: number,
): Promise<PipelineRates> {
  const seconds = Math.max(0.001, (to.getTime() - from.getTime()) / 1000);
  const feed = await telemetryDb.query<{ n: number }>(
    `SELECT coalesce(sum(events), 0)::int AS n FROM outbox
      WHERE type = 'assetops.telemetry.aggregated.v2' AND created_at >= $1 AND created_at < $2`,
    [from, to],
  );
  const processed = await alertDb.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM inbox
      WHERE consumer = 'alert' AND status = 'processed' AND processed_at >= $1 AND processed_at < $2`,
    [from, to],
  );
  return {
    seconds: round(seconds, 1),
    telemetryAggregatedPerSecond: Math.round(feed.rows[0]!.n / seconds),
    alertProcessedPerSecond: Math.round(processed.rows[0]!.n / seconds),
    inboxPendingAtStart: pendingAtStart,
    inboxPendingAtEnd: pendingAtEnd,
    inboxGrowthPerSecond: Math.round((pendingAtEnd - pendingAtStart) / seconds),
  };
}

/** Samples, once a second, what waits along the path: feed windows, the telemetry outbox, the alert inbox. */
class BacklogSampler {
  private readonly series: Record<string, number[]> = {
    'telemetry feed_pending windows': [],
    'telemetry outbox unpublished': [],
    'alert inbox pending': [],
  };
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly telemetryDb: PhaseContext['telemetryDb'],
    private readonly alertDb: PhaseContext['alertDb'],
  ) {}

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const started = epochMs();
        const count = async (db: PhaseContext['telemetryDb'], sql: string) =>
          Number((await db.query<{ n: number }>(sql)).rows[0]?.n ?? 0);
        const [feed, outbox, inbox] = await Promise.all([
          count(
            this.telemetryDb,
            'SELECT coalesce(sum(cardinality(series_ids)), 0)::int AS n FROM feed_pending',
          ),
          count(
            this.telemetryDb,
            'SELECT coalesce(sum(events), 0)::int AS n FROM outbox WHERE published_at IS NULL',
          ),
          count(
            this.alertDb,
            "SELECT count(*)::int AS n FROM inbox WHERE consumer = 'alert' AND status = 'pending'",
          ),
        ]);
        this.series['telemetry feed_pending windows']!.push(feed);
        this.series['telemetry outbox unpublished']!.push(outbox);
        this.series['alert inbox pending']!.push(inbox);
        await sleep(Math.max(0, started + 1000 - epochMs()));
      }
    })();
  }

  async stop(): Promise<{
    summary: Record<string, { mean: number; max: number }>;
    series: Record<string, number[]>;
  }> {
    this.running = false;
    await this.loop;
    const summary = Object.fromEntries(
      Object.entries(this.series).map(([name, values]) => [
        name,
        {
          mean: Math.round(values.reduce((a, b) => a + b, 0) / Math.max(1, values.length)),
          max: Math.max(0, ...values),
        },
      ]),
    );
    return { summary, series: this.series };
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
