import type { AssetStatus } from '@assetops/contracts';
import { decodeCursor, encodeCursor, type Queryable } from '@assetops/platform';
import type { AssetState } from './asset.decide.js';

interface AssetRow {
  id: string;
  name: string;
  type: string;
  location: string | null;
  metadata: Record<string, unknown>;
  status: AssetStatus;
  status_reason: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, name, type, location, metadata, status, status_reason, version, created_at, updated_at';

function fromRow(row: AssetRow): AssetState {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    location: row.location,
    metadata: row.metadata,
    status: row.status,
    statusReason: row.status_reason,
    version: row.version,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

export async function insertAsset(db: Queryable, asset: AssetState): Promise<void> {
  await db.query(`INSERT INTO assets (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
    asset.id,
    asset.name,
    asset.type,
    asset.location,
    JSON.stringify(asset.metadata),
    asset.status,
    asset.statusReason,
    asset.version,
    asset.createdAt,
    asset.updatedAt,
  ]);
}

export async function updateAsset(db: Queryable, asset: AssetState): Promise<void> {
  await db.query(
    `UPDATE assets SET name = $2, location = $3, metadata = $4, status = $5, status_reason = $6,
            version = $7, updated_at = $8
      WHERE id = $1`,
    [
      asset.id,
      asset.name,
      asset.location,
      JSON.stringify(asset.metadata),
      asset.status,
      asset.statusReason,
      asset.version,
      asset.updatedAt,
    ],
  );
}

/**
 * Loads an asset and locks its row until the transaction ends. Every change goes through this lock,
 * which serialises the changes of one asset — and so the order of its events in the outbox.
 */
export async function loadAssetForUpdate(tx: Queryable, id: string): Promise<AssetState | null> {
  const { rows } = await tx.query<AssetRow>(`SELECT ${COLUMNS} FROM assets WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export async function findAsset(db: Queryable, id: string): Promise<AssetState | null> {
  const { rows } = await db.query<AssetRow>(`SELECT ${COLUMNS} FROM assets WHERE id = $1`, [id]);
  return rows[0] ? fromRow(rows[0]) : null;
}

export interface AssetFilter {
  status?: AssetStatus | undefined;
  type?: string | undefined;
  q?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

/**
 * One page of assets in registration order (ids are UUIDv7). The cursor is the last id of the page,
 * opaque to clients; keyset pagination stays fast and stable while assets are added.
 */
export async function listAssets(
  db: Queryable,
  filter: AssetFilter,
): Promise<{ items: AssetState[]; nextCursor: string | null }> {
  const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const pattern = filter.q === undefined ? null : `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows } = await db.query<AssetRow>(
    `SELECT ${COLUMNS} FROM assets
      WHERE ($1::text IS NULL OR status = $1)
        AND ($2::text IS NULL OR type = $2)
        AND ($3::text IS NULL OR name ILIKE $3 OR location ILIKE $3 OR type ILIKE $3)
        AND ($4::uuid IS NULL OR id > $4)
      ORDER BY id
      LIMIT $5`,
    [filter.status ?? null, filter.type ?? null, pattern, after, filter.limit + 1],
  );
  const items = rows.slice(0, filter.limit).map(fromRow);
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}
