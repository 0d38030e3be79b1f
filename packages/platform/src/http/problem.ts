import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ValidationError } from '../errors.js';

/** An RFC 9457 problem document as AssetOps sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Builds a problem document. The `type` is a URN derived from the stable code, so clients can
 * switch on either.
 *
 * @example
 * problem(404, 'ASSET_NOT_FOUND', 'asset 0190… does not exist');
 */
export function problem(
  status: number,
  code: string,
  detail?: string,
  extra: Partial<Problem> = {},
): Problem {
  // Extension members never override the standard ones: a detail named `status` must not turn a
  // 409 into whatever it holds.
  const { type: _type, title: _title, status: _status, code: _code, detail: _detail, ...extensions } = extra;
  return {
    ...extensions,
    type: `urn:assetops:problem:${code.toLowerCase().replaceAll('_', '-')}`,
    title: TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error'),
    status,
    code,
    ...(detail === undefined ? {} : { detail }),
  };
}

/** Fastify's own client-error codes, mapped to stable AssetOps codes. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * Maps anything thrown by a route to a problem document: AppErrors keep their code and status,
 * schema validation failures become 400 `VALIDATION_FAILED` with one entry per field, Fastify's
 * client errors keep their 4xx status, and anything else is a 500 whose details stay in the log.
 */
export function toProblem(err: unknown, request?: FastifyRequest): Problem {
  const instance = request?.url;
  if (err instanceof ValidationError) {
    return problem(400, err.code, err.message, { instance, errors: err.issues });
  }
  if (err instanceof AppError) {
    return problem(err.status, err.code, err.message, { instance, ...(err.details ?? {}) });
  }
  const fe = err as FastifyError & { validationContext?: string };
  if (Array.isArray(fe?.validation)) {
    const where = fe.validationContext ?? 'body';
    const errors = fe.validation.map((v) => {
      const missing = (v.params as { missingProperty?: string } | undefined)?.missingProperty;
      const extra = (v.params as { additionalProperty?: string } | undefined)?.additionalProperty;
      const field = missing ?? extra;
      const path = `/${where}${v.instancePath}${field ? `/${field}` : ''}`;
      const message = extra ? `unknown property '${extra}'` : (v.message ?? 'is invalid');
      return { path, message };
    });
    const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ');
    return problem(400, 'VALIDATION_FAILED', detail, { instance, errors });
  }
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      (fe.code && FASTIFY_CODES[fe.code]) ??
      (fe.code?.startsWith('FST_') ? 'BAD_REQUEST' : (fe.code ?? 'BAD_REQUEST'));
    return problem(status, code, fe.message, { instance });
  }
  const invalid = databaseRefusedValue(err);
  if (invalid) return problem(400, invalid.code, invalid.detail, { instance });
  if (isDatabaseUnavailable(err)) {
    return problem(
      503,
      'DATABASE_UNAVAILABLE',
      'the service cannot reach its database right now; retry shortly',
      {
        instance,
      },
    );
  }
  return problem(500, 'INTERNAL_ERROR', 'an unexpected error occurred; it has been logged', { instance });
}

/**
 * PostgreSQL data exceptions that only a request's own value can cause (a NUL character, which
 * `text` and `jsonb` cannot hold; a number or date out of the column's range; a string longer than
 * its column): the request is refused (400) — the statement failed, so nothing was written.
 */
function databaseRefusedValue(err: unknown): { code: string; detail: string } | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === '22021' || code === '22P05') {
    return {
      code: 'INVALID_CHARACTER',
      detail: 'a text value holds a character that cannot be stored (such as the NUL character \\u0000)',
    };
  }
  if (code === '22001' || code === '22003' || code === '22008') {
    return {
      code: 'VALUE_OUT_OF_RANGE',
      detail: 'a value is too long or out of range for what it is stored as',
    };
  }
  return undefined;
}

/** Network errors of a database connection, and PostgreSQL's own "shutting down / starting up". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * Whether an error means the database is (for now) out of reach rather than that the request or
 * the code is wrong: a restart or fail-over of PostgreSQL answers 503 (retryable), not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; syscall?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNREACHABLE.has(code)) return true;
  // A Unix socket path that is gone: the server is restarting (it removes its socket meanwhile).
  if (code === 'ENOENT' && e?.syscall === 'connect') return true;
  // 08xxx connection exceptions; 53xxx insufficient resources (too many connections, out of memory,
  // disk full); 57P01-57P03 admin/crash shutdown, cannot connect now.
  if (/^(08|53)[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') {
    return true;
  }
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect/i.test(message);
}

/** Sends a problem with the right content type. */
export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type('application/problem+json; charset=utf-8').send(body);
}
