import type { EventEnvelope } from '@assetops/contracts';
import { type Pool, type Queryable, withTransaction } from '../db/pool.js';
import { ConflictError, NotFoundError } from '../errors.js';

/** The LISTEN channel of inbox workers; the payload is the consumer name. */
export const INBOX_CHANNEL = 'assetops_inbox';

/** A message a consumer gave up on. */
export interface DeadLetter {
  id: number;
  consumer: string;
  /** Set for events (which can be redriven); null for anything else (an unparseable payload). */
  eventId: string | null;
  type: string | null;
  subject: string | null;
  /** The event envelope, or whatever was received. */
  payload: unknown;
  reason: string;
  attempts: number;
  deadAt: Date;
  redrivenAt: Date | null;
}

/** What to record; see {@link recordDeadLetter}. */
export interface NewDeadLetter {
  consumer: string;
  eventId?: string | null;
  type?: string | null;
  subject?: string | null;
  /** Stored as JSON; wrap a non-JSON payload, e.g. `{ raw: text }`. */
  payload: unknown;
  reason: string;
  attempts?: number;
}

/**
 * Records a dead letter. Generic on purpose: the event consumer records events it gave up on, and
 * device ingestion records payloads it cannot parse (with no `eventId`). Runs in the caller's
 * transaction when given one, so the record commits with whatever decided the message was dead.
 *
 * @example
 * await recordDeadLetter(tx, { consumer: 'telemetry.mqtt', payload: { raw }, reason: 'not JSON' });
 */
export async function recordDeadLetter(db: Queryable, letter: NewDeadLetter): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO dead_letters (consumer, event_id, type, subject, payload, reason, attempts)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7)
     RETURNING id`,
    [
      letter.consumer,
      letter.eventId ?? null,
      letter.type ?? null,
      letter.subject ?? null,
      JSON.stringify(letter.payload ?? null),
      letter.reason,
      letter.attempts ?? 0,
    ],
  );
  return rows[0]!.id;
}

/** Which dead letters to list; see {@link listDeadLetters}. */
export interface DeadLetterFilter {
  consumer?: string;
  /** Also list letters already redriven. Default false. */
  includeRedriven?: boolean;
  /** Only letters with an id below this one (paging, newest first). */
  beforeId?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

interface DeadLetterRow {
  id: number;
  consumer: string;
  event_id: string | null;
  type: string | null;
  subject: string | null;
  payload: unknown;
  reason: string;
  attempts: number;
  dead_at: Date;
  redriven_at: Date | null;
}

function toDeadLetter(row: DeadLetterRow): DeadLetter {
  return {
    id: row.id,
    consumer: row.consumer,
    eventId: row.event_id,
    type: row.type,
    subject: row.subject,
    payload: row.payload,
    reason: row.reason,
    attempts: row.attempts,
    deadAt: row.dead_at,
    redrivenAt: row.redriven_at,
  };
}

/**
 * Lists dead letters, newest first.
 *
 * @example
 * const open = await listDeadLetters(pool, { consumer: 'dashboard' });
 * const older = await listDeadLetters(pool, { consumer: 'dashboard', beforeId: open.at(-1)?.id });
 */
export async function listDeadLetters(db: Queryable, filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
  const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT id, consumer, event_id, type, subject, payload, reason, attempts, dead_at, redriven_at
       FROM dead_letters
      WHERE ($1::text IS NULL OR consumer = $1)
        AND ($2::boolean OR redriven_at IS NULL)
        AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC
      LIMIT $4`,
    [filter.consumer ?? null, filter.includeRedriven ?? false, filter.beforeId ?? null, limit],
  );
  return rows.map(toDeadLetter);
}

/**
 * Gives a dead event another chance: its inbox row goes back to `pending` with `attempts = 0` (or
 * is re-created from the stored envelope if it was purged), the letter is marked redriven, and the
 * consumer's worker is woken. Redrive after fixing the cause (a bug, missing data).
 *
 * Throws `NotFoundError` `DEAD_LETTER_NOT_FOUND`, or `ConflictError` with code
 * `DEAD_LETTER_NOT_REDRIVABLE` (not an event: no `event_id`), `DEAD_LETTER_ALREADY_REDRIVEN`, or
 * `DEAD_LETTER_EVENT_PROCESSED` (the event was processed since).
 *
 * @example
 * await redriveDeadLetter(pool, 42);
 */
export async function redriveDeadLetter(pool: Pool, id: number): Promise<void> {
  await withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<DeadLetterRow>(
      `SELECT id, consumer, event_id, type, subject, payload, reason, attempts, dead_at, redriven_at
         FROM dead_letters WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const letter = rows[0];
    if (!letter) throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `dead letter ${id} does not exist`);
    if (letter.event_id === null) {
      throw new ConflictError(
        'DEAD_LETTER_NOT_REDRIVABLE',
        `dead letter ${id} is not an event (${letter.reason}); it cannot be redriven`,
        { id },
      );
    }
    if (letter.redriven_at !== null) {
      throw new ConflictError('DEAD_LETTER_ALREADY_REDRIVEN', `dead letter ${id} was already redriven`, {
        id,
        redrivenAt: letter.redriven_at.toISOString(),
      });
    }
    const { rows: inboxRows } = await tx.query<{ status: string }>(
      'SELECT status FROM inbox WHERE consumer = $1 AND event_id = $2 FOR UPDATE',
      [letter.consumer, letter.event_id],
    );
    const status = inboxRows[0]?.status;
    if (status === 'processed') {
      throw new ConflictError(
        'DEAD_LETTER_EVENT_PROCESSED',
        `the event of dead letter ${id} was processed since`,
        {
          id,
          eventId: letter.event_id,
        },
      );
    }
    if (status === undefined) {
      const event = letter.payload as EventEnvelope;
      await tx.query(
        `INSERT INTO inbox (consumer, event_id, type, subject, event)
         VALUES ($1, $2, $3, $4, $5::jsonb)`,
        [letter.consumer, letter.event_id, letter.type ?? event.type, letter.subject, JSON.stringify(event)],
      );
    } else {
      await tx.query(
        `UPDATE inbox SET status = 'pending', attempts = 0, next_attempt_at = NULL, last_error = NULL
          WHERE consumer = $1 AND event_id = $2`,
        [letter.consumer, letter.event_id],
      );
    }
    await tx.query('UPDATE dead_letters SET redriven_at = now() WHERE id = $1', [id]);
    await tx.query('SELECT pg_notify($1, $2)', [INBOX_CHANNEL, letter.consumer]);
  });
}
