import { AppError } from './errors.js';

/**
 * One environment variable: how to parse it, its default, and what it is for (shown in errors and
 * in the README's configuration table).
 */
export interface ConfigVar<T> {
  parse(raw: string): T;
  default?: T | undefined;
  /** A variable with no default is required unless this is `false` (see {@link optional}). */
  required?: boolean;
  /** A secret is never echoed back in an error message. */
  secret?: boolean;
  description: string;
}

/** Thrown at start-up with one line per bad variable; the process prints it and exits. */
export class ConfigError extends AppError {
  constructor(readonly problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, 500);
  }
}

type Spec = Record<string, ConfigVar<unknown>>;
/** The parsed configuration of a spec. A variable without a default is wrapped in {@link optional}. */
export type ConfigOf<S extends Spec> = { [K in keyof S]: S[K] extends ConfigVar<infer T> ? T : never };

/**
 * Marks a variable that may be absent (no default, not required): its value is `T | undefined`.
 *
 * @example
 * ASSETOPS_ADMIN_TOKEN: optional(string({ minLength: 16, secret: true, description: 'admin bearer token' }))
 */
export function optional<T>(variable: ConfigVar<T>): ConfigVar<T | undefined> {
  return { ...variable, required: false, default: undefined };
}

/**
 * Reads and validates every variable of a spec at once, reporting all problems together.
 *
 * @example
 * const config = loadConfig({
 *   PORT: port({ default: 8080, description: 'HTTP port' }),
 *   DATABASE_URL: url({ required: true, protocols: ['postgres:', 'postgresql:'], description: '…' }),
 * }, process.env);
 */
export function loadConfig<S extends Spec>(spec: S, env: Record<string, string | undefined>): ConfigOf<S> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(spec)) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') {
      if (variable.default === undefined && variable.required !== false) {
        problems.push(`${name} is required: ${variable.description}`);
      }
      out[name] = variable.default;
      continue;
    }
    try {
      out[name] = variable.parse(raw.trim());
    } catch (err) {
      const shown = variable.secret ? '(hidden)' : JSON.stringify(raw);
      problems.push(`${name}=${shown}: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as ConfigOf<S>;
}

type VarOpts<T> = { default?: T; required?: boolean; description: string; secret?: boolean };

/** A TCP port, 0 (any free port) to 65535. */
export function port(opts: VarOpts<number>): ConfigVar<number> {
  return {
    ...opts,
    parse(raw) {
      const value = Number(raw);
      if (!/^\d+$/.test(raw) || value > 65_535) throw new Error('must be a port number between 0 and 65535');
      return value;
    },
  };
}

/** An integer within bounds. */
export function integer(opts: VarOpts<number> & { min?: number; max?: number }): ConfigVar<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  return {
    ...opts,
    parse(raw) {
      const value = Number(raw);
      if (!/^-?\d+$/.test(raw) || value < min || value > max) {
        throw new Error(`must be an integer between ${min} and ${max}`);
      }
      return value;
    },
  };
}

/** `true/false/1/0/yes/no/on/off`. */
export function boolean(opts: VarOpts<boolean>): ConfigVar<boolean> {
  return {
    ...opts,
    parse(raw) {
      const lower = raw.toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(lower)) return true;
      if (['false', '0', 'no', 'off'].includes(lower)) return false;
      throw new Error('must be true or false');
    },
  };
}

/** Any non-empty string, optionally limited to a set of values or a minimum length. */
export function string(
  opts: VarOpts<string> & { oneOf?: readonly string[]; minLength?: number },
): ConfigVar<string> {
  return {
    ...opts,
    parse(raw) {
      if (opts.oneOf && !opts.oneOf.includes(raw)) throw new Error(`must be one of ${opts.oneOf.join(', ')}`);
      if (opts.minLength && raw.length < opts.minLength) {
        throw new Error(`must be at least ${opts.minLength} characters long`);
      }
      return raw;
    },
  };
}

/** A URL with one of the given protocols (`['postgres:', 'postgresql:']`). */
export function url(opts: VarOpts<string> & { protocols: readonly string[] }): ConfigVar<string> {
  return {
    ...opts,
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new Error(`must be a URL (${opts.protocols.map((p) => `${p}//…`).join(' or ')})`);
      }
      if (!opts.protocols.includes(parsed.protocol)) {
        throw new Error(`must use ${opts.protocols.join(' or ')}, not ${parsed.protocol}`);
      }
      return raw;
    },
  };
}

/** A comma-separated list of URLs (NATS servers). */
export function urlList(opts: VarOpts<string[]> & { protocols: readonly string[] }): ConfigVar<string[]> {
  const one = url({ ...opts, default: undefined });
  return {
    ...opts,
    parse(raw) {
      return raw.split(',').map((part) => one.parse(part.trim()));
    },
  };
}

/** Parses a duration such as `500ms`, `30s`, `5m`, `24h`, `7d`, `2w`, `5y` (365 days), or a number of milliseconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)?$/.exec(raw.trim());
  if (!match) throw new Error('must be a duration such as 500ms, 30s, 5m, 24h, 7d, 2w or 5y');
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 }[
    match[2] ?? 'ms'
  ]!;
  return Math.round(Number(match[1]) * unit);
}

/** A duration; see {@link parseDuration}. */
export function duration(opts: VarOpts<number>): ConfigVar<number> {
  return { ...opts, parse: parseDuration };
}
