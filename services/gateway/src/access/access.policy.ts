import { splitPath } from '../proxy/route-table.js';
import { type Role, rolesFrom } from './access.roles.js';

/**
 * One line of the access policy: the methods and path pattern it covers and the roles allowed.
 * Patterns are `/`-separated: literal segments match exactly, `:name` matches any one segment and a
 * final `**` matches any rest, nothing included (`/api/v1/users/**` covers `/api/v1/users` too).
 */
export interface PolicyRule {
  /** `GET`, `POST`… or `*` for every method. `HEAD` is checked as `GET`. */
  methods: readonly string[] | '*';
  pattern: string;
  allow: readonly Role[];
}

const VIEWER = rolesFrom('viewer');
const TECHNICIAN = rolesFrom('technician');
const OPERATOR = rolesFrom('operator');
const ADMIN = rolesFrom('admin');
const WRITE = ['POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Who may call what, read top to bottom: the first rule whose method and pattern match decides. A
 * request no rule matches is refused to everyone but admins (deny by default), so a route added to
 * a service is admin-only until a line here opens it.
 *
 * - viewer: reads everything except identity (users, tokens) and operations (dead letters);
 * - technician: viewer + working on work orders (start, hold, resume, complete) and notes;
 * - operator: technician + assets, alert acknowledgement, alert rules, maintenance plans,
 *   technicians, telemetry ingest, creating, assigning and cancelling work orders, saga retry/skip;
 * - admin: everything, notably users (create, change role, deactivate), tokens, `/api/v1/ops/**`,
 *   dashboard rebuilds and decommissioning (`POST /api/v1/assets/:id/decommission`, and a status change to
 *   `decommissioning` where the asset API still takes one, see `decommissionGuard`);
 * - device: sending readings (`POST /api/v1/telemetry`) and `GET /api/v1/me`, nothing else.
 *
 * A user's token is checked with the lower of its own role and its user's current role (see
 * `lowerRole`), so a role change applies to the tokens already issued.
 */
export const accessPolicy: readonly PolicyRule[] = [
  // Identity and operations: admins only, reads included (tokens and dead letters hold secrets or payloads).
  { methods: '*', pattern: '/api/v1/users/**', allow: ADMIN },
  { methods: '*', pattern: '/api/v1/tokens/**', allow: ADMIN },
  { methods: '*', pattern: '/api/v1/ops/**', allow: ADMIN },
  { methods: ['POST'], pattern: '/api/v1/dashboard/rebuild/**', allow: ADMIN },
  { methods: ['POST'], pattern: '/api/v1/assets/:id/decommission', allow: ADMIN },
  { methods: ['GET'], pattern: '/api/v1/me', allow: [...VIEWER, 'device'] },

  // Readings: devices, operators and admins.
  { methods: ['POST'], pattern: '/api/v1/telemetry', allow: ['device', ...OPERATOR] },

  // Technicians work on work orders.
  ...['start', 'hold', 'resume', 'complete', 'notes'].map(
    (action): PolicyRule => ({
      methods: ['POST'],
      pattern: `/api/v1/work-orders/:id/${action}`,
      allow: TECHNICIAN,
    }),
  ),

  // Operators run the plant.
  { methods: WRITE, pattern: '/api/v1/assets/**', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/alerts/:id/acknowledge', allow: OPERATOR },
  { methods: WRITE, pattern: '/api/v1/alert-rules/**', allow: OPERATOR },
  { methods: WRITE, pattern: '/api/v1/maintenance-plans/**', allow: OPERATOR },
  { methods: WRITE, pattern: '/api/v1/technicians/**', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/work-orders', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/work-orders/:id/assign', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/work-orders/:id/cancel', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/sagas/:id/retry', allow: OPERATOR },
  { methods: ['POST'], pattern: '/api/v1/sagas/:id/skip', allow: OPERATOR },

  // Everyone with a user role reads everything else.
  { methods: ['GET'], pattern: '/api/v1/**', allow: VIEWER },
];

/** The outcome of checking a request against the policy. */
export type PolicyDecision =
  | { allowed: true; rule: PolicyRule | undefined }
  | { allowed: false; allow: readonly Role[]; rule: PolicyRule | undefined };

/** Decides for a role, an HTTP method and a request path (no query string). */
export type PolicyCheck = (role: Role, method: string, path: string) => PolicyDecision;

type Segment = { literal: string } | { param: true } | { rest: true };

/**
 * Compiles a policy into a check. Malformed patterns are refused here, at start-up. A path that
 * cannot be routed safely (`..`, bad percent-encoding) matches no rule, hence is admin-only — and
 * the proxy refuses it anyway.
 *
 * @example
 * const check = compilePolicy(accessPolicy);
 * check('viewer', 'POST', '/api/v1/assets'); // { allowed: false, allow: ['operator', 'admin'], … }
 */
export function compilePolicy(policy: readonly PolicyRule[]): PolicyCheck {
  const compiled = policy.map((rule) => ({
    rule,
    methods: rule.methods === '*' ? undefined : new Set(rule.methods.map((m) => m.toUpperCase())),
    segments: compilePattern(rule.pattern),
  }));
  return (role, method, path) => {
    const checked = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
    const segments = splitPath(path);
    const match =
      segments === undefined
        ? undefined
        : compiled.find(
            (entry) =>
              (entry.methods === undefined || entry.methods.has(checked)) &&
              matches(entry.segments, segments),
          );
    const allow = match?.rule.allow ?? ADMIN;
    return allow.includes(role)
      ? { allowed: true, rule: match?.rule }
      : { allowed: false, allow, rule: match?.rule };
  };
}

function compilePattern(pattern: string): Segment[] {
  if (!pattern.startsWith('/') || pattern.endsWith('/') || pattern.includes('//')) {
    throw new TypeError(`policy pattern '${pattern}' must start with '/' and have no empty segment`);
  }
  const parts = pattern.slice(1).split('/');
  return parts.map((part, index): Segment => {
    if (part === '**') {
      if (index !== parts.length - 1) throw new TypeError(`policy pattern '${pattern}': ** must come last`);
      return { rest: true };
    }
    if (part.startsWith(':')) return { param: true };
    return { literal: part };
  });
}

function matches(pattern: Segment[], path: string[]): boolean {
  for (let index = 0; index < pattern.length; index++) {
    const segment = pattern[index]!;
    if ('rest' in segment) return true;
    const actual = path[index];
    if (actual === undefined) return false;
    if ('literal' in segment ? segment.literal !== actual : actual.length === 0) return false;
  }
  return path.length === pattern.length;
}
