import type { CreateRuleBody } from '@assetops/contracts';
import { type Queryable, UnavailableError, ValidationError } from '@assetops/platform';
import type { Sample } from '../evaluation/engine.js';
import { specOf } from '../rules/rule.model.js';
import { validateRule } from '../rules/rule.store.js';
import {
  checkSampleBudget,
  countBucketFor,
  DEFAULT_PAGE_POINTS,
  MAX_SAMPLES_PER_ASSET,
  parseResolution,
  planBucketWindows,
  planRawWindows,
  type Resolution,
  type Window,
} from './backtest.plan.js';
import { Replay, type ReplayEpisode, readingSample } from './backtest.replay.js';
import { type BacktestBody, type BacktestResult, MAX_BACKTEST_ASSETS } from './backtest.schema.js';
import type { TelemetryHistory } from './telemetry-client.js';

export interface BacktestDeps {
  pool: Queryable;
  /** Absent when ASSETOPS_TELEMETRY_URL is not set: backtests answer 503. */
  telemetry: TelemetryHistory | undefined;
  pageSize?: number;
  maxSamplesPerAsset?: number;
}

/**
 * Replays a rule on stored history: for each asset, its readings (or bucket aggregates) from the
 * Telemetry service, in time windows, through the evaluation engine — nothing is written and no
 * event is sent. Everything is planned (and refused when too large) before the first reading is read.
 */
export async function runBacktest(deps: BacktestDeps, body: BacktestBody): Promise<BacktestResult> {
  const range = { fromMs: Date.parse(body.from), toMs: Date.parse(body.to) };
  if (!(range.fromMs < range.toMs)) {
    throw new ValidationError('INVALID_RANGE', 'from must be before to', [
      { path: '/body/to', message: 'must be after from' },
    ]);
  }
  const resolution = parseResolution(body.resolution);
  const rule = checkedRule(body.rule);
  const pageSize = deps.pageSize ?? DEFAULT_PAGE_POINTS;
  const maxSamples = deps.maxSamplesPerAsset ?? MAX_SAMPLES_PER_ASSET;
  if (resolution.kind === 'bucket') {
    checkSampleBudget(
      planBucketWindows(resolution.ms, range, pageSize).buckets,
      maxSamples,
      resolution,
      range,
    );
  }
  const telemetry = deps.telemetry;
  if (!telemetry) {
    throw new UnavailableError(
      'BACKTEST_UNAVAILABLE',
      'backtests read history from the Telemetry service, and ASSETOPS_TELEMETRY_URL is not set',
    );
  }
  const assetIds = await assetsOf(deps.pool, body.rule);

  // Plan every asset first: a backtest too large for one of them reads nothing at all.
  const plans: { assetId: string; windows: Window[] }[] = [];
  for (const assetId of assetIds) {
    if (resolution.kind === 'bucket') {
      plans.push({ assetId, windows: planBucketWindows(resolution.ms, range, pageSize).windows });
      continue;
    }
    const countBucket = countBucketFor(range);
    const counts = await telemetry.points({
      assetId,
      metric: rule.metric,
      window: range,
      bucket: countBucket.label,
      alignMs: countBucket.ms,
      agg: 'count',
    });
    const planned = planRawWindows(
      counts.map((c) => ({ tsMs: c.tsMs, count: c.value })),
      countBucket.ms,
      range,
      pageSize,
    );
    checkSampleBudget(planned.readings, maxSamples, resolution, range, assetId);
    plans.push({ assetId, windows: planned.readings === 0 ? [] : planned.windows });
  }

  const spec = { ...specOf(toRuleShape(rule)), severity: rule.severity };
  const replays: Replay[] = [];
  for (const plan of plans) {
    const replay = new Replay(spec, plan.assetId, range.fromMs);
    for (const window of plan.windows) {
      const samples = await samplesOf(telemetry, plan.assetId, rule.metric, window, resolution);
      for (const sample of samples) replay.push(sample);
    }
    replay.finish(range.toMs);
    replays.push(replay);
  }
  return summarise(body, resolution, replays);
}

/** The rule as `validateRule` sees it; its issues are reported under `/body/rule`. */
function checkedRule(rule: BacktestBody['rule']): CreateRuleBody {
  const { assetIds, ...fields } = rule;
  const input: CreateRuleBody = { ...fields, name: fields.name ?? 'backtest' };
  const issues: { path: string; message: string }[] = [];
  try {
    validateRule(input);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues.map((i) => ({ ...i, path: i.path.replace(/^\/body\//, '/body/rule/') })));
  }
  if (assetIds && rule.assetType == null) {
    issues.push({ path: '/body/rule/assetIds', message: 'give assetIds only with assetType' });
  }
  if (issues.length > 0) {
    throw new ValidationError(
      'INVALID_RULE',
      issues.map((i) => `${i.path}: ${i.message}`).join('; '),
      issues,
    );
  }
  return input;
}

async function assetsOf(db: Queryable, rule: BacktestBody['rule']): Promise<string[]> {
  if (rule.assetId) return [rule.assetId];
  if (rule.assetIds) return rule.assetIds;
  const { rows } = await db.query<{ asset_id: string }>(
    `SELECT asset_id FROM known_assets WHERE asset_type = $1 AND status <> 'decommissioned'
      ORDER BY asset_id LIMIT $2`,
    [rule.assetType, MAX_BACKTEST_ASSETS + 1],
  );
  if (rows.length > MAX_BACKTEST_ASSETS) {
    const message = `more than ${MAX_BACKTEST_ASSETS} assets are of type ${rule.assetType}: list the ones to replay`;
    throw new ValidationError('TOO_MANY_ASSETS', message, [{ path: '/body/rule/assetIds', message }]);
  }
  return rows.map((r) => r.asset_id);
}

/**
 * The samples of one window, in time order: each reading (raw), or each bucket with data as one
 * sample spanning the bucket — its first, last, min, max and count, as a TelemetryAggregated window
 * carries them (the exact times of its first and last reading are not known: the bucket's edges
 * stand in).
 */
async function samplesOf(
  telemetry: TelemetryHistory,
  assetId: string,
  metric: string,
  window: Window,
  resolution: Resolution,
): Promise<Sample[]> {
  if (resolution.kind === 'raw') {
    const points = await telemetry.points({ assetId, metric, window, bucket: 'raw', alignMs: 1 });
    return points.map((p) => readingSample(p.tsMs, p.value));
  }
  const query = { assetId, metric, window, bucket: resolution.label, alignMs: resolution.ms };
  const [counts, firsts, lasts, mins, maxes] = await Promise.all(
    (['count', 'first', 'last', 'min', 'max'] as const).map(async (agg) => {
      const points = await telemetry.points({ ...query, agg });
      return new Map(points.map((p) => [p.tsMs, p.value]));
    }),
  );
  const samples: Sample[] = [];
  for (const [tsMs, count] of [...counts!].sort(([a], [b]) => a - b)) {
    const first = firsts!.get(tsMs);
    const last = lasts!.get(tsMs);
    const min = mins!.get(tsMs);
    const max = maxes!.get(tsMs);
    if (!(count > 0) || first === undefined || last === undefined || min === undefined || max === undefined)
      continue;
    samples.push({ firstTs: tsMs, first, lastTs: tsMs + resolution.ms - 1, last, min, max, count });
  }
  return samples;
}

function toRuleShape(rule: CreateRuleBody) {
  return {
    condition: rule.condition,
    forSeconds: rule.forSeconds ?? 0,
    clear: rule.clear ?? null,
    keepFiringSeconds: rule.keepFiringSeconds ?? 0,
    escalation: rule.escalation ?? null,
  };
}

function summarise(body: BacktestBody, resolution: Resolution, replays: Replay[]): BacktestResult {
  const iso = (ms: number) => new Date(ms).toISOString();
  const episodes = replays
    .flatMap((r) => r.episodes)
    .sort((a, b) => a.raisedAt - b.raisedAt || a.assetId.localeCompare(b.assetId));
  const toApi = (e: ReplayEpisode) => ({
    assetId: e.assetId,
    raisedAt: iso(e.raisedAt),
    clearedAt: e.clearedAt === null ? null : iso(e.clearedAt),
    severity: e.severity,
    peakValue: e.peakValue,
    ...(e.pendingSince === undefined ? {} : { pendingSince: iso(e.pendingSince) }),
    ...(e.escalatedAt === undefined ? {} : { escalatedAt: iso(e.escalatedAt) }),
  });
  return {
    from: body.from,
    to: body.to,
    resolution: resolution.kind === 'raw' ? 'raw' : resolution.label,
    episodes: episodes.map(toApi),
    assets: replays.map((r) => ({
      assetId: r.assetId,
      samples: r.samples,
      episodes: r.episodes.length,
      cancelledPending: r.cancelledPending,
    })),
    counts: {
      assets: replays.length,
      samples: replays.reduce((n, r) => n + r.samples, 0),
      episodes: episodes.length,
      stillFiring: episodes.filter((e) => e.clearedAt === null).length,
      cancelledPending: replays.reduce((n, r) => n + r.cancelledPending, 0),
    },
  };
}
