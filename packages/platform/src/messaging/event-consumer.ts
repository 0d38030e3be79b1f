import { type EventData, type EventDefinition, type EventEnvelope, validateEvent } from '@assetops/contracts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type Clock, systemClock } from '../clock.js';
import {
  type Pool,
  type PoolClient,
  type Queryable,
  rollbackQuietly,
  withClient,
  withTransaction,
} from '../db/pool.js';
import { AppError, isRetryable } from '../errors.js';
import type { Logger } from '../logger.js';
import { createTracer, parseTraceparent } from '../tracing.js';
import { INBOX_CHANNEL, recordDeadLetter } from './dead-letters.js';
import { LeaderLoop } from './leader-loop.js';
import { defaultRetryPolicy, type RetryPolicy, retryDelayMs } from './retry-policy.js';
import type {
  BatchEventHandler,
  BusSubscriptionHandle,
  EventBus,
  EventHandler,
  MalformedMessage,
} from './types.js';

/**
 * Handlers by CloudEvents type. Typed `EventHandler<never>` so that handlers narrowed to their
 * event's data (`EventHandler<AssetRegisteredData>`) fit without casts; {@link eventHandler} builds
 * one entry with the types checked against the definition.
 */
export type EventHandlers = Readonly<Record<string, EventHandler<never>>>;

/**
 * One entry of {@link EventHandlers}, typed by the event definition; with `batch`, runs of
 * consecutive events of this type are handled by one call of it (see {@link BatchEventHandler}).
 *
 * @example
 * handlers: {
 *   ...eventHandler(AssetRegistered, async (tx, event) => { await addKnownAsset(tx, event.data.assetId); }),
 *   ...eventHandler(TelemetryAggregated, onWindow, onWindows),
 * }
 */
export function eventHandler<TDef extends EventDefinition>(
  def: TDef,
  handler: EventHandler<EventData<TDef>>,
  batch?: BatchEventHandler<EventData<TDef>>,
): EventHandlers {
  return { [def.type]: batch ? withBatchHandler(handler, batch) : handler };
}

/**
 * A copy of `handler` that also handles runs of events at once with `batch` (the per-event handler
 * stays what isolates a failing event). The handler travels as one value, so every runtime that
 * passes a service's handlers to its consumer passes the batch handler too.
 *
 * @example
 * const handlers = { [TelemetryAggregated.type]: withBatchHandler(onWindow, onWindows) };
 */
export function withBatchHandler<TData>(
  handler: EventHandler<TData>,
  batch: BatchEventHandler<TData>,
): EventHandler<TData> {
  const each = (tx: PoolClient, event: EventEnvelope<TData>) => handler(tx, event);
  return Object.assign(each, { batch });
}

export interface EventConsumerOptions {
  /** The consuming service; names the durable subscription, the inbox rows and the worker lock. */
  name: string;
  /** The consuming service's pool; the worker also opens one dedicated connection of its own. */
  pool: Pool;
  bus: EventBus;
  /** Producing services to receive from, e.g. `['asset']`. */
  sources: readonly string[];
  handlers: EventHandlers;
  logger: Logger;
  clock?: Clock;
  /** Default 8 attempts, 200 ms doubling up to 60 s. */
  retry?: Partial<RetryPolicy>;
  /** Inbox rows processed per transaction. Default 200. */
  batchSize?: number;
  /** Polling fallback of the worker. Default 1000 ms. */
  pollIntervalMs?: number;
  /**
   * Processed inbox rows (the duplicate filter: ids only, their bodies are dropped when processed)
   * are kept this long. Default 7 days.
   */
  retentionMs?: number;
  /** Default 1 h. */
  purgeIntervalMs?: number;
  /** How often a standby worker tries to become the active one. Default 5 s. */
  standbyRetryMs?: number;
  /** Backoff after a failed pass (database down). Default 200 ms … 30 s. */
  errorBackoff?: { baseMs: number; maxMs: number };
  /**
   * When this instance receives from the bus. `always`: from `start()` on — required for the
   * in-process bus, which keeps nothing for a consumer that is not subscribed. `when-active`: only
   * while it is the active worker, so that one instance writes the inbox in transport order (with
   * several instances receiving, a durable JetStream consumer splits batches between them and the
   * inbox order of one subject's events could differ from publish order). Default: `always` for the
   * in-process bus, `when-active` otherwise.
   */
  receive?: 'always' | 'when-active';
  /** Counts processed, retried and dead-lettered events here (label `consumer`). */
  metrics?: Registry;
  /**
   * A relevance filter: an event for which it returns false is acknowledged without being stored
   * or handled. Only for events whose loss is harmless by design — e.g. telemetry windows that no
   * alert rule watches. Default: every event of a handled type is stored.
   */
  accept?: (event: EventEnvelope) => boolean;
  /** Called after a batch of events committed as processed (lag measurements). */
  onProcessed?: (events: readonly EventEnvelope[], committedAt: Date) => void;
  /**
   * Whether the active worker handles a delivered batch at once, in the transaction that records its
   * events in the inbox as processed, when nothing of this consumer waits in the inbox (see
   * {@link createEventConsumer}). Off, every event is stored first and handled by the worker's next
   * pass. Default true.
   */
  handleOnReceive?: boolean;
}

/** An event consumer; see {@link createEventConsumer}. */
export interface EventConsumer {
  readonly name: string;
  /** Subscribes (see `receive`) and starts the worker in the background. */
  start(): Promise<void>;
  /** Stops receiving, finishes the batch in flight and releases the worker role. */
  stop(): Promise<void>;
  /** Processes every due inbox row now (test hook; safe next to a running worker). Returns how many. */
  drain(): Promise<number>;
  /** Deletes processed inbox rows older than the retention now. Returns how many. */
  purge(): Promise<number>;
  /** Whether this instance is the active worker of its consumer. */
  readonly active: boolean;
}

interface InboxRow {
  /** Stable while the row is locked by this transaction: the cheapest handle to update it by. */
  ctid: string;
  event_id: string;
  type: string;
  subject: string | null;
  event: EventEnvelope;
  attempts: number;
}

/** A per-event handler's failure while handling a batch on receive. */
interface ReceiveFailure {
  event: EventEnvelope;
  error: unknown;
}

type HandledAtOnce = { handled: true } | { handled: false; failure?: ReceiveFailure };

/** What one pass learns across its rounds. */
interface PassState {
  /** Events whose handler failed in an earlier round, and how. */
  knownFailures: Map<string, unknown>;
  /** Cleared when a batch handler failed: the rest of the pass handles events one by one. */
  batching: boolean;
}

type Round =
  | { kind: 'retry' }
  | {
      kind: 'done';
      claimed: number;
      processed: EventEnvelope[];
      stoppedAtFailure: boolean;
      nextInMs?: number;
    };

// A pass re-runs its prefix once per newly failing event; after this many rounds it only records the
// failures it knows, which guarantees progress even with handlers that fail differently every time.
const MAX_ROUNDS = 5;
const PURGE_CHUNK = 10_000;

/**
 * Consumes events with a store-and-forward inbox, making each handler's effects happen exactly once.
 *
 * Receive: the bus delivers batches; each event is validated (an invalid one is dead-lettered, never
 * retried) and stored in `inbox` as `pending` in one statement — a duplicate is ignored by the primary
 * key — before the delivery is acknowledged. So the inbox is durable even over the in-process bus.
 *
 * Process: one active worker per (database, consumer) claims due pending rows in `seq` order and runs
 * their handlers in ONE transaction, marking them processed in the same transaction. No savepoints
 * on the happy path — each one is a round trip, and past 64 subtransactions PostgreSQL's snapshot
 * handling degrades for every session. When a handler throws, the transaction is rolled back and
 * re-run up to the failing event, which is then recorded as failed: `attempts + 1` and a retry time
 * with exponential backoff and jitter, or — after `maxAttempts`, or at once for an AppError with
 * `retryable: false` — `dead` with a `dead_letters` row. A crash rolls everything back: rows stay
 * pending, nothing is applied twice.
 *
 * Order per subject: a pass stops at a failing event, and a row is not claimed while an earlier row
 * of its subject waits for a retry. A dead event no longer blocks its subject.
 *
 * Batches: a handler with a `batch` (see {@link BatchEventHandler}) gets each run of consecutive
 * claimed rows of its type in one call. When that call throws, the round is rolled back and the rest
 * of the pass handles events one by one, which finds the failing event as above.
 *
 * Handled on receive (`handleOnReceive`, the default): when this instance is the active worker and
 * no event of the consumer is pending in the inbox, a delivered batch is handled at once, in one
 * transaction that inserts its inbox rows as processed (ids only: the duplicate filter) and runs the
 * handlers, serialised with the worker's passes. The effects and the inbox record still commit
 * together, and nothing overtakes a pending event. It saves storing each event's body, claiming it
 * and marking it processed — most of the inbox's cost for a hot event type. If a handler throws, or
 * anything is pending, the transaction is rolled back and the batch is stored for the worker as
 * above, which retries, isolates and dead-letters as usual.
 *
 * @example
 * const consumer = createEventConsumer({
 *   name: 'telemetry', pool, bus, logger, sources: ['asset'],
 *   handlers: { ...eventHandler(AssetRegistered, async (tx, e) => { … }) },
 * });
 * await consumer.start(); // before the relays, when on the in-process bus
 */
export function createEventConsumer(opts: EventConsumerOptions): EventConsumer {
  const { name, pool, bus, handlers, logger } = opts;
  const clock = opts.clock ?? systemClock;
  const retry: RetryPolicy = { ...defaultRetryPolicy, ...opts.retry };
  const batchSize = opts.batchSize ?? 200;
  const retentionMs = opts.retentionMs ?? 7 * 24 * 60 * 60 * 1000;
  const receiveMode = opts.receive ?? (bus.kind === 'inprocess' ? 'always' : 'when-active');
  const handleOnReceive = opts.handleOnReceive ?? true;
  // Whether the worker's pass under way claimed events: it has a backlog to work off.
  let draining = false;
  const handledTypes = new Set(Object.keys(handlers));
  const metrics = opts.metrics ? consumerMetrics(opts.metrics, { name, pool }) : undefined;
  const log = logger.child({ consumer: name });
  const tracer = createTracer(name);
  let subscription: BusSubscriptionHandle | undefined;

  async function receive(batch: readonly EventEnvelope[]): Promise<void> {
    const accepted: EventEnvelope[] = [];
    const rejected: { value: EventEnvelope; reason: string }[] = [];
    for (const value of batch) {
      try {
        const event = validateEvent(value);
        // A transport may deliver more than asked for; types without a handler are not our business.
        if (handledTypes.has(event.type) && (opts.accept?.(event) ?? true)) accepted.push(event);
      } catch (err) {
        rejected.push({ value, reason: errorMessage(err) });
      }
    }
    if (accepted.length === 0 && rejected.length === 0) return;
    let failure: ReceiveFailure | undefined;
    // Not while the worker works off a backlog: a delivery does not wait for its rounds (the
    // in-process bus holds its producer's relay meanwhile), and the backlog's events go first anyway.
    if (rejected.length === 0 && handleOnReceive && loop.active && !draining) {
      const outcome = await loop.runExclusive(() => handleAtOnce(accepted));
      if (outcome.handled) return;
      failure = outcome.failure;
    }
    // The common case — only valid events — is a single statement (atomic on its own): the insert,
    // and a NOTIFY that wakes the active worker when it runs in another process. When this instance
    // is the active worker it is woken directly below, and the NOTIFY — whose commit lock is global
    // to the server (see wakeLocalLoopAfterCommit) — is left out. The events travel as one JSON
    // array (a jsonb[] parameter would escape every event's JSON into an array literal).
    const storeAccepted = (db: Queryable) =>
      db.query(
        `WITH received AS (
           INSERT INTO inbox (consumer, event_id, type, subject, event)
           SELECT $1, (u.e->>'id')::uuid, u.e->>'type', u.e->>'subject', u.e
             FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY AS u(e, ord)
            ORDER BY u.ord
           ON CONFLICT (consumer, event_id) DO NOTHING
           RETURNING 1)
         SELECT ${loop.active ? '' : `pg_notify('${INBOX_CHANNEL}', $1), `}(SELECT count(*)::int FROM received) AS stored`,
        [name, JSON.stringify(accepted)],
      );
    const countDuplicates = (result: { rows: { stored: number }[] }) =>
      metrics?.duplicates.inc(
        { consumer: name },
        accepted.length - (result.rows[0]?.stored ?? accepted.length),
      );
    if (rejected.length === 0 && !failure) {
      countDuplicates(await storeAccepted(pool));
    } else {
      // Dead letters, inbox rows and a failure on receive commit together, so a redelivered batch
      // records none of them twice.
      await withTransaction(pool, async (tx) => {
        for (const { value, reason } of rejected) {
          log.warn({ reason, eventId: safeString(value?.id) }, 'invalid event dead-lettered');
          await recordDeadLetter(tx, {
            consumer: name,
            type: safeString(value?.type),
            subject: safeString(value?.subject),
            payload: value,
            reason,
          });
        }
        if (accepted.length > 0) countDuplicates(await storeAccepted(tx));
        if (failure) await recordReceiveFailure(tx, failure);
      });
    }
    if (accepted.length > 0) loop.wake();
  }

  /**
   * Handles a delivered batch in one transaction with its inbox rows, inserted as processed; see
   * "Handled on receive" above. Otherwise, having changed nothing, it says the batch is to be stored
   * for the worker: this instance is not (or no longer) the active worker, an event of the consumer
   * is pending, or a handler failed — then with the failing event when a per-event handler failed.
   */
  async function handleAtOnce(events: readonly EventEnvelope[]): Promise<HandledAtOnce> {
    if (!loop.active) return { handled: false };
    let failure: ReceiveFailure | undefined;
    const handled = await withClient(pool, async (client) => {
      try {
        await client.query('BEGIN');
        // The pending check and the insert share one snapshot: a batch stored before this one (the
        // deliveries of a producer come one after the other) is seen, and then nothing is inserted.
        const { rows } = await client.query<{ waiting: boolean; fresh: string[] }>(
          `WITH waiting AS (
             SELECT EXISTS (SELECT 1 FROM inbox WHERE consumer = $1 AND status = 'pending') AS pending),
           received AS (
             INSERT INTO inbox (consumer, event_id, type, subject, status, attempts, processed_at)
             SELECT $1, u.event_id, u.type, u.subject, 'processed', 1, $5
               FROM unnest($2::uuid[], $3::text[], $4::text[]) WITH ORDINALITY AS u(event_id, type, subject, ord)
              WHERE NOT (SELECT pending FROM waiting)
              ORDER BY u.ord
             ON CONFLICT (consumer, event_id) DO NOTHING
             RETURNING event_id)
           SELECT (SELECT pending FROM waiting) AS waiting,
                  coalesce((SELECT array_agg(event_id::text) FROM received), '{}') AS fresh`,
          [
            name,
            events.map((e) => e.id),
            events.map((e) => e.type),
            events.map((e) => e.subject ?? null),
            clock.now(),
          ],
        );
        if (rows[0]!.waiting) {
          await client.query('ROLLBACK');
          return undefined;
        }
        // PostgreSQL returns ids in canonical (lower case) form; a duplicate is not handled again.
        const fresh = new Set(rows[0]!.fresh);
        const todo = events.filter((e) => fresh.has(e.id.toLowerCase()));
        for (let index = 0; index < todo.length; ) {
          const type = todo[index]!.type;
          const handler = handlers[type]!;
          let end = index + 1;
          if (handler.batch) while (end < todo.length && todo[end]!.type === type) end++;
          const run = todo.slice(index, end);
          try {
            await handleRun(client, handler, run);
          } catch (error) {
            // A batch handler's failure names no event: the worker's pass finds it.
            if (run.length === 1) failure = { event: run[0]!, error };
            throw error;
          }
          index = end;
        }
        await client.query('COMMIT');
        return todo;
      } catch (err) {
        await rollbackQuietly(client);
        log.debug(
          { events: events.length, reason: errorMessage(err) },
          'handling on receive failed; storing the batch for the worker',
        );
        return undefined;
      }
    });
    if (!handled) return { handled: false, failure };
    metrics?.duplicates.inc({ consumer: name }, events.length - handled.length);
    noteProcessed(handled);
    return { handled: true };
  }

  /**
   * Records a handler failure on receive as the event's first attempt, as the worker would have —
   * if its row is the one just stored, still pending and never tried (not a redelivered event's).
   */
  async function recordReceiveFailure(tx: PoolClient, failure: ReceiveFailure): Promise<void> {
    const { rows } = await tx.query<InboxRow>(
      `SELECT ctid, event_id, type, subject, event, attempts FROM inbox
        WHERE consumer = $1 AND event_id = $2 AND status = 'pending' AND attempts = 0
        FOR UPDATE`,
      [name, failure.event.id],
    );
    if (rows[0]) await recordFailure(tx, rows[0], failure.error);
  }

  /**
   * Runs `handler` in `client`'s transaction for a run of events of its type (the batch handler for
   * two or more), each in a consumer span that is a child of the span that produced it; the events it
   * appends in turn (which copy their cause's traceparent) continue from it. Rethrows a failure.
   */
  async function handleRun(
    client: PoolClient,
    handler: EventHandler<never>,
    run: readonly EventEnvelope[],
  ): Promise<void> {
    const spans = run.map((event) =>
      tracer.startSpan(`${name} ${event.type}`, {
        kind: 'consumer',
        parent: parseTraceparent(event.traceparent),
        attributes: { 'messaging.consumer.group.name': name, 'messaging.message.id': event.id },
      }),
    );
    const events = run.map((event, i) => ({
      ...(event as EventEnvelope<never>),
      traceparent: spans[i]!.traceparent,
    }));
    const batch = run.length > 1 ? handler.batch : undefined;
    try {
      if (batch) await batch(client, events);
      else await handler(client, events[0]!);
      for (const span of spans) span.end();
    } catch (error) {
      for (const span of spans) span.end(error);
      throw error;
    }
  }

  /** Counts events whose handling committed, and their lag. */
  function noteProcessed(processed: readonly EventEnvelope[]): void {
    if (processed.length === 0) return;
    metrics?.processed.inc({ consumer: name }, processed.length);
    if (metrics) {
      const doneAt = Date.now();
      for (const event of processed) {
        const lagMs = doneAt - Date.parse(event.time);
        if (Number.isFinite(lagMs)) metrics.lag.observe({ consumer: name }, Math.max(0, lagMs) / 1000);
      }
    }
    opts.onProcessed?.(processed, new Date());
  }

  async function receiveMalformed(message: MalformedMessage): Promise<void> {
    log.warn({ subject: message.subject, reason: message.reason }, 'malformed message dead-lettered');
    await recordDeadLetter(pool, {
      consumer: name,
      payload: { subject: message.subject, raw: message.raw },
      reason: `malformed message: ${message.reason}`,
    });
  }

  async function subscribe(): Promise<void> {
    if (subscription) return;
    subscription = await bus.subscribe({
      consumer: name,
      sources: opts.sources,
      types: [...handledTypes],
      deliver: receive,
      onMalformed: receiveMalformed,
      durable: true,
    });
  }

  async function unsubscribe(): Promise<void> {
    const current = subscription;
    subscription = undefined;
    await current?.stop();
  }

  async function claim(tx: PoolClient, now: Date): Promise<InboxRow[]> {
    // FOR UPDATE makes overlapping workers (a lock hand-over, a manual drain) wait instead of
    // processing the same rows. `waiting` — the subjects whose earliest pending row awaits a retry —
    // is computed once (MATERIALIZED, from a tiny partial index) rather than probed per candidate
    // row: on a fresh table without statistics the planner would otherwise scan every pending row
    // for each row of the batch.
    const { rows } = await tx.query<InboxRow>(
      `WITH waiting AS MATERIALIZED (
         SELECT subject, min(seq) AS first_seq
           FROM inbox
          WHERE consumer = $1 AND status = 'pending' AND next_attempt_at IS NOT NULL AND next_attempt_at > $2
          GROUP BY subject)
       SELECT i.ctid, i.event_id, i.type, i.subject, i.event, i.attempts
         FROM inbox i
        WHERE i.consumer = $1 AND i.status = 'pending'
          AND (i.next_attempt_at IS NULL OR i.next_attempt_at <= $2)
          AND NOT EXISTS (SELECT 1 FROM waiting w WHERE w.subject = i.subject AND w.first_seq < i.seq)
        ORDER BY i.seq
        LIMIT $3
        FOR UPDATE OF i`,
      [name, now, batchSize],
    );
    return rows;
  }

  async function recordFailure(tx: PoolClient, row: InboxRow, error: unknown): Promise<number | undefined> {
    const attempts = row.attempts + 1;
    const reason = errorMessage(error);
    if (!isRetryable(error) || attempts >= retry.maxAttempts) {
      await tx.query(
        `UPDATE inbox SET status = 'dead', attempts = $3, last_error = $4, next_attempt_at = NULL
          WHERE consumer = $1 AND event_id = $2`,
        [name, row.event_id, attempts, reason],
      );
      await recordDeadLetter(tx, {
        consumer: name,
        eventId: row.event_id,
        type: row.type,
        subject: row.subject,
        payload: row.event,
        reason,
        attempts,
      });
      log.error({ eventId: row.event_id, type: row.type, attempts, reason }, 'event dead-lettered');
      metrics?.dead.inc({ consumer: name });
      return undefined;
    }
    const delayMs = retryDelayMs(attempts, retry);
    await tx.query(
      `UPDATE inbox SET attempts = $3, last_error = $4, next_attempt_at = $5
        WHERE consumer = $1 AND event_id = $2`,
      // Counted from now, not from the start of the pass: the failure may have come late in it.
      [name, row.event_id, attempts, reason, new Date(clock.now().getTime() + delayMs)],
    );
    log.warn(
      { eventId: row.event_id, type: row.type, attempts, reason, retryInMs: delayMs },
      'event handler failed',
    );
    metrics?.retried.inc({ consumer: name });
    return delayMs;
  }

  async function round(now: Date, pass: PassState, recordOnly: boolean): Promise<Round> {
    const { knownFailures } = pass;
    return withClient(pool, async (client) => {
      try {
        // The claim must walk inbox_pending_idx in seq order and stop after one batch. With statistics
        // that underestimate the backlog (a fresh table, or a burst after a quiet spell) the planner
        // would rather bitmap-scan and sort every pending row, on every pass: O(backlog²) exactly when
        // catching up. Ruling sorts and bitmap scans out for the claim alone keeps it O(batch).
        await client.query('BEGIN; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
        const rows = await claim(client, now);
        if (rows.length > 0) draining = true;
        await client.query('SET LOCAL enable_sort TO DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT');
        const processed: EventEnvelope[] = [];
        const processedRows: InboxRow[] = [];
        let failure: { row: InboxRow; error: unknown } | undefined;
        let nextInMs: number | undefined;
        for (let index = 0; index < rows.length; ) {
          const row = rows[index]!;
          if (knownFailures.has(row.event_id)) {
            failure = { row, error: knownFailures.get(row.event_id) };
            break;
          }
          if (recordOnly) {
            index++;
            continue;
          }
          const handler = handlers[row.type];
          if (!handler) {
            // Nothing ran for this event, so the transaction is intact: stop here without a rollback.
            failure = {
              row,
              error: new AppError('EVENT_NO_HANDLER', `no handler for ${row.type}`, 500, false),
            };
            break;
          }
          // With a batch handler, this row and the rows of the same type right after it form one run.
          let end = index + 1;
          if (handler.batch && pass.batching) {
            while (
              end < rows.length &&
              rows[end]!.type === row.type &&
              !knownFailures.has(rows[end]!.event_id)
            )
              end++;
          }
          const run = rows.slice(index, end);
          try {
            await handleRun(
              client,
              handler,
              run.map((r) => r.event),
            );
          } catch (error) {
            if (run.length > 1) {
              // Which event failed is unknown: the next rounds of this pass go one by one to find it.
              pass.batching = false;
              log.warn(
                { type: row.type, events: run.length, reason: errorMessage(error) },
                'batch handler failed; handling the events one by one',
              );
            } else {
              knownFailures.set(row.event_id, error);
            }
            // Undo the whole round (the failed handler may have written before throwing, or aborted the
            // transaction); the next round re-runs the events before it and records this failure.
            await rollbackQuietly(client);
            return { kind: 'retry' };
          }
          for (const r of run) {
            processed.push(r.event);
            processedRows.push(r);
          }
          index = end;
        }
        if (recordOnly) {
          for (const row of rows) {
            if (!knownFailures.has(row.event_id)) continue;
            const delay = await recordFailure(client, row, knownFailures.get(row.event_id));
            if (delay !== undefined) nextInMs = Math.min(nextInMs ?? delay, delay);
          }
        }
        if (processed.length > 0) {
          await client.query(
            `UPDATE inbox SET status = 'processed', processed_at = $3, attempts = attempts + 1, next_attempt_at = NULL,
                            event = NULL
            WHERE ctid = ANY($2::tid[]) AND consumer = $1`,
            [name, processedRows.map((r) => r.ctid), now],
          );
        }
        if (failure) nextInMs = await recordFailure(client, failure.row, failure.error);
        if (rows.length === 0) nextInMs = await msUntilNextRetry(client, now);
        await client.query('COMMIT');
        return {
          kind: 'done',
          claimed: rows.length,
          processed,
          stoppedAtFailure: failure !== undefined || recordOnly,
          nextInMs,
        };
      } catch (err) {
        await rollbackQuietly(client);
        throw err;
      }
    });
  }

  async function msUntilNextRetry(tx: PoolClient, now: Date): Promise<number | undefined> {
    const { rows } = await tx.query<{ next: Date | null }>(
      `SELECT min(next_attempt_at) AS next FROM inbox
        WHERE consumer = $1 AND status = 'pending' AND next_attempt_at > $2`,
      [name, now],
    );
    const next = rows[0]?.next;
    return next ? Math.max(0, next.getTime() - now.getTime()) : undefined;
  }

  async function processPass(): Promise<{ processed: number; more: boolean; nextInMs?: number }> {
    try {
      return await passRounds();
    } finally {
      draining = false;
    }
  }

  async function passRounds(): Promise<{ processed: number; more: boolean; nextInMs?: number }> {
    const now = clock.now();
    const pass: PassState = { knownFailures: new Map(), batching: true };
    for (let attempt = 1; ; attempt++) {
      const result = await round(now, pass, attempt > MAX_ROUNDS);
      if (result.kind === 'retry') continue;
      noteProcessed(result.processed);
      return {
        processed: result.processed.length,
        more: result.claimed === batchSize || result.stoppedAtFailure,
        nextInMs: result.nextInMs,
      };
    }
  }

  async function purge(): Promise<number> {
    const cutoff = new Date(clock.now().getTime() - retentionMs);
    let total = 0;
    for (;;) {
      const { rowCount } = await pool.query(
        `DELETE FROM inbox
          WHERE consumer = $1
            AND event_id IN (SELECT event_id FROM inbox
                              WHERE consumer = $1 AND status = 'processed' AND processed_at < $2
                              LIMIT $3)`,
        [name, cutoff, PURGE_CHUNK],
      );
      total += rowCount ?? 0;
      if ((rowCount ?? 0) < PURGE_CHUNK) return total;
    }
  }

  const loop = new LeaderLoop({
    name: `inbox-worker:${name}`,
    pool,
    lockName: `assetops.inbox.worker:${name}`,
    channel: INBOX_CHANNEL,
    acceptNotification: (payload) => payload === name,
    pollIntervalMs: opts.pollIntervalMs ?? 1000,
    standbyRetryMs: opts.standbyRetryMs ?? 5000,
    errorBackoff: opts.errorBackoff ?? { baseMs: 200, maxMs: 30_000 },
    logger: log,
    work: processPass,
    housekeeping: {
      intervalMs: opts.purgeIntervalMs ?? 60 * 60 * 1000,
      run: async () => {
        const purged = await purge();
        if (purged > 0) log.info({ purged }, 'inbox purged');
      },
    },
    onLeadershipChange:
      receiveMode === 'when-active' ? async (active) => (active ? subscribe() : unsubscribe()) : undefined,
  });

  return {
    name,
    async start() {
      if (receiveMode === 'always') await subscribe();
      loop.start();
    },
    async stop() {
      await unsubscribe();
      // A batch being handled on receive finishes before the worker role is given up.
      await loop.runExclusive(async () => {});
      await loop.stop();
    },
    async drain() {
      let total = 0;
      for (;;) {
        const pass = await loop.runExclusive(processPass);
        total += pass.processed;
        if (!pass.more) return total;
      }
    },
    purge,
    get active() {
      return loop.active;
    },
  };
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

function safeString(value: unknown): string | null {
  return typeof value === 'string' ? value.slice(0, 500) : null;
}

/** The consumers whose inbox a registry's gauges report, read when the registry is scraped. */
const scrapedConsumers = new WeakMap<Registry, Map<string, Pool>>();

function consumerMetrics(registry: Registry, consumer: { name: string; pool: Pool }) {
  // Several consumers of one service share a registry: reuse the metrics, tell them apart by label.
  const counter = (metricName: string, help: string) =>
    (registry.getSingleMetric(metricName) as Counter<'consumer'> | undefined) ??
    new Counter({ name: metricName, help, labelNames: ['consumer'], registers: [registry] });
  let consumers = scrapedConsumers.get(registry);
  if (!consumers) {
    const known = new Map<string, Pool>();
    consumers = known;
    scrapedConsumers.set(registry, known);
    // One read of every consumer's inbox state serves the three gauges of a scrape (they are
    // collected one after the other); a database that does not answer leaves the previous values
    // rather than failing the whole scrape.
    type InboxState = { pending: number; oldest: number | null; dead: number };
    let reading: { at: number; states: Promise<Map<string, InboxState>> } | undefined;
    const readStates = () => {
      if (!reading || Date.now() - reading.at > 250) {
        reading = {
          at: Date.now(),
          states: (async () => {
            const states = new Map<string, InboxState>();
            for (const [consumerName, consumerPool] of known) {
              try {
                const { rows } = await consumerPool.query<InboxState>(
                  `SELECT (SELECT count(*)::int FROM inbox WHERE consumer = $1 AND status = 'pending') AS pending,
                          (SELECT extract(epoch FROM now() - min(received_at))::float8
                             FROM inbox WHERE consumer = $1 AND status = 'pending') AS oldest,
                          (SELECT count(*)::int FROM dead_letters WHERE consumer = $1 AND redriven_at IS NULL) AS dead`,
                  [consumerName],
                );
                if (rows[0]) states.set(consumerName, rows[0]);
              } catch {
                // keep the last values
              }
            }
            return states;
          })(),
        };
      }
      return reading.states;
    };
    const gauge = (name: string, help: string, pick: (state: InboxState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['consumer'],
        registers: [registry],
        async collect() {
          for (const [consumerName, state] of await readStates())
            this.set({ consumer: consumerName }, pick(state));
        },
      });
    gauge(
      'assetops_inbox_pending',
      'Events received and not processed yet (consumer backlog)',
      (s) => s.pending,
    );
    gauge(
      'assetops_inbox_oldest_pending_seconds',
      'Age of the oldest unprocessed event (consumer lag)',
      (s) => s.oldest ?? 0,
    );
    gauge('assetops_dead_letters_open', 'Dead letters not redriven, by consumer', (s) => s.dead);
  }
  consumers.set(consumer.name, consumer.pool);
  return {
    processed: counter('assetops_inbox_processed_total', 'Events whose handler committed'),
    retried: counter('assetops_inbox_retried_total', 'Handler failures that will be retried'),
    dead: counter('assetops_inbox_dead_lettered_total', 'Events given up on and dead-lettered'),
    duplicates: counter(
      'assetops_inbox_duplicates_total',
      'Events delivered again after they were already received (redeliveries, dropped by the inbox)',
    ),
    lag:
      (registry.getSingleMetric('assetops_inbox_event_lag_seconds') as Histogram<'consumer'> | undefined) ??
      new Histogram({
        name: 'assetops_inbox_event_lag_seconds',
        help: 'From an event’s time to its handler’s commit',
        labelNames: ['consumer'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers: [registry],
      }),
  };
}
