import { type Logger, type Pool, withTransaction } from '@assetops/platform';
import type { Retention, Tier } from '../telemetry.config.js';
import {
  listTimePartitions,
  lockPartitions,
  type TimePartition,
  type TimeSeriesTable,
} from './partitions.js';

/** Which retention tier governs each table: packed rows are raw readings, only stored differently. */
export const TIER_OF_TABLE: Record<TimeSeriesTable, Tier> = {
  readings: 'raw',
  readings_packed: 'raw',
  rollup_1m: '1m',
  rollup_1h: '1h',
  rollup_1d: '1d',
};

/**
 * The partitions past retention at `nowMs`: those whose whole range (up to their end) is older
 * than now − the retention of their class and tier. A partition of a class with no retention
 * recorded is kept.
 */
export function partitionsPastRetention(
  partitions: readonly TimePartition[],
  retentionOf: ReadonlyMap<number, Retention>,
  nowMs: number,
): TimePartition[] {
  return partitions.filter((p) => {
    const retention = retentionOf.get(p.classId);
    return retention !== undefined && p.end.getTime() <= nowMs - retention[TIER_OF_TABLE[p.table]];
  });
}

/** Every recorded retention class, read afresh (another instance may have added one since start). */
export async function loadRetentions(pool: Pool): Promise<Map<number, Retention>> {
  const { rows } = await pool.query<{
    class_id: number;
    raw_ms: number;
    m1_ms: number;
    h1_ms: number;
    d1_ms: number;
  }>('SELECT class_id, raw_ms, m1_ms, h1_ms, d1_ms FROM retention_classes');
  return new Map(
    rows.map((r) => [r.class_id, { raw: r.raw_ms, '1m': r.m1_ms, '1h': r.h1_ms, '1d': r.d1_ms }]),
  );
}

// Dropping a partition takes an ACCESS EXCLUSIVE lock on its class partition, which queues every
// write of that class behind it: wait a little for running statements, then give up until the next
// run rather than stall ingestion.
const DROP_LOCK_TIMEOUT = '2s';
const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Drops one partition (with its indexes and TOAST) under the partition DDL lock. Returns false when
 * it could not get its lock in time (it is retried on the next run) or is gone already.
 */
export async function dropPartition(pool: Pool, name: string, logger: Logger): Promise<boolean> {
  try {
    return await withTransaction(pool, async (tx) => {
      await lockPartitions(tx);
      const { rows } = await tx.query<{ present: boolean }>(
        'SELECT to_regclass(quote_ident($1)) IS NOT NULL AS present',
        [name],
      );
      if (!rows[0]!.present) return false;
      await tx.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
      // The name comes from the catalog and matched the partition naming pattern (letters, digits, _).
      await tx.query(`DROP TABLE ${name}`);
      return true;
    });
  } catch (err) {
    if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
    logger.warn({ partition: name }, 'partition not dropped: it stayed locked; retrying on the next run');
    return false;
  }
}

/**
 * Enforces retention by dropping whole time partitions — never by deleting rows — for every class
 * and tier: raw readings and packed rows under the raw retention, each roll-up table under its own.
 * Returns the names of the partitions dropped.
 *
 * @example
 * const dropped = await enforceRetention({ pool, logger, now: Date.now });
 */
export async function enforceRetention(opts: {
  pool: Pool;
  logger: Logger;
  now: () => number;
}): Promise<string[]> {
  const nowMs = opts.now();
  const retentions = await loadRetentions(opts.pool);
  const dropped: string[] = [];
  for (const table of Object.keys(TIER_OF_TABLE) as TimeSeriesTable[]) {
    const expired = partitionsPastRetention(await listTimePartitions(opts.pool, table), retentions, nowMs);
    for (const partition of expired) {
      if (await dropPartition(opts.pool, partition.name, opts.logger)) dropped.push(partition.name);
    }
  }
  if (dropped.length > 0) opts.logger.info({ dropped }, 'partitions past retention dropped');
  return dropped;
}
