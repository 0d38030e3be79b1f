import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, createMetricsRegistry, startSelfVacuum, vacuumPass } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testkit/index.js';

describe('self-vacuum of high-churn tables', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('selfvacuum');
    await db.pool.query('CREATE TABLE churn (id int PRIMARY KEY, n int NOT NULL)');
    await db.pool.query('CREATE TABLE calm (id int PRIMARY KEY, n int NOT NULL)');
    await db.pool.query('INSERT INTO churn SELECT g, 0 FROM generate_series(1, 20000) g');
    await db.pool.query('INSERT INTO calm SELECT g, 0 FROM generate_series(1, 20000) g');
  });
  afterAll(() => db?.drop());

  async function deadRows(table: string): Promise<number> {
    // The statistics reach the shared view when a backend flushes them: force it for this one.
    await db.pool.query('SELECT pg_stat_force_next_flush()');
    const { rows } = await db.pool.query<{ dead: string }>(
      'SELECT n_dead_tup AS dead FROM pg_stat_user_tables WHERE relname = $1',
      [table],
    );
    return Number(rows[0]?.dead ?? 0);
  }

  it('vacuums the tables past the thresholds, and only those', async () => {
    const client = await db.pool.connect();
    try {
      // Updates every row twice (40,000 dead rows) on one connection, then flushes its statistics.
      await client.query('UPDATE churn SET n = n + 1');
      await client.query('UPDATE churn SET n = n + 1');
      await client.query('UPDATE calm SET n = n + 1 WHERE id <= 100');
      await client.query('SELECT pg_stat_force_next_flush()');
    } finally {
      client.release();
    }
    let waited = 0;
    while ((await deadRows('churn')) < 40_000 && waited < 50) {
      await new Promise((r) => setTimeout(r, 100));
      waited += 1;
    }
    expect(await deadRows('churn')).toBeGreaterThanOrEqual(40_000);
    const pass = await vacuumPass(db.pool, { mode: 'on' });
    expect(pass.vacuumed).toEqual(['public.churn']);
    expect(await deadRows('churn')).toBe(0);
    expect(await deadRows('calm')).toBeGreaterThan(0); // 100 dead rows: under the threshold
    expect((await vacuumPass(db.pool, { mode: 'on' })).vacuumed).toEqual([]);
  });

  it('in auto mode, leaves the work to autovacuum when the server runs it', async () => {
    const { rows } = await db.pool.query<{ autovacuum: string }>('SHOW autovacuum');
    const pass = await vacuumPass(db.pool, { mode: 'auto' });
    if (rows[0]!.autovacuum === 'on') expect(pass.skipped).toBe('autovacuum-on');
    else expect(pass.skipped).toBeUndefined();
  });

  it('runs one pass per database at a time', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('assetops.self-vacuum'))`);
      expect(await vacuumPass(db.pool, { mode: 'on' })).toEqual({ skipped: 'busy', vacuumed: [] });
    } finally {
      await holder.query(`SELECT pg_advisory_unlock(hashtext('assetops.self-vacuum'))`);
      holder.release();
    }
  });

  it('never throws from its timer, and stops', async () => {
    const metrics = createMetricsRegistry('selfvacuum');
    const vacuum = startSelfVacuum({
      pool: db.pool,
      logger: createLogger({ service: 'selfvacuum', level: 'silent' }),
      mode: 'on',
      intervalMs: 20,
      metrics,
    });
    await new Promise((r) => setTimeout(r, 100));
    vacuum.stop();
    expect(await metrics.metrics()).toContain('assetops_db_self_vacuums_total');
  });
});
