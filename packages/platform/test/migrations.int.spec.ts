import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MigrationError, runMigrations } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testkit/index.js';

describe('migration runner', () => {
  let db: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'assetops-migrations-'));
    await db.pool.query('DROP TABLE IF EXISTS schema_migrations, widgets, gadgets');
    return () => rm(dir, { recursive: true, force: true });
  });

  const source = () => ({ module: 'widgets', dir });

  it('applies files in numeric order once, recording their checksums', async () => {
    await writeFile(path.join(dir, '002.do.add-colour.sql'), 'ALTER TABLE widgets ADD COLUMN colour text;');
    await writeFile(
      path.join(dir, '001.do.create-widgets.sql'),
      'CREATE TABLE widgets (id int PRIMARY KEY);',
    );
    expect(await runMigrations(db.pool, [source()])).toEqual({
      applied: ['widgets/001.do.create-widgets.sql', 'widgets/002.do.add-colour.sql'],
    });
    expect(await runMigrations(db.pool, [source()])).toEqual({ applied: [] });
    const { rows } = await db.pool.query(
      'SELECT module, version, checksum FROM schema_migrations ORDER BY version',
    );
    expect(rows.map((r) => [r.module, r.version, r.checksum.length])).toEqual([
      ['widgets', 1, 64],
      ['widgets', 2, 64],
    ]);
  });

  it('refuses to start when an applied migration was changed', async () => {
    await writeFile(
      path.join(dir, '001.do.create-widgets.sql'),
      'CREATE TABLE widgets (id int PRIMARY KEY);',
    );
    await runMigrations(db.pool, [source()]);
    await writeFile(
      path.join(dir, '001.do.create-widgets.sql'),
      'CREATE TABLE widgets (id bigint PRIMARY KEY);',
    );
    await writeFile(path.join(dir, '002.do.more.sql'), 'CREATE TABLE gadgets (id int);');
    const err = await runMigrations(db.pool, [source()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as MigrationError).code).toBe('MIGRATION_CHECKSUM_MISMATCH');
    expect((err as MigrationError).message).toContain('001.do.create-widgets.sql');
    // Nothing after the refusal was applied.
    const { rows } = await db.pool.query("SELECT to_regclass('gadgets') AS t");
    expect(rows[0].t).toBeNull();
  });

  it('refuses when an applied migration file disappeared', async () => {
    await writeFile(path.join(dir, '001.do.create-widgets.sql'), 'CREATE TABLE widgets (id int);');
    await runMigrations(db.pool, [source()]);
    await rm(path.join(dir, '001.do.create-widgets.sql'));
    await expect(runMigrations(db.pool, [source()])).rejects.toMatchObject({ code: 'MIGRATION_MISSING' });
  });

  it('rolls back a failing migration as a whole and records nothing', async () => {
    await writeFile(
      path.join(dir, '001.do.half.sql'),
      'CREATE TABLE widgets (id int); INSERT INTO widgets VALUES (1); SELECT no_such_function();',
    );
    await expect(runMigrations(db.pool, [source()])).rejects.toMatchObject({ code: 'MIGRATION_FAILED' });
    const { rows } = await db.pool.query(
      "SELECT to_regclass('widgets') AS t, to_regclass('schema_migrations') AS m",
    );
    expect(rows[0].t).toBeNull();
    expect((await db.pool.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0].n).toBe(0);
  });

  it('applies each migration once when instances start concurrently (advisory lock)', async () => {
    await writeFile(path.join(dir, '001.do.create-widgets.sql'), 'CREATE TABLE widgets (id int);');
    await writeFile(path.join(dir, '002.do.seed.sql'), 'INSERT INTO widgets VALUES (1);');
    const results = await Promise.all([1, 2, 3].map(() => runMigrations(db.pool, [source()])));
    expect(results.flatMap((r) => r.applied).sort()).toEqual([
      'widgets/001.do.create-widgets.sql',
      'widgets/002.do.seed.sql',
    ]);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM widgets')).rows[0].n).toBe(1);
  });

  it('refuses badly named files and duplicate versions', async () => {
    await writeFile(path.join(dir, 'create.sql'), 'SELECT 1;');
    await expect(runMigrations(db.pool, [source()])).rejects.toMatchObject({ code: 'MIGRATION_BAD_NAME' });
    await rm(path.join(dir, 'create.sql'));
    await writeFile(path.join(dir, '001.do.a.sql'), 'SELECT 1;');
    await writeFile(path.join(dir, '001.do.b.sql'), 'SELECT 1;');
    await expect(runMigrations(db.pool, [source()])).rejects.toMatchObject({
      code: 'MIGRATION_DUPLICATE_VERSION',
    });
  });
});
