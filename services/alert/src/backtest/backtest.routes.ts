import { ProblemSchema } from '@assetops/contracts';
import type { HttpApp } from '@assetops/platform';
import { type BacktestDeps, runBacktest } from './backtest.js';
import { BacktestBody, BacktestResultSchema } from './backtest.schema.js';

/** `POST /api/v1/alert-rules/backtest`: what a rule would have raised on stored history. */
export function registerBacktestRoutes(app: HttpApp, deps: BacktestDeps): void {
  app.post(
    '/api/v1/alert-rules/backtest',
    {
      schema: {
        tags: ['alert-rules'],
        summary: 'Replay a rule on stored history: the alerts it would have raised (nothing is saved)',
        description:
          'History is read from the Telemetry service (503 BACKTEST_UNAVAILABLE when it is not configured ' +
          'or cannot be reached). At most 200,000 samples per asset: a longer raw range is refused with ' +
          '400 BACKTEST_TOO_LARGE — narrow it, or set a resolution such as 1m (one sample per bucket).',
        body: BacktestBody,
        response: {
          200: BacktestResultSchema,
          400: ProblemSchema,
          404: ProblemSchema,
          502: ProblemSchema,
          503: ProblemSchema,
        },
      },
    },
    async (request) => runBacktest(deps, request.body),
  );
}
