import { LeaderLoop, type Logger, type Pool } from '@assetops/platform';
import { ensureIngestPartitions, type RetentionClasses } from './partitions.js';

export interface StorageMaintenanceOptions {
  pool: Pool;
  logger: Logger;
  classes: RetentionClasses;
  latenessMs: number;
  partitionsAheadDays: number;
  intervalMs: number;
  now?: () => number;
}

/**
 * The storage chores, run by one instance per database every `intervalMs`: partitions created
 * ahead for every class in use (from the start of the lateness window to `partitionsAheadDays`
 * ahead), so that ingestion never waits for DDL.
 */
export function createStorageMaintenance(opts: StorageMaintenanceOptions) {
  const now = opts.now ?? Date.now;
  const runOnce = async () => {
    const t = now();
    const created: string[] = [];
    const classes = new Set([opts.classes.defaultClass, ...opts.classes.byType.values()]);
    for (const classId of classes) {
      created.push(
        ...(await ensureIngestPartitions(
          opts.pool,
          classId,
          t - opts.latenessMs,
          t + opts.partitionsAheadDays * 86_400_000,
        )),
      );
    }
    if (created.length > 0) opts.logger.info({ created }, 'partitions created');
    return { created };
  };
  const loop = new LeaderLoop({
    name: 'telemetry-storage',
    pool: opts.pool,
    lockName: 'assetops.telemetry.storage',
    channel: 'assetops_telemetry_storage',
    pollIntervalMs: opts.intervalMs,
    standbyRetryMs: 30_000,
    errorBackoff: { baseMs: 1000, maxMs: 60_000 },
    logger: opts.logger,
    work: async () => {
      await runOnce();
      return { more: false };
    },
  });
  return {
    start: () => loop.start(),
    stop: () => loop.stop(),
    /** Runs every chore now (tests, and once at start-up). */
    run: () => loop.runExclusive(runOnce),
  };
}
