import {
  type Asset,
  type EventEnvelope,
  type OnboardingStep,
  type SagaDetail,
  TelemetryStreamClosed,
  TelemetryStreamInitialized,
  ThresholdsInitialized,
  ThresholdsRemoved,
} from '@assetops/contracts';
import {
  type Clock,
  createEvent,
  createInProcessBus,
  createLogger,
  createMetricsRegistry,
  type EventHandler,
  loadConfig,
  messagingMigrations,
  runMigrations,
  type ServiceInstance,
  uuidV7Ids,
  withTransaction,
} from '@assetops/platform';
import { createTestDatabase, ManualClock, type TestDatabase } from '@assetops/platform/testkit';
import { assetConfigSpec } from '../../src/asset.config.js';
import { assetService, createAssetService } from '../../src/index.js';
import { DecommissioningSagas } from '../../src/sagas/decommissioning.runner.js';
import { OnboardingSagas } from '../../src/sagas/onboarding.runner.js';

export interface AssetHarness {
  db: TestDatabase;
  service: ServiceInstance;
  clock: ManualClock;
  api(
    method: 'GET' | 'POST' | 'PATCH',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown; headers: Record<string, unknown> }>;
  /** Registers an asset over HTTP; `sagaId` is its onboarding saga (from the Link header). */
  register(type?: string): Promise<{ asset: Asset; sagaId: string }>;
  saga(id: string): Promise<SagaDetail>;
  asset(id: string): Promise<Asset>;
  /** Delivers an event to the service's consumer handlers in one transaction, as the inbox would. */
  deliver(event: EventEnvelope): Promise<void>;
  /** A participant's confirmation of a step (`sagaId` null: the answer to AssetRegistered). */
  confirmed(step: OnboardingStep, assetId: string, sagaId: string | null): EventEnvelope;
  /** A participant's confirmation of a compensation. */
  compensated(step: OnboardingStep, assetId: string, sagaId: string): EventEnvelope;
  /** Runs the deadline check now, on the manual clock (what the service's loop does). */
  checkDeadlines(): Promise<number>;
  outbox(type?: string): Promise<EventEnvelope[]>;
  /** A new instance of the service on the same database (a crash and restart). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An Asset service on a fresh database with a manual clock: HTTP through `inject`, the participants'
 * replies fed to its handlers, deadlines checked on demand (its background loop is not started).
 */
export async function startAsset(
  opts: { env?: Record<string, string>; now?: string } = {},
): Promise<AssetHarness> {
  const db = await createTestDatabase('asset');
  await runMigrations(db.pool, [messagingMigrations, assetService.migrations]);
  const clock = new ManualClock(opts.now ?? '2026-11-28T12:00:00.000Z');
  const env = opts.env ?? {};
  const config = loadConfig(assetConfigSpec, env);
  const policy = {
    stepTimeoutMs: config.ASSET_SAGA_STEP_TIMEOUT,
    maxAttempts: config.ASSET_SAGA_MAX_ATTEMPTS,
  };
  const create = async () => {
    const service = await createAssetService({
      logger: createLogger({ service: 'asset', level: 'silent' }),
      metrics: createMetricsRegistry('asset'),
      clock: clock as Clock,
      ids: uuidV7Ids,
      pool: db.pool,
      bus: createInProcessBus(),
      env,
    });
    await service.app.ready();
    return {
      service,
      deadlines: new OnboardingSagas({ pool: db.pool, clock, ids: uuidV7Ids, policy }),
      decommissionDeadlines: new DecommissioningSagas({ pool: db.pool, clock, ids: uuidV7Ids, policy }),
    };
  };
  let current = await create();

  const h: AssetHarness = {
    db,
    get service() {
      return current.service;
    },
    clock,
    async api(method, url, body) {
      const res = await current.service.app.inject({
        method,
        url,
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
    },
    async register(type = 'pump') {
      const res = await h.api('POST', '/api/v1/assets', { name: `${type} ${Date.now()}`, type });
      if (res.status !== 201) throw new Error(`register answered ${res.status}`);
      const link = String(res.headers.link ?? '');
      const sagaId = /<\/api\/v1\/sagas\/([0-9a-f-]+)>/.exec(link)?.[1];
      if (!sagaId) throw new Error(`no onboarding saga in the Link header: ${link}`);
      return { asset: res.body as Asset, sagaId };
    },
    async saga(id) {
      const res = await h.api('GET', `/api/v1/sagas/${id}`);
      if (res.status !== 200) throw new Error(`saga ${id}: ${res.status}`);
      return res.body as SagaDetail;
    },
    async asset(id) {
      return (await h.api('GET', `/api/v1/assets/${id}`)).body as Asset;
    },
    async deliver(event) {
      const handler = current.service.consumer?.handlers[event.type] as EventHandler | undefined;
      if (!handler) throw new Error(`no handler for ${event.type}`);
      await withTransaction(db.pool, (tx) => handler(tx, event));
    },
    confirmed(step, assetId, sagaId) {
      const meta = { subject: assetId, clock, ids: uuidV7Ids };
      const at = clock.now().toISOString();
      return step === 'telemetry'
        ? createEvent(TelemetryStreamInitialized, { assetId, sagaId, at }, meta)
        : createEvent(
            ThresholdsInitialized,
            { assetId, assetType: 'pump', profile: 'pump', ruleIds: [], sagaId },
            meta,
          );
    },
    compensated(step, assetId, sagaId) {
      const meta = { subject: assetId, clock, ids: uuidV7Ids };
      const at = clock.now().toISOString();
      return step === 'telemetry'
        ? createEvent(TelemetryStreamClosed, { assetId, sagaId, at }, meta)
        : createEvent(ThresholdsRemoved, { assetId, sagaId, ruleIds: [], at }, meta);
    },
    async checkDeadlines() {
      const onboarding = await current.deadlines.checkDeadlines();
      const decommissioning = await current.decommissionDeadlines.checkDeadlines();
      return onboarding.processed + decommissioning.processed;
    },
    async outbox(type) {
      const { rows } = await db.pool.query<{ event: EventEnvelope }>(
        'SELECT event FROM outbox WHERE $1::text IS NULL OR type = $1 ORDER BY position',
        [type ?? null],
      );
      return rows.map((r) => r.event);
    },
    async restart() {
      await current.service.app.close();
      current = await create();
    },
    async close() {
      await current.service.app.close();
      await db.drop();
    },
  };
  return h;
}
