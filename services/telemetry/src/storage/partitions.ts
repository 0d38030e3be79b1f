import { IllegalStateError, type Pool, type Queryable, withTransaction } from '@assetops/platform';
import type { Retention, RetentionPolicy } from '../telemetry.config.js';

/**
 * Partition layout. Every time-series table is LIST-partitioned by retention class, and each class
 * partition is RANGE-partitioned by time, so that retention (per class and tier) and compaction
 * drop or replace whole partitions:
 *
 * | table            | per class              | time partition |
 * |------------------|------------------------|----------------|
 * | readings         | readings_c<class>      | a UTC day      |
 * | readings_packed  | readings_packed_c<…>   | a UTC day      |
 * | rollup_1m        | rollup_1m_c<…>         | a UTC month    |
 * | rollup_1h        | rollup_1h_c<…>         | a UTC year     |
 * | rollup_1d        | rollup_1d_c<…>         | a UTC year     |
 */
export const TIME_SERIES_TABLES = {
  readings: { key: 'ts', period: 'day' },
  readings_packed: { key: 'hour', period: 'day' },
  rollup_1m: { key: 'bucket', period: 'month' },
  rollup_1h: { key: 'bucket', period: 'year' },
  rollup_1d: { key: 'bucket', period: 'year' },
} as const;
export type TimeSeriesTable = keyof typeof TIME_SERIES_TABLES;

// Roll-up rows are updated in place as readings arrive: free room on their pages keeps most of
// those updates HOT (no new index entry each time).
const ROLLUP_STORAGE: Partial<Record<TimeSeriesTable, string>> = {
  rollup_1m: ' WITH (fillfactor = 70)',
  rollup_1h: ' WITH (fillfactor = 70)',
  rollup_1d: ' WITH (fillfactor = 70)',
};
export type Period = 'day' | 'month' | 'year';

/** The UTC start of the period containing `ms`. */
export function periodStart(period: Period, ms: number): Date {
  const d = new Date(ms);
  if (period === 'day') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  if (period === 'month') return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  return new Date(Date.UTC(d.getUTCFullYear(), 0, 1));
}

/** The UTC start of the period after the one starting at `start`. */
export function nextPeriod(period: Period, start: Date): Date {
  if (period === 'day') return new Date(start.getTime() + 86_400_000);
  if (period === 'month') return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return new Date(Date.UTC(start.getUTCFullYear() + 1, 0, 1));
}

/** `20261128`, `202611` or `2026`: the suffix naming a time partition. */
export function periodLabel(period: Period, start: Date): string {
  const iso = start.toISOString();
  const y = iso.slice(0, 4);
  const m = iso.slice(5, 7);
  const d = iso.slice(8, 10);
  return period === 'day' ? `${y}${m}${d}` : period === 'month' ? `${y}${m}` : y;
}

export const classPartition = (table: TimeSeriesTable, classId: number) => `${table}_c${classId}`;
export const timePartition = (table: TimeSeriesTable, classId: number, start: Date) =>
  `${classPartition(table, classId)}_p${periodLabel(TIME_SERIES_TABLES[table].period, start)}`;

/** The retention classes in use, and which one each asset type gets. */
export interface RetentionClasses {
  defaultClass: number;
  byType: Map<string, number>;
  /** Every class id with its retention (including classes of earlier settings still holding data). */
  all: Map<number, Retention>;
  classOf(assetType: string): number;
}

/**
 * Records the configured retention classes (one per distinct set of tier retentions) and returns
 * the class of each asset type. Classes of earlier settings stay, so their data keeps its retention.
 */
export async function ensureRetentionClasses(pool: Pool, policy: RetentionPolicy): Promise<RetentionClasses> {
  const upsert = async (r: Retention): Promise<number> => {
    const { rows } = await pool.query<{ class_id: number }>(
      `WITH ins AS (
         INSERT INTO retention_classes (raw_ms, m1_ms, h1_ms, d1_ms) VALUES ($1, $2, $3, $4)
         ON CONFLICT (raw_ms, m1_ms, h1_ms, d1_ms) DO NOTHING RETURNING class_id)
       SELECT class_id FROM ins
       UNION ALL
       SELECT class_id FROM retention_classes WHERE raw_ms = $1 AND m1_ms = $2 AND h1_ms = $3 AND d1_ms = $4`,
      [r.raw, r['1m'], r['1h'], r['1d']],
    );
    return rows[0]!.class_id;
  };
  const defaultClass = await upsert(policy.default);
  const byType = new Map<string, number>();
  for (const [type, retention] of Object.entries(policy.byType)) byType.set(type, await upsert(retention));
  const { rows } = await pool.query<{
    class_id: number;
    raw_ms: number;
    m1_ms: number;
    h1_ms: number;
    d1_ms: number;
  }>('SELECT class_id, raw_ms, m1_ms, h1_ms, d1_ms FROM retention_classes ORDER BY class_id');
  const all = new Map(
    rows.map((r) => [
      r.class_id,
      { raw: r.raw_ms, '1m': r.m1_ms, '1h': r.h1_ms, '1d': r.d1_ms } satisfies Retention,
    ]),
  );
  return { defaultClass, byType, all, classOf: (type) => byType.get(type) ?? defaultClass };
}

/**
 * Partition DDL of all instances (creation, retention drops, compaction) is serialized by this
 * transaction-level advisory lock: run `PARTITION_LOCK` with `[PARTITION_LOCK_NAME]` first thing in
 * the transaction that changes partitions.
 */
export const PARTITION_LOCK = 'SELECT pg_advisory_xact_lock(hashtext($1))';
export const PARTITION_LOCK_NAME = 'assetops.telemetry.partitions';

/** Takes the partition DDL lock for the rest of the transaction `tx`. */
export async function lockPartitions(tx: Queryable): Promise<void> {
  await tx.query(PARTITION_LOCK, [PARTITION_LOCK_NAME]);
}

/** One time partition of a table, as found in the catalog. */
export interface TimePartition {
  table: TimeSeriesTable;
  name: string;
  classId: number;
  start: Date;
  end: Date;
}

/**
 * Every time partition of `table` (of every class), oldest first. Bounds come from the partition's
 * name ({@link timePartition}); tables attached by hand under other names are left alone.
 */
export async function listTimePartitions(db: Queryable, table: TimeSeriesTable): Promise<TimePartition[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT leaf.relname AS name
       FROM pg_inherits byClass
       JOIN pg_inherits byTime ON byTime.inhparent = byClass.inhrelid
       JOIN pg_class leaf ON leaf.oid = byTime.inhrelid
      WHERE byClass.inhparent = $1::regclass`,
    [table],
  );
  const { period } = TIME_SERIES_TABLES[table];
  const pattern = new RegExp(`^${table}_c(\\d+)_p(\\d{4})(\\d{2})?(\\d{2})?$`);
  const found: TimePartition[] = [];
  for (const { name } of rows) {
    const m = pattern.exec(name);
    if (!m) continue;
    const start = new Date(Date.UTC(Number(m[2]), Number(m[3] ?? 1) - 1, Number(m[4] ?? 1)));
    if (timePartition(table, Number(m[1]), start) !== name) continue;
    found.push({ table, name, classId: Number(m[1]), start, end: nextPeriod(period, start) });
  }
  return found.sort((a, b) => a.start.getTime() - b.start.getTime() || a.classId - b.classId);
}

/**
 * The raw day partitions (of every class) whose day ended at `cutoffMs` or before, oldest first:
 * the days compaction and sealing are due for.
 */
export async function rawDaysEndedBy(db: Queryable, cutoffMs: number): Promise<TimePartition[]> {
  return (await listTimePartitions(db, 'readings')).filter((p) => p.end.getTime() <= cutoffMs);
}

async function existingTables(db: Queryable, names: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1::text[])`,
    [names],
  );
  return new Set(rows.map((r) => r.relname));
}

/**
 * A raw day is compacted by moving its readings into `readings_packed` and dropping its partition
 * in one transaction (see compaction.ts). Re-creating that partition would let a reading land in
 * raw storage beside its packed day — stored twice if re-sent, and the day compacted again later.
 * The configuration makes this impossible (compaction age > lateness window, so such a reading is
 * refused as too late), and this check keeps it so: a raw day whose packed partition exists is
 * never re-created. ensurePartitions throws TELEMETRY_DAY_COMPACTED when asked for such a day (by
 * the writer, which then fails the batch), or skips it (for the maintenance, whose range reaches
 * back into compacted days after the lateness window was raised). Retention drops the raw and packed partitions of a day
 * together, after which the day may be created again (its readings would be refused as too late).
 */
async function compactedDays(tx: Queryable, classId: number, days: { name: string; start: Date }[]) {
  if (days.length === 0) return new Set<string>();
  const packed = await existingTables(
    tx,
    days.map((d) => timePartition('readings_packed', classId, d.start)),
  );
  return new Set(
    days.filter((d) => packed.has(timePartition('readings_packed', classId, d.start))).map((d) => d.name),
  );
}

const missing = <T extends { name: string }>(wanted: T[], present: Set<string>) =>
  wanted.filter((w) => !present.has(w.name));

/**
 * The key of a raw day partition: unique on (series, millisecond of the UTC day) — 16 bytes an
 * entry, where (series_id, class_id, ts) took 24; within one day it identifies the timestamp, so a
 * re-sent reading is refused by it (the write's ON CONFLICT DO NOTHING). It is an index of each day
 * partition because a partitioned table's unique index must hold the partition columns themselves
 * (migration 007). Raw readings arrive in time order per series, so a full leaf page is mostly
 * split where the new key goes and its left half never receives another key: filling that half
 * completely (fillfactor 100, not 90) keeps the key smaller. A late reading landing in a full page
 * costs one extra split.
 */
export const readingsKeyIndex = (partition: string) => `${partition}_key`;
async function createReadingsKey(tx: Queryable, partition: string): Promise<void> {
  await tx.query(
    `CREATE UNIQUE INDEX ${readingsKeyIndex(partition)} ON ${partition} (series_id, reading_ms_of_day(ts))
       WITH (fillfactor = 100)`,
  );
}

export interface EnsurePartitionsOptions {
  /** A raw day already compacted: `refuse` it (throw TELEMETRY_DAY_COMPACTED, the default) or `skip` it. */
  compactedDays?: 'refuse' | 'skip';
}

/**
 * Makes sure every partition that a row of `table`, class `classId`, at a time in `[fromMs, toMs]`
 * needs exists: the class partition and each time partition. Idempotent and safe to run from
 * several instances at once. For `readings`, a day already compacted into `readings_packed` is
 * never re-created: it is refused (`TELEMETRY_DAY_COMPACTED`, an IllegalStateError) or skipped.
 *
 * @example
 * await ensurePartitions(pool, 'readings', 1, Date.now() - 3_600_000, Date.now() + 2 * 86_400_000);
 */
export async function ensurePartitions(
  pool: Pool,
  table: TimeSeriesTable,
  classId: number,
  fromMs: number,
  toMs: number,
  opts: EnsurePartitionsOptions = {},
): Promise<string[]> {
  const { key, period } = TIME_SERIES_TABLES[table];
  const parent = classPartition(table, classId);
  const wanted: { name: string; start: Date; end: Date }[] = [];
  for (let start = periodStart(period, fromMs); start.getTime() <= toMs; start = nextPeriod(period, start)) {
    wanted.push({ name: timePartition(table, classId, start), start, end: nextPeriod(period, start) });
  }
  const present = await existingTables(pool, [parent, ...wanted.map((w) => w.name)]);
  if (present.has(parent) && wanted.every((w) => present.has(w.name))) return [];
  return withTransaction(pool, async (tx) => {
    await lockPartitions(tx);
    const now = await existingTables(tx, [parent, ...wanted.map((w) => w.name)]);
    const compacted =
      table === 'readings' ? await compactedDays(tx, classId, missing(wanted, now)) : new Set<string>();
    if (compacted.size > 0 && opts.compactedDays !== 'skip') {
      const days = [...compacted].map((name) => name.slice(-8)).sort();
      throw new IllegalStateError(
        'TELEMETRY_DAY_COMPACTED',
        `raw readings of class ${classId} for ${days.join(', ')} were compacted already: readings for those days are no longer accepted`,
        { classId, days },
      );
    }
    const created: string[] = [];
    if (!now.has(parent)) {
      await tx.query(
        `CREATE TABLE ${parent} PARTITION OF ${table} FOR VALUES IN (${Number(classId)}) PARTITION BY RANGE (${key})`,
      );
      created.push(parent);
    }
    for (const w of wanted) {
      if (now.has(w.name) || compacted.has(w.name)) continue;
      await tx.query(
        `CREATE TABLE ${w.name} PARTITION OF ${parent}
           FOR VALUES FROM ('${w.start.toISOString()}') TO ('${w.end.toISOString()}')${ROLLUP_STORAGE[table] ?? ''}`,
      );
      if (table === 'readings') await createReadingsKey(tx, w.name);
      created.push(w.name);
    }
    return created;
  });
}

/**
 * The partitions ingestion needs for readings between `fromMs` and `toMs` of one class: raw, and
 * each roll-up tier.
 */
export async function ensureIngestPartitions(
  pool: Pool,
  classId: number,
  fromMs: number,
  toMs: number,
  opts: EnsurePartitionsOptions = {},
) {
  const created: string[] = [];
  for (const table of ['readings', 'rollup_1m', 'rollup_1h', 'rollup_1d'] as const) {
    created.push(...(await ensurePartitions(pool, table, classId, fromMs, toMs, opts)));
  }
  return created;
}
