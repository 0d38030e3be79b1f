import type { Asset } from '@assetops/contracts';
import type { Logger } from '@assetops/platform';
import {
  type ApiClient,
  createApiClient,
  createMaintenancePlan,
  createTechnician,
  listAllAssets,
  postReadings,
  registerAsset,
  sleep,
  waitUntilActive,
} from './api.client.js';
import { demoAssetBody, demoAssets, demoPlan, demoTechnicians, deviceOf, isDemoAsset } from './demo.fleet.js';
import { modelOf } from './device.models.js';
import { type Device, type ScheduledFault, type SignalOptions, sampleDevice } from './device.signals.js';

/** Options of the demo (`startAllInOne({ demo })`; `npm start` unless `ASSETOPS_DEMO=false`). */
export interface DemoOptions {
  /** When the scheduled fault starts, after the fleet is live (default 20 s). */
  firstFaultAfterMs?: number;
  /** How often every device sends its readings (default 1 s). */
  intervalMs?: number;
  /** Chance per device and hour of a random fault (default 0.05: one every couple of hours for the fleet). */
  faultsPerHour?: number;
  /** How long to wait for onboarding to make the assets active (default 60 s). */
  activationTimeoutMs?: number;
  /** Where the "demo is live" line goes besides the log (`npm start` prints it). */
  announce?: (line: string) => void;
}

export interface DemoDeps extends DemoOptions {
  /** The gateway, as this process reaches it. */
  apiUrl: string;
  /** The web UI's address as the user opens it. */
  uiUrl: string;
  token: string;
  logger: Logger;
  /** Epoch milliseconds (tests may pass another clock). */
  now?: () => number;
}

/** What the demo runs: its assets and the fault it scheduled. */
export interface DemoState {
  /** True when this start registered the fleet; false when it resumed existing demo assets. */
  seeded: boolean;
  assets: Asset[];
  scheduledFault: (ScheduledFault & { assetName: string }) | null;
}

export interface RunningDemo {
  /** Resolves once the fleet is registered (or found) and readings flow; rejects when seeding failed. */
  ready: Promise<DemoState>;
  /** Stops the simulator (waits for the request in flight). */
  stop(): Promise<void>;
}

/**
 * The demo that is alive on first start: on a platform without assets it registers a small fleet
 * (pumps, compressors, motors, chillers), technicians and a preventive plan through the public API,
 * waits for onboarding, and then sends every device's readings each second — with a fault scheduled
 * shortly after start on the first pump, so an alert fires and a work order is opened within a
 * minute. On a platform that has assets it registers nothing and resumes the demo assets it finds.
 */
export function startDemo(deps: DemoDeps): RunningDemo {
  const abort = new AbortController();
  const now = deps.now ?? Date.now;
  const api = createApiClient({ baseUrl: deps.apiUrl, token: deps.token });
  const logger = deps.logger;
  let loop: Promise<void> = Promise.resolve();

  const ready = (async (): Promise<DemoState> => {
    const { seeded, assets } = await fleet(api, deps, now, abort.signal);
    if (abort.signal.aborted) return { seeded, assets, scheduledFault: null };
    const devices = assets.map(deviceOf).sort((a, b) => a.index - b.index);
    const target = devices.find((d) => modelOf(d.type).faults[0]?.alerts.opensWorkOrder);
    const firstFault = target ? modelOf(target.type).faults[0] : undefined;
    const scheduledFault =
      target && firstFault
        ? {
            assetId: target.assetId,
            kind: firstFault.kind,
            startsAt: now() + (deps.firstFaultAfterMs ?? 20_000),
            assetName: assets.find((a) => a.id === target.assetId)?.name ?? target.assetId,
          }
        : null;
    const signals: SignalOptions = {
      scheduledFaults: scheduledFault ? [scheduledFault] : [],
      faultsPerHour: deps.faultsPerHour ?? 0.05,
    };
    loop = runSimulator(api, devices, signals, deps.intervalMs ?? 1_000, now, logger, abort.signal);
    announce(deps, {
      seeded,
      count: devices.length,
      scheduledFault,
      faultDescription: firstFault?.description,
    });
    return { seeded, assets, scheduledFault };
  })();
  // The runtime keeps running when the demo cannot start: say why, once.
  ready.catch((err) => {
    if (!abort.signal.aborted) logger.error({ err }, 'the demo could not start');
  });

  return {
    ready,
    async stop() {
      abort.abort();
      await ready.catch(() => undefined);
      await loop;
    },
  };
}

/** Registers the demo fleet on an empty platform, or finds the demo assets of an earlier start. */
async function fleet(
  api: ApiClient,
  deps: DemoDeps,
  now: () => number,
  signal: AbortSignal,
): Promise<{ seeded: boolean; assets: Asset[] }> {
  const any = await api.call<{ items: Asset[] }>('GET', '/api/v1/assets?limit=1', undefined, signal);
  const activationTimeoutMs = deps.activationTimeoutMs ?? 60_000;
  if (any.items.length > 0) {
    const assets = (await listAllAssets(api, {}, signal)).filter(isDemoAsset);
    deps.logger.info({ demoAssets: assets.length }, 'assets exist: the demo fleet is not registered again');
    const commissioning = assets.filter((a) => a.status === 'commissioning').map((a) => a.id);
    if (commissioning.length === 0) return { seeded: false, assets };
    const settled = await waitUntilActive(api, commissioning, { timeoutMs: activationTimeoutMs, signal });
    return { seeded: false, assets: assets.map((a) => settled.find((s) => s.id === a.id) ?? a) };
  }

  const startedAt = now();
  await Promise.all(demoTechnicians.map((technician) => createTechnician(api, technician, signal)));
  const registered = await Promise.all(
    demoAssets.map((spec, index) => registerAsset(api, demoAssetBody(spec, index, startedAt), signal)),
  );
  const assets = await waitUntilActive(
    api,
    registered.map((a) => a.id),
    { timeoutMs: activationTimeoutMs, signal },
  );
  const notActive = assets.filter((a) => a.status !== 'active');
  if (notActive.length > 0) {
    deps.logger.warn(
      { assets: notActive.map((a) => ({ name: a.name, status: a.status })) },
      'some demo assets did not become active; they are simulated all the same',
    );
  }
  const compressor = assets.find((a) => a.type === 'compressor');
  if (compressor) await createPlanWhenKnown(api, compressor.id, now, deps.logger, signal);
  deps.logger.info({ assets: assets.length, technicians: demoTechnicians.length }, 'demo fleet registered');
  return { seeded: true, assets };
}

/**
 * The maintenance service learns of an asset from its events, which may arrive a moment after the
 * asset became active: retry `UNKNOWN_ASSET` for a while. The plan is a nicety; failing it is logged.
 */
async function createPlanWhenKnown(
  api: ApiClient,
  assetId: string,
  now: () => number,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await createMaintenancePlan(api, demoPlan(assetId, now()), signal);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'UNKNOWN_ASSET' || attempt >= 40 || signal.aborted) {
        logger.warn({ err }, 'the demo maintenance plan could not be created');
        return;
      }
      await sleep(250, signal);
    }
  }
}

/**
 * Sends every device's readings each `intervalMs`, on a fixed beat (a slow request delays the next
 * beat; missed beats are skipped, not sent in a burst). Failures are logged when they start and
 * when they end, not every second.
 */
async function runSimulator(
  api: ApiClient,
  devices: readonly Device[],
  signals: SignalOptions,
  intervalMs: number,
  now: () => number,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  if (devices.length === 0) return;
  let failing = false;
  let rejectedLogged = false;
  let beat = now();
  while (!signal.aborted) {
    const t = now();
    const readings = devices.flatMap((device) => sampleDevice(device, t, signals));
    try {
      const result = await postReadings(api, readings, signal);
      if (failing) logger.info('the demo simulator reaches the API again');
      failing = false;
      if (result.rejected.length > 0 && !rejectedLogged) {
        // Expected while an asset is not (or no longer) accepting readings; said once.
        rejectedLogged = true;
        logger.info(
          { rejected: result.rejected.length, first: result.rejected[0] },
          'some demo readings were rejected',
        );
      }
    } catch (err) {
      if (signal.aborted) break;
      if (!failing) logger.warn({ err }, 'the demo simulator could not send readings; it keeps trying');
      failing = true;
    }
    beat += intervalMs;
    const current = now();
    if (beat < current) beat = current + intervalMs - ((current - beat) % intervalMs);
    await sleep(beat - current, signal);
  }
}

function announce(
  deps: DemoDeps,
  state: {
    seeded: boolean;
    count: number;
    scheduledFault: DemoState['scheduledFault'];
    faultDescription: string | undefined;
  },
): void {
  const { seeded, count, scheduledFault } = state;
  const intervalMs = deps.intervalMs ?? 1_000;
  const every = intervalMs === 1_000 ? 'every second' : `every ${intervalMs / 1000} s`;
  const fleetText = `Demo fleet ${seeded ? 'registered' : 'resumed'}: ${count} simulated assets send readings ${every}`;
  const faultText = scheduledFault
    ? `; in about ${Math.max(0, Math.round((deps.firstFaultAfterMs ?? 20_000) / 1000))} s ${scheduledFault.assetName} develops a fault — ${state.faultDescription} — that raises an alert and opens a work order`
    : '';
  // The token goes to the terminal (as in the start banner), not into the structured log.
  const line = (token: string) =>
    count === 0
      ? 'Demo: the platform already has assets and none of them is a demo asset, so no simulator runs (ASSETOPS_DEMO=false hides this)'
      : `${fleetText}${faultText}. Watch it at ${deps.uiUrl} (sign in with the admin token${token}); ASSETOPS_DEMO=false turns the demo off.`;
  deps.logger.info({ ui: deps.uiUrl, assets: count, fault: scheduledFault?.kind }, line(''));
  deps.announce?.(line(` ${deps.token}`));
}
