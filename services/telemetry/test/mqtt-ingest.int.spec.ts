import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import { listDeadLetters, type PoolClient } from '@assetops/platform';
import { isReachable, testEnv } from '@assetops/platform/testkit';
import { Aedes, type Client } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type TelemetryHarness } from './support/harness.js';

// MQTT ingestion through a real broker — the embedded one (aedes, as the all-in-one runtime runs
// it) and the machine's Mosquitto — into a real database.

interface Broker {
  url: string;
  /** aedes only: the payloads of the messages the given client acknowledged. */
  acksOf?: (clientId: string) => string[];
  /** aedes only: closes a client's connection from the broker's side. */
  drop?: (clientId: string) => Promise<void>;
}

async function startAedes(): Promise<Broker & { close(): Promise<void> }> {
  const aedes = await Aedes.createBroker();
  const acks: { clientId: string; topic: string; payload: string }[] = [];
  aedes.on('ack', (packet, client) => {
    if (packet?.cmd === 'publish') {
      acks.push({ clientId: client.id, topic: packet.topic, payload: packet.payload.toString() });
    }
  });
  const server = net.createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    acksOf: (clientId) => acks.filter((a) => a.clientId === clientId).map((a) => a.payload),
    async drop(clientId) {
      const clients = (aedes as unknown as { clients: Record<string, Client> }).clients;
      await new Promise<void>((resolve) => clients[clientId]!.close(() => resolve()));
    },
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whether the Mosquitto tests run: a missing broker skips them, or fails them when servers are required. */
async function mosquittoAvailable(): Promise<boolean> {
  const ok = await isReachable(testEnv.mqttUrl, 1883);
  if (!ok && testEnv.requireServers) {
    throw new Error(
      `Mosquitto is required (ASSETOPS_REQUIRE_SERVERS=1) but not reachable at ${testEnv.mqttUrl}`,
    );
  }
  return ok;
}

async function eventually<T>(
  probe: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const suffix = () => randomBytes(4).toString('hex');
// A topic root of this test file's own: on a shared broker (Mosquitto), other runs publish too.
const root = `assetops-test-${suffix()}`;
const topicOf = (assetId: string) => `${root}/${assetId}/telemetry`;

function ingestSuite(broker: () => Broker, opts: { observesAcks: boolean }) {
  let t: TelemetryHarness;
  let device: MqttClient;
  const clientId = `assetops-telemetry-test-${suffix()}`;

  beforeAll(async () => {
    t = await startTelemetry({
      env: {
        MQTT_URL: broker().url,
        MQTT_CLIENT_ID: clientId,
        MQTT_STOP_TIMEOUT: '300ms',
        MQTT_TOPIC: `${root}/+/telemetry`,
      },
    });
    await t.service.start!();
    device = await connectAsync(broker().url, { clientId: `device-${suffix()}` });
  });
  afterAll(async () => {
    await device?.endAsync();
    await t?.close();
    // A clean session ends the persistent one, so the broker keeps nothing of this test.
    const cleanup = await connectAsync(broker().url, { clientId, clean: true });
    await cleanup.endAsync();
  });

  const publish = async (topic: string, payload: unknown) => {
    await device.publishAsync(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), {
      qos: 1,
    });
  };
  const readings = async (assetId: string) => {
    const { rows } = await t.db.pool.query<{ metric: string; ts: Date; value: number }>(
      `SELECT s.metric, r.ts, r.value FROM readings r JOIN series s USING (series_id)
        WHERE s.asset_id = $1 ORDER BY s.metric, r.ts`,
      [assetId],
    );
    return rows.map((r) => [r.metric, r.ts.toISOString(), r.value]);
  };
  const readingsOnceThere = (assetId: string, count: number) =>
    eventually(async () => {
      const rows = await readings(assetId);
      return rows.length >= count ? rows : undefined;
    }, `${count} readings`);
  /** A sample of /metrics: the first of `name` whose labels include each of `labels`. */
  const metric = async (name: string, ...labels: string[]) => {
    const text = (await t.service.app.inject({ url: '/metrics' })).body;
    const line = text
      .split('\n')
      .find((l) => /^\w+/.exec(l)?.[0] === name && labels.every((label) => l.includes(label)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  };
  /** Sessions of the service's database waiting for a lock (its blocked batch write). */
  const blockedWrites = async () => {
    const { rows } = await t.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
    return rows[0]!.n;
  };
  /** Makes the blocked writes fail: their connections are cut. */
  const cutBlockedWrites = async () => {
    await t.db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
    );
  };
  /** Holds a lock that blocks every batch write until the returned function is called. */
  const lockReadings = async () => {
    const locker: PoolClient = await t.db.pool.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE readings IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await locker.query('ROLLBACK');
      locker.release();
    };
  };

  it('stores both payload formats and arrays of them, and reports itself ready', async () => {
    const asset = await t.registerAsset();
    const base = t.clock.now().getTime() - 60_000;
    await publish(topicOf(asset), { metric: 'temperature', value: 71.2, ts: new Date(base).toISOString() });
    await publish(topicOf(asset), { ts: base + 1000, values: { temperature: 71.5, rpm: 1480 } });
    await publish(topicOf(asset), [
      { metric: 'rpm', value: 1490, ts: base + 2000 },
      { values: { pressure: 2.5, running: true } },
    ]);
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await readingsOnceThere(asset, 6)).toEqual([
      ['pressure', t.clock.now().toISOString(), 2.5],
      ['rpm', iso(base + 1000), 1480],
      ['rpm', iso(base + 2000), 1490],
      ['running', t.clock.now().toISOString(), 1],
      ['temperature', iso(base), 71.2],
      ['temperature', iso(base + 1000), 71.5],
    ]);
    const ready = await t.service.app.inject({ url: '/ready' });
    expect(ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', mqtt: 'ok' } });
    expect(await metric('telemetry_mqtt_connected')).toBe(1);
    expect(await metric('telemetry_readings_total', 'transport="mqtt"', 'outcome="stored"')).toBe(6);
  });

  it('writes many messages in few batches', async () => {
    const asset = await t.registerAsset();
    const base = t.clock.now().getTime() - 50_000;
    const batchesBefore = (await metric('telemetry_ingest_batch_size_count', 'transport="mqtt"')) ?? 0;
    const messages = 400;
    await Promise.all(
      Array.from({ length: messages }, (_, i) =>
        publish(topicOf(asset), { ts: base + i, values: { rpm: i, flow: i / 2 } }),
      ),
    );
    expect(await readingsOnceThere(asset, 2 * messages)).toHaveLength(2 * messages);
    const batches = (await metric('telemetry_ingest_batch_size_count', 'transport="mqtt"'))! - batchesBefore;
    // Far fewer writes than messages (Mosquitto sends at most 20 unacknowledged messages at a time).
    expect(batches).toBeLessThanOrEqual(messages / 4);
  });

  it('dead-letters bad payloads with the reason, and stores the valid part of a message', async () => {
    const asset = await t.registerAsset();
    const decommissioned = await t.registerAsset();
    await t.changeStatus(decommissioned, 'decommissioned');
    const unknown = randomUUID();
    const ts = t.clock.now().getTime() - 10_000;
    const sent = [
      [topicOf(asset), '{"metric": "rpm", '],
      [`${root}/pump-7/telemetry`, { metric: 'rpm', value: 1 }],
      [topicOf(unknown), { metric: 'rpm', value: 1 }],
      [topicOf(asset), '{"metric": "rpm", "value": 1e999}'],
      [topicOf(asset), { ts, values: { temperature: 70.5, rpm: 'fast', vibration: null } }],
      [topicOf(decommissioned), { metric: 'rpm', value: 1 }],
      [topicOf(asset), { hello: 'world' }],
    ] as const;
    for (const [topic, payload] of sent) await publish(topic, payload);

    const letters = await eventually(async () => {
      const found = await listDeadLetters(t.db.pool, { consumer: 'telemetry.mqtt' });
      return found.length >= sent.length ? found.reverse() : undefined;
    }, 'the dead letters');
    expect(letters.map((l) => [(l.payload as { topic: string }).topic, l.reason])).toEqual([
      [topicOf(asset), 'INVALID_JSON (message): the payload is not valid JSON'],
      [`${root}/pump-7/telemetry`, 'INVALID_ASSET_ID (message): the asset id in the topic must be a UUID'],
      [
        topicOf(unknown),
        expect.stringMatching(/^1 of 1 readings rejected: UNKNOWN_ASSET \(rpm\): no such asset/),
      ],
      [
        topicOf(asset),
        '1 of 1 readings rejected: INVALID_VALUE (rpm): value must be a finite number (or a boolean)',
      ],
      [
        topicOf(asset),
        '2 of 3 readings rejected: INVALID_VALUE (rpm, vibration): value must be a finite number (or a boolean)',
      ],
      [
        topicOf(decommissioned),
        '1 of 1 readings rejected: ASSET_DECOMMISSIONED (rpm): the asset is decommissioned',
      ],
      [
        topicOf(asset),
        expect.stringMatching(/^1 of 1 readings rejected: INVALID_MESSAGE \(reading\): expected/),
      ],
    ]);
    expect(letters[0]!.payload).toEqual({
      topic: topicOf(asset),
      raw: '{"metric": "rpm", ',
      rejected: [{ reading: 'message', code: 'INVALID_JSON', reason: 'the payload is not valid JSON' }],
    });
    expect(letters[4]).toMatchObject({ subject: asset, eventId: null });
    // The valid reading of the partly bad message is stored.
    expect(await readings(asset)).toEqual([['temperature', new Date(ts).toISOString(), 70.5]]);
    expect(await metric('telemetry_mqtt_dead_letters_total')).toBe(sent.length);
  });

  it('delivers what was published while the service was away, and what it had not committed when it stopped', async () => {
    const asset = await t.registerAsset();
    const base = t.clock.now().getTime() - 30_000;
    // Received, but its write is blocked when the service stops: it is not acknowledged.
    const release = await lockReadings();
    await publish(topicOf(asset), { metric: 'rpm', value: 1, ts: base });
    await eventually(async () => ((await blockedWrites()) > 0 ? true : undefined), 'a blocked write');
    await t.service.stop!();
    // The write fails, after the service gave up on it: only a redelivery can store the reading.
    await cutBlockedWrites();
    await release();
    // Published while no subscriber is connected: kept in the service's persistent session.
    await publish(topicOf(asset), { metric: 'rpm', value: 2, ts: base + 1000 });
    await publish(topicOf(asset), { values: { rpm: 3 }, ts: base + 2000 });

    await t.service.start!();
    const iso = (ms: number) => new Date(ms).toISOString();
    expect(await readingsOnceThere(asset, 3)).toEqual([
      ['rpm', iso(base), 1],
      ['rpm', iso(base + 1000), 2],
      ['rpm', iso(base + 2000), 3],
    ]);
  });

  // aedes only: these watch the broker's side of the session.
  if (!opts.observesAcks) return;

  it('acknowledges a message only after its batch committed, retrying a failed write', async () => {
    const acksOf = broker().acksOf!;
    const asset = await t.registerAsset();
    const payload = JSON.stringify({ metric: 'flow', value: 12.5, ts: t.clock.now().getTime() - 5000 });
    const release = await lockReadings();
    await publish(topicOf(asset), payload);
    await eventually(async () => ((await blockedWrites()) > 0 ? true : undefined), 'a blocked write');
    // The blocked write fails, is retried, and blocks again.
    await cutBlockedWrites();
    await eventually(
      async () =>
        ((await metric('telemetry_mqtt_write_failures_total')) ?? 0) >= 1 && (await blockedWrites()) > 0
          ? true
          : undefined,
      'a retried write',
    );
    expect(acksOf(clientId)).not.toContain(payload);
    expect(await metric('telemetry_mqtt_held_readings')).toBe(1);
    await release();
    await eventually(async () => (acksOf(clientId).includes(payload) ? true : undefined), 'the PUBACK');
    expect(await readings(asset)).toEqual([['flow', expect.any(String), 12.5]]);
    expect(await metric('telemetry_mqtt_held_readings')).toBe(0);
  });

  it('acknowledges a message redelivered after a lost connection on the new connection only', async () => {
    const { acksOf, drop } = broker();
    const asset = await t.registerAsset();
    const payload = JSON.stringify({ metric: 'level', value: 3.5, ts: t.clock.now().getTime() - 4000 });
    const duplicatesBefore =
      (await metric('telemetry_readings_total', 'transport="mqtt"', 'outcome="duplicate"')) ?? 0;
    const release = await lockReadings();
    await publish(topicOf(asset), payload);
    await eventually(async () => ((await blockedWrites()) > 0 ? true : undefined), 'a blocked write');
    await drop!(clientId);
    // The client reconnects (after about a second) and the broker delivers the message again.
    await eventually(
      async () => ((await metric('telemetry_mqtt_held_readings')) === 2 ? true : undefined),
      'the redelivery',
    );
    await release();
    await eventually(async () => (acksOf!(clientId).includes(payload) ? true : undefined), 'the PUBACK');
    await eventually(
      async () => ((await metric('telemetry_mqtt_held_readings')) === 0 ? true : undefined),
      'both writes',
    );
    expect(acksOf!(clientId).filter((p) => p === payload)).toHaveLength(1);
    expect(await readings(asset)).toEqual([['level', expect.any(String), 3.5]]);
    expect(await metric('telemetry_readings_total', 'transport="mqtt"', 'outcome="duplicate"')).toBe(
      duplicatesBefore + 1,
    );
  });
}

describe('MQTT ingestion through the embedded broker (aedes)', () => {
  let aedes: Awaited<ReturnType<typeof startAedes>>;
  beforeAll(async () => {
    aedes = await startAedes();
  });
  afterAll(() => aedes?.close());
  ingestSuite(() => aedes, { observesAcks: true });
});

describe.runIf(await mosquittoAvailable())('MQTT ingestion through Mosquitto', () => {
  ingestSuite(() => ({ url: testEnv.mqttUrl }), { observesAcks: false });
});
