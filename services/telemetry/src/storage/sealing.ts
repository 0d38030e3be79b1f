import type { Logger, Pool } from '@assetops/platform';
import { rawDaysEndedBy, readingsKeyIndex, type TimePartition } from './partitions.js';

/** What sealing one raw day partition did. */
export interface SealedPartition {
  partition: string;
  /** Size of the day's key before and after it was rebuilt, in bytes. */
  keyBytesBefore: number;
  keyBytesAfter: number;
}

// A sealed key carries this comment (with the time): the mark goes when the partition goes, and a
// key rebuilt by hand without it is simply rebuilt again once.
const SEALED = 'sealed';

/**
 * Seals one raw day partition whose lateness window is over: rebuilds its key, which packs the
 * leaf pages full (fillfactor 100). While the day took readings, page splits left them about 60–73 %
 * full (readings of many series arrive interleaved): the rebuilt key is about 20 bytes a reading
 * instead of about 29–33 (bench/storage). REINDEX CONCURRENTLY: writes and queries go on meanwhile,
 * and the key keeps refusing re-sent readings throughout. A rebuild that failed half-way leaves an
 * invalid `…_ccnew` index, which is dropped before the next attempt.
 */
export async function sealPartition(
  pool: Pool,
  partition: TimePartition,
): Promise<SealedPartition | undefined> {
  const key = readingsKeyIndex(partition.name);
  const { rows } = await pool.query<{ bytes: string; sealed: boolean; leftovers: string[] }>(
    `SELECT pg_relation_size(k.oid)::int8 AS bytes,
            coalesce(obj_description(k.oid, 'pg_class') LIKE '${SEALED} %', false) AS sealed,
            ARRAY(SELECT i.indexrelid::regclass::text FROM pg_index i
                   WHERE i.indrelid = k_index.indrelid AND NOT i.indisvalid) AS leftovers
       FROM pg_class k JOIN pg_index k_index ON k_index.indexrelid = k.oid
      WHERE k.oid = to_regclass(quote_ident($1))`,
    [key],
  );
  const found = rows[0];
  if (!found || found.sealed) return undefined;
  // Names from the catalog (leftovers) or built from a partition name matching the naming pattern.
  for (const leftover of found.leftovers) await pool.query(`DROP INDEX CONCURRENTLY IF EXISTS ${leftover}`);
  await pool.query(`REINDEX INDEX CONCURRENTLY ${key}`);
  await pool.query(`COMMENT ON INDEX ${key} IS '${SEALED} ${new Date().toISOString()}'`);
  const { rows: after } = await pool.query<{ bytes: string }>(
    'SELECT pg_relation_size(to_regclass(quote_ident($1)))::int8 AS bytes',
    [key],
  );
  return {
    partition: partition.name,
    keyBytesBefore: Number(found.bytes),
    keyBytesAfter: Number(after[0]!.bytes),
  };
}

/**
 * Seals every raw day partition (of every class) whose day ended at least `latenessMs` ago — no
 * reading can arrive for it any more (later ones are refused as too late) — and that is not sealed
 * yet, oldest first. Run after compaction, so a day about to be packed is not rebuilt first.
 *
 * @example
 * const sealed = await sealClosedDays({ pool, logger, now: Date.now, latenessMs: 3_600_000 });
 */
export async function sealClosedDays(opts: {
  pool: Pool;
  logger: Logger;
  now: () => number;
  latenessMs: number;
}): Promise<SealedPartition[]> {
  const due = await rawDaysEndedBy(opts.pool, opts.now() - opts.latenessMs);
  const sealed: SealedPartition[] = [];
  for (const partition of due) {
    const done = await sealPartition(opts.pool, partition);
    if (!done) continue;
    sealed.push(done);
    opts.logger.info(done, 'raw partition sealed (its key rebuilt packed)');
  }
  return sealed;
}
