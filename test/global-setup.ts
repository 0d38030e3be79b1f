import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isReachable, testEnv } from '@assetops/platform/testkit';

/**
 * Finds the PostgreSQL server the tests use. With `ASSETOPS_TEST_DATABASE_URL` (or the default
 * 127.0.0.1:5432) reachable, that one; otherwise — on a fresh machine with nothing installed — an
 * embedded PostgreSQL from npm in a temporary folder, unless `ASSETOPS_REQUIRE_SERVERS=1` says the
 * machine's own servers must be used (CI).
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (await isReachable(testEnv.databaseUrl, 5432)) {
    process.env.ASSETOPS_TEST_DATABASE_URL = testEnv.databaseUrl;
    return async () => {};
  }
  if (testEnv.requireServers) {
    throw new Error(
      `PostgreSQL is required (ASSETOPS_REQUIRE_SERVERS=1) but not reachable at ${testEnv.databaseUrl}`,
    );
  }
  const { startEmbeddedPostgres } = await import('@assetops/runtime');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'assetops-test-pg-'));
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    port: 54_329 + Math.floor(Math.random() * 500),
  });
  process.env.ASSETOPS_TEST_DATABASE_URL = server.adminUrl;
  console.log(`tests use an embedded PostgreSQL at ${server.adminUrl.replace(/:[^:@/]*@/, ':***@')}`);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
