import type { AlertRule } from '@assetops/contracts';
import type { Queryable } from '@assetops/platform';
import { decodeCursor, encodeCursor } from '@assetops/platform';
import { RULE_COLUMNS, type RuleRow, toRule } from './rule.model.js';

export async function findRule(db: Queryable, id: string): Promise<AlertRule | null> {
  const { rows } = await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rules WHERE id = $1`, [id]);
  return rows[0] ? toRule(rows[0]) : null;
}

/**
 * Loads a rule and locks its row until the transaction ends: the changes of one rule (and the
 * clearing of its alerts they cause) are serialised.
 */
export async function loadRuleForUpdate(db: Queryable, id: string): Promise<AlertRule | null> {
  const { rows } = await db.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM rules WHERE id = $1 FOR UPDATE`, [
    id,
  ]);
  return rows[0] ? toRule(rows[0]) : null;
}

export interface RuleFilter {
  /** Rules that target this asset itself (not the type-wide rules that also apply to it). */
  assetId?: string | undefined;
  assetType?: string | undefined;
  metric?: string | undefined;
  enabled?: boolean | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** One page of rules in creation order (ids are UUIDv7); the cursor is the last id of the page. */
export async function listRules(
  db: Queryable,
  filter: RuleFilter,
): Promise<{ items: AlertRule[]; nextCursor: string | null }> {
  const after = filter.cursor === undefined ? null : decodeCursor(filter.cursor);
  const { rows } = await db.query<RuleRow>(
    `SELECT ${RULE_COLUMNS} FROM rules
      WHERE ($1::uuid IS NULL OR asset_id = $1)
        AND ($2::text IS NULL OR asset_type = $2)
        AND ($3::text IS NULL OR metric = $3)
        AND ($4::boolean IS NULL OR enabled = $4)
        AND ($5::uuid IS NULL OR id > $5)
      ORDER BY id
      LIMIT $6`,
    [
      filter.assetId ?? null,
      filter.assetType ?? null,
      filter.metric ?? null,
      filter.enabled ?? null,
      after,
      filter.limit + 1,
    ],
  );
  const items = rows.slice(0, filter.limit).map(toRule);
  const nextCursor = rows.length > filter.limit ? encodeCursor(items[items.length - 1]!.id) : null;
  return { items, nextCursor };
}
