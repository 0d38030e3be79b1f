/**
 * End-to-end projection probes, on their own thread: the thread holds one
 * `GET /api/v1/dashboard/stream` (Server-Sent Events, through the gateway with the bearer token)
 * open and, at random intervals, sends an idle probe asset one reading of metric `probe` with a
 * fresh value (reading time = now) through `POST /api/v1/telemetry`. A probe is seen when an
 * `event: asset` message of that asset carries `latest.probe.value` equal to (or, coalesced, above)
 * the value sent. Each probe asset has at most one probe in flight, so a coalesced newer value
 * cannot hide an older probe.
 *
 * Commands: `open` (connects the stream; resolves once its headers arrived), `run` (probes until
 * `samples` were started or `maxSeconds` passed, then waits for those in flight up to `timeoutMs`),
 * `close`.
 */
import { workerData } from 'node:worker_threads';
import { Client, Pool } from 'undici';
import { epochMs } from '../alert-latency/tail.js';
import { serve } from '../common/threads.js';

export interface StreamProbeSettings {
  gatewayUrl: string;
  adminToken: string;
  assetIds: string[];
  metric: string;
  /** A probe not seen on the stream within this long is a miss. */
  timeoutMs: number;
}

export interface StreamProbeRecord {
  assetId: string;
  value: number;
  /** Epoch ms: the reading's time (= when it was sent, rounded to ms), the ingest answer, seen on the stream. */
  tsMs: number;
  sentAt: number;
  ackAt: number;
  seenAt?: number;
  error?: string;
}

export interface StreamProbeRunArgs {
  samples: number;
  maxSeconds: number;
  minIntervalMs: number;
  maxIntervalMs: number;
}

export interface StreamProbeOutcome {
  seconds: number;
  records: StreamProbeRecord[];
  /** Ticks at which every probe asset had a probe in flight (none started). */
  skippedTicks: number;
  /** What the stream carried while the probes ran (every asset, not only the probes'). */
  stream: {
    assetMessages: number;
    fleetMessages: number;
    bytes: number;
    reconnects: number;
    errors: string[];
  };
}

const settings = workerData as StreamProbeSettings;
const headers = { authorization: `Bearer ${settings.adminToken}` };
const ingest = new Pool(settings.gatewayUrl, { connections: 4, keepAliveTimeout: 60_000 });
const probeIds = new Set(settings.assetIds);

/** Per probe asset: the probe in flight, resolved when its value shows up on the stream. */
const inFlight = new Map<string, { record: StreamProbeRecord; done: () => void }>();
const counters = { assetMessages: 0, fleetMessages: 0, bytes: 0, reconnects: 0, errors: [] as string[] };
let streamClient: Client | undefined;
let closing = false;
let lastEventId: string | undefined;

function onMessage(event: string, data: string, id: string | undefined): void {
  if (id !== undefined) lastEventId = id;
  if (event === 'fleet') {
    counters.fleetMessages++;
    return;
  }
  if (event !== 'asset') return;
  counters.assetMessages++;
  // Only the probes' assets are parsed: under load the stream carries every changed asset.
  const match = /"assetId":"([0-9a-f-]{36})"/.exec(data.slice(0, 80));
  if (!match || !probeIds.has(match[1]!)) return;
  const waiting = inFlight.get(match[1]!);
  if (!waiting) return;
  const seenAt = epochMs();
  const asset = JSON.parse(data) as { latest?: Record<string, { value: number }> };
  const value = asset.latest?.[settings.metric]?.value;
  if (value !== undefined && value >= waiting.record.value) {
    waiting.record.seenAt = seenAt;
    inFlight.delete(match[1]!);
    waiting.done();
  }
}

/** Reads the stream until it ends; reconnects (with Last-Event-ID) unless closing. */
async function readStream(): Promise<void> {
  let opened: (() => void) | undefined;
  const ready = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const loop = async () => {
    while (!closing) {
      streamClient = new Client(settings.gatewayUrl, { bodyTimeout: 0, headersTimeout: 30_000 });
      try {
        const res = await streamClient.request({
          path: '/api/v1/dashboard/stream',
          method: 'GET',
          headers: {
            ...headers,
            accept: 'text/event-stream',
            ...(lastEventId ? { 'last-event-id': lastEventId } : {}),
          },
        });
        if (res.statusCode !== 200) {
          throw new Error(`stream answered ${res.statusCode}: ${(await res.body.text()).slice(0, 200)}`);
        }
        opened?.();
        let buffer = '';
        let event = 'message';
        let data = '';
        let id: string | undefined;
        res.body.setEncoding('utf8');
        for await (const chunk of res.body as AsyncIterable<string>) {
          counters.bytes += chunk.length;
          buffer += chunk;
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            const line = buffer.slice(0, nl).replace(/\r$/, '');
            buffer = buffer.slice(nl + 1);
            if (line === '') {
              if (data) onMessage(event, data, id);
              event = 'message';
              data = '';
              id = undefined;
            } else if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(5).trimStart();
            else if (line.startsWith('id:')) id = line.slice(3).trim();
            nl = buffer.indexOf('\n');
          }
        }
      } catch (err) {
        if (closing) return;
        if (counters.errors.length < 5) counters.errors.push(String((err as Error).message ?? err));
      } finally {
        await streamClient?.close().catch(() => {});
      }
      if (closing) return;
      counters.reconnects++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };
  void loop();
  await Promise.race([
    ready,
    new Promise<void>((_, reject) =>
      setTimeout(() => reject(new Error(`the stream did not open: ${counters.errors.join('; ')}`)), 30_000),
    ),
  ]);
}

let nextValue = 1;

/** Sends one probe reading for `assetId`; resolves when it was seen on the stream or timed out. */
async function probe(assetId: string, records: StreamProbeRecord[]): Promise<void> {
  const value = nextValue++;
  const sentAt = epochMs();
  const record: StreamProbeRecord = { assetId, value, tsMs: Math.round(sentAt), sentAt, ackAt: Number.NaN };
  records.push(record);
  let timer: NodeJS.Timeout | undefined;
  const seen = new Promise<void>((resolve) => {
    inFlight.set(assetId, { record, done: resolve });
    timer = setTimeout(() => {
      if (record.seenAt === undefined) record.error ??= 'not seen on the stream in time';
      resolve();
    }, settings.timeoutMs);
  });
  try {
    const res = await ingest.request({
      path: '/api/v1/telemetry',
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        readings: [{ assetId, metric: settings.metric, value, ts: record.tsMs }],
      }),
    });
    const text = await res.body.text();
    record.ackAt = epochMs();
    const answer = res.statusCode === 200 ? (JSON.parse(text) as { accepted: number }) : undefined;
    if (answer?.accepted !== 1) {
      record.error = `ingest answered ${res.statusCode}: ${text.slice(0, 200)}`;
      inFlight.delete(assetId);
      clearTimeout(timer);
      return;
    }
  } catch (err) {
    record.error = String((err as Error).message ?? err);
    inFlight.delete(assetId);
    clearTimeout(timer);
    return;
  }
  await seen;
  clearTimeout(timer);
  inFlight.delete(assetId);
}

serve({
  async open(): Promise<void> {
    await readStream();
  },

  async run(args: StreamProbeRunArgs): Promise<StreamProbeOutcome> {
    const records: StreamProbeRecord[] = [];
    const running: Promise<void>[] = [];
    const busy = new Set<string>();
    const before = { ...counters, errors: [...counters.errors] };
    let skippedTicks = 0;
    const start = performance.now();
    const deadline = start + args.maxSeconds * 1000;
    let next = 0;
    for (let started = 0; started < args.samples && performance.now() < deadline; ) {
      const ids = settings.assetIds;
      let pick: string | undefined;
      for (let i = 0; i < ids.length && pick === undefined; i++) {
        const candidate = ids[(next + i) % ids.length]!;
        if (!busy.has(candidate)) {
          pick = candidate;
          next = (next + i + 1) % ids.length;
        }
      }
      if (pick === undefined) {
        skippedTicks++;
      } else {
        const assetId = pick;
        busy.add(assetId);
        running.push(probe(assetId, records).finally(() => busy.delete(assetId)));
        started++;
      }
      const interval = args.minIntervalMs + Math.random() * (args.maxIntervalMs - args.minIntervalMs);
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
    await Promise.all(running);
    return {
      seconds: (performance.now() - start) / 1000,
      records,
      skippedTicks,
      stream: {
        assetMessages: counters.assetMessages - before.assetMessages,
        fleetMessages: counters.fleetMessages - before.fleetMessages,
        bytes: counters.bytes - before.bytes,
        reconnects: counters.reconnects - before.reconnects,
        errors: counters.errors.slice(before.errors.length),
      },
    };
  },

  async close(): Promise<void> {
    closing = true;
    await streamClient?.destroy().catch(() => {});
    await ingest.close();
  },
});
