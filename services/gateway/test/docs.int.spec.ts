import { createLogger, type HttpApp } from '@assetops/platform';
import { ManualClock } from '@assetops/platform/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../src/index.js';
import { ADMIN_TOKEN, type EchoUpstream, startEchoUpstream, unusedUrl } from './support/echo-upstream.js';

const logger = createLogger({ service: 'gateway', level: 'silent' });

describe('gateway docs', () => {
  let asset: EchoUpstream;
  let telemetry: EchoUpstream;
  let gateway: HttpApp;
  const clock = new ManualClock(new Date('2024-05-01T00:00:00Z'));

  beforeAll(async () => {
    asset = await startEchoUpstream('asset', { documentedPath: '/api/v1/assets/:id' });
    telemetry = await startEchoUpstream('telemetry', { documentedPath: '/api/v1/telemetry/latest' });
    gateway = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: asset.url, telemetry: telemetry.url, alert: await unusedUrl() },
      docsCacheTtlMs: 10_000,
      clock,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await asset?.close();
    await telemetry?.close();
  });

  it('serves Swagger UI at /docs from the installed package, without a token', async () => {
    const page = await gateway.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('swagger-ui');
    expect(page.body).not.toMatch(/https?:\/\//); // offline: nothing from a CDN

    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'swagger-initializer.js']) {
      const res = await gateway.inject({ url: `/docs/${asset}` });
      expect(res.statusCode, asset).toBe(200);
      expect(res.body.length).toBeGreaterThan(100);
    }
    expect((await gateway.inject({ url: '/docs/swagger-initializer.js' })).body).toContain(
      'docs/openapi.json',
    );
    expect((await gateway.inject({ url: '/docs/package.json' })).statusCode).toBe(404);
    expect((await gateway.inject({ url: '/docs/' })).statusCode).toBe(302);
  });

  it('merges the configured services into /docs/openapi.json', async () => {
    const res = await gateway.inject({ url: '/docs/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    // The gateway's own composed route is published beside the services' paths.
    expect(Object.keys(doc.paths)).toEqual([
      '/api/v1/assets/{id}',
      '/api/v1/assets/{id}/overview',
      '/api/v1/telemetry/latest',
    ]);
    expect(doc.paths['/api/v1/assets/{id}/overview'].get.operationId).toBe('getAssetOverview');
    expect(doc.info['x-services']).toEqual(['asset', 'telemetry']);
    expect(doc.info['x-unavailable']).toEqual(['alert']);
    expect(doc.info.description).toContain('alert (ECONNREFUSED)');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);

    // Both services call their first shared schema `def-0`: the merge keeps them apart.
    const schemas = doc.components.schemas as Record<string, { properties: Record<string, unknown> }>;
    const assetRef =
      doc.paths['/api/v1/assets/{id}'].get.responses['200'].content['application/json'].schema.$ref;
    const telemetryRef =
      doc.paths['/api/v1/telemetry/latest'].get.responses['200'].content['application/json'].schema.$ref;
    expect(assetRef).not.toBe(telemetryRef);
    expect(schemas[assetRef.split('/').at(-1)]!.properties).toHaveProperty('assetField');
    expect(schemas[telemetryRef.split('/').at(-1)]!.properties).toHaveProperty('telemetryField');

    // Every $ref in the document resolves.
    for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
      const [, section, name] = /#\/components\/([^/]+)\/([^"]+)/.exec(ref)!;
      expect(doc.components[section!]?.[name!], ref).toBeDefined();
    }
    // Both documented operations were called getThing: the second one is prefixed.
    expect(doc.paths['/api/v1/telemetry/latest'].get.operationId).toBe('telemetry.getThing');
  });

  it('caches the merged document, and refreshes it when the cache expires', async () => {
    await gateway.inject({ url: '/docs/openapi.json' });
    const before = asset.openApiHits();
    await Promise.all([1, 2, 3].map(() => gateway.inject({ url: '/docs/openapi.json' })));
    expect(asset.openApiHits()).toBe(before);

    clock.advance(10_001);
    await Promise.all([1, 2, 3].map(() => gateway.inject({ url: '/docs/openapi.json' })));
    expect(asset.openApiHits()).toBe(before + 1);
  });
});
