import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { principalOf } from '../auth/auth.js';
import { BodyTooLargeError } from '../proxy/body-limit.js';
import { InsufficientRoleError } from './access.control.js';

/** `POST /api/v1/assets/<id>/status`: the one call whose allowed roles depend on its body. */
const STATUS_PATH = /^\/api\/v1\/assets\/[^/?]+\/status\/?(?:\?.*)?$/;
const DECOMMISSIONING = new Set(['decommissioning', 'decommissioned']);
/** A status change is a few dozen bytes; anything larger is not read for this check. */
const MAX_INSPECTED_BYTES = 64 * 1024;

/**
 * A `preParsing` hook for the gateway's root: decommissioning an asset is for admins, while every
 * other status change (maintenance, back to active) is for operators — and both are
 * `POST /api/v1/assets/:id/status`, told apart only by `status` in the body. For non-admins, the
 * body of that one route is read (at most 64 KiB), checked, and handed on unchanged; every other
 * request streams through untouched. The policy table has already required the operator role.
 *
 * @example
 * app.addHook('preParsing', decommissionGuard);
 */
export async function decommissionGuard(
  request: FastifyRequest,
  _reply: FastifyReply,
  payload: NodeJS.ReadableStream,
): Promise<NodeJS.ReadableStream> {
  if (request.method !== 'POST' || !STATUS_PATH.test(request.raw.url ?? '')) return payload;
  const principal = principalOf(request);
  if (principal === undefined || principal.role === 'admin') return payload;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of payload as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_INSPECTED_BYTES) throw new BodyTooLargeError(MAX_INSPECTED_BYTES);
    chunks.push(bytes);
  }
  const body = Buffer.concat(chunks);
  let status: unknown;
  try {
    status = (JSON.parse(body.toString('utf8')) as { status?: unknown } | null)?.status;
  } catch {
    status = undefined; // not JSON: the asset service answers 400
  }
  if (typeof status === 'string' && DECOMMISSIONING.has(status)) {
    throw new InsufficientRoleError(principal.role, ['admin'], 'decommission via POST', request.url);
  }
  const replay = Readable.from([body]) as Readable & { receivedEncodedLength?: number };
  replay.receivedEncodedLength = body.length;
  return replay;
}
