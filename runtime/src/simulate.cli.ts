import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Asset } from '@assetops/contracts';
import { connectAsync, type MqttClient } from 'mqtt';
import {
  type ApiClient,
  createApiClient,
  createRandom,
  type Device,
  deviceOf,
  hashOf,
  listAllAssets,
  metricsOf,
  postReadings,
  type Random,
  registerAsset,
  type SimulatedReading,
  sampleOne,
  simulatedTypes,
  simulatorMetadata,
  sleep,
  waitUntilActive,
} from './demo/index.js';

/**
 * `npm run simulate`: drives device load against any AssetOps deployment — registers (or reuses)
 * N simulated assets through the API, then sends R readings per second in total over HTTP (batched
 * `POST /api/v1/telemetry`) or MQTT (`assetops/<assetId>/telemetry`), with a progress display and a
 * summary. Exit codes: 0 clean run, 1 errors or rejected readings, 2 bad arguments.
 */

export const USAGE = `Usage: npm run simulate -- --assets N --rate R [options]

Registers (or reuses) N simulated assets and sends R readings per second in total.

  --assets N         simulated assets (1 … 100000)                       required
  --rate R           readings per second, all assets together (> 0)      required
  --via http|mqtt    transport                                           default http
  --url URL          the gateway                                         default http://localhost:8080
  --mqtt-url URL     the MQTT broker (--via mqtt)                        default mqtt://localhost:1883
  --token T          admin token   default $ASSETOPS_ADMIN_TOKEN, else .assetops/admin-token
  --duration S       stop after S seconds                                default: until Ctrl-C
  --batch B          readings per HTTP request / per MQTT flush (1 … 10000) default 1000
  --help             this text

Over HTTP, "accepted" counts readings the service stored; over MQTT, readings the broker
acknowledged (PUBACK). MQTT_USERNAME and MQTT_PASSWORD are used when set.
Exit code: 0 clean run, 1 errors or rejected readings, 2 bad arguments.`;

export interface SimulateArgs {
  assets: number;
  rate: number;
  via: 'http' | 'mqtt';
  url: string;
  mqttUrl: string;
  token: string;
  /** Seconds; undefined: until stopped. */
  duration: number | undefined;
  batch: number;
}

/** A bad command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  readonly exitCode = 2;
}

/**
 * Parses the command line (`--name value` or `--name=value`). `--help` returns `'help'`.
 *
 * @example
 * parseSimulateArgs(['--assets', '10', '--rate', '100'], { ASSETOPS_ADMIN_TOKEN: '…' });
 */
export function parseSimulateArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
): SimulateArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        assets: { type: 'string' },
        rate: { type: 'string' },
        via: { type: 'string' },
        url: { type: 'string' },
        'mqtt-url': { type: 'string' },
        token: { type: 'string' },
        duration: { type: 'string' },
        batch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  const text = (name: string) => values[name] as string | undefined;

  const assets = integerArg('--assets', text('assets'), 1, 100_000);
  const rate = numberArg('--rate', text('rate'));
  const via = text('via') ?? 'http';
  if (via !== 'http' && via !== 'mqtt') throw new UsageError(`--via must be http or mqtt, not "${via}"`);
  const url = urlArg('--url', text('url') ?? 'http://localhost:8080', ['http:', 'https:']);
  const mqttUrl = urlArg('--mqtt-url', text('mqtt-url') ?? 'mqtt://localhost:1883', [
    'mqtt:',
    'mqtts:',
    'ws:',
    'wss:',
  ]);
  const duration = text('duration') === undefined ? undefined : numberArg('--duration', text('duration'));
  const batch = text('batch') === undefined ? 1_000 : integerArg('--batch', text('batch'), 1, 10_000);
  const token = text('token') ?? env.ASSETOPS_ADMIN_TOKEN ?? tokenFile(env, cwd);
  if (!token) {
    throw new UsageError(
      'no admin token: pass --token, set ASSETOPS_ADMIN_TOKEN, or run from the folder of `npm start` (.assetops/admin-token)',
    );
  }
  return { assets, rate, via, url, mqttUrl, token, duration, batch };
}

function integerArg(name: string, raw: string | undefined, min: number, max: number): number {
  if (raw === undefined) throw new UsageError(`${name} is required`);
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  }
  return value;
}

function numberArg(name: string, raw: string | undefined): number {
  if (raw === undefined) throw new UsageError(`${name} is required`);
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value <= 0 || value > 1_000_000) {
    throw new UsageError(`${name} must be a number above 0 (at most 1000000), not "${raw}"`);
  }
  return value;
}

function urlArg(name: string, raw: string, protocols: readonly string[]): string {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new UsageError(`${name} must be a URL, not "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new UsageError(
      `${name} must start with ${protocols.map((p) => `${p}//`).join(', ')}, not "${raw}"`,
    );
  }
  return raw.replace(/\/+$/, '');
}

function tokenFile(env: Record<string, string | undefined>, cwd: string): string | undefined {
  const file = path.resolve(cwd, env.ASSETOPS_DATA_DIR ?? '.assetops', 'admin-token');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}

/** Where the CLI writes: a terminal gets one updating progress line, anything else periodic lines. */
export interface SimulateIo {
  out: { write(text: string): unknown; isTTY?: boolean };
  err: { write(text: string): unknown };
  env: Record<string, string | undefined>;
  /** Aborting stops the run as Ctrl-C does (drain what is in flight, print the summary). */
  signal?: AbortSignal;
  cwd?: string;
}

/** What a run did. */
export interface SimulateSummary {
  assets: number;
  seconds: number;
  sent: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  /** Readings lost with failed requests. */
  failed: number;
  /** Failed requests (HTTP error, network error, MQTT publish error). */
  errors: number;
  firstError: string | null;
  requests: number;
  latencyMs: { p50: number; p99: number; max: number } | null;
  interrupted: boolean;
}

/** Runs the CLI; resolves with the process exit code. */
export async function main(argv: readonly string[], io: SimulateIo): Promise<number> {
  let args: SimulateArgs | 'help';
  try {
    args = parseSimulateArgs(argv, io.env, io.cwd);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err.write(`simulate: ${err.message}\n\n${USAGE}\n`);
    return err.exitCode;
  }
  if (args === 'help') {
    io.out.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const summary = await runSimulation(args, io);
    io.out.write(formatSummary(summary, args));
    return summary.errors > 0 || summary.rejected > 0 ? 1 : 0;
  } catch (err) {
    io.err.write(`simulate: ${(err as Error).message}\n`);
    return 1;
  }
}

/** The marker of the CLI's assets in their metadata (the demo's are `demo: true`). */
const FLEET = 'simulate';

/**
 * The CLI's assets `0 … count-1`: the ones an earlier run registered are reused (found by their
 * metadata), the others are registered; then waits for their onboarding.
 */
export async function provisionFleet(
  api: ApiClient,
  count: number,
  progress: (text: string) => void,
  signal?: AbortSignal,
): Promise<Asset[]> {
  const byIndex = new Map<number, Asset>();
  for (const asset of await listAllAssets(api, { q: 'Simulator' }, signal)) {
    const sim = asset.metadata.simulator as { fleet?: unknown; index?: unknown } | undefined;
    if (sim?.fleet !== FLEET || typeof sim.index !== 'number' || sim.index >= count) continue;
    if (asset.status === 'decommissioned' || asset.status === 'decommissioning') continue;
    if (!byIndex.has(sim.index)) byIndex.set(sim.index, asset);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  progress(`assets: ${byIndex.size} reused, ${missing.length} to register`);
  let registered = 0;
  const now = Date.now();
  // A few registrations at a time: fast enough for thousands, gentle on a small deployment.
  await forEachLimited(missing, 16, async (index) => {
    if (signal?.aborted) return;
    const type = simulatedTypes[index % simulatedTypes.length]!;
    const seed = hashOf(0x51a, index);
    const asset = await registerAsset(
      api,
      {
        name: `Simulated ${type} ${String(index + 1).padStart(5, '0')}`,
        type,
        location: 'Simulator',
        metadata: {
          simulator: { ...simulatorMetadata({ seed, index, since: now, runHours: 0 }), fleet: FLEET },
        },
      },
      signal,
    );
    byIndex.set(index, asset);
    registered++;
    if (registered % 100 === 0) progress(`registered ${registered}/${missing.length} assets`);
  });
  const assets = [...byIndex.entries()].sort(([a], [b]) => a - b).map(([, asset]) => asset);
  const commissioning = assets.filter((a) => a.status === 'commissioning').map((a) => a.id);
  if (commissioning.length > 0) {
    progress(`waiting for ${commissioning.length} assets to become active`);
    const settled = new Map(
      (await waitUntilActive(api, commissioning, { timeoutMs: 120_000, signal })).map((a) => [a.id, a]),
    );
    return assets.map((a) => settled.get(a.id) ?? a);
  }
  return assets;
}

async function forEachLimited<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** One way of sending a batch of readings. */
interface Sender {
  send(
    readings: readonly SimulatedReading[],
  ): Promise<{ accepted: number; duplicates: number; rejected: string[] }>;
  close(): Promise<void>;
}

function httpSender(api: ApiClient): Sender {
  return {
    async send(readings) {
      const result = await postReadings(api, readings);
      return {
        accepted: result.accepted,
        duplicates: result.duplicates,
        rejected: result.rejected.map((r) => r.code),
      };
    },
    async close() {},
  };
}

async function mqttSender(url: string, env: Record<string, string | undefined>): Promise<Sender> {
  const client: MqttClient = await connectAsync(url, {
    clientId: `assetops-simulate-${process.pid}-${Date.now().toString(36)}`,
    clean: true,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    ...(env.MQTT_USERNAME ? { username: env.MQTT_USERNAME, password: env.MQTT_PASSWORD ?? '' } : {}),
  });
  return {
    async send(readings) {
      // One message per asset (the topic names it), every reading with its own time.
      const byAsset = new Map<string, { metric: string; value: number; ts: number }[]>();
      for (const r of readings) {
        const list = byAsset.get(r.assetId) ?? [];
        list.push({ metric: r.metric, value: r.value, ts: r.ts });
        byAsset.set(r.assetId, list);
      }
      await Promise.all(
        [...byAsset].map(([assetId, list]) =>
          client.publishAsync(`assetops/${assetId}/telemetry`, JSON.stringify(list), { qos: 1 }),
        ),
      );
      return { accepted: readings.length, duplicates: 0, rejected: [] };
    },
    async close() {
      await client.endAsync();
    },
  };
}

/** Latencies: every one while few, a uniform sample (reservoir) of 100,000 beyond. */
class LatencyRecorder {
  private readonly sample: number[] = [];
  private seen = 0;
  private maximum = 0;
  constructor(private readonly random: Random) {}
  add(ms: number) {
    this.seen++;
    this.maximum = Math.max(this.maximum, ms);
    if (this.sample.length < 100_000) this.sample.push(ms);
    else {
      const slot = Math.floor(this.random() * this.seen);
      if (slot < this.sample.length) this.sample[slot] = ms;
    }
  }
  get count() {
    return this.seen;
  }
  summary(): { p50: number; p99: number; max: number } | null {
    if (this.sample.length === 0) return null;
    const sorted = [...this.sample].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { p50: at(0.5), p99: at(0.99), max: this.maximum };
  }
}

const MAX_IN_FLIGHT = 8;
const TICK_MS = 50;

/**
 * Registers the fleet, then paces readings: every tick the readings due at rate R are drawn from
 * the devices (round robin over asset × metric, each with its own strictly increasing time) and
 * sent in batches of at most B, with up to 8 batches in flight. When the platform is slower than
 * R, readings are not queued without bound: the generator waits, and the achieved rate shows it.
 */
export async function runSimulation(args: SimulateArgs, io: SimulateIo): Promise<SimulateSummary> {
  const api = createApiClient({ baseUrl: args.url, token: args.token });
  const tty = io.out.isTTY === true;
  const note = (text: string) => io.out.write(`${text}\n`);
  const signal = io.signal;
  note(
    `simulate: ${args.assets} assets, ${args.rate} readings/s over ${args.via} → ${args.via === 'http' ? args.url : args.mqttUrl}`,
  );
  const assets = await provisionFleet(api, args.assets, (text) => note(`simulate: ${text}`), signal);
  const notActive = assets.filter((a) => a.status !== 'active').length;
  if (notActive > 0) note(`simulate: ${notActive} assets are not active; their readings may be rejected`);

  const devices: Device[] = assets.map(deviceOf);
  const pairs = devices.flatMap((device) =>
    metricsOf(device.type).map((metric) => ({ device, metric, lastTs: 0 })),
  );
  const sender = args.via === 'http' ? httpSender(api) : await mqttSender(args.mqttUrl, io.env);
  const latencies = new LatencyRecorder(createRandom(7));
  const totals = {
    sent: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    failed: 0,
    errors: 0,
    firstError: null as string | null,
  };
  const rejectedByCode: Record<string, number> = {};
  const pending: SimulatedReading[] = [];
  const inFlight = new Set<Promise<void>>();
  let cursor = 0;
  let generated = 0;
  let interrupted = false;
  let window = { at: Date.now(), sent: 0, latencies: [] as number[] };

  const dispatch = () => {
    while (pending.length > 0 && inFlight.size < MAX_IN_FLIGHT) {
      const batch = pending.splice(0, args.batch);
      totals.sent += batch.length;
      const startedAt = performance.now();
      const request = sender
        .send(batch)
        .then((result) => {
          const ms = performance.now() - startedAt;
          latencies.add(ms);
          window.latencies.push(ms);
          totals.accepted += result.accepted;
          totals.duplicates += result.duplicates;
          totals.rejected += result.rejected.length;
          for (const code of result.rejected) rejectedByCode[code] = (rejectedByCode[code] ?? 0) + 1;
        })
        .catch((err: Error) => {
          totals.errors++;
          totals.failed += batch.length;
          totals.firstError ??= err.message;
        })
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
  };

  const progress = (final: boolean) => {
    const now = Date.now();
    const seconds = (now - window.at) / 1000;
    const rate = seconds > 0 ? (totals.sent - window.sent) / seconds : 0;
    const sorted = window.latencies.sort((a, b) => a - b);
    const pct = (q: number) =>
      sorted.length ? fmtMs(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : '–';
    const line =
      `${fmtSeconds((now - startedAt) / 1000)}  rate ${fmtInt(rate)}/s  accepted ${fmtInt(totals.accepted)}` +
      `  rejected ${fmtInt(totals.rejected)}  errors ${fmtInt(totals.errors)}  p50 ${pct(0.5)}  p99 ${pct(0.99)}`;
    if (tty) io.out.write(`\r${line}\u001b[K${final ? '\n' : ''}`);
    else io.out.write(`${line}\n`);
    window = { at: now, sent: totals.sent, latencies: [] };
  };

  const startedAt = Date.now();
  const endsAt = args.duration === undefined ? Number.POSITIVE_INFINITY : startedAt + args.duration * 1000;
  const progressEveryMs = tty ? 500 : 5_000;
  let nextProgress = startedAt + progressEveryMs;
  // A bound on what waits to be sent: a few seconds' worth, at least a few batches.
  const maxPending = Math.max(args.batch * MAX_IN_FLIGHT * 2, Math.ceil(args.rate * 2));
  try {
    while (!signal?.aborted) {
      const now = Date.now();
      const until = Math.min(now, endsAt);
      const due = Math.floor(((until - startedAt) / 1000) * args.rate) - generated;
      const room = maxPending - pending.length;
      // Behind (the platform is slower than the rate): skip what cannot be queued, do not burst later.
      const take = Math.min(due, Math.max(0, room));
      if (due > take) generated += due - take;
      for (let i = 0; i < take; i++) {
        const pair = pairs[cursor]!;
        cursor = (cursor + 1) % pairs.length;
        // Strictly increasing per asset and metric: the service treats an equal time as a duplicate.
        const ts = Math.max(now, pair.lastTs + 1);
        pair.lastTs = ts;
        pending.push(sampleOne(pair.device, pair.metric, ts, { faultsPerHour: 0 }));
      }
      generated += take;
      dispatch();
      if (now >= nextProgress) {
        progress(false);
        nextProgress = now + progressEveryMs;
      }
      if (now >= endsAt) break;
      await sleep(Math.min(TICK_MS, endsAt - now), signal);
    }
    interrupted = signal?.aborted === true;
    // At the end of the duration what was generated is still sent; after Ctrl-C only what is in flight finishes.
    if (!interrupted) {
      while (pending.length > 0) {
        dispatch();
        if (inFlight.size > 0) await Promise.race(inFlight);
      }
    }
    await Promise.all(inFlight);
  } finally {
    await sender.close().catch(() => undefined);
  }
  progress(true);
  const seconds = (Date.now() - startedAt) / 1000;
  return {
    assets: assets.length,
    seconds,
    ...totals,
    rejectedByCode,
    requests: latencies.count,
    latencyMs: latencies.summary(),
    interrupted,
  };
}

/** The summary printed at the end of a run. */
export function formatSummary(summary: SimulateSummary, args: Pick<SimulateArgs, 'via' | 'rate'>): string {
  const rate = summary.seconds > 0 ? summary.sent / summary.seconds : 0;
  const codes = Object.entries(summary.rejectedByCode)
    .map(([code, n]) => `${code}: ${fmtInt(n)}`)
    .join(', ');
  const latency = summary.latencyMs
    ? `p50 ${fmtMs(summary.latencyMs.p50)} · p99 ${fmtMs(summary.latencyMs.p99)} · max ${fmtMs(summary.latencyMs.max)}  (${fmtInt(summary.requests)} ${args.via === 'http' ? 'requests' : 'flushes'})`
    : '–';
  const lines = [
    '',
    `Summary: ${summary.assets} assets over ${args.via} for ${fmtSeconds(summary.seconds)}${summary.interrupted ? ' (interrupted)' : ''}`,
    `  readings sent  ${fmtInt(summary.sent)}  (${fmtInt(rate)}/s; target ${fmtInt(args.rate)}/s)`,
    `  accepted       ${fmtInt(summary.accepted)}${args.via === 'mqtt' ? '  (acknowledged by the broker)' : ''}`,
    `  duplicates     ${fmtInt(summary.duplicates)}`,
    `  rejected       ${fmtInt(summary.rejected)}${codes ? `  (${codes})` : ''}`,
    `  errors         ${fmtInt(summary.errors)} failed requests, ${fmtInt(summary.failed)} readings lost${summary.firstError ? `  (first: ${summary.firstError})` : ''}`,
    `  latency        ${latency}`,
    '',
  ];
  return lines.join('\n');
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function fmtMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

function fmtSeconds(s: number): string {
  return `${s.toFixed(1)} s`;
}
