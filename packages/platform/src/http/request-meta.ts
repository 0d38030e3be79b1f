import type { FastifyRequest } from 'fastify';
import { ValidationError } from '../errors.js';

/** Where a command came from, carried into its events (CloudEvents extensions). */
export interface CommandMeta {
  correlationId?: string | undefined;
  causationId?: string | undefined;
  traceparent?: string | undefined;
  /** The version the caller last saw (`If-Match`); a mismatch is a 412. */
  expectedVersion?: number | undefined;
}

/**
 * The correlation, trace context and `If-Match` version of a request.
 *
 * @example
 * const asset = await executeAssetCommand(deps, id, command, commandMeta(request));
 */
export function commandMeta(request: FastifyRequest): CommandMeta {
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && value.length > 0 ? value : undefined;
  };
  return {
    correlationId: header('x-correlation-id') ?? request.id,
    // The request's own server span (a child of the caller's), so that the events it causes continue
    // the trace; the header itself only when the app records no spans.
    traceparent: request.span?.traceparent ?? validTraceparent(header('traceparent')),
    expectedVersion: parseIfMatch(header('if-match')),
  };
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

function validTraceparent(value: string | undefined): string | undefined {
  // A malformed traceparent is ignored, as the W3C spec asks, rather than refused.
  return value && TRACEPARENT.test(value) ? value : undefined;
}

function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(value.trim());
  if (!match) {
    throw new ValidationError('INVALID_IF_MATCH', 'If-Match must be an ETag this API returned, such as "3"', [
      { path: '/headers/if-match', message: 'expected "<version>"' },
    ]);
  }
  return Number(match[1]);
}

/**
 * Opaque keyset cursors: the last id (a UUID) of a page. Anything else a client sends back is a
 * 400, never a query error.
 *
 * @example
 * const after = query.cursor === undefined ? null : decodeCursor(query.cursor);
 * const nextCursor = rows.length > limit ? encodeCursor(items.at(-1)!.id) : null;
 */
export function encodeCursor(id: string): string {
  return Buffer.from(JSON.stringify({ after: id })).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string' && UUID.test(parsed.after)) return parsed.after;
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('INVALID_CURSOR', 'cursor is not one this API returned', [
    { path: '/querystring/cursor', message: 'invalid cursor' },
  ]);
}
