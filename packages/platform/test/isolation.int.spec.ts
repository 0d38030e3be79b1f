import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropServiceDatabase, provisionServiceDatabase, withDatabase } from '../src/index.js';
import { testEnv } from '../src/testkit/index.js';

// Database-per-service is enforced by PostgreSQL, not by convention: each service's role can
// connect to its own database and is refused by the server everywhere else.
const services = ['asset', 'telemetry', 'alert', 'maintenance', 'dashboard', 'gateway'];
const prefix = `iso_${randomBytes(3).toString('hex')}`;
const target = (service: string) => ({
  database: `${prefix}_${service}`,
  role: `${prefix}_${service}`,
  password: `pw-${service}-${prefix}`,
});

async function connectAs(
  service: string,
  database: string,
): Promise<{ ok: true } | { ok: false; code: string; message: string }> {
  const t = target(service);
  const client = new pg.Client({
    connectionString: withDatabase(testEnv.databaseUrl, database, { user: t.role, password: t.password }),
  });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { ok: false, code: e.code ?? 'none', message: e.message };
  } finally {
    await client.end().catch(() => {});
  }
}

describe('database isolation between services', () => {
  beforeAll(async () => {
    for (const service of services) await provisionServiceDatabase(testEnv.databaseUrl, target(service));
  });
  afterAll(async () => {
    for (const service of services) await dropServiceDatabase(testEnv.databaseUrl, target(service));
  });

  it('lets each service connect to its own database', async () => {
    for (const service of services) {
      expect(await connectAs(service, target(service).database)).toEqual({ ok: true });
    }
  });

  it.each(services)('refuses the %s role on every other service database', async (service) => {
    for (const other of services.filter((s) => s !== service)) {
      const result = await connectAs(service, target(other).database);
      expect(result).toMatchObject({ ok: false, code: '42501' });
      expect((result as { message: string }).message).toContain('permission denied for database');
    }
  });

  it('refuses reads and writes of every other service even if CONNECT were granted by mistake', async () => {
    // Defence in depth: the tables belong to their service's role and grant nothing to others, so
    // a mistaken GRANT CONNECT still does not expose a single row.
    const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
    await admin.connect();
    try {
      for (const owner of services) {
        const t = target(owner);
        const ownerClient = new pg.Client({
          connectionString: withDatabase(testEnv.databaseUrl, t.database, {
            user: t.role,
            password: t.password,
          }),
        });
        await ownerClient.connect();
        await ownerClient.query('CREATE TABLE IF NOT EXISTS private_rows (id int PRIMARY KEY, secret text)');
        await ownerClient.query("INSERT INTO private_rows VALUES (1, 'mine') ON CONFLICT DO NOTHING");
        await ownerClient.end();
        for (const intruder of services.filter((s) => s !== owner)) {
          const i = target(intruder);
          await admin.query(`GRANT CONNECT ON DATABASE "${t.database}" TO "${i.role}"`);
          const client = new pg.Client({
            connectionString: withDatabase(testEnv.databaseUrl, t.database, {
              user: i.role,
              password: i.password,
            }),
          });
          try {
            await client.connect();
            for (const sql of [
              'SELECT * FROM private_rows',
              "INSERT INTO private_rows VALUES (2, 'theirs')",
              "UPDATE private_rows SET secret = 'x'",
              'DELETE FROM private_rows',
              'CREATE TABLE public.squatter (id int)',
            ]) {
              await expect(client.query(sql), `${intruder} → ${owner}: ${sql}`).rejects.toMatchObject({
                code: '42501',
              });
            }
          } finally {
            await client.end().catch(() => {});
            await admin.query(`REVOKE CONNECT ON DATABASE "${t.database}" FROM "${i.role}"`);
          }
        }
      }
    } finally {
      await admin.end();
    }
  });

  it('grants CONNECT to nobody but the owner (revoked from PUBLIC)', async () => {
    const admin = new pg.Client({ connectionString: testEnv.databaseUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ datname: string; datacl: string }>(
        'SELECT datname, datacl::text FROM pg_database WHERE datname LIKE $1 ORDER BY datname',
        [`${prefix}_%`],
      );
      expect(rows).toHaveLength(services.length);
      for (const row of rows) {
        // An ACL entry "=c/owner" would be PUBLIC's CONNECT; only the owner's own entries remain.
        expect(row.datacl).not.toMatch(/[{,]=[A-Za-z]*c/);
        expect(row.datacl).toContain(`${row.datname}=`);
      }
    } finally {
      await admin.end();
    }
  });
});
