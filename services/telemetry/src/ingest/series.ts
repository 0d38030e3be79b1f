import type { Pool } from '@assetops/platform';

/** A series: one asset's metric, with the retention class its rows are stored under. */
export interface SeriesRef {
  seriesId: number;
  classId: number;
}

const key = (assetId: string, metric: string) => `${assetId}|${metric}`;

/**
 * Maps (asset, metric) to its series, creating series on first use. Series never change once
 * created, so they are cached for the life of the process.
 */
export class SeriesResolver {
  private readonly cache = new Map<string, SeriesRef>();

  constructor(private readonly pool: Pool) {}

  /** Resolves every pair; `classOf` gives the retention class of a new series. */
  async resolve(
    pairs: Iterable<{ assetId: string; metric: string }>,
    classOf: (assetId: string) => number,
  ): Promise<Map<string, SeriesRef>> {
    const out = new Map<string, SeriesRef>();
    const missing = new Map<string, { assetId: string; metric: string }>();
    for (const p of pairs) {
      const k = key(p.assetId, p.metric);
      const hit = this.cache.get(k);
      if (hit) out.set(k, hit);
      else missing.set(k, p);
    }
    // A series created by a concurrent transaction after this statement's snapshot is neither
    // inserted nor seen: ask again for what is still missing.
    for (let attempt = 0; missing.size > 0; attempt++) {
      if (attempt === 3) throw new Error('series could not be resolved');
      await this.fetchOrCreate([...missing.values()], classOf, (k, ref) => {
        out.set(k, ref);
        missing.delete(k);
      });
    }
    return out;
  }

  private async fetchOrCreate(
    list: { assetId: string; metric: string }[],
    classOf: (assetId: string) => number,
    found: (key: string, ref: SeriesRef) => void,
  ): Promise<void> {
    const { rows } = await this.pool.query<{
      series_id: number;
      class_id: number;
      asset_id: string;
      metric: string;
    }>(
      `WITH wanted AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::int2[]) AS w(asset_id, metric, class_id)
       ), created AS (
         INSERT INTO series (asset_id, metric, class_id)
         SELECT asset_id, metric, class_id FROM wanted ORDER BY asset_id, metric
         ON CONFLICT (asset_id, metric) DO NOTHING
         RETURNING series_id, class_id, asset_id, metric
       )
       SELECT series_id, class_id, asset_id, metric FROM created
       UNION ALL
       SELECT s.series_id, s.class_id, s.asset_id, s.metric
         FROM series s JOIN wanted w USING (asset_id, metric)`,
      [list.map((p) => p.assetId), list.map((p) => p.metric), list.map((p) => classOf(p.assetId))],
    );
    for (const r of rows) {
      const ref = { seriesId: r.series_id, classId: r.class_id };
      const k = key(r.asset_id, r.metric);
      this.cache.set(k, ref);
      found(k, ref);
    }
  }

  /** The series of an (asset, metric) pair, if resolved. */
  static key = key;
}
