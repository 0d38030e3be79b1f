import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import { type Pool, withClient } from './pool.js';

/**
 * When a service vacuums its own tables: `auto` — only while the server's autovacuum is off (it is
 * on by default; some managed or hand-tuned servers turn it off); `on` — always; `off` — never.
 */
export type SelfVacuumMode = 'auto' | 'on' | 'off';

export const SELF_VACUUM_MODES: readonly SelfVacuumMode[] = ['auto', 'on', 'off'];

export interface SelfVacuumOptions {
  pool: Pool;
  logger: Logger;
  mode?: SelfVacuumMode;
  /** Default 10 s. */
  intervalMs?: number;
  /** A table is vacuumed once it holds this many dead rows… (default 5,000) */
  minDeadRows?: number;
  /** …and dead rows are at least this share of its live ones (default 0.02: queue tables keep many live rows). */
  deadShare?: number;
  /** Tables vacuumed per pass at most, the most bloated first (default 4). */
  tablesPerPass?: number;
  metrics?: Registry;
}

export interface VacuumPass {
  /** Why nothing was done: autovacuum is on (mode auto), or another instance holds the pass. */
  skipped?: 'autovacuum-on' | 'busy';
  vacuumed: string[];
}

/**
 * Keeps a service's high-churn tables (inbox, outbox, pending roll-ups, the dashboard's journal and
 * views) from bloating when nothing else vacuums them. Each of those tables turns over its rows
 * continuously; with autovacuum off, dead rows pile up and every scan of their indexes visits them —
 * on the test machine the dashboard's PostgreSQL CPU per event grew 40% within two minutes of ingest
 * and its projection fell behind. A pass reads `pg_stat_user_tables` and runs `VACUUM (ANALYZE)` on the
 * few tables past the thresholds; one instance per database at a time (a try-lock), on one pooled
 * connection for the pass. Failures are logged and retried on the next pass, never thrown.
 *
 * @example
 * const vacuum = startSelfVacuum({ pool, logger, mode: 'auto' });
 * …; vacuum.stop();
 */
export function startSelfVacuum(opts: SelfVacuumOptions): { stop(): void; pass(): Promise<VacuumPass> } {
  const mode = opts.mode ?? 'auto';
  const counter = opts.metrics
    ? ((opts.metrics.getSingleMetric('assetops_db_self_vacuums_total') as Counter | undefined) ??
      new Counter({
        name: 'assetops_db_self_vacuums_total',
        help: 'VACUUM (ANALYZE) runs the service did on its own tables (autovacuum off)',
        registers: [opts.metrics],
      }))
    : undefined;
  const pass = () => vacuumPass(opts.pool, { ...opts, mode });
  let running = false;
  let warned = false;
  const timer =
    mode === 'off'
      ? undefined
      : setInterval(() => {
          if (running) return;
          running = true;
          pass()
            .then((result) => {
              warned = false;
              counter?.inc(result.vacuumed.length);
              if (result.vacuumed.length > 0)
                opts.logger.debug({ tables: result.vacuumed }, 'tables vacuumed');
            })
            .catch((err) => {
              if (!warned) opts.logger.warn({ err }, 'self-vacuum pass failed; retrying on the next');
              warned = true;
            })
            .finally(() => {
              running = false;
            });
        }, opts.intervalMs ?? 10_000);
  timer?.unref();
  return {
    stop: () => {
      if (timer) clearInterval(timer);
    },
    pass,
  };
}

/** One pass; see {@link startSelfVacuum}. */
export async function vacuumPass(
  pool: Pool,
  opts: Pick<SelfVacuumOptions, 'mode' | 'minDeadRows' | 'deadShare' | 'tablesPerPass'>,
): Promise<VacuumPass> {
  return withClient(pool, async (client) => {
    if ((opts.mode ?? 'auto') === 'auto') {
      const { rows } = await client.query<{ autovacuum: string }>('SHOW autovacuum');
      if (rows[0]?.autovacuum === 'on') return { skipped: 'autovacuum-on', vacuumed: [] };
    }
    const { rows: lock } = await client.query<{ got: boolean }>(
      `SELECT pg_try_advisory_lock(hashtext('assetops.self-vacuum')) AS got`,
    );
    if (!lock[0]?.got) return { skipped: 'busy', vacuumed: [] };
    try {
      const { rows } = await client.query<{ name: string }>(
        `SELECT format('%I.%I', schemaname, relname) AS name
           FROM pg_stat_user_tables
          WHERE n_dead_tup >= $1::bigint AND n_dead_tup >= $2::float8 * n_live_tup
          ORDER BY n_dead_tup DESC
          LIMIT $3`,
        [opts.minDeadRows ?? 5_000, opts.deadShare ?? 0.02, opts.tablesPerPass ?? 4],
      );
      const vacuumed: string[] = [];
      for (const { name } of rows) {
        // `name` comes from format('%I.%I'): quoted identifiers, safe to splice.
        await client.query(`VACUUM (ANALYZE) ${name}`);
        vacuumed.push(name);
      }
      return { vacuumed };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(hashtext('assetops.self-vacuum'))`);
    }
  });
}
