import {
  type Clock,
  LeaderLoop,
  type Logger,
  type MetricsRegistry,
  type Pool,
  prometheus,
  withTransaction,
} from '@assetops/platform';

/**
 * Trimming the journal that rebuilds replay.
 *
 * Every telemetry window is journaled (about one per asset and second), but a replay only needs the
 * newest window of each asset and set of metrics (the key, `compact_key`): the latest value keeps
 * the newest reading, and the asset's last-seen and updated times are maxima that the newest window
 * already reaches. Every reading of a window is older than the window's end, so older than every
 * reading of a later window (`compact_ts` is the window's start). So a keyed row with a row of its
 * key for a later window is superseded, and deleting it leaves the rebuilt read model unchanged.
 * The rows of a key's newest window all stay (one may hold a later reading of a metric than
 * another), and so does every other event.
 *
 * A pass examines the journal rows appended since the last pass, in position order and at most
 * `batchSize` of them, and deletes (at most `batchSize`) the rows of their keys older than each
 * key's newest; a row is superseded only by a row of its key, and each superseding row is examined
 * once it is appended, so every superseded row goes. Trimming during a rebuild is safe too: a row
 * is deleted only while the row that supersedes it is in the journal, so the replay applies that one
 * (it has either been replayed already or lies ahead of the replay).
 */
export interface TrimPass {
  /** Journal rows examined. */
  examined: number;
  /** Superseded rows deleted. */
  trimmed: number;
  /** Every row up to this position has been examined. */
  examinedThrough: number;
  /** Nothing was left to examine after this pass. */
  caughtUp: boolean;
}

/** Runs one bounded trimming pass; see above. */
export async function trimJournal(pool: Pool, opts: { batchSize: number; now: Date }): Promise<TrimPass> {
  const { batchSize } = opts;
  // The horizon: rows are appended by transactions that may commit out of position order, and a
  // pass must not move past a position whose row commits later. The SHARE lock waits for the
  // journal's writers in flight (the consumer's round) and holds new ones only for this read.
  const horizon = await withTransaction(pool, async (tx) => {
    await tx.query('LOCK TABLE journal IN SHARE MODE');
    const { rows } = await tx.query<{ position: string }>(
      'SELECT coalesce(max(position), 0) AS position FROM journal',
    );
    return Number(rows[0]!.position);
  });
  return withTransaction(pool, async (tx) => {
    const { rows: state } = await tx.query<{ examined_through: string }>(
      'SELECT examined_through FROM journal_trim FOR UPDATE',
    );
    const from = Number(state[0]!.examined_through);
    // The chunk must walk the primary key and stop after a batch. Without statistics (a young
    // table) the planner would rather collect and sort every row after the cursor: sorts and bitmap
    // scans are ruled out for this statement alone.
    await tx.query('SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
    const { rows: chunk } = await tx.query<{ examined: number; last: string | null }>(
      `SELECT count(*)::int AS examined, max(position) AS last
         FROM (SELECT position FROM journal WHERE position > $1 AND position <= $2
                ORDER BY position LIMIT $3) c`,
      [from, horizon, batchSize],
    );
    await tx.query('SET LOCAL enable_sort TO DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT');
    const examined = chunk[0]!.examined;
    // A short chunk examined everything up to the horizon.
    const through = examined < batchSize ? Math.max(from, horizon) : Number(chunk[0]!.last);
    // Per key of the chunk, every row older than the newest (the key's first in journal_newest_idx
    // order). The LIMITs inside the lateral subqueries keep them per-key index lookups, never a join
    // over the whole journal.
    const deleted =
      examined === 0
        ? { rowCount: 0 }
        : await tx.query(
            `WITH keys AS MATERIALIZED (
               SELECT DISTINCT compact_key FROM journal
                WHERE position > $1 AND position <= $2 AND compact_key IS NOT NULL),
             superseded AS (
               SELECT s.position
                 FROM keys k
                CROSS JOIN LATERAL (
                  SELECT j.compact_ts AS newest FROM journal j WHERE j.compact_key = k.compact_key
                   ORDER BY j.compact_ts DESC LIMIT 1) n
                CROSS JOIN LATERAL (
                  SELECT j.position FROM journal j
                   WHERE j.compact_key = k.compact_key AND j.compact_ts < n.newest
                   ORDER BY j.compact_ts DESC, j.position LIMIT $3) s
                LIMIT $3)
             DELETE FROM journal j USING superseded s WHERE j.position = s.position`,
            [from, through, batchSize],
          );
    const trimmed = deleted.rowCount ?? 0;
    // At the deletion bound, the same rows are examined again next time (what is left of them).
    const examinedThrough = trimmed < batchSize ? through : from;
    await tx.query(
      'UPDATE journal_trim SET examined_through = $1, trimmed_total = trimmed_total + $2, trimmed_at = $3',
      [examinedThrough, trimmed, opts.now],
    );
    return { examined, trimmed, examinedThrough, caughtUp: examinedThrough >= horizon };
  });
}

export interface JournalTrimmerOptions {
  pool: Pool;
  logger: Logger;
  clock: Clock;
  metrics: MetricsRegistry;
  /** Pause after a pass that caught up. */
  intervalMs: number;
  /** Journal rows examined (and at most deleted) per pass. */
  batchSize: number;
}

/**
 * Trims the journal on one instance per database (a leader loop): a pass, at once another while
 * passes come back full, else one per interval. Exports `assetops_dashboard_journal_trimmed_total`
 * and `assetops_dashboard_journal_rows` (counted when a pass caught up).
 *
 * @example
 * const trimmer = new JournalTrimmer({ pool, logger, clock, metrics, intervalMs: 10_000, batchSize: 5_000 });
 * trimmer.start();
 */
export class JournalTrimmer {
  private readonly loop: LeaderLoop;
  private readonly trimmedTotal: prometheus.Counter;
  private readonly journalRows: prometheus.Gauge;

  constructor(private readonly opts: JournalTrimmerOptions) {
    this.trimmedTotal = new prometheus.Counter({
      name: 'assetops_dashboard_journal_trimmed_total',
      help: 'Superseded telemetry windows deleted from the dashboard journal',
      registers: [opts.metrics],
    });
    this.journalRows = new prometheus.Gauge({
      name: 'assetops_dashboard_journal_rows',
      help: 'Rows in the dashboard journal (the events a rebuild replays), counted when trimming caught up',
      registers: [opts.metrics],
    });
    this.loop = new LeaderLoop({
      name: 'dashboard-journal-trim',
      pool: opts.pool,
      lockName: 'assetops.dashboard.journal-trim',
      // Nothing notifies it: the interval paces it.
      channel: 'assetops_dashboard_journal_trim',
      pollIntervalMs: opts.intervalMs,
      standbyRetryMs: Math.min(opts.intervalMs, 30_000),
      errorBackoff: { baseMs: 1_000, maxMs: 60_000 },
      logger: opts.logger,
      work: async () => ({ more: !(await this.pass()).caughtUp }),
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** Trims until caught up (after any pass in flight). Returns the rows deleted. */
  async trimNow(): Promise<number> {
    let trimmed = 0;
    for (;;) {
      const pass = await this.loop.runExclusive(() => this.pass());
      trimmed += pass.trimmed;
      if (pass.caughtUp) return trimmed;
    }
  }

  private async pass(): Promise<TrimPass> {
    const { pool, clock, batchSize, logger } = this.opts;
    const pass = await trimJournal(pool, { batchSize, now: clock.now() });
    this.trimmedTotal.inc(pass.trimmed);
    if (pass.caughtUp) {
      const { rows } = await pool.query<{ rows: number }>('SELECT count(*)::int AS rows FROM journal');
      this.journalRows.set(rows[0]!.rows);
    }
    if (pass.trimmed > 0) logger.debug({ ...pass }, 'dashboard journal trimmed');
    return pass;
  }
}
