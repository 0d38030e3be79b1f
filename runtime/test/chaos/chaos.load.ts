import { sleep } from './chaos.wait.js';

/** The answer of one gateway call; `status` 0 when no HTTP answer came (refused, reset, timed out). */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Calls the gateway with the admin token. Never throws: a failed call is an answer with status 0. */
export type GatewayCall = (method: string, path: string, body?: unknown) => Promise<ApiAnswer>;

export function gatewayClient(baseUrl: string, token: string, timeoutMs = 20_000): GatewayCall {
  return async (method, path, body) => {
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed };
    } catch (err) {
      return { status: 0, body: (err as Error).message };
    }
  };
}

export type AssetType = 'pump' | 'compressor';

/** An asset the load sends readings for (only once its onboarding made it active). */
export interface LoadAsset {
  id: string;
  type: AssetType;
  /**
   * Cycles its compressor discharge pressure above the profile's critical threshold (10, for 5 s)
   * and back below the clear threshold (9.5): each hot phase is one alert episode, and each
   * critical alert opens one work order.
   */
  hot: boolean;
  /** The ingest worker that owns its series (one writer per series keeps event time in order). */
  worker: number;
  /** Wall-clock start of its hot/cool cycle. */
  cycleStart: number;
}

export interface LoadOptions {
  call: GatewayCall;
  /** Target readings per second over all workers. */
  readingsPerSecond: number;
  ingestWorkers: number;
  /** One registration (onboarding saga) every so often. */
  registerEveryMs: number;
  /** How long the hot phase of a hot asset lasts, then its cool phase. */
  hotMs: number;
  coolMs: number;
}

/** Precise counts of what the load did; a reading counts as acknowledged only from a 200. */
export interface LoadStats {
  batchesSent: number;
  batchesAcknowledged: number;
  /** Distinct readings put into a batch (each sent at least once). */
  readingsSent: number;
  /** Σ `accepted` of the 200 answers: the readings acknowledged as durable. */
  readingsAccepted: number;
  /**
   * Σ `duplicates` of the 200 answers (a subset of `accepted`): readings of a retried batch that an
   * earlier attempt, whose answer was lost, had already stored.
   */
  readingsDuplicateOnRetry: number;
  readingsRejected: number;
  /** Readings whose batch never got a 200 before the drain deadline. */
  readingsUnacknowledged: number;
  /** Failed ingest attempts by answer (`0` = no HTTP answer), each retried with the same readings. */
  ingestFailures: Record<string, number>;
  /** The first answer of each failing status, by call (`ingest 500`), to tell an outage from a bug. */
  failureSamples: Record<string, string>;
  registrations: {
    attempted: number;
    created: number;
    /** Failed registrations by answer (`0` = no HTTP answer); not retried. */
    failed: Record<string, number>;
    activated: number;
  };
  workOrderActions: Record<string, { ok: number; conflict: number; failed: number }>;
}

interface Reading {
  assetId: string;
  metric: string;
  value: number;
  ts: string;
}

/** The load of the chaos test: ingest, registrations and work-order transitions, until stopped. */
export interface ChaosLoad {
  readonly stats: LoadStats;
  /** Readings acknowledged per series (`assetId/metric`), for diagnosing a mismatch. */
  readonly acknowledgedBySeries: Map<string, number>;
  /** Assets registered (201), active or not. */
  readonly registered: string[];
  addAssets(assets: { id: string; type: AssetType; hot: boolean }[]): void;
  start(): void;
  /**
   * Stops making new work, then lets every ingest worker retry its last batch until it is
   * acknowledged (or `drainTimeoutMs` passes).
   */
  stop(drainTimeoutMs: number): Promise<void>;
  /** Readings acknowledged: Σ `accepted` of the 200 answers (duplicates found on retry included). */
  acknowledged(): number;
}

export function createChaosLoad(opts: LoadOptions): ChaosLoad {
  const { call } = opts;
  const stats: LoadStats = {
    batchesSent: 0,
    batchesAcknowledged: 0,
    readingsSent: 0,
    readingsAccepted: 0,
    readingsDuplicateOnRetry: 0,
    readingsRejected: 0,
    readingsUnacknowledged: 0,
    ingestFailures: {},
    failureSamples: {},
    registrations: { attempted: 0, created: 0, failed: {}, activated: 0 },
    workOrderActions: {},
  };
  const acknowledgedBySeries = new Map<string, number>();
  const fleet: LoadAsset[] = [];
  const registered: string[] = [];
  const awaitingActivation: { id: string; type: AssetType; hot: boolean }[] = [];
  const lastTs = new Map<string, number>();
  let stopping = false;
  let drainDeadline = Number.POSITIVE_INFINITY;
  const loops: Promise<void>[] = [];
  const tickMs = 200;

  function addAssets(assets: { id: string; type: AssetType; hot: boolean }[]): void {
    for (const asset of assets) {
      const perWorker = Array.from(
        { length: opts.ingestWorkers },
        (_, w) => fleet.filter((a) => a.worker === w).length,
      );
      const worker = perWorker.indexOf(Math.min(...perWorker));
      fleet.push({ ...asset, worker, cycleStart: Date.now() });
    }
  }

  function metricsOf(asset: LoadAsset): { metric: string; value: (now: number) => number }[] {
    if (asset.type === 'pump') return [{ metric: 'temperature', value: () => 60 + Math.random() * 10 }];
    const hotNow = (now: number) =>
      asset.hot && (now - asset.cycleStart) % (opts.hotMs + opts.coolMs) < opts.hotMs;
    return [
      { metric: 'pressure', value: (now) => (hotNow(now) ? 12 + Math.random() : 7 + Math.random()) },
      { metric: 'temperature', value: () => 80 + Math.random() * 10 },
    ];
  }

  /** Readings for every series of the worker's assets, spread over the last tick, ts unique per series. */
  function buildBatch(assets: LoadAsset[], now: number): Reading[] {
    const seriesCount = assets.reduce((n, a) => n + metricsOf(a).length, 0);
    const perSeries = Math.max(
      1,
      Math.round(((opts.readingsPerSecond / opts.ingestWorkers) * (tickMs / 1000)) / seriesCount),
    );
    const readings: Reading[] = [];
    for (const asset of assets) {
      for (const { metric, value } of metricsOf(asset)) {
        const key = `${asset.id}/${metric}`;
        for (let i = 0; i < perSeries; i++) {
          const planned = now - tickMs + Math.floor(((i + 1) * tickMs) / perSeries);
          const ts = Math.max(planned, (lastTs.get(key) ?? 0) + 1);
          lastTs.set(key, ts);
          readings.push({
            assetId: asset.id,
            metric,
            value: Number(value(ts).toFixed(3)),
            ts: new Date(ts).toISOString(),
          });
        }
      }
    }
    return readings;
  }

  function sample(key: string, answer: ApiAnswer): void {
    if (key in stats.failureSamples) return;
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    stats.failureSamples[key] = (body ?? '').slice(0, 300);
  }

  /** Posts one batch until a 200, always with the same readings, so idempotency keeps counts exact. */
  async function deliver(readings: Reading[]): Promise<void> {
    stats.batchesSent++;
    stats.readingsSent += readings.length;
    for (let attempt = 1; ; attempt++) {
      const answer = await call('POST', '/api/v1/telemetry', { readings });
      if (answer.status === 200) {
        const result = answer.body as { accepted: number; duplicates: number; rejected: { index: number }[] };
        stats.batchesAcknowledged++;
        stats.readingsAccepted += result.accepted;
        stats.readingsDuplicateOnRetry += result.duplicates;
        stats.readingsRejected += result.rejected.length;
        const rejected = new Set(result.rejected.map((r) => r.index));
        readings.forEach((reading, index) => {
          if (rejected.has(index)) return;
          const key = `${reading.assetId}/${reading.metric}`;
          acknowledgedBySeries.set(key, (acknowledgedBySeries.get(key) ?? 0) + 1);
        });
        return;
      }
      const kind = String(answer.status);
      stats.ingestFailures[kind] = (stats.ingestFailures[kind] ?? 0) + 1;
      sample(`ingest ${kind}`, answer);
      if (Date.now() > drainDeadline) {
        stats.readingsUnacknowledged += readings.length;
        return;
      }
      await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)));
    }
  }

  async function ingestLoop(worker: number): Promise<void> {
    while (!stopping) {
      const started = Date.now();
      const assets = fleet.filter((a) => a.worker === worker);
      if (assets.length > 0) await deliver(buildBatch(assets, started));
      const elapsed = Date.now() - started;
      if (elapsed < tickMs) await sleep(tickMs - elapsed);
    }
  }

  async function registrationLoop(): Promise<void> {
    let n = 0;
    while (!stopping) {
      await sleep(opts.registerEveryMs);
      if (stopping) break;
      n++;
      const type: AssetType = n % 2 === 0 ? 'pump' : 'compressor';
      stats.registrations.attempted++;
      const answer = await call('POST', '/api/v1/assets', { name: `Chaos ${type} ${n}`, type });
      if (answer.status === 201) {
        const id = (answer.body as { id: string }).id;
        stats.registrations.created++;
        registered.push(id);
        awaitingActivation.push({ id, type, hot: type === 'compressor' && n % 3 === 1 });
      } else {
        // Not retried: without an idempotency key a retry could register a second asset.
        const kind = String(answer.status);
        stats.registrations.failed[kind] = (stats.registrations.failed[kind] ?? 0) + 1;
        sample(`register ${kind}`, answer);
      }
    }
  }

  /** New assets join the ingest load once onboarding made them active (Telemetry knows them). */
  async function activationLoop(): Promise<void> {
    while (!stopping) {
      await sleep(1000);
      for (const pending of [...awaitingActivation]) {
        const answer = await call('GET', `/api/v1/assets/${pending.id}`);
        if (answer.status === 200 && (answer.body as { status: string }).status === 'active') {
          awaitingActivation.splice(awaitingActivation.indexOf(pending), 1);
          stats.registrations.activated++;
          if (!stopping) addAssets([pending]);
        }
      }
    }
  }

  /** A technician's day: assign what is open, start what is assigned, complete what is in progress. */
  async function workOrderLoop(): Promise<void> {
    const steps = [
      { from: 'open', action: 'assign' },
      { from: 'assigned', action: 'start' },
      { from: 'in_progress', action: 'complete' },
    ];
    while (!stopping) {
      await sleep(1000);
      for (const { from, action } of steps) {
        const page = await call('GET', `/api/v1/work-orders?status=${from}&limit=50`);
        const listed = stats.workOrderActions.list ?? { ok: 0, conflict: 0, failed: 0 };
        stats.workOrderActions.list = listed;
        if (page.status !== 200) {
          listed.failed++;
          sample(`list work orders ${page.status}`, page);
          continue;
        }
        listed.ok++;
        for (const order of (page.body as { items: { id: string }[] }).items) {
          if (stopping) return;
          const answer = await call('POST', `/api/v1/work-orders/${order.id}/${action}`);
          const counts = stats.workOrderActions[action] ?? { ok: 0, conflict: 0, failed: 0 };
          stats.workOrderActions[action] = counts;
          // 409: the order moved on meanwhile (or an earlier attempt's answer was lost).
          if (answer.status === 200) counts.ok++;
          else if (answer.status === 409) counts.conflict++;
          else counts.failed++;
        }
      }
    }
  }

  return {
    stats,
    acknowledgedBySeries,
    registered,
    addAssets,
    start() {
      for (let w = 0; w < opts.ingestWorkers; w++) loops.push(ingestLoop(w));
      loops.push(registrationLoop(), activationLoop(), workOrderLoop());
    },
    async stop(drainTimeoutMs) {
      stopping = true;
      drainDeadline = Date.now() + drainTimeoutMs;
      await Promise.all(loops);
    },
    acknowledged: () => stats.readingsAccepted,
  };
}
