import { type EventEnvelope, TelemetryAggregated, type TelemetryAggregatedData } from '@assetops/contracts';
import type { Logger, Pool } from '@assetops/platform';

const NOTE_TTL_MS = 10_000;

/**
 * Which telemetry windows any enabled rule watches: (asset, metric) of asset rules and (type,
 * metric) of type rules, with each known asset's type. The consumer stores only the windows that
 * match, so metrics without rules cost the Alert service nothing (most of a fleet's feed).
 *
 * Kept in memory, reloaded every `refreshMs`, and told at once about what this process changes
 * (rules created by profiles, by the API). A rule created on another instance takes effect within
 * `refreshMs`. Until the first load, everything is accepted.
 */
export class RelevanceIndex {
  private keys: Set<string> | undefined;
  private types = new Map<string, string>();
  /** Recent local changes, kept across reloads for a while (a reload may have started before them). */
  private readonly notes: { key: string; until: number }[] = [];
  private readonly noteTypes = new Map<string, { type: string; until: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly refreshMs = 1000,
  ) {}

  /** The consumer's filter: only TelemetryAggregated windows are ever filtered out. */
  accepts = (event: EventEnvelope): boolean => {
    if (event.type !== TelemetryAggregated.type || !this.keys) return true;
    const d = event.data as TelemetryAggregatedData;
    if (this.keys.has(`a:${d.assetId}|${d.metric}`)) return true;
    const type = this.types.get(d.assetId) ?? this.noteTypes.get(d.assetId)?.type;
    return type !== undefined && this.keys.has(`t:${type}|${d.metric}`);
  };

  /** An asset rule or a type rule that exists (or is about to be committed). */
  noteRule(rule: { assetId?: string | null; assetType?: string | null; metric: string }): void {
    const key = rule.assetId ? `a:${rule.assetId}|${rule.metric}` : `t:${rule.assetType}|${rule.metric}`;
    this.notes.push({ key, until: Date.now() + NOTE_TTL_MS });
    this.keys?.add(key);
  }

  noteAsset(assetId: string, type: string): void {
    this.noteTypes.set(assetId, { type, until: Date.now() + NOTE_TTL_MS });
    this.types.set(assetId, type);
  }

  async refresh(): Promise<void> {
    const [rules, assets] = await Promise.all([
      this.pool.query<{ asset_id: string | null; asset_type: string | null; metric: string }>(
        'SELECT asset_id, asset_type, metric FROM rules WHERE enabled',
      ),
      this.pool.query<{ asset_id: string; asset_type: string }>(
        `SELECT asset_id, asset_type FROM known_assets WHERE status <> 'decommissioned'`,
      ),
    ]);
    const now = Date.now();
    const keys = new Set(
      rules.rows.map((r) => (r.asset_id ? `a:${r.asset_id}|${r.metric}` : `t:${r.asset_type}|${r.metric}`)),
    );
    const types = new Map(assets.rows.map((a) => [a.asset_id, a.asset_type]));
    for (let i = this.notes.length - 1; i >= 0; i--) {
      if (this.notes[i]!.until < now) this.notes.splice(i, 1);
      else keys.add(this.notes[i]!.key);
    }
    for (const [id, note] of this.noteTypes) {
      if (note.until < now) this.noteTypes.delete(id);
      else if (!types.has(id)) types.set(id, note.type);
    }
    this.keys = keys;
    this.types = types;
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.refresh().catch((err) => this.logger.warn({ err }, 'alert rule index refresh failed'));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
