import { describe, expect, it } from 'vitest';
import { mergeOpenApi } from '../src/docs/openapi.merge.js';
import { compileRouteTable, defaultRoutes } from '../src/proxy/route-table.js';

const problem = { type: 'object', properties: { code: { type: 'string' } } };
const jsonRef = (ref: string) => ({ content: { 'application/json': { schema: { $ref: ref } } } });

const assetDoc = {
  openapi: '3.1.0',
  servers: [{ url: 'http://10.0.0.1:8081' }],
  tags: [{ name: 'assets', description: 'Asset registry' }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Problem: problem,
      'def-0': { type: 'object', properties: { name: { type: 'string' } } },
      'def-1': {
        type: 'object',
        properties: { items: { type: 'array', items: { $ref: '#/components/schemas/def-0' } } },
      },
    },
  },
  paths: {
    '/api/v1/assets': {
      get: {
        tags: ['assets'],
        operationId: 'list',
        responses: { 200: jsonRef('#/components/schemas/def-1') },
      },
    },
    '/health': { get: { responses: { 200: { description: 'ok' } } } },
  },
};

const telemetryDoc = {
  openapi: '3.1.0',
  components: {
    schemas: {
      Problem: { ...problem },
      'def-0': { type: 'object', properties: { value: { type: 'number' } } },
      'def-1': {
        type: 'object',
        properties: { items: { type: 'array', items: { $ref: '#/components/schemas/def-0' } } },
      },
    },
  },
  paths: {
    '/api/v1/assets/{assetId}/telemetry': {
      servers: [{ url: 'http://10.0.0.2' }],
      get: { operationId: 'list', responses: { 200: jsonRef('#/components/schemas/def-1') } },
    },
    // Routed to the asset service, so the telemetry service's claim on it is not published.
    '/api/v1/assets/{id}': { get: { responses: { 200: { description: 'x' } } } },
  },
};

describe('mergeOpenApi', () => {
  // biome-ignore lint/suspicious/noExplicitAny: the test walks the merged JSON document freely
  const merged: any = mergeOpenApi({
    specs: [
      { service: 'telemetry', document: telemetryDoc },
      { service: 'asset', document: assetDoc },
    ],
    unavailable: [{ service: 'alert', reason: 'ECONNREFUSED' }],
    matchRoute: compileRouteTable(defaultRoutes),
  });

  it('publishes the paths the gateway routes to each service, and nothing else', () => {
    expect(Object.keys(merged.paths)).toEqual(['/api/v1/assets', '/api/v1/assets/{assetId}/telemetry']);
    expect(merged.paths['/api/v1/assets/{assetId}/telemetry'].servers).toBeUndefined();
    expect(merged.servers).toBeUndefined();
  });

  it('keeps identical reference-free components shared and prefixes colliding ones', () => {
    const schemas = merged.components.schemas;
    expect(Object.keys(schemas).sort()).toEqual([
      'Problem',
      'asset.def-0',
      'asset.def-1',
      'telemetry.def-0',
      'telemetry.def-1',
    ]);
    expect(schemas['asset.def-1'].properties.items.items.$ref).toBe('#/components/schemas/asset.def-0');
    expect(schemas['telemetry.def-1'].properties.items.items.$ref).toBe(
      '#/components/schemas/telemetry.def-0',
    );
    expect(merged.paths['/api/v1/assets'].get.responses[200].content['application/json'].schema.$ref).toBe(
      '#/components/schemas/asset.def-1',
    );
  });

  it('tags untagged operations with their service and keeps operation ids unique', () => {
    const telemetryOp = merged.paths['/api/v1/assets/{assetId}/telemetry'].get;
    expect(telemetryOp.tags).toEqual(['telemetry']);
    expect(merged.paths['/api/v1/assets'].get.operationId).toBe('list');
    expect(telemetryOp.operationId).toBe('telemetry.list');
    expect(merged.tags.map((t: { name: string }) => t.name)).toEqual(['assets', 'telemetry']);
  });

  it("adds the gateway's bearer scheme and lists unavailable services", () => {
    expect(merged.components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    expect(merged.security).toEqual([{ bearer: [] }]);
    expect(merged.info['x-unavailable']).toEqual(['alert']);
    expect(merged.info['x-services']).toEqual(['asset', 'telemetry']);
    expect(merged.info.description).toContain('alert (ECONNREFUSED)');
  });

  it('does not modify the documents it merges', () => {
    expect(assetDoc.components.schemas['def-1'].properties.items.items.$ref).toBe(
      '#/components/schemas/def-0',
    );
  });
});
