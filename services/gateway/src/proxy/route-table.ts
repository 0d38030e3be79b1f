/**
 * Which upstream service answers which `/api/v1/...` path. The table is data, pattern → upstream
 * name, so each issue that adds a service adds a line here (or passes an extended table to
 * `createGateway`).
 *
 * A pattern matches a path when each of its segments matches the path's leading segments: literal
 * segments exactly, `:name` segments any one segment. The most specific pattern wins — more
 * segments first, then literal before `:param` at the first place they differ — so
 * `/api/v1/assets/:id/telemetry` beats `/api/v1/assets` whatever their order in the table.
 *
 * @example
 * const routes: RouteTable = { ...defaultRoutes, '/api/v1/reports': 'reporting' };
 */
export type RouteTable = Readonly<Record<string, string>>;

/**
 * The routes of the services AssetOps has; an entry whose upstream is not configured answers 503
 * `UPSTREAM_NOT_CONFIGURED`. The telemetry, alert, maintenance and dashboard prefixes are the
 * expected ones; the issues that build those services adjust them.
 *
 * @example
 * compileRouteTable(defaultRoutes)('/api/v1/assets/0190…'); // { upstream: 'asset', pattern: '/api/v1/assets' }
 */
export const defaultRoutes: RouteTable = {
  '/api/v1/assets': 'asset',
  '/api/v1/assets/:id/telemetry': 'telemetry',
  '/api/v1/sagas': 'asset',
  '/api/v1/telemetry': 'telemetry',
  '/api/v1/alerts': 'alert',
  '/api/v1/alert-rules': 'alert',
  '/api/v1/work-orders': 'maintenance',
  '/api/v1/maintenance': 'maintenance',
  '/api/v1/maintenance-plans': 'maintenance',
  '/api/v1/technicians': 'maintenance',
  '/api/v1/dashboard': 'dashboard',
  // Operations (dead letters) of each service, under its own name.
  '/api/v1/ops/asset': 'asset',
  '/api/v1/ops/telemetry': 'telemetry',
  '/api/v1/ops/alert': 'alert',
  '/api/v1/ops/maintenance': 'maintenance',
  '/api/v1/ops/dashboard': 'dashboard',
};

/** The outcome of looking a path up: the upstream and the pattern that chose it. */
export interface RouteMatch {
  upstream: string;
  pattern: string;
}

/** Finds the upstream of a request path (no query string); `undefined` when no pattern matches. */
export type RouteMatcher = (path: string) => RouteMatch | undefined;

type Segment = { literal: string } | { param: string };

interface CompiledRoute {
  pattern: string;
  upstream: string;
  segments: Segment[];
}

/**
 * Compiles a route table into a matcher. Malformed patterns are refused here, at start-up, rather
 * than silently never matching.
 *
 * @example
 * const match = compileRouteTable(defaultRoutes);
 * match('/api/v1/assets/0190…/telemetry'); // { upstream: 'telemetry', pattern: '/api/v1/assets/:id/telemetry' }
 */
export function compileRouteTable(table: RouteTable): RouteMatcher {
  const routes = Object.entries(table).map(([pattern, upstream]) => compileRoute(pattern, upstream));
  routes.sort(bySpecificity);
  return (path) => {
    const segments = splitPath(path);
    if (segments === undefined) return undefined;
    for (const route of routes) {
      if (matches(route.segments, segments)) return { upstream: route.upstream, pattern: route.pattern };
    }
    return undefined;
  };
}

/**
 * Splits a path into its decoded segments, or `undefined` when it cannot be routed safely:
 * malformed percent-encoding, a `.`/`..` segment or a raw backslash (which URL parsers read as
 * `/`), any of which the upstream or a URL parser on the way could resolve to a path other than the
 * one matched here.
 */
export function splitPath(path: string): string[] | undefined {
  if (path.includes('\\')) return undefined;
  const segments: string[] = [];
  for (const raw of path.split('/').slice(1)) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..') return undefined;
    segments.push(segment);
  }
  // A trailing slash (`/api/v1/assets/`) routes like the path without it; the upstream decides
  // whether it serves it.
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  return segments;
}

function compileRoute(pattern: string, upstream: string): CompiledRoute {
  if (!pattern.startsWith('/') || pattern.endsWith('/') || pattern.includes('//')) {
    throw new TypeError(`route pattern '${pattern}' must start with '/' and have no empty segment`);
  }
  if (upstream.length === 0) throw new TypeError(`route pattern '${pattern}' names no upstream`);
  const segments = pattern
    .slice(1)
    .split('/')
    .map((segment): Segment => {
      if (!segment.startsWith(':')) return { literal: segment };
      if (segment.length === 1) throw new TypeError(`route pattern '${pattern}' has an unnamed parameter`);
      return { param: segment.slice(1) };
    });
  return { pattern, upstream, segments };
}

function matches(pattern: Segment[], path: string[]): boolean {
  if (path.length < pattern.length) return false;
  return pattern.every((segment, index) => {
    const actual = path[index]!;
    return 'literal' in segment ? segment.literal === actual : actual.length > 0;
  });
}

function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  if (a.segments.length !== b.segments.length) return b.segments.length - a.segments.length;
  for (let index = 0; index < a.segments.length; index++) {
    const aLiteral = 'literal' in a.segments[index]!;
    const bLiteral = 'literal' in b.segments[index]!;
    if (aLiteral !== bLiteral) return aLiteral ? -1 : 1;
  }
  // Same shape: order by pattern so the result never depends on the table's insertion order.
  return a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0;
}
