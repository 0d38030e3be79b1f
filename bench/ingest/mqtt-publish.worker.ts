/**
 * MQTT device publishers on their own thread (mqtt.js): each publisher is one connection that
 * publishes, QoS 1, for the assets it owns to `assetops/<assetId>/telemetry`, keeping at most
 * `inflight` messages unacknowledged. Reading times of each asset only move forward.
 */
import { workerData } from 'node:worker_threads';
import { serve } from '../common/threads.js';

export interface MqttPublishSettings {
  mqttUrl: string;
  username?: string;
  password?: string;
  /** Each publisher's assets. */
  publishers: { assetIds: string[] }[];
  metrics: string[];
  /** `values`: `{"ts", "values": {metric: value, …}}` (one message per asset and time, every metric); `single`: `{"metric", "value", "ts"}`. */
  format: 'values' | 'single';
  startTsMs: number;
  tsStepMs: number;
}

export interface PublishOutcome {
  seconds: number;
  messages: number;
  acked: number;
  readingsAcked: number;
  failed: number;
  errors: string[];
}

/** The little of mqtt.js this uses (loaded at run time: it may not be installed). */
interface MqttClientLike {
  publishAsync(topic: string, message: string, opts: { qos: 0 | 1 | 2 }): Promise<unknown>;
  endAsync(): Promise<void>;
}
interface MqttModuleLike {
  connectAsync(url: string, opts: Record<string, unknown>): Promise<MqttClientLike>;
}

const settings = workerData as MqttPublishSettings;
const moduleName = 'mqtt';
const mqtt = (await import(moduleName)) as MqttModuleLike & { default?: MqttModuleLike };
const connectAsync = mqtt.connectAsync ?? mqtt.default?.connectAsync;
if (!connectAsync) throw new Error('mqtt.connectAsync not found');

const clients = await Promise.all(
  settings.publishers.map((_, i) =>
    connectAsync(settings.mqttUrl, {
      clientId: `bench-${process.pid}-${Math.random().toString(16).slice(2, 8)}-${i}`,
      clean: true,
      reconnectPeriod: 0,
      ...(settings.username === undefined ? {} : { username: settings.username }),
      ...(settings.password === undefined ? {} : { password: settings.password }),
    }),
  ),
);

class DeviceCursor {
  private next = 0;
  private nextTs = settings.startTsMs;
  constructor(private readonly assetIds: string[]) {}

  /** The next message: its topic, payload and how many readings it carries. */
  message(): { topic: string; payload: string; readings: number } {
    const assetId = this.assetIds[this.next]!;
    const ts = this.nextTs;
    this.next++;
    if (this.next === this.assetIds.length) {
      this.next = 0;
      this.nextTs += settings.tsStepMs;
    }
    const value = () => Math.round(Math.random() * 100_000) / 100;
    const topic = `assetops/${assetId}/telemetry`;
    if (settings.format === 'single') {
      // One metric per message: the metric rotates with each full turn of the assets.
      const metric =
        settings.metrics[
          Math.floor((ts - settings.startTsMs) / settings.tsStepMs) % settings.metrics.length
        ]!;
      return { topic, payload: `{"metric":"${metric}","value":${value()},"ts":${ts}}`, readings: 1 };
    }
    const values = settings.metrics.map((metric) => `"${metric}":${value()}`).join(',');
    return { topic, payload: `{"ts":${ts},"values":{${values}}}`, readings: settings.metrics.length };
  }
}

const cursors = settings.publishers.map((p) => new DeviceCursor(p.assetIds));

serve({
  /** Every publisher publishes as fast as its acknowledgements allow, for `seconds`. */
  async publish(args: { seconds: number; inflight: number }): Promise<PublishOutcome> {
    const out: PublishOutcome = {
      seconds: 0,
      messages: 0,
      acked: 0,
      readingsAcked: 0,
      failed: 0,
      errors: [],
    };
    const start = performance.now();
    const deadline = start + args.seconds * 1000;
    await Promise.all(
      clients.map(async (client, i) => {
        const cursor = cursors[i]!;
        const lane = async () => {
          while (performance.now() < deadline) {
            const { topic, payload, readings } = cursor.message();
            out.messages++;
            try {
              await client.publishAsync(topic, payload, { qos: 1 });
              out.acked++;
              out.readingsAcked += readings;
            } catch (err) {
              out.failed++;
              if (out.errors.length < 5) out.errors.push(String((err as Error).message ?? err));
            }
          }
        };
        await Promise.all(Array.from({ length: args.inflight }, lane));
      }),
    );
    out.seconds = (performance.now() - start) / 1000;
    return out;
  },

  async close(): Promise<void> {
    await Promise.all(clients.map((client) => client.endAsync()));
  },
});
