/**
 * Telemetry query benchmark. Not part of `npm test`; run it with
 *
 *   npx tsx bench/query/run.ts          (or: npm run bench:query)
 *
 * against the machine's PostgreSQL (a superuser URL: ASSETOPS_BENCH_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres). It provisions a telemetry database
 * (`assetops_bench_query`), runs the service's migrations, and loads BENCH_SERIES (200) series of
 * one reading every BENCH_STEP_S (10) s over BENCH_DAYS (30) days — 51.8 million readings by default
 * — together with their 1-minute, 1-hour and 1-day roll-ups. The load is a bulk path (server-side
 * INSERT … SELECT per day, roll-ups computed with GROUP BY), not the ingest API: this benchmark
 * measures queries. The database is kept (BENCH_KEEP=0 drops it at the end), and a later run with the
 * same settings reuses it.
 *
 * Then the Telemetry service is started on that database and queried over HTTP, one request at a
 * time, on random assets:
 *   - a 30-day chart of one metric at 1-hour buckets (answered from the 1h tier),
 *   - a 1-day chart at 1-minute buckets (the 1m tier),
 *   - a 1-hour chart of raw readings (the raw tier), for reference.
 * Goal (the Telemetry issue): p95 ≤ 50 ms for each of the first two.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  createPool,
  dropServiceDatabase,
  messagingMigrations,
  provisionServiceDatabase,
  runMigrations,
  systemClock,
  uuidV7Ids,
  withDatabase,
} from '@assetops/platform';
import { createTelemetryService, telemetryService } from '@assetops/telemetry';
import { ensureIngestPartitions } from '../../services/telemetry/src/storage/partitions.js';

const adminUrl = process.env.ASSETOPS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SERIES = Number(process.env.BENCH_SERIES ?? 200);
const STEP_S = Number(process.env.BENCH_STEP_S ?? 10);
const DAYS = Number(process.env.BENCH_DAYS ?? 30);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const KEEP = process.env.BENCH_KEEP !== '0';
const GOAL_P95_MS = 50;
const DB = 'assetops_bench_query';
const DAY = 86_400_000;

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    requests: sorted.length,
    p50Ms: r(at(0.5)),
    p95Ms: r(at(0.95)),
    p99Ms: r(at(0.99)),
    maxMs: r(sorted.at(-1) ?? 0),
  };
}

async function main() {
  const password = 'bench-query-password';
  await provisionServiceDatabase(adminUrl, { database: DB, role: DB, password });
  const url = withDatabase(adminUrl, DB, { user: DB, password });
  const pool = createPool({ connectionString: url, applicationName: 'bench-query', max: 8 });
  const logger = createLogger({ service: 'telemetry', level: process.env.LOG_LEVEL ?? 'warn' });
  try {
    await runMigrations(pool, [messagingMigrations, telemetryService.migrations]);
    // The service sets up its retention classes and today's partitions.
    const env = {
      TELEMETRY_LATENESS_WINDOW: `${DAYS + 1}d`,
      TELEMETRY_COMPACT_AFTER: `${DAYS + 2}d`,
      TELEMETRY_RETENTION_RAW: `${DAYS + 5}d`,
    };
    const service = await createTelemetryService({
      logger,
      metrics: createMetricsRegistry('telemetry'),
      clock: systemClock,
      ids: uuidV7Ids,
      pool,
      bus: createInProcessBus(),
      env,
    });
    const end = Math.floor(Date.now() / DAY) * DAY; // today 00:00 UTC: the data covers the DAYS before
    const start = end - DAYS * DAY;
    const loaded = await loadIfNeeded(pool, start, end);
    const size = await pool.query<{ readings: string; rollups: string }>(
      `SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relname LIKE 'readings\\_c%\\_p%')) AS readings,
              pg_size_pretty(sum(pg_total_relation_size(c.oid)) FILTER (WHERE c.relname LIKE 'rollup\\_%\\_c%\\_p%')) AS rollups
         FROM pg_class c WHERE c.relkind = 'r'`,
    );
    console.log(
      `data: ${loaded.readings.toLocaleString('en')} readings, ${SERIES} series over ${DAYS} days`,
      size.rows[0],
    );

    const address = await service.app.listen({ host: '127.0.0.1', port: 0 });
    const { rows: assets } = await pool.query<{ asset_id: string }>('SELECT asset_id FROM known_assets');
    const pick = () => assets[Math.floor(Math.random() * assets.length)]!.asset_id;
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases = {
      '30 days at 1h (1h tier)': () =>
        `metric=temperature&from=${iso(end - 30 * DAY)}&to=${iso(end)}&bucket=1h&agg=avg`,
      '1 day at 1m (1m tier)': () => {
        const day = start + Math.floor(Math.random() * DAYS) * DAY;
        return `metric=temperature&from=${iso(day)}&to=${iso(day + DAY)}&bucket=1m&agg=avg`;
      },
      '1 hour raw (raw tier)': () => {
        const hour = start + Math.floor(Math.random() * DAYS * 24) * 3_600_000;
        return `metric=temperature&from=${iso(hour)}&to=${iso(hour + 3_600_000)}&bucket=raw`;
      },
    };
    const results: Record<string, ReturnType<typeof percentiles> & { points: number; tier: string }> = {};
    for (const [name, qs] of Object.entries(cases)) {
      const times: number[] = [];
      let points = 0;
      let tier = '';
      for (let i = 0; i < REQUESTS + 20; i++) {
        const t0 = performance.now();
        const res = await fetch(`${address}/api/v1/assets/${pick()}/telemetry?${qs()}`);
        const body = (await res.json()) as { tier: string; series: { points: unknown[] }[] };
        const ms = performance.now() - t0;
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${JSON.stringify(body)}`);
        if (i >= 20) times.push(ms); // the first 20 warm the caches
        points = body.series[0]!.points.length;
        tier = body.tier;
      }
      results[name] = { ...percentiles(times), points, tier };
    }
    console.table(results);
    const verdict = (name: string) => {
      const p95 = results[name]!.p95Ms;
      return `${name}: p95 ${p95} ms — goal ≤ ${GOAL_P95_MS} ms ${p95 <= GOAL_P95_MS ? 'met' : 'NOT met'}`;
    };
    console.log(verdict('30 days at 1h (1h tier)'));
    console.log(verdict('1 day at 1m (1m tier)'));
    await service.app.close();
    await service.stop?.();

    const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'results');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `query-${new Date().toISOString().replaceAll(':', '-')}.json`);
    await writeFile(
      file,
      JSON.stringify(
        {
          machine: { cpus: os.cpus().length, node: process.version },
          series: SERIES,
          stepS: STEP_S,
          days: DAYS,
          loaded,
          results,
        },
        null,
        2,
      ),
    );
    console.log(`\nresults written to ${path.relative(process.cwd(), file)}`);
  } finally {
    await pool.end();
    if (!KEEP) await dropServiceDatabase(adminUrl, { database: DB, role: DB });
  }
}

/** Loads the data set unless a previous run with the same settings already did. */
async function loadIfNeeded(pool: ReturnType<typeof createPool>, start: number, end: number) {
  const expected = SERIES * ((end - start) / 1000 / STEP_S);
  await pool.query('CREATE TABLE IF NOT EXISTS bench_meta (settings text PRIMARY KEY, readings bigint)');
  const settings = `${SERIES}/${STEP_S}/${new Date(start).toISOString()}/${new Date(end).toISOString()}`;
  const { rows } = await pool.query<{ readings: number }>(
    'SELECT readings FROM bench_meta WHERE settings = $1',
    [settings],
  );
  if (rows[0]) return { readings: rows[0].readings, reused: true };

  console.log(
    `loading ${expected.toLocaleString('en')} readings (${SERIES} series, every ${STEP_S} s, ${DAYS} days) …`,
  );
  for (const t of ['readings', 'rollup_1m', 'rollup_1h', 'rollup_1d', 'latest', 'series', 'known_assets']) {
    await pool.query(`TRUNCATE ${t}`);
  }
  await pool.query('DELETE FROM bench_meta');
  const { rows: cls } = await pool.query<{ class_id: number }>(
    'SELECT min(class_id) AS class_id FROM retention_classes',
  );
  const classId = cls[0]!.class_id;
  await pool.query(
    `INSERT INTO known_assets (asset_id, asset_type, status, version, updated_at)
     SELECT gen_random_uuid(), 'pump', 'active', 1, now() FROM generate_series(1, $1)`,
    [SERIES],
  );
  await pool.query(
    `INSERT INTO series (asset_id, metric, class_id) SELECT asset_id, 'temperature', $1 FROM known_assets ORDER BY asset_id`,
    [classId],
  );
  // Partitions for the whole range (the service's own function, as ingestion would create them).
  await ensureIngestPartitions(pool, classId, start, end);
  const t0 = Date.now();
  for (let day = start; day < end; day += DAY) {
    const d0 = Date.now();
    // A daily cycle, a slow drift per series, and noise.
    await pool.query(
      `INSERT INTO readings (series_id, class_id, ts, value)
       SELECT s.series_id, $3::int2, g.ts,
              60 + 8 * sin(2 * pi() * extract(epoch FROM g.ts) / 86400 + s.series_id) + s.series_id % 7 + random() * 1.5
         FROM series s
        CROSS JOIN generate_series($1::timestamptz, $2::timestamptz - interval '1 millisecond', $4 * interval '1 second') AS g(ts)
        ORDER BY s.series_id, g.ts`,
      [new Date(day), new Date(day + DAY), classId, STEP_S],
    );
    await pool.query(
      `INSERT INTO rollup_1m (series_id, class_id, bucket, count, sum, min, max, first_ts, first, last_ts, last)
       SELECT series_id, class_id, date_trunc('minute', ts, 'UTC'), count(*), sum(value::numeric), min(value), max(value),
              min(ts), (array_agg(value ORDER BY ts))[1], max(ts), (array_agg(value ORDER BY ts DESC))[1]
         FROM readings WHERE ts >= $1 AND ts < $2 GROUP BY 1, 2, 3`,
      [new Date(day), new Date(day + DAY)],
    );
    for (const [from, to, unit] of [
      ['rollup_1m', 'rollup_1h', 'hour'],
      ['rollup_1h', 'rollup_1d', 'day'],
    ] as const) {
      await pool.query(
        `INSERT INTO ${to} (series_id, class_id, bucket, count, sum, min, max, first_ts, first, last_ts, last)
         SELECT series_id, class_id, date_trunc('${unit}', bucket, 'UTC'), sum(count), sum(sum), min(min), max(max),
                min(first_ts), (array_agg(first ORDER BY first_ts))[1], max(last_ts), (array_agg(last ORDER BY last_ts DESC))[1]
           FROM ${from} WHERE bucket >= $1 AND bucket < $2 GROUP BY 1, 2, 3`,
        [new Date(day), new Date(day + DAY)],
      );
    }
    const done = (day - start) / DAY + 1;
    console.log(`  day ${done}/${DAYS} loaded in ${((Date.now() - d0) / 1000).toFixed(1)} s`);
  }
  await pool.query('ANALYZE');
  const { rows: count } = await pool.query<{ n: number }>('SELECT count(*)::int8 AS n FROM readings');
  await pool.query('INSERT INTO bench_meta VALUES ($1, $2)', [settings, count[0]!.n]);
  console.log(`loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { readings: count[0]!.n, reused: false };
}

await main();
