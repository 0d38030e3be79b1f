import { type EventEnvelope, TelemetryAggregated, type TelemetryAggregatedData } from '@assetops/contracts';
import type { Logger, Pool } from '@assetops/platform';

/**
 * Which (asset, metric) pairs active usage plans count, so that the consumer stores only those
 * telemetry windows (the feed of a whole fleet would otherwise all pass through this service's
 * inbox). Reloaded every `refreshMs` and at once after a plan change made through this process;
 * a change made on another instance counts from the next reload. Until the first load, everything
 * is accepted.
 */
export class UsageMetricIndex {
  private keys: Set<string> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly refreshMs = 1000,
  ) {}

  accepts = (event: EventEnvelope): boolean => {
    if (event.type !== TelemetryAggregated.type || !this.keys) return true;
    const d = event.data as TelemetryAggregatedData;
    const keys = this.keys;
    return d.metrics.some((m) => keys.has(`${d.assetId}|${m.metric}`));
  };

  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<{ asset_id: string; usage_metric: string }>(
      'SELECT asset_id, usage_metric FROM maintenance_plans WHERE active AND usage_metric IS NOT NULL',
    );
    this.keys = new Set(rows.map((r) => `${r.asset_id}|${r.usage_metric}`));
  }

  start(): void {
    this.timer ??= setInterval(() => {
      this.refresh().catch((err) => this.logger.warn({ err }, 'usage plan index refresh failed'));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
