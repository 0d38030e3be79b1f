/**
 * A poor man's database profiler for the benchmarks: samples pg_stat_activity of the benchmark's
 * databases (what each backend is running, and what it waits for), and counts the rows each table
 * gained (pg_stat_user_tables) over a phase — which statements take the database's time, and how
 * many rows of what kind one reading costs.
 */
import type { Pool } from '@assetops/platform';
import { round } from './stats.js';

interface Sample {
  label: string;
  wait: string;
  /** For a lock wait: the statement (and state) of the transaction holding the lock. */
  blocker?: string;
}

/** A short name for a statement: its first words, whitespace folded (statements are known by their start). */
function labelOf(query: string): string {
  const text = query.replace(/\s+/g, ' ').trim();
  const cte = /^WITH (\w+) AS \( ?(\w+ \w+ \w+)/i.exec(text);
  if (cte) return `WITH ${cte[1]} … (${cte[2]})`;
  return text.slice(0, 60);
}

export class PgActivitySampler {
  private samples: Sample[] = [];
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  /** `db`: any connection to the server (pg_stat_activity shows every database's backends to a superuser). */
  constructor(
    private readonly db: Pool,
    private readonly databasePrefix: string,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.samples = [];
    this.ticks = 0;
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.db.query<{
        datname: string;
        query: string;
        wait: string | null;
        blocker: string | null;
        blocker_state: string | null;
      }>(
        `SELECT a.datname, a.query, a.wait_event_type || ':' || a.wait_event AS wait, b.query AS blocker, b.state AS blocker_state
           FROM pg_stat_activity a
           LEFT JOIN LATERAL (
             SELECT query, state FROM pg_stat_activity
              WHERE a.wait_event_type = 'Lock' AND pid = ANY(pg_blocking_pids(a.pid)) LIMIT 1
           ) b ON true
          WHERE a.state = 'active' AND a.datname LIKE $1 AND a.pid <> pg_backend_pid()`,
        [`${this.databasePrefix}%`],
      );
      this.ticks++;
      for (const r of rows) {
        const db = r.datname.slice(this.databasePrefix.length + 1);
        this.samples.push({
          label: `${db}: ${labelOf(r.query)}`,
          wait: r.wait ?? 'CPU',
          ...(r.blocker === null ? {} : { blocker: `${labelOf(r.blocker)} [${r.blocker_state}]` }),
        });
      }
    } catch {
      // a sample lost is no matter
    } finally {
      this.busy = false;
    }
  }

  /**
   * Stops and returns, per statement, the average number of backends running it (1.0 = one
   * backend busy with it all the time), its top wait events, and what most often held the lock it
   * waited for (statement and state of the holding backend: `idle in transaction` = the holder's
   * transaction was waiting for its client).
   */
  stop(): { statement: string; activeBackends: number; share: string; waits: string; lockHolders: string }[] {
    clearInterval(this.timer);
    const total = this.samples.length;
    const byLabel = new Map<string, Sample[]>();
    for (const s of this.samples) {
      const list = byLabel.get(s.label) ?? [];
      list.push(s);
      byLabel.set(s.label, list);
    }
    return [...byLabel.entries()]
      .sort((a, b) => b[1].length - a[1].length)
      .slice(0, 12)
      .map(([statement, list]) => {
        const waits = new Map<string, number>();
        for (const s of list) waits.set(s.wait, (waits.get(s.wait) ?? 0) + 1);
        const blockers = new Map<string, number>();
        for (const s of list) if (s.blocker) blockers.set(s.blocker, (blockers.get(s.blocker) ?? 0) + 1);
        const blockerTotal = [...blockers.values()].reduce((a, b) => a + b, 0);
        const topBlockers = [...blockers.entries()]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 2)
          .map(([holder, n]) => `${holder} ${Math.round((n / blockerTotal) * 100)}%`)
          .join('; ');
        return {
          statement,
          activeBackends: round(list.length / Math.max(1, this.ticks), 2),
          share: `${round((list.length / Math.max(1, total)) * 100, 1)} %`,
          waits: [...waits.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([wait, n]) => `${wait} ${Math.round((n / list.length) * 100)}%`)
            .join(', '),
          lockHolders: topBlockers,
        };
      });
  }
}

/** Rows inserted / updated / deleted per table of one database since `snapshot()`. */
export class TableWrites {
  private before = new Map<string, { ins: number; upd: number; hot: number; del: number }>();

  constructor(private readonly db: Pool) {}

  private async read() {
    // Partitions are folded into their top-level table (readings_c1_p20261128 → readings).
    const { rows } = await this.db.query<{
      relname: string;
      ins: number;
      upd: number;
      hot: number;
      del: number;
    }>(
      `SELECT relname, n_tup_ins::int8 AS ins, n_tup_upd::int8 AS upd, n_tup_hot_upd::int8 AS hot, n_tup_del::int8 AS del
         FROM pg_stat_user_tables`,
    );
    const out = new Map<string, { ins: number; upd: number; hot: number; del: number }>();
    for (const r of rows) {
      const table = r.relname.replace(/_c\d+(_p\d+)?$/, '');
      const t = out.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      t.ins += Number(r.ins);
      t.upd += Number(r.upd);
      t.hot += Number(r.hot);
      t.del += Number(r.del);
      out.set(table, t);
    }
    return out;
  }

  async snapshot(): Promise<void> {
    // Statistics are sent by backends at the end of transactions (and at most every 1 s).
    await this.db.query('SELECT pg_stat_clear_snapshot()');
    this.before = await this.read();
  }

  /** Rows written per table since the snapshot, in all and per 1,000 `readings` stored. */
  async since(readings: number): Promise<Record<string, string | number>[]> {
    await this.db.query('SELECT pg_stat_clear_snapshot()');
    const now = await this.read();
    const out: Record<string, string | number>[] = [];
    for (const [table, t] of now) {
      const b = this.before.get(table) ?? { ins: 0, upd: 0, hot: 0, del: 0 };
      const ins = t.ins - b.ins;
      const upd = t.upd - b.upd;
      const hot = t.hot - b.hot;
      const del = t.del - b.del;
      if (ins + upd + del === 0) continue;
      out.push({
        table,
        inserted: ins,
        updated: upd,
        'HOT updates': upd > 0 ? `${Math.round((hot / upd) * 100)} %` : '',
        deleted: del,
        'rows written per 1,000 readings': round(((ins + upd + del) / Math.max(1, readings)) * 1000, 1),
      });
    }
    return out.sort(
      (a, b) =>
        (b.inserted as number) + (b.updated as number) - ((a.inserted as number) + (a.updated as number)),
    );
  }
}
