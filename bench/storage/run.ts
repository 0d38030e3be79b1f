/**
 * Telemetry storage benchmark: bytes per reading, raw and compacted. Not part of `npm test`; run it
 * with
 *
 *   npx tsx bench/storage/run.ts
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). It creates its own database and drops it at the end.
 *
 * BENCH_SERIES (2,500) series each get one reading every BENCH_INTERVAL_S (60) s, with a few
 * milliseconds of jitter, for BENCH_HOURS (30) hours ending at 00:00 UTC — 4.5 million readings by
 * default, over two UTC days. Values are realistic rather than random bits: temperatures and
 * pressures drifting with sensor resolution, counters, noisy vibration levels, on/off states. They
 * are written through the service's own `writeReadings` (readings, feed windows and pending minute
 * roll-ups in one statement; the roll-up aggregator is not run, it does not touch the readings), in
 * batches of BENCH_BATCH (5,000) readings in time order, BENCH_WRITERS (4) batches at a time, as
 * ingestion would.
 *
 * Then, after VACUUM ANALYZE:
 * - raw: bytes per reading of the `readings` day partitions (heap + indexes + TOAST), as ingested
 *   (while a day takes readings) and sealed (the service's `sealClosedDays`: each closed day's key
 *   rebuilt packed), with the same answers from `readRaw`;
 * - compacted: the same days compacted (the service's `compactDueReadings`, with a clock far enough
 *   ahead) into `readings_packed`, bytes per reading of those partitions (heap + TOAST + indexes);
 * - that `readRaw` returns the same readings from both, and how long it takes on each.
 * Goal (the Telemetry issue): raw ≤ 80 bytes/reading, compacted ≤ 16.
 * Results are printed and written to bench/results/ (git-ignored).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  createPool,
  dropServiceDatabase,
  loadConfig,
  messagingMigrations,
  type Pool,
  provisionServiceDatabase,
  runMigrations,
  withDatabase,
} from '@assetops/platform';
import { telemetryConfigSpec, telemetryService } from '@assetops/telemetry';
import { type StoredReading, writeReadings } from '../../services/telemetry/src/ingest/writer.js';
import { compactDueReadings } from '../../services/telemetry/src/storage/compaction.js';
import {
  ensureIngestPartitions,
  ensureRetentionClasses,
} from '../../services/telemetry/src/storage/partitions.js';
import { type RawReading, readRaw } from '../../services/telemetry/src/storage/raw-read.js';
import { sealClosedDays } from '../../services/telemetry/src/storage/sealing.js';
import { retentionPolicy } from '../../services/telemetry/src/telemetry.config.js';

const adminUrl = process.env.ASSETOPS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SERIES = Number(process.env.BENCH_SERIES ?? 2500);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL_S ?? 60);
const HOURS = Number(process.env.BENCH_HOURS ?? 30);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 4);
const GOAL_RAW = 80;
const GOAL_PACKED = 16;
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A deterministic pseudo-random sequence (mulberry32), so runs are comparable. */
function random(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** One sensor: its next value each time it is read. */
type Sensor = () => number;

/** The kinds of metric an industrial asset reports, each with its resolution and behaviour. */
function sensorFor(index: number, rnd: () => number): Sensor {
  const kind = index % 5;
  if (kind === 0) {
    // Temperature, 0.01 °C resolution, drifting slowly.
    let v = 40 + rnd() * 40;
    return () => {
      v += (rnd() - 0.5) * 0.2;
      return Math.round(v * 100) / 100;
    };
  }
  if (kind === 1) {
    // Pressure in bar, 0.001 resolution, noisy around a set point.
    const setPoint = 2 + rnd() * 8;
    return () => Math.round((setPoint + (rnd() - 0.5) * 0.3) * 1000) / 1000;
  }
  if (kind === 2) {
    // Running-hours or energy counter: an increasing integer.
    let v = Math.floor(rnd() * 1_000_000);
    return () => {
      v += Math.floor(rnd() * 20);
      return v;
    };
  }
  if (kind === 3) {
    // Vibration RMS in mm/s: a full-precision double from the device's computation.
    const base = 1 + rnd() * 5;
    return () => base * (1 + (rnd() - 0.5) * 0.4) + rnd() * 0.01;
  }
  // On/off state: 0 or 1, changing now and then.
  let on = rnd() < 0.5 ? 1 : 0;
  return () => {
    if (rnd() < 0.01) on = 1 - on;
    return on;
  };
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function createBenchDatabase(name: string) {
  const password = randomBytes(12).toString('hex');
  await provisionServiceDatabase(adminUrl, { database: name, role: name, password });
  const url = withDatabase(adminUrl, name, { user: name, password });
  return { url, drop: () => dropServiceDatabase(adminUrl, { database: name, role: name }) };
}

/**
 * How full the leaf pages of the raw partitions' keys are (pgstattuple, installed as the
 * superuser of ASSETOPS_BENCH_DATABASE_URL); undefined when the extension is not available.
 */
async function indexLeafFill(database: string): Promise<number | undefined> {
  const admin = createPool({
    connectionString: withDatabase(adminUrl, database),
    applicationName: 'bench',
    max: 1,
  });
  try {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pgstattuple');
    const { rows } = await admin.query<{ leaf_fill: number }>(
      `SELECT round((sum(s.avg_leaf_density * s.leaf_pages) / nullif(sum(s.leaf_pages), 0))::numeric, 1)::float8
                AS leaf_fill
         FROM pg_class c, LATERAL pgstatindex(c.oid::regclass) s
        WHERE c.relkind = 'i' AND c.relname LIKE 'readings\\_c%\\_p%' AND s.leaf_pages > 0`,
    );
    return rows[0]?.leaf_fill;
  } catch {
    return undefined;
  } finally {
    await admin.end();
  }
}

/**
 * Size and reading count of the leaf partitions of `table`: main fork (heap), indexes, TOAST (with
 * its index), and the free-space and visibility maps; the total is pg_total_relation_size.
 */
async function measure(pool: Pool, table: 'readings' | 'readings_packed') {
  const { rows } = await pool.query<{
    heap: number;
    indexes: number;
    toast: number;
    maps: number;
    total: number;
  }>(
    `SELECT coalesce(sum(pg_relation_size(c.oid)), 0)::int8 AS heap,
            coalesce(sum(pg_indexes_size(c.oid)), 0)::int8 AS indexes,
            coalesce(sum(CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END), 0)::int8 AS toast,
            coalesce(sum(pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm')), 0)::int8 AS maps,
            coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 AS total
       FROM pg_class c WHERE c.relkind = 'r' AND c.relispartition AND c.relname LIKE $1`,
    [`${table.replaceAll('_', '\\_')}\\_c%\\_p%`],
  );
  const counted = await pool.query<{ readings: number; rows: number }>(
    table === 'readings'
      ? 'SELECT count(*)::int8 AS readings, count(*)::int8 AS rows FROM readings'
      : 'SELECT coalesce(sum(cardinality(offsets_ms)), 0)::int8 AS readings, count(*)::int8 AS rows FROM readings_packed',
  );
  const size = rows[0]!;
  const { readings, rows: tableRows } = counted.rows[0]!;
  const per = (bytes: number) => round(bytes / Math.max(1, readings));
  return {
    readings,
    rows: tableRows,
    totalBytes: size.total,
    bytesPerReading: per(size.total),
    heap: per(size.heap),
    indexes: per(size.indexes),
    toast: per(size.toast),
    maps: per(size.maps),
  };
}

/** readRaw of a few shapes of query, timed (median of several runs), and its answers to compare. */
async function sampleReads(pool: Pool, seriesIds: number[], start: number, end: number) {
  const rnd = random(99);
  const pick = (n: number) =>
    Array.from({ length: n }, () => seriesIds[Math.floor(rnd() * seriesIds.length)]!);
  const cases = [
    { name: '1 series, 1 hour', ids: pick(1), from: end - 10 * HOUR, to: end - 9 * HOUR },
    { name: '1 series, 1 day', ids: pick(1), from: end - DAY, to: end },
    { name: '10 series, 1 day', ids: pick(10), from: end - DAY, to: end },
    { name: '1 series, all', ids: pick(1), from: start, to: end },
  ];
  const timings: Record<string, { readings: number; medianMs: number }> = {};
  const answers: RawReading[][] = [];
  for (const c of cases) {
    const times: number[] = [];
    let rows: RawReading[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      rows = await readRaw(pool, c.ids, c.from, c.to);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    timings[c.name] = { readings: rows.length, medianMs: round(times[3]!, 1) };
    answers.push(rows);
  }
  return { timings, answers };
}

async function main(): Promise<void> {
  const name = `bench_storage_${randomBytes(4).toString('hex')}`;
  const database = await createBenchDatabase(name);
  const pool = createPool({
    connectionString: database.url,
    applicationName: 'bench-storage',
    max: WRITERS + 2,
  });
  const logger = createLogger({ service: 'bench-storage', level: process.env.LOG_LEVEL ?? 'warn' });
  const results: Record<string, unknown> = {};
  try {
    await runMigrations(pool, [messagingMigrations, telemetryService.migrations]);
    const config = loadConfig(telemetryConfigSpec, {});
    const classes = await ensureRetentionClasses(pool, retentionPolicy(config));
    const classId = classes.defaultClass;
    const { rows: created } = await pool.query<{ series_id: number }>(
      `INSERT INTO series (asset_id, metric, class_id)
       SELECT gen_random_uuid(), 'metric_' || (i % 5), $2 FROM generate_series(1, $1) AS i
       RETURNING series_id`,
      [SERIES, classId],
    );
    const seriesIds = created.map((r) => r.series_id).sort((a, b) => a - b);
    const end = Math.floor(Date.now() / DAY) * DAY - DAY; // yesterday 00:00 UTC
    const start = end - HOURS * HOUR;
    await ensureIngestPartitions(pool, classId, start, end);

    // Load, in time order: every series at each tick, `BATCH` readings a batch, `WRITERS` at once.
    const rnd = random(42);
    const sensors = seriesIds.map((_, i) => sensorFor(i, rnd));
    const ticks = Math.floor((HOURS * 3600) / INTERVAL_S);
    const total = ticks * SERIES;
    console.log(
      `loading ${total.toLocaleString('en')} readings: ${SERIES} series, one every ${INTERVAL_S} s, ${HOURS} h, ` +
        `batches of ${BATCH}, ${WRITERS} writers …`,
    );
    const inFlight = new Set<Promise<unknown>>();
    let batch: StoredReading[] = [];
    let written = 0;
    const loadStart = performance.now();
    const flush = async () => {
      const rows = batch;
      batch = [];
      const write = writeReadings(pool, rows, config.TELEMETRY_FEED_WINDOW).then(() => {
        written += rows.length;
        inFlight.delete(write);
      });
      inFlight.add(write);
      if (inFlight.size >= WRITERS) await Promise.race(inFlight);
    };
    for (let tick = 0; tick < ticks; tick++) {
      const at = start + tick * INTERVAL_S * 1000;
      for (let s = 0; s < SERIES; s++) {
        const jitter = Math.floor(rnd() * 50);
        batch.push({ seriesId: seriesIds[s]!, classId, tsMs: at + jitter, value: sensors[s]!() });
        if (batch.length >= BATCH) await flush();
      }
      if (tick % Math.max(1, Math.floor(ticks / 10)) === 0 && tick > 0) {
        console.log(`  ${Math.round((100 * tick) / ticks)} % (${written.toLocaleString('en')} written)`);
      }
    }
    if (batch.length > 0) await flush();
    await Promise.all(inFlight);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    results.load = {
      readings: written,
      series: SERIES,
      intervalS: INTERVAL_S,
      hours: HOURS,
      seconds: round(loadSeconds, 1),
      readingsPerSecond: Math.round(written / loadSeconds),
    };
    console.table(results.load);

    await pool.query('VACUUM ANALYZE readings');
    const raw = await measure(pool, 'readings');
    const leafFill = await indexLeafFill(name);
    const before = await sampleReads(pool, seriesIds, start, end);

    // Sealed: the service's sealing (the chore that rebuilds each raw day's key packed once its
    // lateness window is over), with a clock that far ahead. Every day of the load is closed.
    const sealStart = performance.now();
    const sealedDays = await sealClosedDays({
      pool,
      logger,
      now: () => end + config.TELEMETRY_LATENESS_WINDOW,
      latenessMs: config.TELEMETRY_LATENESS_WINDOW,
    });
    const sealSeconds = (performance.now() - sealStart) / 1000;
    await pool.query('VACUUM ANALYZE readings');
    const sealed = await measure(pool, 'readings');
    const afterSealing = await sampleReads(pool, seriesIds, start, end);
    if (
      sealed.readings !== raw.readings ||
      JSON.stringify(afterSealing.answers) !== JSON.stringify(before.answers)
    ) {
      throw new Error(`sealing lost or changed readings: ${raw.readings} before, ${sealed.readings} after`);
    }
    // A heap tuple is 24 bytes of header + 24 of data (series_id 4, class_id 2, padding 2, ts 8,
    // value 8) + a 4-byte line pointer: 157 to a page. A key entry is 8 of header + 8 (series_id
    // 4, millisecond of the day 4) + a 4-byte line pointer: 407 to a leaf page (after its header,
    // special space and high key).
    const floor = round(8192 / 157 + 8192 / 407);

    const compactStart = performance.now();
    const compacted = await compactDueReadings({
      pool,
      logger,
      now: () => end + 3 * DAY,
      compactAfterMs: config.TELEMETRY_COMPACT_AFTER,
    });
    const compactSeconds = (performance.now() - compactStart) / 1000;
    await pool.query('VACUUM ANALYZE readings_packed');
    const packed = await measure(pool, 'readings_packed');
    const after = await sampleReads(pool, seriesIds, start, end);
    const same = JSON.stringify(before.answers) === JSON.stringify(after.answers);
    if (packed.readings !== raw.readings || !same) {
      throw new Error(
        `compaction lost or changed readings: ${raw.readings} raw, ${packed.readings} packed, same answers: ${same}`,
      );
    }
    const readingsPerRow = round(packed.readings / Math.max(1, packed.rows), 1);

    results.raw = { ...raw, indexLeafFillPercent: leafFill, tightlyPackedFloor: floor };
    results.sealed = { ...sealed, partitions: sealedDays.length, sealingSeconds: round(sealSeconds, 1) };
    results.packed = {
      ...packed,
      readingsPerRow,
      partitionsCompacted: compacted.length,
      compactionSeconds: round(compactSeconds, 1),
    };
    results.readRaw = { raw: before.timings, packed: after.timings };
    const line = (m: Awaited<ReturnType<typeof measure>>, goal: number | string) => ({
      readings: m.readings,
      'bytes/reading': m.bytesPerReading,
      heap: m.heap,
      indexes: m.indexes,
      toast: m.toast,
      'fsm+vm': m.maps,
      goal,
    });
    console.log('\nbytes per reading:');
    console.table({
      'raw, as ingested (the day open)': line(raw, GOAL_RAW),
      'raw, sealed (the day closed)': line(sealed, GOAL_RAW),
      compacted: line(packed, GOAL_PACKED),
    });
    console.log(
      `raw key leaf pages ${leafFill ?? '?'} % full as ingested; ` +
        `tightly packed heap and key: ${floor} bytes/reading`,
    );
    console.log(`sealed ${sealedDays.length} partitions in ${round(sealSeconds, 1)} s`);
    console.log(
      `compacted ${compacted.length} partitions in ${round(compactSeconds, 1)} s; ${readingsPerRow} readings per packed row`,
    );
    console.log('\nreadRaw (median of 7), before and after compaction:');
    console.table(
      Object.fromEntries(
        Object.entries(before.timings).map(([k, v]) => [
          k,
          { readings: v.readings, rawMs: v.medianMs, packedMs: after.timings[k]!.medianMs },
        ]),
      ),
    );
    for (const [label, value, goal] of [
      ['raw, as ingested', raw.bytesPerReading, GOAL_RAW],
      ['raw, sealed', sealed.bytesPerReading, GOAL_RAW],
      ['compacted', packed.bytesPerReading, GOAL_PACKED],
    ] as const) {
      console.log(`${label}: ${value} bytes/reading — goal ≤ ${goal}: ${value <= goal ? 'met' : 'NOT met'}`);
    }

    const setting = async (key: string) =>
      (await pool.query<{ v: string }>('SELECT current_setting($1) AS v', [key])).rows[0]?.v;
    const environment = {
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      postgres: await setting('server_version'),
      toastCompression: await setting('default_toast_compression'),
    };
    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `storage-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    const settings = {
      series: SERIES,
      intervalS: INTERVAL_S,
      hours: HOURS,
      batch: BATCH,
      writers: WRITERS,
    };
    await writeFile(
      file,
      `${JSON.stringify({ at: new Date().toISOString(), environment, settings, ...results }, null, 2)}\n`,
    );
    console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await pool.end();
    await database.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
