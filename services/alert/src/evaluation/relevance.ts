import { type EventEnvelope, TelemetryAggregated, type TelemetryAggregatedData } from '@assetops/contracts';
import type { Logger, Pool } from '@assetops/platform';

const NOTE_TTL_MS = 10_000;
/** After the change counter moves, keep reloading this long: a change counted before it committed. */
const SETTLE_MS = 5_000;
/** Reload at least this often whatever the counter says. */
const FULL_RELOAD_MS = 60_000;
/**
 * After a run, wait at least this many times its duration before the next one (unless forced), at
 * most `MAX_COOLDOWN_MS`: while a fleet is onboarded the counter moves every second, and a run that
 * reads 100,000 rules and assets must not take most of a core.
 */
const COOLDOWN_FACTOR = 10;
const MAX_COOLDOWN_MS = 5_000;

/**
 * When work that depends on the rules and the known assets must run again. The work reads them in
 * full, so it runs only when the database's change counter (`relevance_changes`, drawn by every
 * statement that changes rules or known assets) moved — or within `settleMs` of the last move (a
 * change is counted before its transaction commits), or `fullMs` after the last run, or when forced
 * — instead of on every tick; and, unless forced, not again within ten times the last run's
 * duration (at most 5 s), so that the runs take at most about a tenth of the time however large the
 * tables grow.
 */
export class RelevanceChanges {
  private version: string | undefined;
  private changedAt = 0;
  private ranAt: number | undefined;
  private cooldownMs = 0;

  constructor(
    private readonly pool: Pool,
    private readonly timing: { settleMs: number; fullMs: number; cooldownFactor?: number } = {
      settleMs: SETTLE_MS,
      fullMs: FULL_RELOAD_MS,
    },
  ) {}

  /** Whether the work must run now (reads the counter). */
  async due(now: number, force = false): Promise<boolean> {
    const { rows } = await this.pool.query<{ version: string }>(
      'SELECT (last_value::text || is_called::text) AS version FROM relevance_changes',
    );
    const version = rows[0]?.version;
    if (version !== this.version) {
      this.version = version;
      this.changedAt = now;
    }
    if (force || this.ranAt === undefined) return true;
    if (now - this.ranAt < this.cooldownMs) return false;
    return (
      this.changedAt > this.ranAt || // moved since the last run started
      now - this.changedAt < this.timing.settleMs ||
      now - this.ranAt >= this.timing.fullMs
    );
  }

  /** The work ran, having read the rules and assets at `startedAt` or later, for `durationMs`. */
  ran(startedAt: number, durationMs = 0): void {
    this.ranAt = startedAt;
    this.cooldownMs = Math.min(MAX_COOLDOWN_MS, (this.timing.cooldownFactor ?? COOLDOWN_FACTOR) * durationMs);
  }
}

/**
 * Which telemetry windows any enabled rule watches: (asset, metric) of asset rules and (type,
 * metric) of type rules, with each known asset's type. The consumer stores only the windows that
 * match, so metrics without rules cost the Alert service nothing (most of a fleet's feed).
 *
 * Kept in memory and told at once about what this process changes (rules created by profiles, by
 * the API). Every `refreshMs` it reads the database's change counter (`relevance_changes`, drawn by
 * every statement that changes rules or known assets) and reloads only when the counter moved — or
 * within `SETTLE_MS` of the last move, or after `FULL_RELOAD_MS` — so a rule created on another
 * instance takes effect within `refreshMs` while an idle fleet of 10,000 assets costs one tiny query
 * per second, not a reload of every rule and asset. Until the first load, everything is accepted.
 */
export class RelevanceIndex {
  private keys: Set<string> | undefined;
  private types = new Map<string, string>();
  /** Recent local changes, kept across reloads for a while (a reload may have started before them). */
  private readonly notes: { key: string; until: number }[] = [];
  private readonly noteTypes = new Map<string, { type: string; until: number }>();
  private timer: NodeJS.Timeout | undefined;
  private readonly changes: RelevanceChanges;
  /** Full reloads done (tests and diagnostics). */
  reloads = 0;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly refreshMs = 1000,
    timing: { settleMs: number; fullReloadMs: number; cooldownFactor?: number } = {
      settleMs: SETTLE_MS,
      fullReloadMs: FULL_RELOAD_MS,
    },
  ) {
    this.changes = new RelevanceChanges(pool, {
      settleMs: timing.settleMs,
      fullMs: timing.fullReloadMs,
      ...(timing.cooldownFactor === undefined ? {} : { cooldownFactor: timing.cooldownFactor }),
    });
  }

  /** The consumer's filter: only TelemetryAggregated windows are ever filtered out. */
  accepts = (event: EventEnvelope): boolean => {
    if (event.type !== TelemetryAggregated.type || !this.keys) return true;
    const d = event.data as TelemetryAggregatedData;
    const keys = this.keys;
    if (d.metrics.some((m) => keys.has(`a:${d.assetId}|${m.metric}`))) return true;
    const type = this.types.get(d.assetId) ?? this.noteTypes.get(d.assetId)?.type;
    return type !== undefined && d.metrics.some((m) => keys.has(`t:${type}|${m.metric}`));
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

  /**
   * Reloads when the change counter says something changed (or `force`: after a change made here,
   * whose transaction has committed).
   */
  async refresh(opts: { force?: boolean } = {}): Promise<void> {
    const now = Date.now();
    if (!(await this.changes.due(now, opts.force))) {
      this.expireNotes(now);
      return;
    }
    await this.reload(now);
  }

  private expireNotes(now: number): void {
    for (let i = this.notes.length - 1; i >= 0; i--) if (this.notes[i]!.until < now) this.notes.splice(i, 1);
    for (const [id, note] of this.noteTypes) if (note.until < now) this.noteTypes.delete(id);
  }

  private async reload(now: number): Promise<void> {
    const [rules, assets] = await Promise.all([
      this.pool.query<{ asset_id: string | null; asset_type: string | null; metric: string }>(
        'SELECT asset_id, asset_type, metric FROM rules WHERE enabled',
      ),
      this.pool.query<{ asset_id: string; asset_type: string }>(
        `SELECT asset_id, asset_type FROM known_assets WHERE status <> 'decommissioned'`,
      ),
    ]);
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
    this.changes.ran(now, Date.now() - now);
    this.reloads += 1;
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
