import { LeaderLoop, type Logger, type Pool } from '@assetops/platform';
import { telemetryConfigSpec } from '../telemetry.config.js';
import { compactDueReadings } from './compaction.js';
import { ensureIngestPartitions, type RetentionClasses } from './partitions.js';
import { enforceRetention } from './retention.js';
import { sealClosedDays } from './sealing.js';

export interface StorageMaintenanceOptions {
  pool: Pool;
  logger: Logger;
  classes: RetentionClasses;
  latenessMs: number;
  partitionsAheadDays: number;
  intervalMs: number;
  /**
   * Raw day partitions that ended this long ago are compacted (TELEMETRY_COMPACT_AFTER); by default
   * its default, or the lateness window if that is longer.
   */
  compactAfterMs?: number;
  now?: () => number;
}

/** What one run of the chores did: partitions created, dropped (retention), compacted, sealed. */
export interface StorageMaintenanceRun {
  created: string[];
  dropped: string[];
  compacted: string[];
  sealed: string[];
}

/**
 * The storage chores, run by one instance per database every `intervalMs`, in this order:
 * 1. partitions created ahead for every class in use (from the start of the lateness window to
 *    `partitionsAheadDays` ahead), so that ingestion never waits for DDL;
 * 2. retention: partitions past their class's retention for their tier dropped (retention.ts);
 * 3. compaction: raw days older than `compactAfterMs` packed, their raw partitions dropped
 *    (compaction.ts) — after retention, so no day is compacted only to be dropped;
 * 4. sealing: the key of each raw day whose lateness window is over rebuilt packed, once
 *    (sealing.ts) — after compaction, so no day is rebuilt only to be packed.
 */
export function createStorageMaintenance(opts: StorageMaintenanceOptions) {
  const now = opts.now ?? Date.now;
  // Without a setting, the default age — but never inside the lateness window, where readings may
  // still arrive for the day (ensurePartitions would then refuse them as compacted).
  const compactAfterMs =
    opts.compactAfterMs ?? Math.max(telemetryConfigSpec.TELEMETRY_COMPACT_AFTER.default!, opts.latenessMs);
  const createPartitions = async (t: number): Promise<string[]> => {
    const created: string[] = [];
    const classes = new Set([opts.classes.defaultClass, ...opts.classes.byType.values()]);
    for (const classId of classes) {
      created.push(
        ...(await ensureIngestPartitions(
          opts.pool,
          classId,
          t - opts.latenessMs,
          t + opts.partitionsAheadDays * 86_400_000,
          // After the lateness window was raised, it may reach back into compacted days.
          { compactedDays: 'skip' },
        )),
      );
    }
    if (created.length > 0) opts.logger.info({ created }, 'partitions created');
    return created;
  };
  const runOnce = async (): Promise<StorageMaintenanceRun> => {
    const t = now();
    const created = await createPartitions(t);
    // One instant for the whole run, so the three chores agree on what is due.
    const at = () => t;
    const dropped = await enforceRetention({ pool: opts.pool, logger: opts.logger, now: at });
    const compacted = await compactDueReadings({
      pool: opts.pool,
      logger: opts.logger,
      now: at,
      compactAfterMs,
    });
    const sealed = await sealClosedDays({
      pool: opts.pool,
      logger: opts.logger,
      now: at,
      latenessMs: opts.latenessMs,
    });
    return {
      created,
      dropped,
      compacted: compacted.map((c) => c.partition),
      sealed: sealed.map((s) => s.partition),
    };
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
    /** Runs every chore now (tests), never beside the loop's own run. */
    run: (): Promise<StorageMaintenanceRun> => loop.runExclusive(runOnce),
    /**
     * Creates the partitions ingestion needs now (start-up: quick). Retention and compaction, which
     * may take a while after downtime, run in the background loop.
     */
    prepare: (): Promise<string[]> => loop.runExclusive(() => createPartitions(now())),
  };
}
