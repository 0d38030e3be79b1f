import { ROLLUP_COLUMNS } from '../rollups/rollup.sql.js';

/**
 * SQL for the two append-only queues of the write path, `feed_pending` and `rollup_pending`
 * (migrations 005 and 006): each write appends ONE row holding its rows as parallel arrays, one
 * array per column, named after it with an `s` (`series_id` → `series_ids`, `first_ts` →
 * `first_tss`); the reader claims whole rows, oldest first, and unnests them.
 */
export interface PendingArrays {
  table: string;
  /** The columns of the rows held, in order. */
  columns: readonly string[];
}

/** The array column holding each of `q.columns`, in the same order. */
const arraysOf = (q: PendingArrays) => q.columns.map((c) => `${c}s`);

/** Pending TelemetryAggregated windows (per series and feed window). */
export const FEED_PENDING: PendingArrays = {
  table: 'feed_pending',
  columns: [
    'series_id',
    'window_start',
    'count',
    'sum',
    'min',
    'max',
    'first_ts',
    'first',
    'last_ts',
    'last',
  ],
};

/** Pending minute roll-ups (the columns of the roll-up tiers). */
export const ROLLUP_PENDING: PendingArrays = {
  table: 'rollup_pending',
  columns: ROLLUP_COLUMNS.split(', '),
};

/** Appended rows a claim looks at, at most (it takes fewer when they hold many rows each). */
export const PENDING_ROWS_PER_CLAIM = 1000;

/**
 * Appends the rows of the query `rows` (its columns named as `q.columns`) as ONE row of arrays;
 * nothing when there are none.
 */
export const appendPending = (q: PendingArrays, rows: string) => `
  INSERT INTO ${q.table} (${arraysOf(q).join(', ')})
  SELECT ${q.columns.map((c) => `array_agg(${c})`).join(', ')}
    FROM (${rows}) g HAVING count(*) > 0`;

/** The rows held by the appended rows of `from` (the table, or a CTE of its rows), as a FROM item `u`. */
export const unnestPending = (q: PendingArrays, from: string) =>
  `${from} p, unnest(${arraysOf(q)
    .map((a) => `p.${a}`)
    .join(', ')}) AS u(${q.columns.join(', ')})`;

/**
 * The ids of the oldest appended rows holding about `limit` rows (an SQL expression): whole
 * appended rows, at least one, among the oldest {@link PENDING_ROWS_PER_CLAIM}.
 */
export const oldestPending = (q: PendingArrays, limit: string) => `
  SELECT id FROM (SELECT id, sum(n) OVER (ORDER BY id) - n AS before
                    FROM (SELECT id, cardinality(${arraysOf(q)[0]}) AS n FROM ${q.table}
                           ORDER BY id LIMIT ${PENDING_ROWS_PER_CLAIM}) c) c
   WHERE before < ${limit}`;
