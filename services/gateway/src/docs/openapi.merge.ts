import type { RouteMatcher } from '../proxy/route-table.js';

/** A JSON object as found in an OpenAPI document; the merge only relies on the parts it touches. */
export type JsonObject = Record<string, unknown>;

/** One service's own OpenAPI document, as its `/openapi.json` served it. */
export interface ServiceSpec {
  service: string;
  document: JsonObject;
}

/** A configured service whose document could not be had, and why. */
export interface MissingSpec {
  service: string;
  reason: string;
}

export interface MergeOpenApiInput {
  specs: readonly ServiceSpec[];
  unavailable: readonly MissingSpec[];
  /** Only paths the gateway routes to a service are taken from that service's document. */
  matchRoute: RouteMatcher;
  /**
   * The gateway's own document: its `/api/v1` paths are answered by the gateway itself (API
   * composition), so they are published whatever service the route table gives their prefix to.
   */
  own?: JsonObject;
  version?: string;
}

/** The name the gateway's own document is merged under. */
const GATEWAY = 'gateway';

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * Merges the services' OpenAPI documents into the one the gateway publishes at `/docs/openapi.json`.
 *
 * - Paths: each service contributes the paths the route table sends to it (so the document shows
 *   what the gateway really serves, and a service's internal routes stay out).
 * - Components: services generate names independently (`@fastify/swagger` calls shared schemas
 *   `def-0`, `def-1`, …), so the same name may mean different things. A name defined by one
 *   service only, or identically and without `$ref`s by all that define it (the contracts' `Problem`),
 *   is kept; otherwise each service's definition becomes `<service>.<name>` and that service's
 *   `$ref`s are rewritten to match.
 * - Operations without tags are tagged with their service; a repeated `operationId` is prefixed.
 * - Security: the gateway's bearer scheme, required everywhere (operations that say otherwise keep
 *   their own `security`).
 * - Services whose documents are missing are listed in `info['x-unavailable']` and the description.
 *
 * @example
 * mergeOpenApi({ specs: [{ service: 'asset', document }], unavailable: [{ service: 'alert', reason: 'ECONNREFUSED' }], matchRoute });
 */
export function mergeOpenApi(input: MergeOpenApiInput): JsonObject {
  const specs = [...input.specs, ...(input.own ? [{ service: GATEWAY, document: input.own }] : [])].sort(
    (a, b) => a.service.localeCompare(b.service),
  );
  const unavailable = [...input.unavailable].sort((a, b) => a.service.localeCompare(b.service));
  const renames = componentRenames(specs);

  const paths: JsonObject = {};
  const components: Record<string, JsonObject> = {};
  const tags = new Map<string, JsonObject>();
  const operationIds = new Set<string>();

  for (const { service, document } of specs) {
    const rename = renames.get(service)!;
    const rewritten = rewriteRefs(document, rename) as JsonObject;

    for (const [section, entries] of Object.entries(asObject(rewritten.components))) {
      if (section === 'securitySchemes') continue; // the gateway's own scheme replaces the services'
      for (const [name, definition] of Object.entries(asObject(entries))) {
        const target = components[section] ?? {};
        components[section] = target;
        target[rename.get(componentKey(section, name)) ?? name] = definition;
      }
    }

    for (const tag of asArray(rewritten.tags)) {
      const name = asObject(tag).name;
      if (typeof name === 'string' && !tags.has(name)) tags.set(name, asObject(tag));
    }

    for (const [path, item] of Object.entries(asObject(rewritten.paths))) {
      const served =
        service === GATEWAY ? path.startsWith('/api/v1/') : input.matchRoute(path)?.upstream === service;
      if (!served) continue;
      const pathItem = { ...asObject(item) };
      delete pathItem.servers; // a service's own address is not reachable through the gateway
      for (const [method, operation] of Object.entries(pathItem)) {
        if (!HTTP_METHODS.has(method)) continue;
        const op = { ...asObject(operation) };
        delete op.servers;
        if (asArray(op.tags).length === 0) {
          op.tags = [service];
          if (!tags.has(service)) tags.set(service, { name: service, description: `${service} service` });
        }
        if (typeof op.operationId === 'string') {
          const operationId = operationIds.has(op.operationId)
            ? `${service}.${op.operationId}`
            : op.operationId;
          op.operationId = operationId;
          operationIds.add(operationId);
        }
        pathItem[method] = op;
      }
      paths[path] = pathItem;
    }
  }

  const services = specs.map((s) => s.service).filter((service) => service !== GATEWAY);
  const description = [
    'The AssetOps HTTP API, as served by the gateway: every `/api/v1` call needs `Authorization: Bearer <token>`.',
    services.length > 0 ? `Services: ${services.join(', ')}.` : 'No service documents available.',
    ...(unavailable.length > 0
      ? [
          `Unavailable right now (their operations are missing): ${unavailable.map((u) => `${u.service} (${u.reason})`).join(', ')}.`,
        ]
      : []),
  ].join('\n\n');

  return {
    openapi: '3.1.0',
    info: {
      title: 'AssetOps API',
      version: input.version ?? '0.1.0',
      description,
      'x-services': services,
      'x-unavailable': unavailable.map((u) => u.service),
    },
    tags: [...tags.values()].sort((a, b) => String(a.name).localeCompare(String(b.name))),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: {
      ...components,
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The admin token (`ASSETOPS_ADMIN_TOKEN`).' },
      },
    },
    security: [{ bearer: [] }],
  };
}

/** For each service, `section/name` → the merged document's name, for the names that must change. */
function componentRenames(specs: readonly ServiceSpec[]): Map<string, Map<string, string>> {
  const definitions = new Map<string, { service: string; definition: unknown }[]>();
  for (const { service, document } of specs) {
    for (const [section, entries] of Object.entries(asObject(document.components))) {
      if (section === 'securitySchemes') continue;
      for (const [name, definition] of Object.entries(asObject(entries))) {
        const key = componentKey(section, name);
        const list = definitions.get(key) ?? [];
        list.push({ service, definition });
        definitions.set(key, list);
      }
    }
  }
  const renames = new Map(specs.map((s) => [s.service, new Map<string, string>()]));
  for (const [key, list] of definitions) {
    if (list.length < 2) continue;
    // Identical definitions can be shared only if they reference nothing: the same `$ref` text
    // may point at different definitions in different services.
    const first = canonicalJson(list[0]!.definition);
    const shareable = !first.includes('"$ref"') && list.every((d) => canonicalJson(d.definition) === first);
    if (shareable) continue;
    const name = key.slice(key.indexOf('/') + 1);
    for (const { service } of list) renames.get(service)!.set(key, `${service}.${name}`);
  }
  return renames;
}

/** Deep copy of a document with every local component `$ref` renamed per `rename`. */
function rewriteRefs(value: unknown, rename: ReadonlyMap<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => rewriteRefs(item, rename));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === '$ref' && typeof child === 'string') {
      const match = /^#\/components\/([^/]+)\/([^/]+)$/.exec(child);
      const section = match?.[1];
      const name = match?.[2] === undefined ? undefined : decodePointer(match[2]);
      const renamed = section && name ? rename.get(componentKey(section, name)) : undefined;
      out[key] = renamed && section ? `#/components/${section}/${encodePointer(renamed)}` : child;
    } else {
      out[key] = rewriteRefs(child, rename);
    }
  }
  return out;
}

function componentKey(section: string, name: string): string {
  return `${section}/${name}`;
}

function decodePointer(token: string): string {
  return decodeURIComponent(token).replaceAll('~1', '/').replaceAll('~0', '~');
}

function encodePointer(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** JSON with object keys sorted, so equal definitions compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, child: unknown) =>
    child !== null && typeof child === 'object' && !Array.isArray(child)
      ? Object.fromEntries(Object.entries(child).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : child,
  );
}

function asObject(value: unknown): JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
