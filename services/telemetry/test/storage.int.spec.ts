import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReadings } from '../src/ingest/writer.js';
import { ensureIngestPartitions, ensurePartitions } from '../src/storage/partitions.js';
import { type RawReading, readRaw } from '../src/storage/raw-read.js';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A deterministic pseudo-random sequence, so failures reproduce. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/** The names of the time partitions of `table` and class `classId` present now, in order. */
async function partitionsOf(t: TelemetryHarness, table: string, classId: number): Promise<string[]> {
  const { rows } = await t.db.pool.query<{ relname: string }>(
    `SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' AND relname LIKE $1 ORDER BY relname`,
    [`${table}\\_c${classId}\\_p%`],
  );
  return rows.map((r) => r.relname);
}

/** `readings_c1_p20261120` … for each UTC day from `from` to `to` (inclusive). */
function dayNames(table: string, classId: number, from: string, to: string): string[] {
  const names: string[] = [];
  for (let ms = Date.parse(from); ms <= Date.parse(to); ms += DAY) {
    names.push(`${table}_c${classId}_p${new Date(ms).toISOString().slice(0, 10).replaceAll('-', '')}`);
  }
  return names;
}

/** `rollup_1m_c1_p202611`, `rollup_1h_c1_p2026` …: the partitions of the months or years given. */
const periodNames = (table: string, classId: number, periods: string[]) =>
  periods.map((p) => `${table}_c${classId}_p${p}`);

/**
 * Bytes of heap, indexes and TOAST of the tables matched (the free-space and visibility maps, a
 * fixed cost per table, would blur the comparison on small tables).
 */
const SIZE_WITHOUT_MAPS = `
  SELECT sum(pg_relation_size(c.oid) + pg_indexes_size(c.oid)
             + CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END)::int8 AS bytes
    FROM pg_class c WHERE c.relkind = 'r'`;

async function seriesOf(t: TelemetryHarness, assetId: string) {
  const { rows } = await t.db.pool.query<{ series_id: number; class_id: number; metric: string }>(
    'SELECT series_id, class_id, metric FROM series WHERE asset_id = $1 ORDER BY series_id',
    [assetId],
  );
  return rows;
}

describe('partitions', () => {
  let t: TelemetryHarness;
  let classId: number;
  beforeAll(async () => {
    t = await startTelemetry({
      now: '2026-11-28T12:00:00.000Z',
      env: { TELEMETRY_LATENESS_WINDOW: '10d', TELEMETRY_COMPACT_AFTER: '12d' },
    });
    classId = t.storage.classes.defaultClass;
  });
  afterAll(() => t?.close());

  it('are created from the start of the lateness window to the days ahead, for every tier', async () => {
    expect(await partitionsOf(t, 'readings', classId)).toEqual(
      dayNames('readings', classId, '2026-11-18', '2026-11-30'),
    );
    expect(await partitionsOf(t, 'rollup_1m', classId)).toEqual(
      periodNames('rollup_1m', classId, ['202611']),
    );
    expect(await partitionsOf(t, 'rollup_1h', classId)).toEqual([`rollup_1h_c${classId}_p2026`]);
    expect(await partitionsOf(t, 'rollup_1d', classId)).toEqual([`rollup_1d_c${classId}_p2026`]);
    // A raw day's key: unique on (series, millisecond of the day), leaf pages filled completely.
    const { rows: keys } = await t.db.pool.query(
      `SELECT i.relname, x.indisunique, i.reloptions, pg_get_indexdef(x.indexrelid) LIKE '%(series_id, reading_ms_of_day(ts))%' AS on_key
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE x.indrelid = $1::regclass`,
      [`readings_c${classId}_p20261128`],
    );
    expect(keys).toEqual([
      {
        relname: `readings_c${classId}_p20261128_key`,
        indisunique: true,
        reloptions: ['fillfactor=100'],
        on_key: true,
      },
    ]);

    t.clock.advance(DAY);
    const run = await t.storage.run();
    expect(run.created).toEqual([`readings_c${classId}_p20261201`, `rollup_1m_c${classId}_p202612`]);
    expect(run.dropped).toEqual([]);
    expect(run.compacted).toEqual([]);
    expect((await t.storage.run()).created).toEqual([]);
  });

  it('are created on demand for a reading far back in the lateness window, or beyond the days ahead', async () => {
    const asset = await t.registerAsset('pump');
    // A partition missing far back (say, the lateness window was just raised): the writer makes it.
    await t.db.pool.query(`DROP TABLE readings_c${classId}_p20261120`);
    t.clock.set('2026-11-29T12:00:00.000Z');
    expect(
      await t.ingest([{ assetId: asset, metric: 'flow', value: 1.5, ts: '2026-11-20T06:00:00.000Z' }]),
    ).toEqual({ accepted: 1, duplicates: 0, rejected: [] });
    // The maintenance did not run for days: today's and the month's partitions do not exist yet.
    t.clock.set('2026-12-03T08:00:00.000Z');
    expect(await t.ingest([{ assetId: asset, metric: 'flow', value: 2.5 }])).toEqual({
      accepted: 1,
      duplicates: 0,
      rejected: [],
    });
    const [flow] = await seriesOf(t, asset);
    expect(
      await readRaw(t.db.pool, [flow!.series_id], Date.parse('2026-11-01'), Date.parse('2027-01-01')),
    ).toEqual([
      { seriesId: flow!.series_id, tsMs: Date.parse('2026-11-20T06:00:00.000Z'), value: 1.5 },
      { seriesId: flow!.series_id, tsMs: Date.parse('2026-12-03T08:00:00.000Z'), value: 2.5 },
    ]);
    expect(await partitionsOf(t, 'readings', classId)).toEqual(
      expect.arrayContaining([`readings_c${classId}_p20261120`, `readings_c${classId}_p20261203`]),
    );
  });
});

describe('retention', () => {
  let t: TelemetryHarness;
  let std: number;
  let pump: number;
  beforeAll(async () => {
    t = await startTelemetry({
      now: '2026-11-28T12:00:00.000Z',
      env: {
        TELEMETRY_RETENTION_BY_TYPE: JSON.stringify({
          pump: { raw: '3d', '1m': '40d', '1h': '400d', '1d': '800d' },
        }),
        // Compaction is not under test here.
        TELEMETRY_COMPACT_AFTER: '60d',
      },
    });
    std = t.storage.classes.defaultClass;
    pump = t.storage.classes.classOf('pump');
    for (const classId of [std, pump]) {
      await ensurePartitions(
        t.db.pool,
        'readings',
        classId,
        Date.parse('2026-10-20'),
        Date.parse('2026-11-28'),
      );
      await ensurePartitions(
        t.db.pool,
        'readings_packed',
        classId,
        Date.parse('2026-10-20'),
        Date.parse('2026-11-27'),
      );
      await ensurePartitions(
        t.db.pool,
        'rollup_1m',
        classId,
        Date.parse('2026-04-01'),
        Date.parse('2026-11-28'),
      );
      await ensurePartitions(
        t.db.pool,
        'rollup_1h',
        classId,
        Date.parse('2020-01-01'),
        Date.parse('2026-11-28'),
      );
      await ensurePartitions(
        t.db.pool,
        'rollup_1d',
        classId,
        Date.parse('2020-01-01'),
        Date.parse('2026-11-28'),
      );
    }
  });
  afterAll(() => t?.close());

  it('drops exactly the partitions past retention, per tier and per class, and nothing else', async () => {
    await t.db.pool.query(
      `INSERT INTO readings (series_id, class_id, ts, value) VALUES
         (1, $1, '2026-11-24T23:59:59.999Z', 1), (1, $1, '2026-11-25T00:00:00Z', 2),
         (2, $2, '2026-10-28T12:00:00Z', 3), (2, $2, '2026-10-29T00:00:00Z', 4)`,
      [pump, std],
    );
    const { dropped } = await t.storage.run();

    // Default class: raw 30d (cut-off 2026-10-29T12:00), 1m 180d (2026-06-01T12:00), 1h/1d 5y (2021-11-29).
    // Pump class: raw 3d (2026-11-25T12:00), 1m 40d (2026-10-19T12:00), 1h 400d (2025-10-24), 1d 800d (2024-09-19).
    // A partition goes once its end is at or before the cut-off.
    const expected = [
      ...dayNames('readings', std, '2026-10-20', '2026-10-28'),
      ...dayNames('readings', pump, '2026-10-20', '2026-11-24'),
      ...dayNames('readings_packed', std, '2026-10-20', '2026-10-28'),
      ...dayNames('readings_packed', pump, '2026-10-20', '2026-11-24'),
      ...periodNames('rollup_1m', std, ['202604', '202605']),
      ...periodNames('rollup_1m', pump, ['202604', '202605', '202606', '202607', '202608', '202609']),
      ...periodNames('rollup_1h', std, ['2020']),
      ...periodNames('rollup_1h', pump, ['2020', '2021', '2022', '2023', '2024']),
      ...periodNames('rollup_1d', std, ['2020']),
      ...periodNames('rollup_1d', pump, ['2020', '2021', '2022', '2023']),
    ];
    expect([...dropped].sort()).toEqual([...expected].sort());

    expect(await partitionsOf(t, 'readings', std)).toEqual(
      dayNames('readings', std, '2026-10-29', '2026-11-30'),
    );
    expect(await partitionsOf(t, 'readings', pump)).toEqual(
      dayNames('readings', pump, '2026-11-25', '2026-11-30'),
    );
    expect(await partitionsOf(t, 'readings_packed', pump)).toEqual(
      dayNames('readings_packed', pump, '2026-11-25', '2026-11-27'),
    );
    expect(await partitionsOf(t, 'rollup_1m', pump)).toEqual(
      periodNames('rollup_1m', pump, ['202610', '202611']),
    );
    expect(await partitionsOf(t, 'rollup_1h', std)).toEqual(
      periodNames('rollup_1h', std, ['2021', '2022', '2023', '2024', '2025', '2026']),
    );
    expect(await partitionsOf(t, 'rollup_1d', pump)).toEqual(
      periodNames('rollup_1d', pump, ['2024', '2025', '2026']),
    );
    const { rows } = await t.db.pool.query('SELECT class_id, value FROM readings ORDER BY value');
    expect(rows).toEqual([
      { class_id: pump, value: 2 },
      { class_id: std, value: 4 },
    ]);

    // Nothing more is due until time moves on; then the next day goes.
    expect((await t.storage.run()).dropped).toEqual([]);
    t.clock.advance(DAY);
    expect((await t.storage.run()).dropped.sort()).toEqual(
      [
        `readings_c${pump}_p20261125`,
        `readings_c${std}_p20261029`,
        `readings_packed_c${pump}_p20261125`,
        `readings_packed_c${std}_p20261029`,
      ].sort(),
    );
  });
});

describe('compaction and the raw read path', () => {
  let t: TelemetryHarness;
  let ids: number[];
  let classes: number[];
  let ingested: RawReading[];
  let before: RawReading[];
  let rawBytes: number;
  const span = [Date.parse('2026-11-26T00:00:00.000Z'), Date.parse('2026-11-28T00:00:00.000Z')] as const;

  beforeAll(async () => {
    t = await startTelemetry({
      now: '2026-11-26T22:00:00.000Z',
      env: { TELEMETRY_RETENTION_BY_TYPE: JSON.stringify({ pump: { raw: '3d' } }) },
    });
    const pump = await t.registerAsset('pump');
    const compressor = await t.registerAsset('compressor');
    const metrics = [
      { assetId: pump, metric: 'temperature' },
      { assetId: pump, metric: 'pressure' },
      { assetId: compressor, metric: 'rpm' },
    ];
    // Three hours across midnight, a reading every ~2 s per metric (irregular milliseconds, values
    // with every bit of a double), ingested hour by hour inside the lateness window.
    const rnd = random(7);
    const sent: { metric: number; tsMs: number; value: number }[] = [];
    for (
      let hour = Date.parse('2026-11-26T22:00:00.000Z');
      hour < Date.parse('2026-11-27T01:00:00.000Z');
      hour += HOUR
    ) {
      t.clock.set(new Date(hour + HOUR - 1000));
      const batch: typeof sent = [];
      metrics.forEach((_, metric) => {
        for (
          let ts = hour + Math.floor(rnd() * 1000);
          ts < hour + HOUR;
          ts += 1000 + Math.floor(rnd() * 2000)
        ) {
          batch.push({ metric, tsMs: ts, value: (rnd() - 0.3) * 10 ** Math.floor(rnd() * 8) });
        }
      });
      if (hour === Date.parse('2026-11-26T23:00:00.000Z')) {
        // The last millisecond of the day, and values at the edges of float8.
        batch.push({ metric: 0, tsMs: hour + HOUR - 1, value: 1.7976931348623157e308 });
        batch.push({ metric: 1, tsMs: hour + HOUR - 1, value: 5e-324 });
        batch.push({ metric: 2, tsMs: hour + HOUR - 1, value: -273.15 });
      }
      if (hour === Date.parse('2026-11-27T00:00:00.000Z'))
        batch.push({ metric: 2, tsMs: hour, value: 0.1 + 0.2 });
      const result = await t.ingest(
        batch.map((r) => ({ ...metrics[r.metric]!, value: r.value, ts: new Date(r.tsMs).toISOString() })),
      );
      expect(result.rejected).toEqual([]);
      sent.push(...batch);
    }
    const series = [...(await seriesOf(t, pump)), ...(await seriesOf(t, compressor))];
    const idOf = (i: number) => series.find((s) => s.metric === metrics[i]!.metric)!.series_id;
    ids = series.map((s) => s.series_id).sort((a, b) => a - b);
    classes = [...new Set(series.map((s) => s.class_id))].sort((a, b) => a - b);
    ingested = sent
      .map((r) => ({ seriesId: idOf(r.metric), tsMs: r.tsMs, value: r.value }))
      .sort((a, b) => a.seriesId - b.seriesId || a.tsMs - b.tsMs);
  });
  afterAll(() => t?.close());

  it('reads raw readings exactly, in (series, time) order', async () => {
    before = await readRaw(t.db.pool, ids, ...span);
    expect(before.length).toBeGreaterThan(15_000);
    expect(before).toEqual(ingested);
    // Ranges inside one UTC day are bounded on the key's millisecond of the day: to the
    // millisecond, up to the day's end, and from the day's start.
    const ranges = [
      ['2026-11-26T22:30:00.000Z', '2026-11-26T23:10:00.001Z'],
      ['2026-11-26T23:00:00.000Z', '2026-11-27T00:00:00.000Z'],
      ['2026-11-27T00:00:00.000Z', '2026-11-27T00:30:00.000Z'],
    ].map(([from, to]) => [Date.parse(from!), Date.parse(to!)] as const);
    for (const [from, to] of ranges) {
      const expected = ingested.filter((r) => r.tsMs >= from && r.tsMs < to);
      expect(expected.length).toBeGreaterThan(1000);
      expect(await readRaw(t.db.pool, ids, from, to)).toEqual(expected);
    }
    const lastOfDay = ingested.filter((r) => r.tsMs === Date.parse('2026-11-27T00:00:00.000Z') - 1);
    expect(lastOfDay).toHaveLength(3);
    expect(await readRaw(t.db.pool, ids, ...ranges[1]!)).toEqual(expect.arrayContaining(lastOfDay));
  });

  it('packs each raw day past the compaction age into hourly rows, losing nothing, in a fraction of the space', async () => {
    const { rows: sizes } = await t.db.pool.query<{ bytes: number }>(
      `${SIZE_WITHOUT_MAPS} AND c.relname LIKE 'readings\\_c%\\_p20261126'`,
    );
    rawBytes = sizes[0]!.bytes;

    // The day of 2026-11-26 ends at 2026-11-27T00:00; compacted two days (TELEMETRY_COMPACT_AFTER) later.
    t.clock.set('2026-11-28T23:59:00.000Z');
    expect((await t.storage.run()).compacted).toEqual([]);
    t.clock.set('2026-11-29T00:00:00.000Z');
    const run = await t.storage.run();
    expect([...run.compacted].sort()).toEqual(classes.map((c) => `readings_c${c}_p20261126`).sort());
    expect(run.dropped).toEqual([]);

    const after = await readRaw(t.db.pool, ids, ...span);
    expect(after).toEqual(before);

    const { rows: packed } = await t.db.pool.query<{
      series_id: number;
      hour: Date;
      n: number;
      sorted: boolean;
    }>(
      `SELECT series_id, hour, cardinality(offsets_ms) AS n,
              offsets_ms = (SELECT array_agg(o ORDER BY o) FROM unnest(offsets_ms) o) AS sorted
         FROM readings_packed ORDER BY series_id, hour`,
    );
    expect(packed.map((p) => [p.series_id, p.hour.toISOString()])).toEqual(
      ids.flatMap((id) => [
        [id, '2026-11-26T22:00:00.000Z'],
        [id, '2026-11-26T23:00:00.000Z'],
      ]),
    );
    expect(packed.every((p) => p.sorted)).toBe(true);
    expect(packed.reduce((sum, p) => sum + p.n, 0)).toBe(
      ingested.filter((r) => r.tsMs < Date.parse('2026-11-27T00:00:00.000Z')).length,
    );
    const { rows: packedSizes } = await t.db.pool.query<{ bytes: number }>(
      `${SIZE_WITHOUT_MAPS} AND c.relname LIKE 'readings\\_packed\\_c%\\_p20261126'`,
    );
    // (The bench measures the real ratio; on a few thousand readings the fixed size of each table,
    // its TOAST table and their indexes weighs in.)
    expect(packedSizes[0]!.bytes).toBeLessThan(rawBytes / 2);
    expect(await partitionsOf(t, 'readings', classes[0]!)).not.toContain(`readings_c${classes[0]}_p20261126`);

    // Nothing is due twice.
    expect((await t.storage.run()).compacted).toEqual([]);
  });

  it('reads [from, to) across packed and raw rows, with a limit', async () => {
    const from = ingested.find((r) => r.tsMs >= Date.parse('2026-11-26T23:30:00.000Z'))!.tsMs;
    const to = ingested.find((r) => r.tsMs >= Date.parse('2026-11-27T00:30:00.000Z'))!.tsMs;
    const expected = ingested.filter((r) => r.tsMs >= from && r.tsMs < to);
    expect(expected.some((r) => r.tsMs < Date.parse('2026-11-27'))).toBe(true);
    expect(expected.some((r) => r.tsMs >= Date.parse('2026-11-27'))).toBe(true);
    expect(await readRaw(t.db.pool, ids, from, to)).toEqual(expected);
    expect(await readRaw(t.db.pool, ids, from, to, 10)).toEqual(expected.slice(0, 10));
    expect(await readRaw(t.db.pool, [ids[1]!], from, to)).toEqual(
      expected.filter((r) => r.seriesId === ids[1]),
    );
    expect(await readRaw(t.db.pool, ids, to, to)).toEqual([]);
    expect(await readRaw(t.db.pool, [], from, to)).toEqual([]);
  });

  it('refuses to re-create a compacted raw day, so a reading can never be stored beside its packed day', async () => {
    const classId = classes[0]!;
    const day = Date.parse('2026-11-26T12:00:00.000Z');
    await expect(ensurePartitions(t.db.pool, 'readings', classId, day, day)).rejects.toMatchObject({
      code: 'TELEMETRY_DAY_COMPACTED',
    });
    await expect(
      writeReadings(t.db.pool, [{ seriesId: ids[0]!, classId, tsMs: day, value: 1 }], 1000),
    ).rejects.toMatchObject({ code: 'TELEMETRY_DAY_COMPACTED' });
    // The maintenance skips it (its range reaches back that far when the lateness window is raised).
    expect(
      await ensureIngestPartitions(t.db.pool, classId, day, day + DAY, { compactedDays: 'skip' }),
    ).toEqual([]);
    expect(await partitionsOf(t, 'readings', classId)).not.toContain(`readings_c${classId}_p20261126`);
    expect(await readRaw(t.db.pool, ids, ...span)).toEqual(before);
  });

  it('merges into existing packed rows when a compacted day comes back, keeping the first-stored value', async () => {
    // Only by hand (the guard above prevents it otherwise): the raw day re-created with one new
    // reading and one at a timestamp already packed, with another value.
    const first = ingested.find((r) => r.seriesId === ids[0])!;
    const seriesClass = (await t.db.pool.query('SELECT class_id FROM series WHERE series_id = $1', [ids[0]]))
      .rows[0].class_id as number;
    await t.db.pool.query(
      `CREATE TABLE readings_c${seriesClass}_p20261126 PARTITION OF readings_c${seriesClass}
         FOR VALUES FROM ('2026-11-26T00:00:00Z') TO ('2026-11-27T00:00:00Z')`,
    );
    const newTs = Date.parse('2026-11-26T21:59:59.500Z');
    await t.db.pool.query(
      `INSERT INTO readings (series_id, class_id, ts, value) VALUES
         ($1, $2, to_timestamp($3 / 1000.0), 42), ($1, $2, to_timestamp($4 / 1000.0), -1)`,
      [ids[0], seriesClass, newTs, first.tsMs],
    );
    expect((await t.storage.run()).compacted).toEqual([`readings_c${seriesClass}_p20261126`]);
    const expected = [...before, { seriesId: ids[0]!, tsMs: newTs, value: 42 }].sort(
      (a, b) => a.seriesId - b.seriesId || a.tsMs - b.tsMs,
    );
    expect(await readRaw(t.db.pool, ids, ...span)).toEqual(expected);
    before = expected;
  });

  it('drops packed days under the raw retention of their class (pump 3d, others 30d)', async () => {
    const pumpClass = t.storage.classes.classOf('pump');
    // 2026-11-26 ends at 2026-11-27T00:00: past a 3-day retention from 2026-11-30T00:00 on.
    t.clock.set('2026-11-30T00:00:00.000Z');
    const run = await t.storage.run();
    expect(run.dropped).toEqual([`readings_packed_c${pumpClass}_p20261126`]);
    const { rows } = await t.db.pool.query<{ series_id: number; class_id: number }>(
      'SELECT series_id, class_id FROM series WHERE series_id = ANY($1::int4[])',
      [ids],
    );
    const pumpSeries = new Set(rows.filter((r) => r.class_id === pumpClass).map((r) => r.series_id));
    expect(pumpSeries.size).toBe(2);
    expect(await readRaw(t.db.pool, ids, ...span)).toEqual(
      before.filter((r) => !pumpSeries.has(r.seriesId) || r.tsMs >= Date.parse('2026-11-27')),
    );
  });
});

describe('sealing', () => {
  let t: TelemetryHarness;
  beforeAll(async () => {
    t = await startTelemetry({ now: '2026-11-26T10:00:00.000Z' });
  });
  afterAll(() => t?.close());

  it("rebuilds a raw day's key packed once its lateness window is over, once, keeping every reading and the key", async () => {
    const asset = await t.registerAsset('pump');
    const metrics = Array.from({ length: 40 }, (_, i) => `m${i}`);
    await t.ingest(
      metrics.map((metric) => ({ assetId: asset, metric, value: 0, ts: '2026-11-26T09:59:00.000Z' })),
    );
    const series = await seriesOf(t, asset);
    expect(series).toHaveLength(40);
    // Every series at each tick, interleaved, two ticks a batch, four batches at once: the way
    // readings arrive, which leaves the key's leaf pages part-full.
    const rnd = random(11);
    const start = Date.parse('2026-11-26T09:00:00.000Z');
    const batches = Array.from({ length: 900 }, (_, b) =>
      [0, 1].flatMap((tick) =>
        series.map((s) => ({
          seriesId: s.series_id,
          classId: s.class_id,
          tsMs: start + (2 * b + tick) * 1000 + Math.floor(rnd() * 50),
          value: rnd() * 100,
        })),
      ),
    );
    for (let i = 0; i < batches.length; i += 4) {
      await Promise.all(batches.slice(i, i + 4).map((b) => writeReadings(t.db.pool, b, 1000)));
    }
    const classId = series[0]!.class_id;
    const partition = `readings_c${classId}_p20261126`;
    const key = `${partition}_key`;
    const keyBytes = async () =>
      (await t.db.pool.query<{ b: string }>('SELECT pg_relation_size($1::regclass)::int8 AS b', [key]))
        .rows[0]!.b;
    const ids = series.map((s) => s.series_id);
    const day = [Date.parse('2026-11-26'), Date.parse('2026-11-27')] as const;
    const before = await readRaw(t.db.pool, ids, ...day);
    expect(before).toHaveLength(72_040);
    const bytesBefore = Number(await keyBytes());

    // The day ends at midnight; readings may arrive until the lateness window (1 h) is over.
    t.clock.set('2026-11-27T00:59:59.999Z');
    expect((await t.storage.run()).sealed).toEqual([]);
    t.clock.set('2026-11-27T01:00:00.000Z');
    expect((await t.storage.run()).sealed).toEqual([partition]);
    expect((await t.storage.run()).sealed).toEqual([]);

    // Packed: 407 entries of 20 bytes to a leaf page, plus the meta page and the inner pages.
    const bytesAfter = Number(await keyBytes());
    expect(bytesAfter).toBeLessThan(bytesBefore);
    expect(bytesAfter).toBeLessThanOrEqual(8192 * (Math.ceil(72_040 / 407) + 3));
    expect(await readRaw(t.db.pool, ids, ...day)).toEqual(before);
    const { rows: valid } = await t.db.pool.query(
      'SELECT x.indisvalid, x.indisunique FROM pg_index x WHERE x.indrelid = $1::regclass',
      [partition],
    );
    expect(valid).toEqual([{ indisvalid: true, indisunique: true }]);
    // Still the key: a reading of the day stored twice is refused.
    const first = before[0]!;
    await expect(
      t.db.pool.query(
        'INSERT INTO readings (series_id, class_id, ts, value) VALUES ($1, $2, to_timestamp($3 / 1000.0), 1)',
        [first.seriesId, classId, first.tsMs],
      ),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('drops what a rebuild that failed half-way left behind before it seals the day', async () => {
    const asset = await t.registerAsset('pump');
    t.clock.set('2026-11-27T12:00:00.000Z');
    await t.ingest([
      { assetId: asset, metric: 'flow', value: 1, ts: '2026-11-27T11:00:00.000Z' },
      { assetId: asset, metric: 'flow', value: 1, ts: '2026-11-27T11:00:01.000Z' },
    ]);
    const [flow] = await seriesOf(t, asset);
    const partition = `readings_c${flow!.class_id}_p20261127`;
    // A concurrent index build that fails (here: duplicate values) leaves an invalid index behind,
    // as an interrupted REINDEX CONCURRENTLY leaves its `_ccnew` copy.
    await expect(
      t.db.pool.query(`CREATE UNIQUE INDEX CONCURRENTLY ${partition}_key_ccnew ON ${partition} (value)`),
    ).rejects.toMatchObject({ code: '23505' });
    const indexes = async () =>
      (
        await t.db.pool.query(
          `SELECT i.relname, x.indisvalid FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = $1::regclass ORDER BY i.relname`,
          [partition],
        )
      ).rows;
    expect(await indexes()).toEqual([
      { relname: `${partition}_key`, indisvalid: true },
      { relname: `${partition}_key_ccnew`, indisvalid: false },
    ]);
    t.clock.set('2026-11-28T01:00:00.000Z');
    expect((await t.storage.run()).sealed).toEqual([partition]);
    expect(await indexes()).toEqual([{ relname: `${partition}_key`, indisvalid: true }]);
    expect(
      (await readRaw(t.db.pool, [flow!.series_id], Date.parse('2026-11-27'), Date.parse('2026-11-28')))
        .length,
    ).toBe(2);
  });
});
