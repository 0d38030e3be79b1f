import type { DashboardSort } from '@assetops/contracts';

/**
 * How each sort orders the assets (`a`) and which rows come after the cursor's asset (`c`): a
 * keyset over the sort key with the asset id as the tie-breaker. Constant SQL fragments chosen by
 * a validated enum — never text from the request.
 */
export interface SortSql {
  orderBy: string;
  after: string;
}

export const sortSql: Readonly<Record<DashboardSort, SortSql>> = {
  name: {
    orderBy: 'lower(a.name), a.asset_id',
    after: '(lower(a.name), a.asset_id) > (lower(c.name), c.asset_id)',
  },
  '-name': {
    orderBy: 'lower(a.name) DESC, a.asset_id DESC',
    after: '(lower(a.name), a.asset_id) < (lower(c.name), c.asset_id)',
  },
  // Never-seen assets sort as the oldest: first ascending, last descending.
  lastSeen: {
    orderBy: "coalesce(a.last_seen_at, '-infinity'), a.asset_id",
    after:
      "(coalesce(a.last_seen_at, '-infinity'), a.asset_id) > (coalesce(c.last_seen_at, '-infinity'), c.asset_id)",
  },
  '-lastSeen': {
    orderBy: "coalesce(a.last_seen_at, '-infinity') DESC, a.asset_id DESC",
    after:
      "(coalesce(a.last_seen_at, '-infinity'), a.asset_id) < (coalesce(c.last_seen_at, '-infinity'), c.asset_id)",
  },
  alerts: {
    orderBy: 'a.alert_score, a.asset_id',
    after: '(a.alert_score, a.asset_id) > (c.alert_score, c.asset_id)',
  },
  '-alerts': {
    orderBy: 'a.alert_score DESC, a.asset_id DESC',
    after: '(a.alert_score, a.asset_id) < (c.alert_score, c.asset_id)',
  },
  status: {
    orderBy: 'a.status, lower(a.name), a.asset_id',
    after: '(a.status, lower(a.name), a.asset_id) > (c.status, lower(c.name), c.asset_id)',
  },
};

/** `q` as an ILIKE pattern matching it anywhere, its wildcards taken literally. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}
