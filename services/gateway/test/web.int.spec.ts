import { createHash } from 'node:crypto';
import { createLogger, type HttpApp } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../src/index.js';
import { ADMIN_TOKEN } from './support/echo-upstream.js';

describe('web UI (static files served by the gateway)', () => {
  let gateway: HttpApp;

  beforeAll(async () => {
    gateway = await createGateway({
      logger: createLogger({ service: 'gateway', level: 'silent' }),
      adminToken: ADMIN_TOKEN,
      upstreams: {},
    });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('serves the page at / without a token, with an import map allowed by its hash in the CSP', async () => {
    const res = await gateway.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).not.toMatch(/https?:\/\//); // offline: nothing from a CDN
    const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(res.body)?.[1];
    expect(JSON.parse(importMap!).imports).toMatchObject({ preact: './ui/vendor/preact.mjs' });
    const hash = createHash('sha256').update(importMap!, 'utf8').digest('base64');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it('serves every module the import map names, and the UI’s own files', async () => {
    const page = (await gateway.inject({ url: '/' })).body;
    const importMap = JSON.parse(/<script type="importmap">([\s\S]*?)<\/script>/.exec(page)![1]!);
    for (const target of Object.values<string>(importMap.imports)) {
      const res = await gateway.inject({ url: target.replace(/^\./, '') });
      expect(res.statusCode, target).toBe(200);
      expect(res.headers['content-type'], target).toMatch(/^text\/javascript/);
      expect(res.body.length, target).toBeGreaterThan(100);
    }
    for (const [file, type] of [
      ['/ui/app.js', /^text\/javascript/],
      ['/ui/pages/asset.js', /^text\/javascript/],
      ['/ui/app.css', /^text\/css/],
      ['/ui/vendor/uplot.css', /^text\/css/],
      ['/ui/favicon.svg', /^image\/svg\+xml/],
    ] as const) {
      const res = await gateway.inject({ url: file });
      expect(res.statusCode, file).toBe(200);
      expect(res.headers['content-type'], file).toMatch(type);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves nothing outside the web folder and the vendor allow-list', async () => {
    for (const url of [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/..%2fsrc%2fgateway.ts',
      '/ui/vendor/package.json',
      '/ui/vendor/..%2f..%2fpackage.json',
      '/ui/missing.js',
      '/ui/index.html.bak',
    ]) {
      const res = await gateway.inject({ url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });
});
