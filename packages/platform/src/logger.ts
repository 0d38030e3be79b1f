import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs (one object per line) with the service name on every line.
 * `LOG_LEVEL` picks the level; tests pass `level: 'silent'`.
 *
 * @example
 * const logger = createLogger({ service: 'asset' }); logger.info({ assetId }, 'asset registered');
 */
export function createLogger(opts: { service: string; level?: string }): Logger {
  return pino({
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: opts.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
