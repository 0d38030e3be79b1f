import { AssetRegistered, AssetStatusChanged } from '@assetops/contracts';
import {
  type EventHandlers,
  eventHandler,
  IllegalStateError,
  NotFoundError,
  type Queryable,
} from '@assetops/platform';

/** What the Maintenance service knows of an asset (from the Asset service's events). */
export interface KnownAsset {
  assetId: string;
  assetType: string;
  status: string;
}

export async function findKnownAsset(db: Queryable, assetId: string): Promise<KnownAsset | null> {
  const { rows } = await db.query<{ asset_id: string; asset_type: string; status: string }>(
    'SELECT asset_id, asset_type, status FROM known_assets WHERE asset_id = $1',
    [assetId],
  );
  const row = rows[0];
  return row ? { assetId: row.asset_id, assetType: row.asset_type, status: row.status } : null;
}

/**
 * The asset a new work order is for, or a refusal: 404 `UNKNOWN_ASSET` when maintenance has not
 * heard of it (or not yet: registration reaches it through an event), 409 `ASSET_DECOMMISSIONED`
 * when there is nothing left to maintain.
 */
export async function requireMaintainableAsset(db: Queryable, assetId: string): Promise<KnownAsset> {
  const asset = await findKnownAsset(db, assetId);
  if (!asset) {
    throw new NotFoundError(
      'UNKNOWN_ASSET',
      `asset ${assetId} is not known to maintenance (or its registration has not reached it yet)`,
    );
  }
  if (asset.status === 'decommissioned') {
    // Not `status`: problem details spread into the problem document, where that is the HTTP status.
    throw new IllegalStateError('ASSET_DECOMMISSIONED', `asset ${assetId} is decommissioned`, {
      assetId,
      assetStatus: asset.status,
    });
  }
  return asset;
}

/**
 * The handlers of the asset events that keep the service's own list of assets. A registration never
 * overrides a status change already applied, and a status change applies only over an older
 * version: however the events of an asset are replayed, the list ends at its latest status.
 */
export function knownAssetHandlers(): EventHandlers {
  return {
    ...eventHandler(AssetRegistered, async (tx, event) => {
      const d = event.data;
      await tx.query(
        `INSERT INTO known_assets (asset_id, asset_type, status, version, updated_at) VALUES ($1, $2, $3, 1, $4)
         ON CONFLICT (asset_id) DO NOTHING`,
        [d.assetId, d.type, d.status, d.registeredAt],
      );
    }),
    ...eventHandler(AssetStatusChanged, async (tx, event) => {
      const d = event.data;
      await tx.query(
        `INSERT INTO known_assets AS k (asset_id, asset_type, status, version, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (asset_id) DO UPDATE SET status = excluded.status, version = excluded.version,
                updated_at = excluded.updated_at
          WHERE k.version < excluded.version`,
        [d.assetId, d.assetType, d.to, d.version, d.changedAt],
      );
    }),
  };
}
