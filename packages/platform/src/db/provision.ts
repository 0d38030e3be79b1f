import pg from 'pg';

/** A service's database and the only role that may connect to it. */
export interface ServiceDatabase {
  database: string;
  role: string;
  password: string;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

function ident(name: string): string {
  // Identifiers cannot be bound as parameters; they are checked against a strict pattern instead.
  if (!IDENTIFIER.test(name)) throw new Error(`not a safe SQL identifier: ${name}`);
  return `"${name}"`;
}

function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Creates (or brings up to date) a service's role and database on a server, as a superuser or a
 * role with CREATEROLE and CREATEDB: the role owns the database, and CONNECT is revoked from
 * PUBLIC, so PostgreSQL itself refuses every other (non-superuser) role. Idempotent.
 *
 * @example
 * await provisionServiceDatabase('postgres://postgres@127.0.0.1/postgres',
 *   { database: 'assetops_asset', role: 'assetops_asset', password: secret });
 */
export async function provisionServiceDatabase(adminUrl: string, target: ServiceDatabase): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'assetops-provision' });
  await admin.connect();
  try {
    const role = ident(target.role);
    const db = ident(target.database);
    const roleExists = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [target.role]);
    if (roleExists.rowCount === 0) {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${literal(target.password)}`);
    } else {
      await admin.query(`ALTER ROLE ${role} LOGIN PASSWORD ${literal(target.password)}`);
    }
    const dbExists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [target.database]);
    if (dbExists.rowCount === 0) await admin.query(`CREATE DATABASE ${db} OWNER ${role}`);
    await admin.query(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    await admin.query(`GRANT CONNECT, CREATE, TEMPORARY ON DATABASE ${db} TO ${role}`);
  } finally {
    await admin.end();
  }
  // The public schema of a new database is owned by pg_database_owner (PostgreSQL 15+), which is our
  // role; on older servers make sure the role can create its tables there.
  const inDb = new pg.Client({ connectionString: withDatabase(adminUrl, target.database) });
  await inDb.connect();
  try {
    await inDb.query(`GRANT ALL ON SCHEMA public TO ${ident(target.role)}`);
    await inDb.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
  } finally {
    await inDb.end();
  }
}

/** Drops a service database and its role (tests and tear-down only). */
export async function dropServiceDatabase(
  adminUrl: string,
  target: Omit<ServiceDatabase, 'password'>,
): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${ident(target.database)} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${ident(target.role)}`);
  } finally {
    await admin.end();
  }
}

/** The same server URL with another database (and optionally another user and password). */
export function withDatabase(
  url: string,
  database: string,
  credentials?: { user: string; password: string },
): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  if (credentials) {
    u.username = encodeURIComponent(credentials.user);
    u.password = encodeURIComponent(credentials.password);
  }
  return u.toString();
}
