/**
 * How a consumer retries an event whose handler failed: exponential backoff from `baseDelayMs`,
 * capped at `maxDelayMs`, until `maxAttempts` attempts have failed (then the event is dead-lettered).
 *
 * @example
 * const retry: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 60_000 };
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** The defaults: 8 attempts spread over roughly half a minute. */
export const defaultRetryPolicy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 60_000 };

/**
 * The delay before the next attempt after `failedAttempts` failures (1 after the first failure):
 * `base · 2^(n-1)` capped at `max`, with "equal jitter" — a random point in the upper half — so that
 * events failing together (a database blip) do not all come back in the same millisecond, while the
 * delay still grows with every failure.
 *
 * @example
 * retryDelayMs(3, { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 60_000 }); // 400…800
 */
export function retryDelayMs(
  failedAttempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2^exponent overflows to Infinity long before it matters; min() caps it either way.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
