/**
 * Where one ingest write's time goes, in the database. Not part of `npm test`; run it with
 *
 *   npx tsx bench/ingest/explain-write.ts [--preload=5 --repeat=5]
 *
 * It starts the all-in-one runtime (child process, databases `bench_explain_<random>_*`, dropped at
 * the end), registers 100 assets × 10 metrics, loads the tables for BENCH_PRELOAD (5) s over HTTP so
 * that roll-up rows exist, then takes the Telemetry service's own write statement (the one
 * `writeReadings` in services/telemetry/src/ingest/writer.ts sends, captured through a pool that
 * records instead of running) and, for 1,000-reading batches of several shapes (series × times
 * per series), measures BENCH_REPEAT (5) times each, inside transactions that are rolled back:
 *
 * The service's write is the ack path only (readings, feed windows, pending minute roll-ups); the
 * roll-up aggregator merges the pending rows into the tiers and latest values later, many batches
 * at once.
 *
 * - the statement's wall time as the service runs it (parse + plan + execute, one round trip), and
 *   the CPU time its PostgreSQL backend spent on it (from /proc: robust to the machine's other load);
 * - EXPLAIN (ANALYZE, BUFFERS): planning and execution time and the time of each part (the readings
 *   insert, each roll-up tier, latest, feed windows);
 * - the readings insert alone (the same unnest → INSERT … ON CONFLICT DO NOTHING, no roll-ups);
 * - the same 1,000 rows by COPY, for scale.
 *
 * The full EXPLAIN text of the 100 × 10 shape is printed once. Results go to
 * bench/results/explain-write-<time>.json.
 */
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool, PoolClient } from '@assetops/platform';
import { from as copyFrom } from 'pg-copy-streams';
import { type StoredReading, writeReadings } from '../../services/telemetry/src/ingest/writer.js';
import { IngestClients, metricNames } from '../common/ingest-clients.js';
import { registerAssets, startPlatform, waitUntilTelemetryKnows } from '../common/platform.js';
import { applyCliOptions, environment, envNumber, round, writeResults } from '../common/stats.js';

applyCliOptions(process.argv.slice(2));
const preloadSeconds = envNumber('BENCH_PRELOAD', 5);
const repeat = envNumber('BENCH_REPEAT', 5);
const FEED_WINDOW_MS = 1000; // TELEMETRY_FEED_WINDOW's default
const SHAPES = [
  { series: 1000, times: 1 },
  { series: 100, times: 10 },
  { series: 10, times: 100 },
];

/** The SQL text and parameters `writeReadings` sends for `rows`. */
async function captureWrite(rows: StoredReading[]): Promise<{ text: string; values: unknown[] }> {
  let captured: { text: string; values: unknown[] } | undefined;
  const recorder = {
    query: async (text: string, values: unknown[]) => {
      captured = { text, values };
      return { rows: [{ inserted: rows.length }] };
    },
  } as unknown as Pool;
  await writeReadings(recorder, rows, FEED_WINDOW_MS);
  if (!captured) throw new Error('writeReadings sent no statement');
  return captured;
}

interface PlanNode {
  'Node Type': string;
  'Subplan Name'?: string;
  'Relation Name'?: string;
  'Actual Total Time'?: number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

/** Time of each CTE (and the main query) of a plan, ms. */
function partTimes(root: PlanNode): Record<string, number> {
  const parts: Record<string, number> = {};
  const visit = (node: PlanNode) => {
    if (node['Subplan Name']) {
      parts[node['Subplan Name']] = round((node['Actual Total Time'] ?? 0) * (node['Actual Loops'] ?? 1), 2);
    }
    for (const child of node.Plans ?? []) visit(child);
  };
  visit(root);
  return parts;
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN, 2);
};

/** `wall / backend CPU` medians, ms. */
const both = (timings: Timing[]) =>
  `${median(timings.map((t) => t.wallMs))} / ${median(timings.map((t) => t.cpuMs))}`;

async function inRolledBackTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    return await fn();
  } finally {
    await client.query('ROLLBACK');
  }
}

async function main(): Promise<void> {
  const platform = await startPlatform({ label: 'explain' });
  let clients: IngestClients | undefined;
  try {
    const metrics = metricNames(10);
    const assets = await registerAssets(platform, 100, { namePrefix: 'Explain pump' });
    const startTsMs = Math.floor((Date.now() - 50 * 60_000) / 1000) * 1000;
    await waitUntilTelemetryKnows(platform, assets, metrics, startTsMs - 1000);
    const db = platform.adminPool('telemetry', 2);

    console.log(`preloading over HTTP for ${preloadSeconds} s (10 clients × 10 assets × 10 metrics) …`);
    clients = new IngestClients(
      {
        gatewayUrl: platform.gatewayUrl,
        adminToken: platform.adminToken,
        metrics,
        tsPerSeries: 10,
        tsStepMs: 10,
        startTsMs,
        connections: 16,
      },
      Array.from({ length: 10 }, (_, i) => ({ assetIds: assets.slice(i * 10, (i + 1) * 10) })),
      2,
      1000,
    );
    const preload = await clients.closed(8, preloadSeconds);
    console.log(`  ${preload.readingsStored} readings stored (${preload.readingsPerSecond}/s)`);
    await db.query('ANALYZE');
    const counts = (
      await db.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM readings)::int AS readings, (SELECT count(*) FROM rollup_1m)::int AS rollup_1m,
                (SELECT count(*) FROM latest)::int AS latest, (SELECT coalesce(sum(cardinality(series_ids)), 0) FROM feed_pending)::int AS feed_pending,
                (SELECT count(*) FROM pg_inherits)::int AS partitions`,
      )
    ).rows[0];
    console.log('  table sizes:', counts);

    const { rows: series } = await db.query<{ series_id: number; class_id: number }>(
      'SELECT series_id, class_id FROM series ORDER BY series_id',
    );
    // Times after the preload's, in the same partitions.
    let nextTs = startTsMs + 20 * 60_000;
    const batch = (shape: { series: number; times: number }): StoredReading[] => {
      const rows: StoredReading[] = [];
      for (let t = 0; t < shape.times; t++) {
        const ts = nextTs + t * 10;
        for (const s of series.slice(0, shape.series)) {
          rows.push({ seriesId: s.series_id, classId: s.class_id, tsMs: ts, value: Math.random() * 100 });
        }
      }
      nextTs += shape.times * 10 + 10;
      return rows;
    };

    const client = await db.connect();
    const results: Record<string, unknown>[] = [];
    let shownPlan = '';
    let startTimer: () => () => Timing = () => () => ({ wallMs: 0, cpuMs: 0 });
    try {
      await client.query("SET application_name = 'bench-explain'");
      // The backend's own CPU time (ns, /proc/<pid>/schedstat) around each statement: unlike the wall
      // time it hardly depends on what else the machine runs.
      const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const cpuNs = () => Number(readFileSync(`/proc/${backendPid}/schedstat`, 'utf8').split(' ')[0]);
      startTimer = () => {
        const wall = performance.now();
        const cpu = cpuNs();
        return () => ({ wallMs: performance.now() - wall, cpuMs: (cpuNs() - cpu) / 1e6 });
      };
      for (const shape of SHAPES) {
        const wall: Timing[] = [];
        const planning: number[] = [];
        const execution: number[] = [];
        const insertOnly: Timing[] = [];
        const copy: Timing[] = [];
        const parts: Record<string, number[]> = {};
        for (let i = 0; i < repeat + 1; i++) {
          const warm = i > 0; // the first round only warms caches
          // The statement as the service sends it.
          const write = await captureWrite(batch(shape));
          await inRolledBackTransaction(client, async () => {
            const timer = startTimer();
            await client.query(write.text, write.values);
            if (warm) wall.push(timer());
          });
          // EXPLAIN ANALYZE of it.
          const explained = await captureWrite(batch(shape));
          await inRolledBackTransaction(client, async () => {
            const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
              `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${explained.text}`,
              explained.values,
            );
            const plan = (
              rows[0]!['QUERY PLAN'] as {
                Plan: PlanNode;
                'Planning Time': number;
                'Execution Time': number;
              }[]
            )[0]!;
            if (!warm) return;
            planning.push(plan['Planning Time']);
            execution.push(plan['Execution Time']);
            for (const [name, ms] of Object.entries(partTimes(plan.Plan))) {
              parts[name] ??= [];
              parts[name].push(ms);
            }
          });
          if (warm && shape.series === 100 && !shownPlan) {
            const again = await captureWrite(batch(shape));
            await inRolledBackTransaction(client, async () => {
              const { rows } = await client.query<{ 'QUERY PLAN': string }>(
                `EXPLAIN (ANALYZE, BUFFERS) ${again.text}`,
                again.values,
              );
              shownPlan = rows.map((r) => r['QUERY PLAN']).join('\n');
            });
          }
          // The readings insert alone.
          const only = await captureWrite(batch(shape));
          await inRolledBackTransaction(client, async () => {
            const timer = startTimer();
            await client.query(
              `INSERT INTO readings (series_id, class_id, ts, value)
               SELECT s, c, timestamptz 'epoch' + t * interval '1 millisecond', v
                 FROM unnest($1::int4[], $2::int2[], $3::int8[], $4::float8[]) AS u(s, c, t, v)
                ORDER BY s, t
               ON CONFLICT DO NOTHING`,
              only.values.slice(0, 4),
            );
            if (warm) insertOnly.push(timer());
          });
          // The same rows by COPY.
          const rows = batch(shape);
          await inRolledBackTransaction(client, async () => {
            const text = rows
              .map((r) => `${r.seriesId}\t${r.classId}\t${new Date(r.tsMs).toISOString()}\t${r.value}\n`)
              .join('');
            const timer = startTimer();
            await pipeline(
              Readable.from([Buffer.from(text)]),
              client.query(copyFrom('COPY readings (series_id, class_id, ts, value) FROM STDIN')),
            );
            if (warm) copy.push(timer());
          });
        }
        results.push({
          shape: `${shape.series} series × ${shape.times}`,
          'statement wall / backend CPU ms': both(wall),
          'EXPLAIN planning ms': median(planning),
          'EXPLAIN execution ms': median(execution),
          ...Object.fromEntries(
            Object.entries(parts).map(([name, values]) => [`${name} ms`, median(values)]),
          ),
          'readings INSERT only': both(insertOnly),
          'COPY 1,000 rows': both(copy),
        });
      }
    } finally {
      client.release();
    }
    console.log(
      `\nthe write statement for 1,000 readings, medians of ${repeat} (rolled back each time); ` +
        '"a / b": wall time / CPU time of the PostgreSQL backend, ms; EXPLAIN columns: ms inside the statement:',
    );
    console.table(results);
    console.log('\nEXPLAIN (ANALYZE, BUFFERS), 100 series × 10 times:\n');
    console.log(shownPlan);
    const file = await writeResults('explain-write', {
      environment: await environment(db),
      tableSizes: counts,
      results,
      plan100x10: shownPlan,
    });
    console.log(`\nresults written to ${file}`);
  } finally {
    await clients?.close();
    await platform.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
