import { type Logger, type Pool, withTransaction } from '@assetops/platform';
import {
  ensurePartitions,
  lockPartitions,
  rawDaysEndedBy,
  type TimePartition,
  timePartition,
} from './partitions.js';

/** What compacting one raw day partition did. */
export interface CompactedPartition {
  partition: string;
  /** Raw readings moved into packed rows. */
  readings: number;
  /** Packed rows written (one per series and hour; merged into an existing row when there was one). */
  packedRows: number;
}

// The raw day's readings become one row per series and UTC hour: millisecond offsets from the hour
// and the values, both in time order. Readings are stored with millisecond precision (the writer
// receives epoch milliseconds), so the offsets are exact.
//
// A packed row for the same hour exists only if this day was compacted before and its raw
// partition was then re-created by hand (ensurePartitions refuses to). The two are merged rather
// than lost: the union in time order, and for a timestamp present in both the packed (earlier
// stored) value wins, as the raw key would have kept the first-stored reading.
const compactSql = (leaf: string) => `
WITH packed AS (
  SELECT series_id, class_id, hour,
         array_agg((extract(epoch FROM ts - hour) * 1000)::int4 ORDER BY ts) AS offsets_ms,
         array_agg(value ORDER BY ts) AS vals
    FROM (SELECT series_id, class_id, ts, value, date_trunc('hour', ts, 'UTC') AS hour FROM ${leaf}) r
   GROUP BY series_id, class_id, hour
), ins AS (
  INSERT INTO readings_packed AS p (series_id, class_id, hour, offsets_ms, vals)
  SELECT series_id, class_id, hour, offsets_ms, vals FROM packed ORDER BY series_id, hour
  ON CONFLICT (series_id, class_id, hour) DO UPDATE SET (offsets_ms, vals) = (
    SELECT array_agg(o ORDER BY o), array_agg(v ORDER BY o)
      FROM (SELECT DISTINCT ON (o) o, v
              FROM (SELECT o, v, 0 AS rank FROM unnest(p.offsets_ms, p.vals) AS kept(o, v)
                    UNION ALL
                    SELECT o, v, 1 FROM unnest(excluded.offsets_ms, excluded.vals) AS added(o, v)) candidates
             ORDER BY o, rank) merged)
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins)::int AS packed_rows,
       (SELECT coalesce(sum(cardinality(offsets_ms)), 0) FROM packed)::int8 AS readings`;

// See retention.ts: the DROP waits this long for the class partition's lock, then the whole
// compaction of the day is rolled back and retried on the next run.
const DROP_LOCK_TIMEOUT = '2s';
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Compacts one raw day partition into `readings_packed` and drops it, in one transaction: after a
 * crash, either the raw partition is intact or the packed rows are complete and it is gone — never
 * both, never neither, so running it again is always safe. Returns undefined when the partition is
 * gone already (another instance compacted it) or stayed locked.
 */
export async function compactPartition(
  pool: Pool,
  partition: TimePartition,
  logger: Logger,
): Promise<CompactedPartition | undefined> {
  const { classId, start, name } = partition;
  // Its own transaction (the DDL lock is taken there too), before the compaction's.
  await ensurePartitions(pool, 'readings_packed', classId, start.getTime(), start.getTime());
  try {
    return await withTransaction(pool, async (tx) => {
      // Held to the end: no partition of any table is created or dropped meanwhile, in particular
      // not this raw day again (see compactedDays in partitions.ts).
      await lockPartitions(tx);
      const { rows: present } = await tx.query<{ present: boolean }>(
        'SELECT to_regclass(quote_ident($1)) IS NOT NULL AS present',
        [name],
      );
      if (!present[0]!.present) return undefined;
      // No write to the day may commit between the copy and the drop (it would be lost): SHARE
      // blocks writers of this partition only, and lets readers of the day go on.
      // The name comes from the catalog and matched the partition naming pattern.
      await tx.query(`LOCK TABLE ${name} IN SHARE MODE`);
      const { rows } = await tx.query<{ packed_rows: number; readings: number }>(compactSql(name));
      await tx.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      await tx.query(`DROP TABLE ${name}`);
      return { partition: name, readings: rows[0]!.readings, packedRows: rows[0]!.packed_rows };
    });
  } catch (err) {
    if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
    logger.warn(
      { partition: name },
      'raw partition not compacted: it stayed locked; retrying on the next run',
    );
    return undefined;
  }
}

/**
 * Compacts every raw day partition (of every class) that ended at least `compactAfterMs` ago,
 * oldest first. The configuration keeps `compactAfterMs` beyond the lateness window, so no reading
 * can still arrive for a compacted day.
 *
 * @example
 * const compacted = await compactDueReadings({ pool, logger, now: Date.now, compactAfterMs: 2 * 86_400_000 });
 */
export async function compactDueReadings(opts: {
  pool: Pool;
  logger: Logger;
  now: () => number;
  compactAfterMs: number;
}): Promise<CompactedPartition[]> {
  const due = await rawDaysEndedBy(opts.pool, opts.now() - opts.compactAfterMs);
  const compacted: CompactedPartition[] = [];
  for (const partition of due) {
    const done = await compactPartition(opts.pool, partition, opts.logger);
    if (!done) continue;
    compacted.push(done);
    opts.logger.info(
      { ...done, packedPartition: timePartition('readings_packed', partition.classId, partition.start) },
      'raw partition compacted',
    );
  }
  return compacted;
}
