/**
 * What the Alert service's database connections are doing, sampled from pg_stat_activity: a
 * backend `active` runs a statement (PostgreSQL's time), one `idle in transaction` waits for the
 * service (Node's time, between two statements of a transaction: the inbox round evaluating its
 * events one query at a time). Averaged over the samples: how many backends are in each state, on
 * which statement (for idle in transaction, the one it last ran).
 */
import type { Pool } from '@assetops/platform';
import { round } from '../common/stats.js';

interface Sample {
  label: string;
}

function labelOf(state: string, query: string): string {
  const text = query.replace(/\s+/g, ' ').trim();
  const cte = /^WITH (\w+) AS (?:MATERIALIZED )?\( ?(\w+ \w+ \w+)/i.exec(text);
  return `${state}: ${cte ? `WITH ${cte[1]} … (${cte[2]})` : text.slice(0, 70)}`;
}

export class BackendStateSampler {
  private samples: Sample[] = [];
  private ticks = 0;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  /** `db`: a superuser connection to any database of the server; `database`: the one to watch. */
  constructor(
    private readonly db: Pool,
    private readonly database: string,
    private readonly intervalMs = 25,
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
      const { rows } = await this.db.query<{ state: string; query: string; app: string }>(
        `SELECT state, query, application_name AS app FROM pg_stat_activity
          WHERE datname = $1 AND pid <> pg_backend_pid() AND state IS NOT NULL AND state <> 'idle'
            AND application_name NOT LIKE 'bench-%'`,
        [this.database],
      );
      this.ticks++;
      for (const r of rows) this.samples.push({ label: `[${r.app}] ${labelOf(r.state, r.query)}` });
    } catch {
      // a lost sample is no matter
    } finally {
      this.busy = false;
    }
  }

  /** Per (connection, state, statement): the average number of backends in it, and the share of samples. */
  stop(): { what: string; backends: number; share: string }[] {
    clearInterval(this.timer);
    const counts = new Map<string, number>();
    for (const s of this.samples) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
    const total = this.samples.length;
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([what, n]) => ({
        what,
        backends: round(n / Math.max(1, this.ticks), 2),
        share: `${round((n / Math.max(1, total)) * 100, 1)} %`,
      }));
  }
}
