/**
 * The error hierarchy every service throws at its boundaries. Each error carries a stable string
 * `code` (part of the API: clients switch on it), the HTTP status it maps to, and whether retrying
 * the same operation may succeed (`retryable`), which consumers and sagas use to decide between a
 * retry and giving up.
 *
 * @example
 * throw new NotFoundError('ASSET_NOT_FOUND', `asset ${id} does not exist`);
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly retryable = false,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** One field-level reason a request was refused. `path` is a JSON pointer (`/readings/3/value`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** 400: the request is malformed or a field is invalid. */
export class ValidationError extends AppError {
  constructor(
    code: string,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(code, message, 400);
  }
}

/** 401: no or a wrong credential. */
export class UnauthorizedError extends AppError {
  constructor(code = 'UNAUTHORIZED', message = 'a valid bearer token is required') {
    super(code, message, 401);
  }
}

/** 403: the credential is valid but may not do this. */
export class ForbiddenError extends AppError {
  constructor(code = 'FORBIDDEN', message = 'not allowed') {
    super(code, message, 403);
  }
}

/** 404: the resource does not exist. */
export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 404);
  }
}

/** 409: the request conflicts with the current state (a duplicate, a concurrent change). */
export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 409, false, details);
  }
}

/** 409: the operation is not allowed in the resource's current state (an illegal transition). */
export class IllegalStateError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 409, false, details);
  }
}

/** 412: a conditional request (`If-Match`) did not match the current version. */
export class PreconditionFailedError extends AppError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, 412, false, details);
  }
}

/** 503: a dependency is down or slow; retrying later may succeed. */
export class UnavailableError extends AppError {
  constructor(code: string, message: string) {
    super(code, message, 503, true);
  }
}

/** Whether an unknown thrown value is worth retrying: AppErrors say so; anything else is assumed transient. */
export function isRetryable(err: unknown): boolean {
  return err instanceof AppError ? err.retryable : true;
}
