import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseServices, startAllInOne } from '../src/index.js';

// `npm start` must start even where another MQTT broker (a Mosquitto) holds the default port;
// a port the user chose must be free.
describe('all-in-one MQTT port', () => {
  const prefix = `mqp_${randomBytes(3).toString('hex')}`;
  let dataDir: string;
  let taken: net.Server;
  let takenPort: number;
  const start = (fallbackToFreePort: boolean) =>
    startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: 'test-admin-token-0123456789',
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      mqtt: { port: takenPort, host: '127.0.0.1', fallbackToFreePort },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-mqtt-port-'));
    taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    takenPort = (taken.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    taken?.close();
    for (const name of databaseServices) {
      await dropServiceDatabase(testEnv.databaseUrl, {
        database: `${prefix}_${name}`,
        role: `${prefix}_${name}`,
      });
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('falls back to a free port when the default one is taken', async () => {
    const platform = await start(true);
    try {
      expect(platform.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
      expect(platform.mqttUrl).not.toBe(`mqtt://127.0.0.1:${takenPort}`);
    } finally {
      await platform.stop();
    }
  });

  it('refuses a chosen port that is taken, naming MQTT_PORT', async () => {
    await expect(start(false)).rejects.toThrow(/MQTT_PORT/);
  });
});
