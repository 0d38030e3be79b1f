/**
 * Telemetry ingest benchmark, end to end on the all-in-one runtime. Not part of `npm test`; run it
 * with
 *
 *   npx tsx bench/ingest/run.ts [--duration=15 --concurrency=4,8,16 …]   (or: npm run bench:ingest)
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). The runtime runs in a child process (its own event
 * loop: gateway + every service, as `npm start` runs them) with databases `bench_ingest_<random>_*`,
 * dropped at the end. Assets are registered through the gateway; the load starts once telemetry
 * accepts a reading for each of them (its AssetRegistered event arrived). Client threads send the
 * load, so that their CPU is not the server's event loop — but it is the same 2 vCPUs: every
 * figure comes with the CPU each party used (server process, the PostgreSQL backends of the
 * bench's databases by database, the bench's clients, everything else on the machine), and CPU ms
 * per 1,000 readings, which depends far less on what else runs than a rate does. With the
 * defaults it takes about 6 minutes, of which (a') and its extra latency run in (c) take about 2½.
 *
 * (a) HTTP maximum: batches of BENCH_BATCH (1,000) readings, `POST /api/v1/telemetry` JSON through
 *     the gateway, from BENCH_CONCURRENCY (4,8,16) concurrent keep-alive clients, each for
 *     BENCH_DURATION (15) s. Each client owns BENCH_ASSETS_PER_CLIENT (10) assets × BENCH_METRICS
 *     (10) metrics and sends every one of its series at batch/series consecutive times
 *     BENCH_TS_STEP (10) ms apart — an edge gateway flushing its devices. The best is reported.
 *     This is a burst figure: the work the platform defers past the ack (TelemetryAggregated events
 *     through the outbox to the alert and dashboard inboxes) falls behind, and its backlog takes
 *     seconds to clear after the run — hence (a').
 * (b) The raw COPY ceiling in the same run: as many readings as the best HTTP run stored, for the
 *     same series, COPY'd straight into the service's `readings` table (same partitions, times
 *     offset so that no key collides) with BENCH_COPY_STREAMS (1,2) parallel streams; the best is
 *     the ceiling. Goal: HTTP ≥ 50% of it, and > 100k readings/s.
 * (a') HTTP sustained maximum (after (b); BENCH_SUSTAIN=0 skips it): the highest paced rate the
 *     platform keeps up with, deferred work included. Bisection between BENCH_SUSTAIN_LOW (0.2) ×
 *     the burst maximum of (a) and that maximum, BENCH_SUSTAIN_PROBES (4) probes: each is an open-loop
 *     run (as in (c)) of BENCH_SUSTAIN_DURATION (20) s, started once the pipeline is idle (waiting at
 *     most 4 × BENCH_QUIET_WAIT), with the event backlog — unpublished outbox + pending inbox rows
 *     + pending feed windows in every database, as the idle wait counts them — sampled once a
 *     second. A probe is sustained when (1) the achieved rate is ≥ 97% of the target and (2) the
 *     backlog at the end (mean of the last 3 samples, the last one taken when the last batch was
 *     answered) is at most 1 s of the events the probe produced (events appended to telemetry's
 *     outbox per second of the run), or 1,000 rows if that is more: over the run the pipeline fell at
 *     most a second behind, where the burst runs leave ~9 s. A sustained probe raises the lower
 *     end, any other lowers the upper end; the sustained maximum is the highest sustained target
 *     (resolution (1 − BENCH_SUSTAIN_LOW) / 2^probes of the burst maximum). Each probe is reported
 *     (target, achieved, backlog start/end, trend over the second half, ack p50/p99, cores); the
 *     samples are in the results file. Adds probes × (duration + idle wait): about 2 minutes.
 * (c) Ack latency at BENCH_LATENCY_LOAD (0.7; a list such as 0.3,0.5,0.7 runs each) × the HTTP
 *     maximum for BENCH_LATENCY_DURATION (20) s: open loop, batches leave on a fixed schedule;
 *     latency from each batch's scheduled time to its answer. Goal: p99 ≤ 50 ms at 70%. It first
 *     waits (at most 4 × BENCH_QUIET_WAIT) for the event backlog of the maximum runs to clear.
 *     Then the same at 70% of the sustained maximum of (a') (when one was found; about 30 s more):
 *     the summary labels them "ack latency at 70% of the burst max" and "… of the sustained max".
 *     Each run also prints the telemetry service's own timings over it (from its /metrics
 *     histograms): a batch's whole ingestion, its wait for a write slot, and the write statement.
 * (d) MQTT, when the runtime offers a broker (`mqttUrl` in what startAllInOne returns; MQTT_PORT=0):
 *     BENCH_MQTT_PUBLISHERS (8) connections publish QoS 1 to `assetops/<assetId>/telemetry` for
 *     BENCH_MQTT_ASSETS (80) assets (`{"ts","values":{…}}` with every metric, or
 *     BENCH_MQTT_FORMAT=single: `{"metric","value","ts"}`) for BENCH_MQTT_DURATION (10) s, at most
 *     BENCH_MQTT_INFLIGHT (50,150) unacknowledged each, one run per window; measured is readings
 *     stored per second until every reading the broker acknowledged is stored. Goal ≥ 30k/s, judged
 *     at the first window. A publisher waits for PUBACKs — which mean committed — before it sends
 *     more, so a window's rate is at most its messages per round trip; the wider one shows how much
 *     room the platform has beyond that.
 *     Stored readings are followed with the service's own counter (telemetry_readings_total,
 *     transport mqtt, outcome stored, on its /metrics) and checked against the rows counted in the
 *     database at the end. BENCH_MQTT_USERNAME / BENCH_MQTT_PASSWORD: broker credentials (given
 *     to the runtime as MQTT_USERNAME / MQTT_PASSWORD too).
 *
 * Between phases it waits (at most BENCH_QUIET_WAIT, 15 s) until the event pipeline the load
 * set off is idle — TelemetryAggregated feed windows → telemetry outbox → alert inbox — and
 * reports how long that took and what was waiting: the part of ingest that the HTTP ack does not
 * show.
 *
 * Every option is also a flag: `--duration=30` is BENCH_DURATION=30. BENCH_THREADS (2) client
 * threads; BENCH_PROFILE=1 writes a CPU profile of the server process to bench/results/profiles/
 * (summarise it with `npx tsx bench/common/cpuprofile-summary.ts <file>`). Results are printed and
 * written to bench/results/ingest-<time>.json (git-ignored).
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Pool } from '@assetops/platform';
import {
  IngestClients,
  type IngestRunResult,
  metricNames,
  type PacedRunResult,
} from '../common/ingest-clients.js';
import type { IngestSlot } from '../common/ingest-load.worker.js';
import { PgActivitySampler, TableWrites } from '../common/pg-activity.js';
import {
  backlogTotal,
  type Platform,
  registerAssets,
  startPlatform,
  waitUntilTelemetryKnows,
} from '../common/platform.js';
import { benchPostgresProcesses, type CpuCores, CpuSplit } from '../common/proc.js';
import { histogramDelta, readHistograms, summarizeHistogram } from '../common/server-histograms.js';
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
import { type CopyResult, copyCeiling, type SeriesRow } from './copy-ceiling.js';
import type { MqttPublishSettings, PublishOutcome } from './mqtt-publish.worker.js';

applyCliOptions(process.argv.slice(2));
const options = {
  seconds: envNumber('BENCH_DURATION', 15),
  concurrency: envNumbers('BENCH_CONCURRENCY', [4, 8, 16]),
  batch: envNumber('BENCH_BATCH', 1000),
  assetsPerClient: envNumber('BENCH_ASSETS_PER_CLIENT', 10),
  metrics: envNumber('BENCH_METRICS', 10),
  tsStepMs: envNumber('BENCH_TS_STEP', 10),
  threads: envNumber('BENCH_THREADS', 2),
  copyStreams: envNumbers('BENCH_COPY_STREAMS', [1, 2]),
  latencyLoad: envNumbers('BENCH_LATENCY_LOAD', [0.7]),
  latencySeconds: envNumber('BENCH_LATENCY_DURATION', 20),
  mqttSeconds: envNumber('BENCH_MQTT_DURATION', 10),
  quietSeconds: envNumber('BENCH_QUIET_WAIT', 15),
  sustain: process.env.BENCH_SUSTAIN !== '0',
  sustainSeconds: envNumber('BENCH_SUSTAIN_DURATION', 20),
  sustainProbes: envNumber('BENCH_SUSTAIN_PROBES', 4),
  sustainLow: envNumber('BENCH_SUSTAIN_LOW', 0.2),
  mqttPublishers: envNumber('BENCH_MQTT_PUBLISHERS', 8),
  mqttAssets: envNumber('BENCH_MQTT_ASSETS', 80),
  mqttInflight: envNumbers('BENCH_MQTT_INFLIGHT', [50, 150]),
  mqttFormat: (process.env.BENCH_MQTT_FORMAT ?? 'values') as 'values' | 'single',
  profile: process.env.BENCH_PROFILE === '1',
};
const GOALS = { httpPerSecond: 100_000, shareOfCopy: 0.5, p99Ms: 50, mqttPerSecond: 30_000 };
/**
 * When a paced rate counts as sustained (phase (a')): the achieved rate is at least `minAchieved` of
 * the target, and the event backlog at the end of the run — the mean of the last `endSamples`
 * samples, taken once a second — is at most `backlogSeconds` of the events the run produced (events
 * appended to telemetry's outbox per second of the run), and never less than `backlogFloor` rows.
 */
const SUSTAIN = { minAchieved: 0.97, backlogSeconds: 1, backlogFloor: 1000, endSamples: 3 };
/** Phase (c) also runs at this share of the sustained maximum. */
const SUSTAINED_LATENCY_LOAD = 0.7;

const seriesPerClient = options.assetsPerClient * options.metrics;
const tsPerSeries = options.batch / seriesPerClient;
if (!Number.isInteger(tsPerSeries) || tsPerSeries < 1) {
  throw new Error(
    `BENCH_BATCH (${options.batch}) must be a multiple of BENCH_ASSETS_PER_CLIENT × BENCH_METRICS (${seriesPerClient})`,
  );
}
if (options.tsStepMs <= options.copyStreams.length) {
  throw new Error(
    'BENCH_TS_STEP must exceed the number of COPY variants (their keys sit between the HTTP ones)',
  );
}
if (options.sustain && (options.sustainProbes < 1 || options.sustainLow <= 0 || options.sustainLow >= 1)) {
  throw new Error('BENCH_SUSTAIN_PROBES must be ≥ 1 and BENCH_SUSTAIN_LOW between 0 and 1');
}
if (options.mqttFormat !== 'values' && options.mqttFormat !== 'single') {
  throw new Error('BENCH_MQTT_FORMAT is values or single');
}

const DAY = 86_400_000;

type LatencyRun = PacedRunResult &
  CpuCores & {
    load: number;
    /** `load` is a share of this maximum: the burst (closed-loop) one or the sustained one. */
    of: 'burst' | 'sustained';
    ofReadingsPerSecond: number;
    eventBacklogAtStart: number;
    eventLoopDelayMs: { p99Ms: number };
    /** The telemetry service's own timings of the run, by histogram (see SERVER_TIMINGS). */
    serverTimings?: Record<string, ReturnType<typeof summarizeHistogram>>;
  };

/** The telemetry service's histograms phase (c) reports: ingestion, write-slot wait, write statement. */
const SERVER_TIMINGS = [
  'telemetry_ingest_seconds',
  'telemetry_write_wait_seconds',
  'telemetry_write_seconds',
];

/** One paced run of the sustained-maximum search (phase (a')). */
type SustainProbe = PacedRunResult &
  CpuCores & {
    probe: number;
    /** Seconds spent waiting for the pipeline to go idle before the probe, and what was left. */
    quietWaitSeconds: number;
    eventBacklogLeftAtStart: number;
    runSeconds: number;
    /** Event backlog (outbox + inbox + feed windows, every database) sampled about once a second. */
    backlogSamples: { seconds: number; backlog: number }[];
    backlogAtStart: number;
    /** Mean of the last SUSTAIN.endSamples samples (the last one taken when the last batch was answered). */
    backlogAtEnd: number;
    /** The last sample, by queue. */
    backlogAtEndByQueue: Record<string, number>;
    /** Least-squares slope of the samples over the second half of the run (rows per second). */
    backlogTrendPerSecond: number;
    /** TelemetryAggregated events appended to telemetry's outbox per second of the run. */
    eventsPerSecond: number;
    backlogBound: number;
    eventLoopDelayMs: { p99Ms: number };
    rateOk: boolean;
    backlogOk: boolean;
    sustained: boolean;
  };

/** CPU ms spent per 1,000 readings at `perSecond` readings/s using `cores`. */
const perThousand = (cores: number, perSecond: number) =>
  round((cores * 1_000_000) / Math.max(1, perSecond), 1);

/** PostgreSQL's cores for the telemetry database / the alert database / the rest. */
const pgSplit = (c: CpuCores) => {
  const telemetry = c.postgresByGroup.telemetry ?? 0;
  const alert = c.postgresByGroup.alert ?? 0;
  return `${telemetry} / ${alert} / ${round(c.postgresCores - telemetry - alert, 2)}`;
};
const metrics = metricNames(options.metrics);

async function main(): Promise<void> {
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
  const profileDir = options.profile ? path.join(resultsDir, 'profiles') : undefined;
  console.log('starting the all-in-one runtime (child process) …');
  const platform = await startPlatform({
    label: 'ingest',
    env: {
      MQTT_PORT: '0',
      // Credentials, when given, are required by the broker of every client (telemetry included).
      ...(process.env.BENCH_MQTT_USERNAME && process.env.BENCH_MQTT_PASSWORD
        ? { MQTT_USERNAME: process.env.BENCH_MQTT_USERNAME, MQTT_PASSWORD: process.env.BENCH_MQTT_PASSWORD }
        : {}),
    },
    ...(profileDir ? { profileDir } : {}),
  });
  let clients: IngestClients | undefined;
  const results: Record<string, unknown> = { options };
  try {
    const telemetryDb = platform.adminPool('telemetry', 4);
    const cpu = new CpuSplit(
      () => [platform.pid],
      benchPostgresProcesses(telemetryDb, { '': platform.databasePrefix }),
    );
    const activity = new PgActivitySampler(telemetryDb, platform.databasePrefix);
    const writes = new TableWrites(telemetryDb);
    const maxClients = Math.max(...options.concurrency);

    console.log(
      `registering ${maxClients * options.assetsPerClient} + ${options.mqttAssets} assets through the gateway …`,
    );
    const httpAssets = await registerAssets(platform, maxClients * options.assetsPerClient, {
      namePrefix: 'Ingest bench pump',
    });
    const mqttAssets =
      platform.mqttUrl && options.mqttSeconds > 0
        ? await registerAssets(platform, options.mqttAssets, { namePrefix: 'MQTT bench pump' })
        : [];

    // Reading times: from 50 minutes ago (inside the 1 h lateness window), in today's partition.
    const t0 = Date.now();
    const dayStart = Math.floor(t0 / DAY) * DAY;
    const startTsMs = Math.max(Math.floor((t0 - 50 * 60_000) / 1000) * 1000, dayStart);
    await waitUntilTelemetryKnows(platform, [...httpAssets, ...mqttAssets], metrics, startTsMs - 1000);
    console.log('telemetry knows every asset; series created');

    const slots: IngestSlot[] = Array.from({ length: maxClients }, (_, i) => ({
      assetIds: httpAssets.slice(i * options.assetsPerClient, (i + 1) * options.assetsPerClient),
    }));
    clients = new IngestClients(
      {
        gatewayUrl: platform.gatewayUrl,
        adminToken: platform.adminToken,
        metrics,
        tsPerSeries,
        tsStepMs: options.tsStepMs,
        startTsMs,
        connections: 64,
      },
      slots,
      options.threads,
      options.batch,
    );

    // (a) HTTP maximum.
    console.log(`\n(a) HTTP ingest, batches of ${options.batch}: warm-up 3 s …`);
    await clients.closed(Math.min(...options.concurrency), 3);
    await platform.waitUntilQuiet(options.quietSeconds * 1000);
    const runs: (IngestRunResult &
      CpuCores & { eventLoopDelayMs: { p99Ms: number } } & Record<string, unknown>)[] = [];
    for (const c of options.concurrency) {
      console.log(`    ${c} concurrent clients for ${options.seconds} s …`);
      await writes.snapshot();
      await cpu.restart();
      await platform.eventLoopDelay();
      activity.start();
      const run = await clients.closed(c, options.seconds);
      const cores = await cpu.cores();
      const eventLoopDelayMs = await platform.eventLoopDelay();
      const databaseActivity = activity.stop();
      await sleep(1000); // table statistics reach pg_stat_user_tables within a second
      const quiet = await platform.waitUntilQuiet(options.quietSeconds * 1000);
      runs.push({
        ...run,
        eventBacklogSecondsAfter: quiet.seconds,
        eventBacklogAtEnd: quiet.backlogAtEnd,
        eventBacklogLeft: quiet.left,
        ...cores,
        eventLoopDelayMs,
        databaseActivity,
        tableWrites: await writes.since(run.readingsStored),
      });
    }
    console.table(
      runs.map((r) => ({
        clients: r.clients,
        'readings/s': r.readingsPerSecond,
        'min 1s': r.perSecondMin,
        'max 1s': r.perSecondMax,
        'batch p50 ms': r.batchLatencyMs.p50Ms,
        'batch p99 ms': r.batchLatencyMs.p99Ms,
        failed: r.failedBatches,
        rejected: r.rejected,
        dup: r.duplicates,
        'server cores': r.serverCores,
        'server loop p99 ms': r.eventLoopDelayMs.p99Ms,
        'server CPU wait': r.serverCpuWait,
        'pg cores': r.postgresCores,
        'pg: telemetry/alert/other': pgSplit(r),
        'client cores': r.benchClientCores,
        'other cores': r.otherCores,
        'pg CPU ms/1k': perThousand(r.postgresCores, r.readingsPerSecond),
        'server CPU ms/1k': perThousand(r.serverCores, r.readingsPerSecond),
        'event backlog s after': r.eventBacklogSecondsAfter,
      })),
    );
    for (const r of runs) if (r.errors.length > 0) console.log(`  errors (${r.clients} clients):`, r.errors);
    const best = runs.reduce((a, b) => (b.readingsPerSecond > a.readingsPerSecond ? b : a));
    console.log(
      `\n  where the database's time went with ${best.clients} clients (pg_stat_activity sampled every 50 ms; ` +
        'activeBackends = average backends running the statement):',
    );
    console.table(best.databaseActivity);
    for (const r of runs) {
      console.log(
        `  event backlog when the ${r.clients}-client run ended: ${JSON.stringify(r.eventBacklogAtEnd)}; ` +
          `processed in ${r.eventBacklogSecondsAfter} s${r.eventBacklogLeft ? ` (${r.eventBacklogLeft} still waiting)` : ''}`,
      );
    }
    console.log(`  rows written in the telemetry database with ${best.clients} clients:`);
    console.table(best.tableWrites);
    results.http = { runs, best: { clients: best.clients, readingsPerSecond: best.readingsPerSecond } };

    // (b) COPY ceiling, same readings, same table.
    const groups = await seriesGroups(telemetryDb, slots);
    const copies: (CopyResult & Record<string, unknown>)[] = [];
    for (const [i, streams] of options.copyStreams.entries()) {
      console.log(`\n(b) COPY ceiling: ${best.readingsStored} readings, ${streams} stream(s) …`);
      await cpu.restart();
      const copy = await copyCeiling(telemetryDb, {
        groups,
        readings: best.readingsStored,
        tsPerSeries,
        tsStepMs: options.tsStepMs,
        startTsMs,
        offsetMs: i + 1,
        streams,
      });
      const { postgresCores, benchClientCores, otherCores } = await cpu.cores();
      copies.push({
        ...copy,
        postgresCores,
        benchClientCores,
        otherCores,
        pgCpuMsPer1k: perThousand(postgresCores, copy.readingsPerSecond),
      });
    }
    console.table(copies);
    const ceiling = copies.reduce((a, b) => (b.readingsPerSecond > a.readingsPerSecond ? b : a));
    const share = best.readingsPerSecond / ceiling.readingsPerSecond;
    results.copy = { runs: copies, ceiling: ceiling.readingsPerSecond, httpShareOfCeiling: round(share, 3) };
    await telemetryDb.query('ANALYZE readings');

    // (a') Sustained maximum: the highest paced rate the platform keeps up with, deferred work included.
    let sustain: SustainSearch | undefined;
    if (options.sustain) {
      sustain = await sustainSearch(platform, clients, cpu, telemetryDb, best.readingsPerSecond);
      results.sustain = sustain;
    } else {
      console.log("\n(a') HTTP sustained maximum: skipped (BENCH_SUSTAIN=0)");
    }

    // (c) Ack latency, open loop: at 70% of the HTTP (burst) maximum and any other share of it asked
    // for, then at 70% of the sustained maximum.
    const latencies: LatencyRun[] = [];
    const telemetryMetricsUrl = `${platform.services.telemetry}/metrics`;
    const latencyRun = async (load: number, of: LatencyRun['of'], ofRate: number) => {
      // The earlier runs leave an event backlog (feed → alert) that would weigh on this phase.
      const quiet = await platform.waitUntilQuiet(options.quietSeconds * 4000);
      const target = load * ofRate;
      console.log(
        `\n(c) ack latency at ${Math.round(load * 100)}% of the ${of} max: ${Math.round(target)} readings/s ` +
          `(${round(target / options.batch, 1)} batches/s, fixed schedule) for ${options.latencySeconds} s` +
          (quiet.left > 0
            ? ` — ${quiet.left} events of the earlier runs still waiting in the pipeline`
            : '') +
          ' …',
      );
      await cpu.restart();
      await platform.eventLoopDelay();
      const timingsBefore = await readHistograms(telemetryMetricsUrl, SERVER_TIMINGS);
      const paced: LatencyRun = {
        load,
        of,
        ofReadingsPerSecond: ofRate,
        eventBacklogAtStart: quiet.left,
        ...(await clients!.paced(target, options.latencySeconds)),
        ...(await cpu.cores()),
        eventLoopDelayMs: await platform.eventLoopDelay(),
      };
      console.table({
        'from scheduled send (ms)': paced.ackLatencyMs,
        'from actual send (ms)': paced.serviceLatencyMs,
      });
      console.log(
        `  achieved ${paced.achievedReadingsPerSecond} readings/s, ${paced.failedBatches} failed, ` +
          `${paced.lateSends} sends > 5 ms late; server event-loop delay p99 ${paced.eventLoopDelayMs.p99Ms} ms; cores: server ${paced.serverCores}, postgres ${paced.postgresCores}, clients ${paced.benchClientCores}, other ${paced.otherCores}`,
      );
      if (paced.errors.length > 0) console.log('  errors:', paced.errors);
      // Inside the telemetry service (bucket bounds, so "≤"): the whole ingestion of a batch, the
      // wait for a write slot, and the write statement. The rest of the answer's time is HTTP,
      // the gateway and the event loop.
      const timingsAfter = await readHistograms(telemetryMetricsUrl, SERVER_TIMINGS);
      paced.serverTimings = Object.fromEntries(
        SERVER_TIMINGS.map((name) => [
          name,
          summarizeHistogram(histogramDelta(timingsBefore.get(name), timingsAfter.get(name)!)),
        ]),
      );
      console.log('  inside the telemetry service (ms; quantiles are bucket bounds):');
      console.table(paced.serverTimings);
      latencies.push(paced);
    };
    for (const load of options.latencyLoad) await latencyRun(load, 'burst', best.readingsPerSecond);
    if (sustain?.sustainedReadingsPerSecond) {
      await latencyRun(SUSTAINED_LATENCY_LOAD, 'sustained', sustain.sustainedReadingsPerSecond);
    } else if (sustain) {
      console.log(
        `\n(c) ack latency at ${SUSTAINED_LATENCY_LOAD * 100}% of the sustained max: skipped (no probe was sustained)`,
      );
    }
    results.latency = latencies;

    // (d) MQTT.
    let mqtt: Record<string, unknown> | undefined;
    let mqttRuns: Record<string, unknown>[] = [];
    if (options.mqttSeconds <= 0) {
      console.log('\nMQTT: skipped (BENCH_MQTT_DURATION=0)');
      results.mqtt = { available: Boolean(platform.mqttUrl), skipped: true };
    } else if (!platform.mqttUrl) {
      console.log(`\nMQTT: not available (startAllInOne returned: ${platform.runtimeKeys.join(', ')})`);
      results.mqtt = { available: false };
    } else {
      // One run per in-flight window; each starts 10 minutes of reading time after the one before,
      // so that no reading of a later run repeats one of an earlier run.
      mqttRuns = [];
      for (const [k, inflight] of options.mqttInflight.entries()) {
        await platform.waitUntilQuiet(options.quietSeconds * 1000);
        const startMs = startTsMs + k * 10 * 60_000;
        mqttRuns.push(
          await mqttRun(platform, telemetryDb, mqttAssets, startMs, inflight, cpu, activity, writes),
        );
      }
      mqtt = mqttRuns[0];
      results.mqtt = { available: true, ...mqtt, runs: mqttRuns };
    }

    // Summary.
    const summary = [
      {
        measure: `HTTP ingest burst max (closed loop, best of ${options.concurrency.join('/')} clients: ${best.clients})`,
        value: `${best.readingsPerSecond} readings/s`,
        goal: `> ${GOALS.httpPerSecond / 1000}k/s`,
        result: verdict(best.readingsPerSecond > GOALS.httpPerSecond),
      },
      {
        measure: `COPY ceiling (best of ${options.copyStreams.join('/')} streams: ${ceiling.streams})`,
        value: `${ceiling.readingsPerSecond} readings/s`,
        goal: '',
        result: '',
      },
      {
        measure: 'PostgreSQL CPU per 1,000 readings: HTTP (best run) vs COPY (ceiling run)',
        value: `${perThousand(best.postgresCores, best.readingsPerSecond)} vs ${ceiling.pgCpuMsPer1k} ms (×${round(
          perThousand(best.postgresCores, best.readingsPerSecond) / (ceiling.pgCpuMsPer1k as number),
          1,
        )})`,
        goal: '',
        result: '',
      },
      {
        measure: 'HTTP (burst) max as share of the COPY ceiling',
        value: `${round(share * 100, 1)} %`,
        goal: `≥ ${GOALS.shareOfCopy * 100} %`,
        result: verdict(share >= GOALS.shareOfCopy),
      },
      ...sustainSummary(sustain, ceiling.readingsPerSecond),
      ...latencies.map((paced) => ({
        measure:
          `ack latency at ${Math.round(paced.load * 100)}% of the ${paced.of} max ` +
          `(p50/p90/p99/max; ${paced.achievedReadingsPerSecond}/s)`,
        value: `${paced.ackLatencyMs.p50Ms}/${paced.ackLatencyMs.p90Ms}/${paced.ackLatencyMs.p99Ms}/${paced.ackLatencyMs.maxMs} ms`,
        goal: paced.load === 0.7 ? `p99 ≤ ${GOALS.p99Ms} ms` : '',
        result: paced.load === 0.7 ? verdict(paced.ackLatencyMs.p99Ms <= GOALS.p99Ms) : '',
      })),
      ...(mqtt
        ? // The goal is judged at the first window (the default, 50); the others show how much of
          // the figure is the publishers' window over the round trip rather than the platform's room.
          mqttRuns.map((run, k) => ({
            measure:
              `MQTT ingest (${options.mqttPublishers} publishers, QoS 1, ${options.mqttFormat}, ` +
              `≤ ${run.inflight} in flight each)`,
            value: `${run.storedPerSecond} readings/s`,
            goal: k === 0 ? `≥ ${GOALS.mqttPerSecond / 1000}k/s` : '',
            result: k === 0 ? verdict((run.storedPerSecond as number) >= GOALS.mqttPerSecond) : '',
          }))
        : [
            {
              measure: 'MQTT ingest',
              value: 'not available',
              goal: `≥ ${GOALS.mqttPerSecond / 1000}k/s`,
              result: 'skipped',
            },
          ]),
    ];
    console.log(
      '\nsummary (one machine: 2 vCPUs shared by server, PostgreSQL, the clients and anything else running):',
    );
    console.table(summary);
    results.summary = summary;
    results.environment = {
      ...(await environment(telemetryDb)),
      loadAverageAtEnd: os.loadavg().map((v) => round(v, 2)),
      note: 'server (gateway + all services, one Node process), PostgreSQL and the load clients share the same 2 vCPUs; other work on the machine (tests) may run at the same time — see the cores columns (otherCores: everything but the server, PostgreSQL and the clients)',
      runtimeKeys: platform.runtimeKeys,
    };
    const file = await writeResults('ingest', results);
    console.log(`\nresults written to ${file}`);
  } finally {
    await clients?.close();
    await platform.stop();
    if (profileDir) console.log(`server CPU profile written to ${path.relative(process.cwd(), profileDir)}/`);
  }
}

interface SustainSearch {
  criterion: string;
  lowReadingsPerSecond: number;
  highReadingsPerSecond: number;
  probes: SustainProbe[];
  /** The highest sustained probe's target rate (undefined: no probe was sustained). */
  sustainedReadingsPerSecond: number | undefined;
  /** Every probe failed: the sustained maximum is below this rate. */
  below: number | undefined;
}

const sustainCriterion =
  `achieved ≥ ${SUSTAIN.minAchieved * 100}% of the target, and the event backlog at the end ` +
  `(mean of the last ${SUSTAIN.endSamples} once-a-second samples) ≤ max(${SUSTAIN.backlogSeconds} s of the ` +
  `run's events, ${SUSTAIN.backlogFloor} rows)`;

/**
 * Phase (a'): bisection between `sustainLow` × the burst maximum and the burst maximum; each probe
 * is a paced run of BENCH_SUSTAIN_DURATION s with the event backlog sampled once a second, after
 * the pipeline went idle. A sustained probe raises the lower end, any other lowers the upper end.
 */
async function sustainSearch(
  platform: Platform,
  clients: IngestClients,
  cpu: CpuSplit,
  telemetryDb: Pool,
  burst: number,
): Promise<SustainSearch> {
  let low = options.sustainLow * burst;
  let high = burst;
  console.log(
    `\n(a') HTTP sustained maximum: bisection between ${Math.round(low)} and ${burst} readings/s, ` +
      `${options.sustainProbes} paced runs of ${options.sustainSeconds} s; sustained = ${sustainCriterion} …`,
  );
  // Events appended to telemetry's outbox since a position (a packed row counts its events).
  const outboxPosition = async () =>
    Number(
      (await telemetryDb.query<{ p: string }>('SELECT coalesce(max(position), 0)::text AS p FROM outbox'))
        .rows[0]!.p,
    );
  const eventsSince = async (position: number) =>
    Number(
      (
        await telemetryDb.query<{ n: string }>(
          'SELECT coalesce(sum(events), 0)::text AS n FROM outbox WHERE position > $1',
          [position],
        )
      ).rows[0]!.n,
    );
  const probes: SustainProbe[] = [];
  let sustained: SustainProbe | undefined;
  for (let probe = 1; probe <= options.sustainProbes; probe++) {
    const target = Math.round((low + high) / 2 / 100) * 100;
    const quiet = await platform.waitUntilQuiet(options.quietSeconds * 4000);
    console.log(
      `    probe ${probe}: ${target} readings/s for ${options.sustainSeconds} s` +
        ` (pipeline idle after ${quiet.seconds} s${quiet.left > 0 ? `, ${quiet.left} events still waiting` : ''}) …`,
    );
    await cpu.restart();
    await platform.eventLoopDelay();
    const positionBefore = await outboxPosition();
    const start = performance.now();
    const samples: { seconds: number; backlog: number }[] = [];
    const sample = async () => {
      const byQueue = await platform.eventBacklog();
      samples.push({ seconds: round((performance.now() - start) / 1000, 1), backlog: backlogTotal(byQueue) });
      return byQueue;
    };
    let running = true;
    const sampler = (async () => {
      while (running) {
        const next = performance.now() + 1000;
        await sample();
        while (running && performance.now() < next) await sleep(50);
      }
    })();
    const run = await clients.paced(target, options.sustainSeconds);
    running = false;
    await sampler;
    const backlogAtEndByQueue = await sample();
    const runSeconds = (performance.now() - start) / 1000;
    const cores = await cpu.cores();
    const eventLoopDelayMs = await platform.eventLoopDelay();
    const eventsPerSecond = Math.round((await eventsSince(positionBefore)) / runSeconds);
    const last = samples.slice(-SUSTAIN.endSamples);
    const backlogAtEnd = Math.round(last.reduce((sum, s) => sum + s.backlog, 0) / last.length);
    const backlogBound = Math.max(SUSTAIN.backlogFloor, Math.round(eventsPerSecond * SUSTAIN.backlogSeconds));
    const rateOk = run.achievedReadingsPerSecond >= SUSTAIN.minAchieved * target;
    const backlogOk = backlogAtEnd <= backlogBound;
    const result: SustainProbe = {
      probe,
      quietWaitSeconds: quiet.seconds,
      eventBacklogLeftAtStart: quiet.left,
      ...run,
      runSeconds: round(runSeconds, 1),
      backlogSamples: samples,
      backlogAtStart: samples[0]!.backlog,
      backlogAtEnd,
      backlogAtEndByQueue,
      backlogTrendPerSecond: Math.round(slope(samples.filter((s) => s.seconds >= runSeconds / 2))),
      eventsPerSecond,
      backlogBound,
      ...cores,
      eventLoopDelayMs,
      rateOk,
      backlogOk,
      sustained: rateOk && backlogOk,
    };
    probes.push(result);
    console.log(
      `      achieved ${run.achievedReadingsPerSecond}/s; backlog ${result.backlogAtStart} → ${backlogAtEnd} ` +
        `(bound ${backlogBound}, trend ${result.backlogTrendPerSecond}/s); ack p99 ${run.ackLatencyMs.p99Ms} ms: ` +
        (result.sustained
          ? 'sustained'
          : `NOT sustained (${rateOk ? '' : 'rate'}${rateOk || backlogOk ? '' : ', '}${backlogOk ? '' : 'backlog'})`),
    );
    if (run.errors.length > 0) console.log('      errors:', run.errors);
    if (result.sustained) {
      low = target;
      if (!sustained || target > sustained.targetReadingsPerSecond) sustained = result;
    } else {
      high = target;
    }
  }
  console.log(`\n  sustained-maximum probes (sustained = ${sustainCriterion}):`);
  console.table(
    probes.map((p) => ({
      probe: p.probe,
      'target /s': p.targetReadingsPerSecond,
      'achieved /s': p.achievedReadingsPerSecond,
      'achieved %': round((p.achievedReadingsPerSecond / p.targetReadingsPerSecond) * 100, 1),
      'backlog start': p.backlogAtStart,
      'backlog end': p.backlogAtEnd,
      'backlog bound': p.backlogBound,
      'backlog trend /s': p.backlogTrendPerSecond,
      'events /s': p.eventsPerSecond,
      'ack p50 ms': p.ackLatencyMs.p50Ms,
      'ack p99 ms': p.ackLatencyMs.p99Ms,
      failed: p.failedBatches,
      rejected: p.rejected,
      'server cores': p.serverCores,
      'pg cores': p.postgresCores,
      'client cores': p.benchClientCores,
      'other cores': p.otherCores,
      'idle wait s before': p.quietWaitSeconds,
      sustained: p.sustained
        ? 'yes'
        : `no (${[p.rateOk ? '' : 'rate', p.backlogOk ? '' : 'backlog'].filter(Boolean).join(', ')})`,
    })),
  );
  const below = sustained ? undefined : Math.min(...probes.map((p) => p.targetReadingsPerSecond));
  console.log(
    sustained
      ? `  sustained maximum: ${sustained.targetReadingsPerSecond} readings/s (achieved ${sustained.achievedReadingsPerSecond}/s), ` +
          `${round((sustained.targetReadingsPerSecond / burst) * 100, 1)}% of the burst maximum`
      : `  no probe was sustained: the sustained maximum is below ${below} readings/s`,
  );
  return {
    criterion: sustainCriterion,
    lowReadingsPerSecond: Math.round(options.sustainLow * burst),
    highReadingsPerSecond: burst,
    probes,
    sustainedReadingsPerSecond: sustained?.targetReadingsPerSecond,
    below,
  };
}

/** Summary rows of phase (a'). */
function sustainSummary(sustain: SustainSearch | undefined, ceiling: number) {
  if (!sustain) return [];
  const rate = sustain.sustainedReadingsPerSecond;
  const probe = sustain.probes.find((p) => p.sustained && p.targetReadingsPerSecond === rate);
  const share = rate ? rate / ceiling : undefined;
  return [
    {
      measure: `HTTP sustained max (paced ${options.sustainSeconds} s, backlog not growing; ${sustain.probes.length} probes)`,
      value: rate
        ? `${rate} readings/s (achieved ${probe?.achievedReadingsPerSecond}/s)`
        : `< ${sustain.below} readings/s (no probe sustained)`,
      goal: `> ${GOALS.httpPerSecond / 1000}k/s`,
      result: verdict((rate ?? 0) > GOALS.httpPerSecond),
    },
    {
      measure: 'HTTP sustained max as share of the COPY ceiling',
      value: share === undefined ? '—' : `${round(share * 100, 1)} %`,
      goal: `≥ ${GOALS.shareOfCopy * 100} %`,
      result: verdict((share ?? 0) >= GOALS.shareOfCopy),
    },
  ];
}

/** Least-squares slope of `backlog` over `seconds` (0 with fewer than two samples). */
function slope(samples: readonly { seconds: number; backlog: number }[]): number {
  if (samples.length < 2) return 0;
  const n = samples.length;
  const mx = samples.reduce((sum, s) => sum + s.seconds, 0) / n;
  const my = samples.reduce((sum, s) => sum + s.backlog, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.seconds - mx) * (s.backlog - my);
    den += (s.seconds - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Each client slot's series (series id and retention class), in the order the slot sends them. */
async function seriesGroups(db: Pool, slots: IngestSlot[]): Promise<SeriesRow[][]> {
  const { rows } = await db.query<{ series_id: number; class_id: number; asset_id: string; metric: string }>(
    'SELECT series_id, class_id, asset_id, metric FROM series WHERE asset_id = ANY($1::uuid[])',
    [slots.flatMap((s) => s.assetIds)],
  );
  const byKey = new Map(
    rows.map((r) => [`${r.asset_id}|${r.metric}`, { seriesId: r.series_id, classId: r.class_id }]),
  );
  return slots.map((slot) =>
    slot.assetIds.flatMap((assetId) =>
      metrics.map((metric) => {
        const series = byKey.get(`${assetId}|${metric}`);
        if (!series) throw new Error(`series ${assetId} ${metric} was not created`);
        return series;
      }),
    ),
  );
}

async function mqttRun(
  platform: Platform,
  db: Pool,
  assetIds: string[],
  startTsMs: number,
  inflight: number,
  cpu: CpuSplit,
  activity: PgActivitySampler,
  writes: TableWrites,
): Promise<Record<string, unknown>> {
  const publisherCount = Math.min(options.mqttPublishers, assetIds.length);
  const threadCount = Math.min(2, publisherCount);
  const publishers = Array.from({ length: publisherCount }, (_, i) => ({
    assetIds: assetIds.filter((_, a) => a % publisherCount === i),
  }));
  const { rows } = await db.query<{ series_id: number }>(
    'SELECT series_id FROM series WHERE asset_id = ANY($1::uuid[])',
    [assetIds],
  );
  const seriesIds = rows.map((r) => r.series_id);
  // The rows in the database (counted once at the start and once at the end: counting is itself a
  // scan of the readings, too heavy to repeat while measuring) …
  const rowsInDatabase = async () =>
    (
      await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM readings WHERE series_id = ANY($1::int[]) AND ts >= $2',
        [seriesIds, new Date(startTsMs)],
      )
    ).rows[0]!.n;
  // … and, while measuring, the service's own count of the MQTT readings it stored (committed).
  const metricsUrl = `${platform.services.telemetry}/metrics`;
  const storedByService = async () => {
    const text = await (await fetch(metricsUrl)).text();
    let total = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('telemetry_readings_total{')) continue;
      if (line.includes('transport="mqtt"') && line.includes('outcome="stored"')) {
        total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  };
  console.log(
    `\n(d) MQTT: ${publisherCount} publishers (QoS 1, ${options.mqttFormat}) for ${assetIds.length} assets, ` +
      `${options.mqttSeconds} s, ≤ ${inflight} in flight each, broker ${platform.mqttUrl} …`,
  );
  const threads = Array.from(
    { length: threadCount },
    (_, t) =>
      new BenchThread(new URL('./mqtt-publish.worker.ts', import.meta.url), {
        mqttUrl: platform.mqttUrl!,
        ...(process.env.BENCH_MQTT_USERNAME ? { username: process.env.BENCH_MQTT_USERNAME } : {}),
        ...(process.env.BENCH_MQTT_PASSWORD ? { password: process.env.BENCH_MQTT_PASSWORD } : {}),
        publishers: publishers.filter((_, i) => i % threadCount === t),
        metrics,
        format: options.mqttFormat,
        startTsMs,
        tsStepMs: options.tsStepMs,
      } satisfies MqttPublishSettings),
  );
  try {
    const rowsBefore = await rowsInDatabase();
    const before = await storedByService();
    const stored = async () => (await storedByService()) - before;
    await writes.snapshot();
    await cpu.restart();
    activity.start();
    const start = performance.now();
    // Rows stored while publishing, sampled once a second.
    const samples: { seconds: number; stored: number }[] = [];
    let publishing = true;
    const sampler = (async () => {
      while (publishing) {
        await sleep(1000);
        samples.push({
          seconds: round((performance.now() - start) / 1000, 2),
          stored: await stored(),
        });
      }
    })();
    const outcomes = await Promise.all(
      threads.map((thread) =>
        thread.call<PublishOutcome>('publish', {
          seconds: options.mqttSeconds,
          inflight,
        }),
      ),
    );
    publishing = false;
    await sampler;
    const publishSeconds = (performance.now() - start) / 1000;
    const acked = outcomes.reduce((n, o) => n + o.readingsAcked, 0);
    const messages = outcomes.reduce((n, o) => n + o.acked, 0);
    const storedAtPublishEnd = await stored();
    let count = storedAtPublishEnd;
    const drainDeadline = performance.now() + 120_000;
    while (count < acked && performance.now() < drainDeadline) {
      await sleep(100);
      count = await stored();
    }
    const allSeconds = (performance.now() - start) / 1000;
    const cores = await cpu.cores();
    const databaseActivity = activity.stop();
    await sleep(1000);
    const tableWrites = await writes.since(count);
    const rowsStored = (await rowsInDatabase()) - rowsBefore;
    const result = {
      publishers: publisherCount,
      inflight,
      format: options.mqttFormat,
      messagesAcked: messages,
      readingsAcked: acked,
      failed: outcomes.reduce((n, o) => n + o.failed, 0),
      errors: outcomes.flatMap((o) => o.errors).slice(0, 5),
      publishSeconds: round(publishSeconds, 2),
      ackedPerSecond: Math.round(acked / publishSeconds),
      storedWhilePublishing: storedAtPublishEnd,
      storedWhilePublishingPerSecond: Math.round(storedAtPublishEnd / publishSeconds),
      stored: count,
      secondsUntilAllStored: round(allSeconds, 2),
      storedPerSecond: Math.round(count / allSeconds),
      missing: acked - count,
      rowsCountedInDatabase: rowsStored,
      storedOverTime: samples,
      ...cores,
      databaseActivity,
      tableWrites,
    };
    console.table({
      'readings acked by broker /s': result.ackedPerSecond,
      'readings stored /s (until all stored)': result.storedPerSecond,
      'stored while publishing /s': result.storedWhilePublishingPerSecond,
      'acked readings': acked,
      'stored readings (service count)': count,
      'rows counted in the database': rowsStored,
      'seconds until all stored': result.secondsUntilAllStored,
      'server cores': result.serverCores,
      'postgres cores': result.postgresCores,
      'client cores': result.benchClientCores,
      'other cores': result.otherCores,
    });
    console.log("  where the database's time went (until all stored):");
    console.table(databaseActivity);
    console.log('  rows written in the telemetry database:');
    console.table(tableWrites);
    if (result.errors.length > 0) console.log('  errors:', result.errors);
    if (result.missing > 0)
      console.log(`  ${result.missing} acknowledged readings were not stored within 120 s`);
    return result;
  } finally {
    await Promise.all(threads.map((thread) => thread.call('close').catch(() => {})));
    await Promise.all(threads.map((thread) => thread.terminate()));
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
