/**
 * The all-in-one runtime in a process of its own, for the benchmarks (started by `platform.ts`):
 * the server gets its own event loop and can be profiled (`--cpu-prof`) without the load
 * generators in it. Settings come in BENCH_PLATFORM (JSON); it reports its addresses over IPC and
 * stops on a 'stop' message (or when the benchmark goes away).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '@assetops/platform';
import { type AllInOne, startAllInOne } from '@assetops/runtime';

export interface PlatformChildSettings {
  adminUrl: string;
  databasePrefix: string;
  adminToken: string;
  /** Extra environment of the services (e.g. MQTT_PORT). */
  env: Record<string, string>;
  logLevel: string;
}

export interface PlatformReady {
  type: 'ready';
  gatewayUrl: string;
  adminToken: string;
  /** The embedded MQTT broker's URL, when the runtime has one. */
  mqttUrl?: string;
  services: Record<string, string>;
  /** The result's keys (to see what the runtime offers). */
  keys: string[];
}

/** The MQTT broker URL of a started runtime, whatever the property is called (`mqttUrl`, `mqtt.url`…). */
function findMqttUrl(platform: AllInOne): string | undefined {
  const record = platform as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (!/mqtt/i.test(key)) continue;
    if (typeof value === 'string' && /^(mqtts?|tcp|wss?):\/\//.test(value)) return value;
    if (typeof value === 'object' && value !== null) {
      const url = (value as Record<string, unknown>).url;
      if (typeof url === 'string') return url;
    }
  }
  return undefined;
}

const settings = JSON.parse(process.env.BENCH_PLATFORM ?? '{}') as PlatformChildSettings;
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-bench-'));
const logger = createLogger({ service: 'runtime', level: settings.logLevel });
const platform = await startAllInOne({
  dataDir,
  port: 0,
  host: '127.0.0.1',
  adminToken: settings.adminToken,
  postgres: { adminUrl: settings.adminUrl, databasePrefix: settings.databasePrefix },
  env: { ...process.env, ...settings.env },
  logger,
});

/** Event-loop delay of the server (ms beyond the 10 ms sampling timer), since the last 'loop' request. */
export interface EventLoopDelay {
  type: 'loop';
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await platform.stop().catch((err) => logger.error({ err }, 'stop failed'));
  await rm(dataDir, { recursive: true, force: true });
  // A normal exit writes the --cpu-prof profile.
  process.exit(0);
}
process.on('message', (message) => {
  if (message === 'stop') void stop();
  if (message === 'loop') {
    // The histogram holds each 10 ms timer's whole wait: what is beyond the 10 ms is the delay.
    const ms = (ns: number) => Math.max(0, Math.round((ns - 10e6) / 1e4) / 100);
    process.send?.({
      type: 'loop',
      p50Ms: ms(loopDelay.percentile(50)),
      p99Ms: ms(loopDelay.percentile(99)),
      maxMs: ms(loopDelay.max),
      meanMs: ms(loopDelay.mean),
    } satisfies EventLoopDelay);
    loopDelay.reset();
  }
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());

const mqttUrl = findMqttUrl(platform);
process.send?.({
  type: 'ready',
  gatewayUrl: platform.gatewayUrl,
  adminToken: platform.adminToken,
  ...(mqttUrl === undefined ? {} : { mqttUrl }),
  services: Object.fromEntries(Object.entries(platform.services).map(([name, s]) => [name, s.url])),
  keys: Object.keys(platform),
} satisfies PlatformReady);
