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

// Clients whose connection is known to be gone: released with an error, so the pool destroys them.
const brokenClients = new WeakSet<PoolClient>();

/**
 * Runs `fn` with one client checked out of the pool, and releases it afterwards — destroying it
 * instead when its connection failed meanwhile. A checked-out client has no listener of the pool's:
 * a connection lost while it is out (database restart, killed backend) would emit an unhandled
 * 'error' and crash the process, so one is attached here; the failing query reports the error.
 *
 * @example
 * await withClient(pool, async (client) => { await client.query('BEGIN'); …; await client.query('COMMIT'); });
 */
export async function withClient<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error) => {
    lost = err;
  };
  client.on('error', onError);
  try {
    return await fn(client);
  } finally {
    client.off('error', onError);
    const broken = lost ?? (brokenClients.has(client) ? new Error('connection failed') : undefined);
    brokenClients.delete(client);
    client.release(broken);
  }
}

/**
 * Rolls back the client's transaction; when even that fails, its connection is gone and
 * {@link withClient} destroys it instead of returning it to the pool. Never throws.
 */
export async function rollbackQuietly(client: PoolClient): Promise<void> {
  await client.query('ROLLBACK').catch(() => {
    brokenClients.add(client);
  });
}

/** What code running inside {@link withTransaction} can ask of its transaction. */
export interface TransactionScope {
  /** The pool the transaction's client came from. */
  readonly pool: Pool;
  /** Runs `callback` once the transaction committed (never after a rollback). It must not throw. */
  afterCommit(callback: () => void): void;
}

const scopes = new WeakMap<PoolClient, TransactionScope>();

/**
 * The scope of the transaction `tx` runs, when it was opened by {@link withTransaction}; undefined
 * for a client whose transaction is managed by hand (or for no transaction at all).
 *
 * @example
 * const scope = transactionScope(tx);
 * if (scope) scope.afterCommit(() => worker.wake()); else await tx.query("SELECT pg_notify('x', '')");
 */
export function transactionScope(tx: PoolClient): TransactionScope | undefined {
  return scopes.get(tx);
}

/**
 * Runs `fn` in a transaction on one client: COMMIT when it resolves, ROLLBACK when it throws.
 * `begin` replaces the opening statement (for example `BEGIN READ ONLY` with `SET LOCAL`s).
 * Callbacks registered with {@link transactionScope}`(tx).afterCommit` run after the COMMIT.
 *
 * @example
 * const asset = await withTransaction(pool, async (tx) => { …; await appendToOutbox(tx, events); return asset; });
 */
export function withTransaction<T>(
  pool: Pool,
  fn: (tx: PoolClient) => Promise<T>,
  opts: { begin?: string } = {},
): Promise<T> {
  return withClient(pool, async (client) => {
    const committed: (() => void)[] = [];
    scopes.set(client, { pool, afterCommit: (callback) => committed.push(callback) });
    let result: T;
    try {
      await client.query(opts.begin ?? 'BEGIN');
      result = await fn(client);
      await client.query('COMMIT');
    } catch (err) {
      await rollbackQuietly(client);
      throw err;
    } finally {
      scopes.delete(client);
    }
    // Committed: a failing callback must not make the caller believe otherwise.
    for (const callback of committed) {
      try {
        callback();
      } catch {
        // ignored on purpose (callbacks are wake-ups)
      }
    }
    return result;
  });
}
