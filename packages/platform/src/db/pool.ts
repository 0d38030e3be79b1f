import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

// int8 (bigint) columns come back as strings by default; outbox positions and counts fit in a
// JS number for centuries at any plausible rate, so parse them as numbers everywhere.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

/**
 * Creates a connection pool for one service's database.
 *
 * @example
 * const pool = createPool({ connectionString: config.DATABASE_URL, applicationName: 'asset' });
 */
export function createPool(opts: { connectionString: string; applicationName: string; max?: number }): Pool {
  const pool = new pg.Pool({
    connectionString: opts.connectionString,
    application_name: opts.applicationName,
    max: opts.max ?? 10,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // An idle client losing its connection (database restart) emits on the pool; without a listener
  // that would crash the process. The next query reconnects.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `fn` in a transaction on one client: COMMIT when it resolves, ROLLBACK when it throws.
 *
 * @example
 * const asset = await withTransaction(pool, async (tx) => { …; await appendToOutbox(tx, events); return asset; });
 */
export async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // A failed ROLLBACK means the connection itself is gone: destroy it instead of pooling it.
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
