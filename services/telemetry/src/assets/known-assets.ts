import {
  AssetRegistered,
  type AssetRegisteredData,
  AssetStatusChanged,
  type AssetStatusChangedData,
  DecommissioningCompensationRequested,
  DecommissioningStepRequested,
  type EventEnvelope,
  OnboardingCompensationRequested,
  OnboardingStepRequested,
  TelemetryIngestionReopened,
  TelemetryIngestionStopped,
  TelemetryStreamClosed,
  TelemetryStreamInitialized,
} from '@assetops/contracts';
import {
  appendToOutbox,
  type Clock,
  createEvent,
  type EventHandlers,
  eventHandler,
  type IdGenerator,
  type Pool,
  type PoolClient,
} from '@assetops/platform';

/** What the Telemetry service knows of an asset (from the Asset service's events). */
export interface KnownAsset {
  assetId: string;
  assetType: string;
  status: string;
  /** False while ingestion is closed for the asset. */
  accepting: boolean;
  /** The decommissioning saga holding the asset's readings back, if any. */
  heldBySaga: string | null;
}

/** Why a reading for this asset cannot be accepted, or undefined when it can. */
export function refusal(asset: KnownAsset | undefined): { code: string; reason: string } | undefined {
  if (!asset)
    return {
      code: 'UNKNOWN_ASSET',
      reason: 'no such asset (or its registration has not reached telemetry yet)',
    };
  if (asset.status === 'decommissioned')
    return { code: 'ASSET_DECOMMISSIONED', reason: 'the asset is decommissioned' };
  if (asset.heldBySaga !== null) {
    return {
      code: 'ASSET_DECOMMISSIONING',
      reason: `the asset is being decommissioned (saga ${asset.heldBySaga}): readings are not accepted`,
    };
  }
  if (!asset.accepting) return { code: 'INGESTION_CLOSED', reason: 'ingestion is closed for this asset' };
  return undefined;
}

/**
 * The service's own list of assets, with a short-lived cache in front of its table: ingestion
 * checks every reading's asset, so lookups are batched and cached for `ttlMs` (changes made by this
 * instance's consumer take effect at once; those seen by another instance within `ttlMs`).
 */
export class KnownAssets {
  private readonly cache = new Map<string, { asset: KnownAsset; until: number }>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs = 1000,
  ) {}

  /** The known assets among `ids` (absent ones are unknown). */
  async lookup(ids: Iterable<string>, nowMs = Date.now()): Promise<Map<string, KnownAsset>> {
    const found = new Map<string, KnownAsset>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const hit = this.cache.get(id);
      if (hit && hit.until > nowMs) found.set(id, hit.asset);
      else missing.push(id);
    }
    if (missing.length > 0) {
      const { rows } = await this.pool.query<{
        asset_id: string;
        asset_type: string;
        status: string;
        accepting: boolean;
        held_by_saga: string | null;
      }>(
        'SELECT asset_id, asset_type, status, accepting, held_by_saga FROM known_assets WHERE asset_id = ANY($1::uuid[])',
        [missing],
      );
      for (const r of rows) {
        const asset = {
          assetId: r.asset_id,
          assetType: r.asset_type,
          status: r.status,
          accepting: r.accepting,
          heldBySaga: r.held_by_saga,
        };
        found.set(r.asset_id, asset);
        this.cache.set(r.asset_id, { asset, until: nowMs + this.ttlMs });
      }
      if (this.cache.size > 100_000) this.cache.clear();
    }
    return found;
  }

  forget(assetId: string): void {
    this.cache.delete(assetId);
  }

  /**
   * Handlers of the asset events that maintain the list, and Telemetry's part in the onboarding saga:
   * a registered asset's stream is open at once (TelemetryStreamInitialized); a request of the saga
   * (re)opens it and confirms again; a compensation closes ingestion (TelemetryStreamClosed). Every
   * answer is sent whatever the state was, so a repeated request is answered, never ignored.
   *
   * In the decommissioning saga: its request holds the asset's readings back (rejected
   * `ASSET_DECOMMISSIONING`, TelemetryIngestionStopped); its compensation lifts that saga's hold
   * (TelemetryIngestionReopened) — and only that saga's, so it is idempotent and never reopens what
   * something else closed.
   */
  handlers(events: { clock: Clock; ids: IdGenerator }): EventHandlers {
    const answer = async (
      tx: PoolClient,
      cause: EventEnvelope,
      def: typeof TelemetryStreamInitialized | typeof TelemetryStreamClosed,
      assetId: string,
      sagaId: string | null,
    ) => {
      await appendToOutbox(tx, [
        createEvent(
          def,
          { assetId, sagaId, at: events.clock.now().toISOString() },
          { subject: assetId, clock: events.clock, ids: events.ids, causedBy: cause },
        ),
      ]);
    };
    const sagaAnswer = async (
      tx: PoolClient,
      cause: EventEnvelope,
      def: typeof TelemetryIngestionStopped | typeof TelemetryIngestionReopened,
      assetId: string,
      sagaId: string,
    ) => {
      await appendToOutbox(tx, [
        createEvent(
          def,
          { assetId, sagaId, at: events.clock.now().toISOString() },
          { subject: assetId, clock: events.clock, ids: events.ids, causedBy: cause },
        ),
      ]);
    };
    return {
      ...eventHandler(AssetRegistered, async (tx, event) => {
        await this.registered(tx, event.data, event.time);
        await answer(tx, event, TelemetryStreamInitialized, event.data.assetId, null);
      }),
      ...eventHandler(AssetStatusChanged, async (tx, event) => {
        await this.statusChanged(tx, event.data);
      }),
      ...eventHandler(OnboardingStepRequested, async (tx, event) => {
        const d = event.data;
        if (d.step !== 'telemetry') return;
        await this.setAccepting(tx, d.assetId, d.assetType, true, event.time);
        await answer(tx, event, TelemetryStreamInitialized, d.assetId, d.sagaId);
      }),
      ...eventHandler(DecommissioningStepRequested, async (tx, event) => {
        const d = event.data;
        if (d.step !== 'telemetry') return;
        // Known from now on (its registration was missed): held, whatever its status turns out to be.
        await tx.query(
          `INSERT INTO known_assets (asset_id, asset_type, status, held_by_saga, version, updated_at)
           VALUES ($1, $2, 'decommissioning', $3, 1, $4)
           ON CONFLICT (asset_id) DO UPDATE SET held_by_saga = excluded.held_by_saga`,
          [d.assetId, d.assetType, d.sagaId, event.time],
        );
        this.forget(d.assetId);
        await sagaAnswer(tx, event, TelemetryIngestionStopped, d.assetId, d.sagaId);
      }),
      ...eventHandler(DecommissioningCompensationRequested, async (tx, event) => {
        const d = event.data;
        if (d.step !== 'telemetry') return;
        await tx.query(
          'UPDATE known_assets SET held_by_saga = NULL WHERE asset_id = $1 AND held_by_saga = $2',
          [d.assetId, d.sagaId],
        );
        this.forget(d.assetId);
        await sagaAnswer(tx, event, TelemetryIngestionReopened, d.assetId, d.sagaId);
      }),
      ...eventHandler(OnboardingCompensationRequested, async (tx, event) => {
        const d = event.data;
        if (d.step !== 'telemetry') return;
        await this.setAccepting(tx, d.assetId, d.assetType, false, event.time);
        await answer(tx, event, TelemetryStreamClosed, d.assetId, d.sagaId);
      }),
    };
  }

  /**
   * Opens or closes ingestion for an asset. An asset not known yet (its registration was missed) is
   * added in commissioning, the only status the saga asks in; a later status change overrides it.
   */
  private async setAccepting(
    tx: PoolClient,
    assetId: string,
    assetType: string,
    accepting: boolean,
    time: string,
  ): Promise<void> {
    await tx.query(
      `INSERT INTO known_assets (asset_id, asset_type, status, accepting, version, updated_at)
       VALUES ($1, $2, 'commissioning', $3, 1, $4)
       ON CONFLICT (asset_id) DO UPDATE SET accepting = excluded.accepting`,
      [assetId, assetType, accepting, time],
    );
    this.forget(assetId);
  }

  private async registered(tx: PoolClient, data: AssetRegisteredData, time: string): Promise<void> {
    // A status change may have been applied first (events of one asset are ordered, but a consumer
    // that joined late may see them from any point); a registration never overrides it.
    await tx.query(
      `INSERT INTO known_assets (asset_id, asset_type, status, version, updated_at)
       VALUES ($1, $2, $3, 1, $4)
       ON CONFLICT (asset_id) DO NOTHING`,
      [data.assetId, data.type, data.status, time],
    );
    this.forget(data.assetId);
  }

  private async statusChanged(tx: PoolClient, data: AssetStatusChangedData): Promise<void> {
    await tx.query(
      `INSERT INTO known_assets AS k (asset_id, asset_type, status, version, updated_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (asset_id) DO UPDATE SET status = excluded.status, version = excluded.version,
              updated_at = excluded.updated_at
        WHERE k.version < excluded.version`,
      [data.assetId, data.assetType, data.to, data.version, data.changedAt],
    );
    this.forget(data.assetId);
  }
}
