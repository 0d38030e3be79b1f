import { randomBytes } from 'node:crypto';
import { createPool, type Pool } from '../db/pool.js';
import { dropServiceDatabase, provisionServiceDatabase, withDatabase } from '../db/provision.js';
import { testEnv } from './env.js';

/** A fresh database owned by a fresh role, as a service would get it in production. */
export interface TestDatabase {
  database: string;
  role: string;
  password: string;
  /** Connects as the owning role. */
  url: string;
  /** A pool connected as the owning role. */
  pool: Pool;
  /** Closes the pool, drops the database and the role. */
  drop(): Promise<void>;
}

/**
 * Creates a database and role for one test file (`prefix` makes them easy to spot), provisioned
 * exactly like a service's: CONNECT for the owner only.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase('asset'); });
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(prefix = 'test'): Promise<TestDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const name = `t_${prefix.replace(/[^a-z0-9]/g, '_')}_${suffix}`.slice(0, 60);
  const password = randomBytes(12).toString('hex');
  const adminUrl = testEnv.databaseUrl;
  await provisionServiceDatabase(adminUrl, { database: name, role: name, password });
  const url = withDatabase(adminUrl, name, { user: name, password });
  const pool = createPool({ connectionString: url, applicationName: name, max: 8 });
  return {
    database: name,
    role: name,
    password,
    url,
    pool,
    async drop() {
      await pool.end().catch(() => {});
      await dropServiceDatabase(adminUrl, { database: name, role: name });
    },
  };
}
