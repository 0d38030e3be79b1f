/**
 * A rate: `ratePerSecond` sustained, up to `burst` at once.
 *
 * @example
 * parseRateLimit('50/s'); // { ratePerSecond: 50, burst: 50, text: '50/s' }
 */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
  /** As configured, for messages and the RateLimit-Policy header. */
  text: string;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses `<count>/<s|m|h>[,burst=<n>]`, e.g. `50/s`, `600/m,burst=50`; `off` means no limit
 * (`undefined`). The burst defaults to one unit's count (at least 1).
 */
export function parseRateLimit(raw: string): RateLimit | undefined {
  const text = raw.trim();
  if (text === 'off') return undefined;
  const match = /^(\d+(?:\.\d+)?)\/(s|m|h)(?:\s*,\s*burst\s*=\s*(\d+))?$/.exec(text);
  if (!match) throw new Error('must be a rate such as 50/s, 600/m or 50/s,burst=100 (or off)');
  const count = Number(match[1]);
  const ratePerSecond = count / UNIT_SECONDS[match[2]!]!;
  const burst = match[3] === undefined ? Math.max(1, Math.floor(count)) : Number(match[3]);
  if (ratePerSecond <= 0 || burst < 1) throw new Error('the rate and the burst must be positive');
  return { ratePerSecond, burst, text };
}

/** The outcome of taking one request from a bucket. */
export interface RateDecision {
  allowed: boolean;
  limit: RateLimit;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** Seconds until the bucket is full again (RateLimit-Reset). */
  resetSeconds: number;
  /** Seconds until one request is possible again (Retry-After); 0 when allowed. */
  retryAfterSeconds: number;
}

/**
 * Token buckets by key (one per API token and traffic class), in memory. Each gateway instance
 * keeps its own: with N instances behind a load balancer, a token may reach up to N times the
 * limit. That is the price of needing no shared store; the limit protects the services from one
 * runaway client, it is not a billing quota. Time is passed in, so tests need no clock.
 *
 * @example
 * const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2, text: '1/s,burst=2' });
 * buckets.take('token-a', 0).allowed; // true
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updatedMs: number }>();

  constructor(
    readonly limit: RateLimit,
    private readonly maxKeys = 100_000,
  ) {}

  take(key: string, nowMs: number): RateDecision {
    const { ratePerSecond, burst } = this.limit;
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedMs: nowMs };
    const elapsedSeconds = Math.max(0, nowMs - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + elapsedSeconds * ratePerSecond);
    bucket.updatedMs = nowMs;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.remember(key, bucket, nowMs);
    return {
      allowed,
      limit: this.limit,
      remaining: Math.floor(bucket.tokens),
      resetSeconds: Math.ceil((burst - bucket.tokens) / ratePerSecond),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)),
    };
  }

  private remember(key: string, bucket: { tokens: number; updatedMs: number }, nowMs: number): void {
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size <= this.maxKeys) return;
    // Too many keys: forget the least recently used ones that have refilled (forgetting a full
    // bucket changes nothing), else the least recently used outright.
    for (const [oldKey, old] of this.buckets) {
      if (this.buckets.size <= this.maxKeys) break;
      const refilled = old.tokens + ((nowMs - old.updatedMs) / 1000) * this.limit.ratePerSecond;
      if (refilled >= this.limit.burst || this.buckets.size > this.maxKeys * 1.1) this.buckets.delete(oldKey);
    }
  }
}
