import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '@assetops/platform';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startAllInOne } from '../src/index.js';

// `npm start` as a user gets it: the embedded PostgreSQL from npm, a database and role per service,
// a generated admin token in the data folder, and data that survives a restart.
describe('all-in-one runtime on the embedded PostgreSQL', () => {
  let dataDir: string;
  afterAll(async () => {
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('provisions isolated databases, generates a token, and keeps data across restarts', async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-embedded-'));
    const logger = createLogger({ service: 'runtime', level: 'silent' });
    const first = await startAllInOne({ dataDir, port: 0, host: '127.0.0.1', logger });
    let assetId: string;
    try {
      const token = (await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim();
      expect(token).toBe(first.adminToken);
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect((await stat(path.join(dataDir, 'admin-token'))).mode & 0o077).toBe(0);
      const res = await fetch(`${first.gatewayUrl}/api/v1/assets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Cooling pump', type: 'pump' }),
      });
      expect(res.status).toBe(201);
      assetId = ((await res.json()) as { id: string }).id;

      // The asset role cannot connect to another service's database on the embedded server.
      const secrets = JSON.parse(await readFile(path.join(dataDir, 'secrets.json'), 'utf8'));
      const pgPort = first.embeddedPostgresPort!;
      const client = new pg.Client({
        connectionString: `postgres://assetops_asset:${encodeURIComponent(secrets.rolePasswords.assetops_asset)}@127.0.0.1:${pgPort}/assetops_telemetry`,
      });
      await expect(client.connect()).rejects.toMatchObject({ code: '42501' });
      await client.end().catch(() => {});
      // The services reach the embedded server through its Unix socket (no client address), which
      // costs less per query than loopback TCP.
      const own = new pg.Client({
        connectionString: `postgres://assetops_asset:${encodeURIComponent(secrets.rolePasswords.assetops_asset)}@127.0.0.1:${pgPort}/assetops_asset`,
      });
      await own.connect();
      try {
        const { rows } = await own.query(
          `SELECT count(*) FILTER (WHERE client_addr IS NULL)::int AS socket,
                  count(*) FILTER (WHERE client_addr IS NOT NULL AND pid <> pg_backend_pid())::int AS tcp
             FROM pg_stat_activity WHERE usename = 'assetops_asset' AND backend_type = 'client backend'`,
        );
        expect(rows[0].socket).toBeGreaterThan(0);
        expect(rows[0].tcp).toBe(0);
      } finally {
        await own.end();
      }
    } finally {
      await first.stop();
    }

    const second = await startAllInOne({ dataDir, port: 0, host: '127.0.0.1', logger });
    try {
      expect(second.adminToken).toBe(first.adminToken);
      // Kept, and onboarded: its saga finished before the stop or goes on after the restart.
      const until = Date.now() + 10_000;
      let asset: { status?: string } = {};
      while (asset.status !== 'active' && Date.now() < until) {
        const res = await fetch(`${second.gatewayUrl}/api/v1/assets/${assetId}`, {
          headers: { authorization: `Bearer ${second.adminToken}` },
        });
        expect(res.status).toBe(200);
        asset = (await res.json()) as { status?: string };
        if (asset.status !== 'active') await new Promise((r) => setTimeout(r, 50));
      }
      expect(asset).toMatchObject({ id: assetId, name: 'Cooling pump', status: 'active' });
    } finally {
      await second.stop();
    }
  }, 120_000);
});
