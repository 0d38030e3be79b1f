import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedMqttBroker, startMqttBroker, topicMatches } from '../src/mqtt-broker.js';

const TOPIC = 'assetops/+/telemetry';

describe('the embedded MQTT broker hands intake topics to a service before it acknowledges', () => {
  let broker: EmbeddedMqttBroker;
  let watcher: mqtt.MqttClient;
  const seen: string[] = [];
  beforeAll(async () => {
    broker = await startMqttBroker({ host: '127.0.0.1', port: 0, intakeTopics: [TOPIC] });
    watcher = await mqtt.connectAsync(broker.url, { clientId: 'watcher' });
    watcher.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await watcher.subscribeAsync('#', { qos: 1 });
  });
  afterAll(async () => {
    await watcher?.endAsync(true);
    await broker?.stop();
  });

  const waitFor = async (check: () => boolean) => {
    const until = Date.now() + 5_000;
    while (!check() && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return check();
  };

  it('matches topic filters as MQTT does', () => {
    expect(topicMatches(TOPIC, 'assetops/a1/telemetry')).toBe(true);
    expect(topicMatches(TOPIC, 'assetops/a1/b/telemetry')).toBe(false);
    expect(topicMatches(TOPIC, 'assetops/a1')).toBe(false);
    expect(topicMatches(TOPIC, 'other/a1/telemetry')).toBe(false);
    expect(topicMatches('site/#', 'site/a/b')).toBe(true);
    expect(topicMatches('site/#', 'site')).toBe(true);
    expect(topicMatches('site/+', 'site/a/b')).toBe(false);
    expect(topicMatches(`$share/telemetry/${TOPIC}`, 'assetops/a1/telemetry')).toBe(true);
  });

  it('refuses an intake message while nothing takes it (the device is disconnected, nothing is passed on)', async () => {
    const device = await mqtt.connectAsync(broker.url, { clientId: 'device-1', reconnectPeriod: 0 });
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('assetops/a1/telemetry', 'first', { qos: 1 });
    await closed;
    // Other topics pass as usual.
    const other = await mqtt.connectAsync(broker.url, { clientId: 'device-2' });
    await other.publishAsync('site/a/status', 'ok', { qos: 1 });
    await other.endAsync();
    expect(await waitFor(() => seen.includes('site/a/status ok'))).toBe(true);
    expect(seen.filter((m) => m.startsWith('assetops/'))).toEqual([]);
    device.end(true);
  });

  it('acknowledges a message once its handler is done, then passes it on', async () => {
    const taken: string[] = [];
    let release = () => {};
    const detach = broker.intake.attach(TOPIC, async (topic, payload) => {
      taken.push(`${topic} ${payload.toString()}`);
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    expect(() => broker.intake.attach(TOPIC, async () => {})).toThrow('attached');
    const device = await mqtt.connectAsync(broker.url, { clientId: 'device-3' });
    let acknowledged = false;
    const published = device.publishAsync('assetops/a3/telemetry', 'reading', { qos: 1 }).then(() => {
      acknowledged = true;
    });
    expect(await waitFor(() => taken.length === 1)).toBe(true);
    expect(taken).toEqual(['assetops/a3/telemetry reading']);
    await new Promise((r) => setTimeout(r, 200));
    expect(acknowledged).toBe(false);
    expect(seen).not.toContain('assetops/a3/telemetry reading');
    release();
    await published;
    expect(await waitFor(() => seen.includes('assetops/a3/telemetry reading'))).toBe(true);
    // A handler that fails: not acknowledged, the device is disconnected (it sends it again).
    detach();
    broker.intake.attach(TOPIC, async () => {
      throw new Error('database down');
    });
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    device.publish('assetops/a3/telemetry', 'again', { qos: 1 });
    await closed;
    expect(seen).not.toContain('assetops/a3/telemetry again');
    device.end(true);
  });
});
