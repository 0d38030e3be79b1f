import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Pool } from './pool.js';

/**
 * A folder of plain SQL migrations owned by one module (a service, or a platform feature such as
 * the outbox). Files are named `NNN.do.<what>.sql` and applied in numeric order.
 */
export interface MigrationSource {
  /** Recorded with each applied migration; two sources never share a module name. */
  module: string;
  dir: string;
}

export interface MigrationFile {
  module: string;
  version: number;
  name: string;
  checksum: string;
  sql: string;
}

/** Raised when the database and the migration files disagree; the service must not start. */
export class MigrationError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 500);
  }
}

const FILE_PATTERN = /^(\d{3,})\.do\.([a-z0-9][a-z0-9_.-]*)\.sql$/;

/** Reads and checksums the migration files of one source, in order. */
export async function readMigrations(source: MigrationSource): Promise<MigrationFile[]> {
  const entries = await readdir(source.dir);
  const files: MigrationFile[] = [];
  for (const entry of entries) {
    if (!entry.endsWith('.sql')) continue;
    const match = FILE_PATTERN.exec(entry);
    if (!match) {
      throw new MigrationError(
        'MIGRATION_BAD_NAME',
        `${source.module}: migration file ${entry} is not named NNN.do.<what>.sql`,
      );
    }
    const sql = await readFile(path.join(source.dir, entry), 'utf8');
    files.push({
      module: source.module,
      version: Number(match[1]),
      name: entry,
      checksum: createHash('sha256').update(sql).digest('hex'),
      sql,
    });
  }
  files.sort((a, b) => a.version - b.version);
  for (let i = 1; i < files.length; i++) {
    if (files[i]!.version === files[i - 1]!.version) {
      throw new MigrationError(
        'MIGRATION_DUPLICATE_VERSION',
        `${source.module}: ${files[i - 1]!.name} and ${files[i]!.name} share version ${files[i]!.version}`,
      );
    }
  }
  return files;
}

// One lock key for every migration run on a database: two instances of a service starting at once
// apply each migration once, the second waits and then finds nothing to do.
const MIGRATION_LOCK_KEY = 7_311_524_001;

/**
 * Applies pending migrations of every source, each file in its own transaction, recording its
 * checksum. Refuses (throws `MIGRATION_CHECKSUM_MISMATCH`) when an applied file was edited or
 * (`MIGRATION_MISSING`) removed: an applied migration is history and never changes.
 *
 * @example
 * await runMigrations(pool, [messagingMigrations, { module: 'asset', dir: new URL('../migrations', import.meta.url).pathname }]);
 */
export async function runMigrations(
  pool: Pool,
  sources: readonly MigrationSource[],
): Promise<{ applied: string[] }> {
  const plan = await Promise.all(
    sources.map(async (source) => ({ source, files: await readMigrations(source) })),
  );
  const client = await pool.connect();
  const applied: string[] = [];
  // A connection lost while checked out emits 'error' on the client; the failing query reports it.
  const onConnectionError = () => {};
  client.on('error', onConnectionError);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        module     text        NOT NULL,
        version    integer     NOT NULL,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (module, version)
      )`);
    const { rows } = await client.query<{ module: string; version: number; name: string; checksum: string }>(
      'SELECT module, version, name, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [`${r.module}:${r.version}`, r]));
    for (const { source, files } of plan) {
      const module = source.module;
      const fileKeys = new Set(files.map((f) => `${f.module}:${f.version}`));
      for (const row of rows) {
        if (row.module === module && !fileKeys.has(`${row.module}:${row.version}`)) {
          throw new MigrationError(
            'MIGRATION_MISSING',
            `${row.module}: applied migration ${row.name} has no file any more`,
          );
        }
      }
      for (const file of files) {
        const record = done.get(`${file.module}:${file.version}`);
        if (record) {
          if (record.checksum !== file.checksum) {
            throw new MigrationError(
              'MIGRATION_CHECKSUM_MISMATCH',
              `${file.module}: migration ${file.name} was changed after it was applied ` +
                `(recorded ${record.checksum.slice(0, 12)}, file ${file.checksum.slice(0, 12)}); ` +
                'write a new migration instead of editing an applied one',
            );
          }
          continue;
        }
        await client.query('BEGIN');
        try {
          await client.query(file.sql);
          await client.query(
            'INSERT INTO schema_migrations (module, version, name, checksum) VALUES ($1, $2, $3, $4)',
            [file.module, file.version, file.name, file.checksum],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new MigrationError(
            'MIGRATION_FAILED',
            `${file.module}: migration ${file.name} failed: ${(err as Error).message}`,
          );
        }
        applied.push(`${file.module}/${file.name}`);
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.off('error', onConnectionError);
    client.release();
  }
  return { applied };
}
