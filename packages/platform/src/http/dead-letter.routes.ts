import {
  DeadLetterPageSchema,
  DeadLetterSchema,
  type DeadLetterView,
  ListDeadLettersQuery,
  ProblemSchema,
} from '@assetops/contracts';
import { Type } from '@sinclair/typebox';
import type { Pool } from '../db/pool.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { type DeadLetter, listDeadLetters, redriveDeadLetter } from '../messaging/dead-letters.js';
import type { HttpApp } from './app.js';

// A string pattern rather than an integer: Ajv's coercion turns '1e309' into Infinity, which passes
// its integer and maximum checks.
const IdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$' }) });

/**
 * Dead-letter inspection and redrive for one service, at `/api/v1/ops/<service>/dead-letters`
 * (the gateway routes `/api/v1/ops/<service>` to that service). Registered by the runtimes for
 * every service, so operators find a stuck event the same way everywhere.
 *
 * @example
 * registerDeadLetterRoutes(app, { pool, service: 'alert' });
 * // GET  /api/v1/ops/alert/dead-letters?consumer=alert
 * // POST /api/v1/ops/alert/dead-letters/42/redrive
 */
export function registerDeadLetterRoutes(app: HttpApp, deps: { pool: Pool; service: string }): void {
  const base = `/api/v1/ops/${deps.service}/dead-letters`;
  const tags = ['operations'];

  app.get(
    base,
    {
      schema: {
        tags,
        summary: 'List dead letters, newest first (filter by consumer; cursor pagination)',
        querystring: ListDeadLettersQuery,
        response: { 200: DeadLetterPageSchema, 400: ProblemSchema },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const beforeId = request.query.cursor === undefined ? undefined : decodeIdCursor(request.query.cursor);
      const letters = await listDeadLetters(deps.pool, {
        ...(request.query.consumer === undefined ? {} : { consumer: request.query.consumer }),
        includeRedriven: request.query.includeRedriven ?? false,
        ...(beforeId === undefined ? {} : { beforeId }),
        limit: limit + 1,
      });
      const items = letters.slice(0, limit).map(toView);
      return { items, nextCursor: letters.length > limit ? encodeIdCursor(items.at(-1)!.id) : null };
    },
  );

  app.get(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'Get one dead letter with its payload and reason',
        params: IdParams,
        response: { 200: DeadLetterSchema, 400: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request) => toView(await findLetter(deps.pool, Number(request.params.id))),
  );

  app.post(
    `${base}/:id/redrive`,
    {
      schema: {
        tags,
        summary: 'Give a dead event another chance (after fixing its cause): it goes back to the inbox',
        params: IdParams,
        response: { 200: DeadLetterSchema, 400: ProblemSchema, 404: ProblemSchema, 409: ProblemSchema },
      },
    },
    async (request) => {
      const id = Number(request.params.id);
      await redriveDeadLetter(deps.pool, id);
      return toView(await findLetter(deps.pool, id));
    },
  );
}

async function findLetter(pool: Pool, id: number): Promise<DeadLetter> {
  const [letter] = await listDeadLetters(pool, { includeRedriven: true, beforeId: id + 1, limit: 1 });
  if (!letter || letter.id !== id)
    throw new NotFoundError('DEAD_LETTER_NOT_FOUND', `dead letter ${id} does not exist`);
  return letter;
}

function toView(letter: DeadLetter): DeadLetterView {
  return {
    id: letter.id,
    consumer: letter.consumer,
    eventId: letter.eventId,
    type: letter.type,
    subject: letter.subject,
    payload: letter.payload,
    reason: letter.reason,
    attempts: letter.attempts,
    deadAt: letter.deadAt.toISOString(),
    redrivenAt: letter.redrivenAt?.toISOString() ?? null,
    redrivable: letter.eventId !== null && letter.redrivenAt === null,
  };
}

function encodeIdCursor(id: number): string {
  return Buffer.from(JSON.stringify({ before: id })).toString('base64url');
}

function decodeIdCursor(cursor: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { before?: unknown };
    if (Number.isSafeInteger(parsed.before) && (parsed.before as number) > 0) return parsed.before as number;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('INVALID_CURSOR', 'cursor is not one this API returned', [
    { path: '/querystring/cursor', message: 'invalid cursor' },
  ]);
}
