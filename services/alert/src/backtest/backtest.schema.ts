import { CreateRuleBody, SeveritySchema } from '@assetops/contracts';
import { type Static, Type } from '@sinclair/typebox';

/** The most assets one backtest replays. */
export const MAX_BACKTEST_ASSETS = 50;

const { name, enabled: _enabled, ...ruleFields } = CreateRuleBody.properties;
const Id = Type.String({ format: 'uuid' });
const Time = Type.String({ format: 'date-time' });

/**
 * The rule to try: a rule body (its name optional), for one asset (`assetId`), or for assets of a
 * type (`assetType`) — the listed `assetIds`, or else every asset of the type this service knows.
 */
export const BacktestRuleSchema = Type.Object(
  {
    ...ruleFields,
    name: Type.Optional(name),
    assetIds: Type.Optional(
      Type.Array(Id, {
        minItems: 1,
        maxItems: MAX_BACKTEST_ASSETS,
        uniqueItems: true,
        description: 'with assetType: the assets to replay (default: every known asset of the type)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BacktestRule = Static<typeof BacktestRuleSchema>;

/** `POST /api/v1/alert-rules/backtest` */
export const BacktestBody = Type.Object(
  {
    rule: BacktestRuleSchema,
    from: Time,
    to: Time,
    resolution: Type.Optional(
      Type.String({
        pattern: '^(raw|[1-9][0-9]{0,3}(s|m|h))$',
        description:
          'raw (default): every reading, as the live evaluation sees them; or a bucket width (10s, 1m, 1h…): ' +
          'one sample per bucket (its first, last, min, max and count), for ranges too long for raw readings',
      }),
    ),
  },
  { additionalProperties: false },
);
export type BacktestBody = Static<typeof BacktestBody>;

/** One alert the rule would have raised: from firing to clear (null: still firing at `to`). */
export const BacktestEpisodeSchema = Type.Object({
  assetId: Id,
  raisedAt: Time,
  clearedAt: Type.Union([Time, Type.Null()]),
  /** The severity it ended with (after an escalation, the escalated one). */
  severity: SeveritySchema,
  /** The reading furthest on the wrong side while it fired (the rate, for rate rules; null for no-data). */
  peakValue: Type.Union([Type.Number(), Type.Null()]),
  /** When the condition started holding, for rules with a pending period. */
  pendingSince: Type.Optional(Time),
  escalatedAt: Type.Optional(Time),
});
export type BacktestEpisode = Static<typeof BacktestEpisodeSchema>;

const Count = Type.Integer({ minimum: 0 });

export const BacktestResultSchema = Type.Object({
  from: Time,
  to: Time,
  resolution: Type.String(),
  episodes: Type.Array(BacktestEpisodeSchema),
  assets: Type.Array(Type.Object({ assetId: Id, samples: Count, episodes: Count, cancelledPending: Count })),
  counts: Type.Object({
    assets: Count,
    samples: Count,
    episodes: Count,
    /** Episodes still firing at `to`. */
    stillFiring: Count,
    /** Pending periods that ended before the rule fired. */
    cancelledPending: Count,
  }),
});
export type BacktestResult = Static<typeof BacktestResultSchema>;
