import type { DashboardRebuild, EventEnvelope, TelemetryWindow } from '@assetops/contracts';
import {
  type Clock,
  ConflictError,
  type IdGenerator,
  type Logger,
  type Pool,
  type PoolClient,
  type Queryable,
  withTransaction,
} from '@assetops/platform';
import { applyEvent, applyTelemetry, journaledWindows } from '../projection/projection.apply.js';
import { CHANGES_CHANNEL } from '../projection/projection.handlers.js';

/**
 * Rebuilding the read model without downtime.
 *
 * The projection tables are keyed by a generation; readers and the live handlers use the active
 * one. A rebuild creates the next generation (`building`), replays the journal into it in chunks —
 * each chunk in its own transaction, progress recorded — while the live handlers keep updating the
 * active generation and appending to the journal. Once the replay has caught up it switches in one
 * transaction: it takes the journal table's EXCLUSIVE lock (live handlers, whose first statement
 * appends to the journal, wait; readers do not), replays what was journaled since its last chunk,
 * gives every asset of the new generation a new change position (so stream clients get them all),
 * and makes it active. Handlers resume on the new generation: they read the active generation in a
 * statement after the one that waited for the lock. The old generation is deleted afterwards.
 *
 * Replaying into a copy works in both runtimes (in-process bus and NATS), needs no retention on the
 * transport, and gives the same tables as the live projection because every application is
 * idempotent and order-tolerant (see projection.apply.ts).
 */
export interface RebuildDeps {
  pool: Pool;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  /** Journal rows per replay transaction. */
  chunkSize?: number;
  /** A running rebuild not heard of for this long is taken as dead (its instance stopped). */
  staleAfterMs?: number;
  /** How long the retired generation stays readable for requests that started before the switch. */
  retireGraceMs?: number;
}

interface RebuildRow {
  id: string;
  generation: number;
  state: DashboardRebuild['state'];
  total: number;
  replayed: number;
  last_position: number;
  started_at: Date;
  heartbeat_at: Date;
  finished_at: Date | null;
  error: string | null;
}

function toRebuild(row: RebuildRow): DashboardRebuild {
  return {
    id: row.id,
    state: row.state,
    generation: row.generation,
    replayed: row.replayed,
    total: Math.max(row.total, row.replayed),
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    error: row.error,
  };
}

export async function findRebuild(db: Queryable, id: string): Promise<DashboardRebuild | undefined> {
  const { rows } = await db.query<RebuildRow>('SELECT * FROM rebuilds WHERE id = $1', [id]);
  return rows[0] ? toRebuild(rows[0]) : undefined;
}

/** Starts and runs rebuilds; one at a time per database (any instance). */
export class RebuildRunner {
  private readonly running = new Set<Promise<void>>();
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly deps: RebuildDeps) {}

  /** Creates the next generation and starts replaying into it in the background. 409 when one runs. */
  async start(): Promise<DashboardRebuild> {
    const { pool, clock, ids } = this.deps;
    const staleAfterMs = this.deps.staleAfterMs ?? 60_000;
    const row = await withTransaction(pool, async (tx) => {
      await tx.query('LOCK TABLE rebuilds IN EXCLUSIVE MODE');
      const now = clock.now();
      const { rows: current } = await tx.query<RebuildRow>(
        `SELECT * FROM rebuilds WHERE state = 'running' ORDER BY started_at DESC LIMIT 1`,
      );
      const running = current[0];
      if (running) {
        if (now.getTime() - running.heartbeat_at.getTime() < staleAfterMs) {
          throw new ConflictError('DASHBOARD_REBUILD_RUNNING', `rebuild ${running.id} is still running`, {
            rebuildId: running.id,
          });
        }
        // Its instance went away: give it up and start over.
        await tx.query(
          `UPDATE rebuilds SET state = 'failed', finished_at = $2, error = 'abandoned (no progress)' WHERE id = $1`,
          [running.id, now],
        );
        await dropGeneration(tx, running.generation);
        await tx.query(`DELETE FROM generations WHERE generation = $1 AND state = 'building'`, [
          running.generation,
        ]);
      }
      const { rows: gen } = await tx.query<{ generation: number }>(
        `INSERT INTO generations (generation, state)
         SELECT coalesce(max(generation), 0) + 1, 'building' FROM generations
         RETURNING generation`,
      );
      const { rows: count } = await tx.query<{ total: number }>(
        'SELECT count(*)::bigint AS total FROM journal',
      );
      const { rows } = await tx.query<RebuildRow>(
        `INSERT INTO rebuilds (id, generation, state, total, started_at, heartbeat_at)
         VALUES ($1, $2, 'running', $3, $4, $4) RETURNING *`,
        [ids.next(), gen[0]!.generation, count[0]!.total, now],
      );
      return rows[0]!;
    });
    const run = this.run(row).catch(async (err) => {
      this.deps.logger.error({ err, rebuildId: row.id }, 'dashboard rebuild failed');
      await this.fail(row, err).catch((e) =>
        this.deps.logger.error({ err: e }, 'recording the failure failed'),
      );
    });
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return toRebuild(row);
  }

  /** Waits for rebuilds in flight (they stop at their next chunk). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await Promise.all([...this.running]);
  }

  private async run(rebuild: RebuildRow): Promise<void> {
    const { pool, clock } = this.deps;
    const chunkSize = this.deps.chunkSize ?? 1_000;
    let position = 0;
    let replayed = 0;
    // Replay without blocking anyone, chunk by chunk, until a chunk comes back short.
    for (;;) {
      if (this.stopped) throw new Error('the service stopped during the rebuild');
      const chunk = await withTransaction(pool, async (tx) => {
        const result = await replayChunk(tx, rebuild.generation, position, chunkSize);
        await tx.query(
          'UPDATE rebuilds SET replayed = $2, last_position = $3, heartbeat_at = $4 WHERE id = $1',
          [rebuild.id, replayed + result.replayed, result.position, clock.now()],
        );
        return result;
      });
      position = chunk.position;
      replayed += chunk.replayed;
      if (chunk.replayed < chunkSize) break;
    }
    // Switch: the rest under the journal lock, then the new generation becomes the active one.
    const retired = await withTransaction(pool, async (tx) => {
      await tx.query('LOCK TABLE journal IN EXCLUSIVE MODE');
      for (;;) {
        const chunk = await replayChunk(tx, rebuild.generation, position, chunkSize);
        position = chunk.position;
        replayed += chunk.replayed;
        if (chunk.replayed < chunkSize) break;
      }
      await tx.query(`UPDATE assets SET position = nextval('change_position') WHERE generation = $1`, [
        rebuild.generation,
      ]);
      const { rows } = await tx.query<{ generation: number }>(
        `UPDATE generations SET state = 'retired' WHERE state IN ('active', 'retired') RETURNING generation`,
      );
      const now = clock.now();
      await tx.query(`UPDATE generations SET state = 'active', activated_at = $2 WHERE generation = $1`, [
        rebuild.generation,
        now,
      ]);
      await tx.query(
        `UPDATE rebuilds SET state = 'completed', replayed = $2, last_position = $3, heartbeat_at = $4, finished_at = $4
          WHERE id = $1`,
        [rebuild.id, replayed, position, now],
      );
      await tx.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, 'switched']);
      return rows.map((r) => r.generation);
    });
    this.deps.logger.info(
      { rebuildId: rebuild.id, generation: rebuild.generation, replayed },
      'dashboard rebuilt',
    );
    // Requests that read the old generation's number just before the switch finish first.
    // (A retired generation left behind by a stop is deleted by the next rebuild's switch.)
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.deps.retireGraceMs ?? 5_000);
      this.stopping.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.stopped) return;
    for (const generation of retired) {
      await withTransaction(pool, async (tx) => {
        await dropGeneration(tx, generation);
        await tx.query(`DELETE FROM generations WHERE generation = $1 AND state = 'retired'`, [generation]);
      });
    }
  }

  private async fail(rebuild: RebuildRow, err: unknown): Promise<void> {
    await withTransaction(this.deps.pool, async (tx) => {
      await tx.query(
        `UPDATE rebuilds SET state = 'failed', finished_at = $2, error = $3 WHERE id = $1 AND state = 'running'`,
        [rebuild.id, this.deps.clock.now(), err instanceof Error ? err.message : String(err)],
      );
      await dropGeneration(tx, rebuild.generation);
      await tx.query(`DELETE FROM generations WHERE generation = $1 AND state = 'building'`, [
        rebuild.generation,
      ]);
    });
  }
}

/** Replays the journal rows after `position` (at most `limit`) into a generation. */
async function replayChunk(
  tx: PoolClient,
  generation: number,
  position: number,
  limit: number,
): Promise<{ replayed: number; position: number }> {
  const { rows } = await tx.query<{ position: number; event: EventEnvelope }>(
    'SELECT position, event FROM journal WHERE position > $1 ORDER BY position LIMIT $2',
    [position, limit],
  );
  // Consecutive telemetry windows (most of the journal) go in one statement; other events one by one,
  // in journal order.
  let windows: TelemetryWindow[] = [];
  for (const row of rows) {
    const held = journaledWindows(row.event);
    if (held.length > 0) {
      windows.push(...held);
      continue;
    }
    await applyTelemetry(tx, windows, generation);
    windows = [];
    await applyEvent(tx, row.event, generation);
  }
  await applyTelemetry(tx, windows, generation);
  return { replayed: rows.length, position: rows.at(-1)?.position ?? position };
}

async function dropGeneration(tx: PoolClient, generation: number): Promise<void> {
  for (const table of ['assets', 'asset_metrics', 'alerts', 'work_orders'] as const) {
    // The table name is one of four constants; identifiers cannot be parameters.
    await tx.query(`DELETE FROM ${table} WHERE generation = $1`, [generation]);
  }
}
