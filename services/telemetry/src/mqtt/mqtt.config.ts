import { DEVICE_TELEMETRY_TOPIC } from '@assetops/contracts';
import { type ConfigOf, duration, integer, string } from '@assetops/platform';

/**
 * Settings of MQTT ingestion besides the broker's URL and credentials (`MQTT_URL`, `MQTT_USERNAME`,
 * `MQTT_PASSWORD` in the service's own spec); read only when `MQTT_URL` is set.
 */
export const mqttIngestConfigSpec = {
  MQTT_CLIENT_ID: string({
    default: 'assetops-telemetry',
    description:
      'MQTT client id of the telemetry service: its persistent session (messages are queued for it while it is away); each instance needs its own',
  }),
  MQTT_TOPIC: string({
    default: DEVICE_TELEMETRY_TOPIC,
    description:
      'topic filter subscribed to; with several instances, a shared subscription such as $share/telemetry/assetops/+/telemetry',
  }),
  MQTT_BATCH_SIZE: integer({
    default: 5000,
    min: 1,
    max: 50_000,
    description:
      'readings written per batch at most (a batch is also written when MQTT_FLUSH_INTERVAL is up)',
  }),
  MQTT_FLUSH_INTERVAL: duration({
    default: 10,
    description: 'how long a received message waits at most before its batch is written',
  }),
  MQTT_STOP_TIMEOUT: duration({
    default: 10_000,
    description:
      'how long stopping keeps trying to write what was received; what is left is not acknowledged, and the broker delivers it again',
  }),
};

export type MqttIngestConfig = ConfigOf<typeof mqttIngestConfigSpec>;
