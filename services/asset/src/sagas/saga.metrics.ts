import { SagaStatuses, SagaTypes } from '@assetops/contracts';
import {
  type Logger,
  type MetricsRegistry,
  type Pool,
  prometheus,
  withTimeout,
  withTransaction,
} from '@assetops/platform';
import { countSagasByState } from './saga.store.js';

/**
 * Registers `assetops_sagas{saga, state}`: how many sagas of each type are in each state, read
 * from the saga table when the registry is collected (a scrape of `/metrics`, an OTLP push).
 * Every type × state pair is reported, zeros included, so that an alert on
 * `assetops_sagas{state="needs_attention"} > 0` has a series to watch from the start.
 *
 * The cost of a collection is bounded: one grouped count (concurrent collections share it) under
 * a statement timeout, and a collection waits for it at most `2 × timeoutMs`. A count that fails
 * or comes late leaves the previous values (logged once until counting works again): a database
 * in trouble must not take the whole `/metrics` down with it.
 *
 * @example
 * registerSagaMetrics(ctx.metrics, { pool: ctx.pool, logger: ctx.logger });
 */
export function registerSagaMetrics(
  registry: MetricsRegistry,
  deps: { pool: Pool; logger?: Logger; timeoutMs?: number },
): void {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  let counting: Promise<Awaited<ReturnType<typeof countSagasByState>> | undefined> | undefined;
  let failing = false;

  const count = () => {
    counting ??= withTransaction(
      deps.pool,
      async (tx) => {
        await tx.query("SELECT set_config('statement_timeout', $1, true)", [String(timeoutMs)]);
        return countSagasByState(tx);
      },
      { begin: 'BEGIN READ ONLY' },
    )
      .then(
        (rows) => {
          if (failing) deps.logger?.info('saga states are counted again');
          failing = false;
          return rows;
        },
        (err: unknown) => {
          if (!failing)
            deps.logger?.warn({ err }, 'could not count the sagas by state; keeping the last counts');
          failing = true;
          return undefined;
        },
      )
      .finally(() => {
        counting = undefined;
      });
    return counting;
  };

  new prometheus.Gauge({
    name: 'assetops_sagas',
    help: 'Sagas by type (saga) and state; needs_attention: waiting for a person to retry or skip',
    labelNames: ['saga', 'state'],
    registers: [registry],
    async collect() {
      // Late: the last values stay (the count goes on and is shared with the next collection).
      const rows = await withTimeout(count(), 2 * timeoutMs).catch(() => undefined);
      if (!rows) return;
      for (const saga of SagaTypes) for (const state of SagaStatuses) this.set({ saga, state }, 0);
      for (const row of rows) this.set({ saga: row.type, state: row.status }, row.sagas);
    },
  });
}
