import { createHash } from 'node:crypto';
import http from 'node:http';
import { createLogger, type HttpApp } from '@assetops/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../src/index.js';
import {
  ADMIN_TOKEN,
  AUTH,
  type Echo,
  type EchoUpstream,
  NDJSON_RESPONSE,
  startEchoUpstream,
  unusedUrl,
} from './support/echo-upstream.js';

const logger = createLogger({ service: 'gateway', level: 'silent' });

describe('gateway proxy', () => {
  let asset: EchoUpstream;
  let telemetry: EchoUpstream;
  let gateway: HttpApp;

  beforeAll(async () => {
    asset = await startEchoUpstream('asset', { documentedPath: '/api/v1/assets/:id' });
    telemetry = await startEchoUpstream('telemetry', { documentedPath: '/api/v1/telemetry/latest' });
    gateway = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: asset.url, telemetry: telemetry.url },
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await asset?.close();
    await telemetry?.close();
  });

  describe('authentication', () => {
    it('refuses a request without a token: 401 UNAUTHORIZED with the bearer challenge', async () => {
      const res = await gateway.inject({ url: '/api/v1/assets' });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="assetops"');
      expect(res.json()).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    });

    it('treats another scheme or an empty bearer token as no token', async () => {
      for (const authorization of [
        `Basic ${Buffer.from('admin:x').toString('base64')}`,
        'Bearer ',
        'Bearer',
      ]) {
        const res = await gateway.inject({ url: '/api/v1/assets', headers: { authorization } });
        expect(res.statusCode).toBe(401);
        expect(res.json().code).toBe('UNAUTHORIZED');
      }
    });

    it('refuses a wrong token, of any length: 401 INVALID_TOKEN', async () => {
      for (const token of ['nope', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.toUpperCase()]) {
        const res = await gateway.inject({
          url: '/api/v1/assets',
          headers: { authorization: `Bearer ${token}` },
        });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="assetops"');
        expect(res.json()).toMatchObject({ status: 401, code: 'INVALID_TOKEN' });
      }
    });

    it('accepts the scheme in any case', async () => {
      const res = await gateway.inject({
        url: '/api/v1/assets',
        headers: { authorization: `bearer ${ADMIN_TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
    });

    it('authenticates before routing, so unknown paths do not reveal themselves', async () => {
      const res = await gateway.inject({ url: '/api/v1/does-not-exist' });
      expect(res.statusCode).toBe(401);
    });

    it('leaves /health public', async () => {
      const res = await gateway.inject({ url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', service: 'gateway' });
    });
  });

  describe('passthrough', () => {
    it('forwards method, path and the query string exactly as sent', async () => {
      const url = '/api/v1/assets?status=active&type=pump&q=caf%C3%A9%20%26%20co&tag=a&tag=b';
      const res = await gateway.inject({ url, headers: AUTH });
      expect(res.statusCode).toBe(200);
      const echo = res.json<Echo>();
      expect(echo).toMatchObject({ service: 'asset', method: 'GET', url });
      expect(echo.query).toMatchObject({ q: 'café & co', tag: ['a', 'b'] });
    });

    it('forwards a JSON body as the same bytes, not re-serialised', async () => {
      const payload = '{ "name" : "Pump 7",\n  "type":"pump", "metadata": {"z": 1, "a": 2.50} }';
      const res = await gateway.inject({
        method: 'POST',
        url: '/api/v1/assets',
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload,
      });
      expect(res.statusCode).toBe(200);
      const echo = res.json<Echo>();
      expect(echo.method).toBe('POST');
      expect(Buffer.from(echo.body, 'base64').toString('utf8')).toBe(payload);
      expect(echo.headers['content-type']).toBe('application/json');
      expect(echo.headers['content-length']).toBe(String(Buffer.byteLength(payload)));
    });

    it('forwards an NDJSON body and returns an NDJSON response byte for byte', async () => {
      const lines = '{"assetId":"a","v":1}\n{"assetId":"b","v": 2.0}\n\n';
      const post = await gateway.inject({
        method: 'PATCH',
        url: '/api/v1/assets/0190/readings',
        headers: { ...AUTH, 'content-type': 'application/x-ndjson' },
        payload: lines,
      });
      expect(post.statusCode).toBe(200);
      expect(Buffer.from(post.json<Echo>().body, 'base64').toString('utf8')).toBe(lines);

      const get = await gateway.inject({ url: '/api/v1/assets/special/ndjson', headers: AUTH });
      expect(get.statusCode).toBe(200);
      expect(get.headers['content-type']).toMatch(/^application\/x-ndjson/);
      expect(get.body).toBe(NDJSON_RESPONSE);
    });

    it('forwards a body without a content type, and an empty DELETE', async () => {
      const raw = await gateway.inject({
        method: 'PUT',
        url: '/api/v1/assets/x',
        headers: AUTH,
        payload: Buffer.from([0, 1, 2, 255]),
      });
      expect(raw.statusCode).toBe(200);
      expect(Buffer.from(raw.json<Echo>().body, 'base64')).toEqual(Buffer.from([0, 1, 2, 255]));

      const del = await gateway.inject({ method: 'DELETE', url: '/api/v1/assets/x', headers: AUTH });
      expect(del.statusCode).toBe(200);
      expect(del.json<Echo>()).toMatchObject({ method: 'DELETE', bodyLength: 0 });
    });

    it('returns the upstream status, headers and body unchanged', async () => {
      const res = await gateway.inject({ url: '/api/v1/assets/special/created', headers: AUTH });
      expect(res.statusCode).toBe(201);
      expect(res.headers).toMatchObject({
        etag: '"7"',
        location: '/api/v1/assets/0190a000-0000-7000-8000-000000000001',
        'retry-after': '30',
        'x-custom': 'kept',
      });
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toEqual({ created: true });
    });

    it('passes bodiless answers through: 304 with its etag, 204, and HEAD', async () => {
      const notModified = await gateway.inject({
        url: '/api/v1/assets/special/not-modified',
        headers: { ...AUTH, 'if-none-match': '"9"' },
      });
      expect(notModified.statusCode).toBe(304);
      expect(notModified.headers.etag).toBe('"9"');
      expect(notModified.body).toBe('');

      const noContent = await gateway.inject({
        method: 'DELETE',
        url: '/api/v1/assets/special/no-content',
        headers: AUTH,
      });
      expect(noContent.statusCode).toBe(204);
      expect(noContent.body).toBe('');

      const head = await gateway.inject({
        method: 'HEAD',
        url: '/api/v1/assets/special/created',
        headers: AUTH,
      });
      expect(head.statusCode).toBe(201);
      expect(head.headers.etag).toBe('"7"');
      expect(head.body).toBe('');
    });

    it("passes an upstream's own 503 through once, without retrying it", async () => {
      const res = await gateway.inject({ url: '/api/v1/assets/special/unavailable', headers: AUTH });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.json()).toEqual({ code: 'BUSY' });
    });

    it('forwards the relevant request headers, never the credential', async () => {
      const res = await gateway.inject({
        method: 'POST',
        url: '/api/v1/assets/x/status',
        headers: {
          ...AUTH,
          'content-type': 'application/json',
          accept: 'application/json',
          'if-match': '"3"',
          'if-none-match': '"4"',
          'idempotency-key': 'key-1',
          traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          'x-request-id': 'req-123',
          cookie: 'session=secret',
          'x-internal-role': 'root',
        },
        payload: '{}',
      });
      const { headers } = res.json<Echo>();
      expect(headers).toMatchObject({
        accept: 'application/json',
        'if-match': '"3"',
        'if-none-match': '"4"',
        'idempotency-key': 'key-1',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-request-id': 'req-123',
      });
      expect(headers['x-forwarded-for']).toBeTruthy();
      expect(headers.authorization).toBeUndefined();
      expect(headers.cookie).toBeUndefined();
      expect(headers['x-internal-role']).toBeUndefined();
    });

    it('gives every forwarded request a request id', async () => {
      const res = await gateway.inject({ url: '/api/v1/assets', headers: AUTH });
      expect(res.json<Echo>().headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('routing', () => {
    it('sends a pattern route to its own upstream, ahead of the shorter prefix', async () => {
      const res = await gateway.inject({ url: '/api/v1/assets/0190/telemetry?from=1', headers: AUTH });
      expect(res.json<Echo>()).toMatchObject({
        service: 'telemetry',
        url: '/api/v1/assets/0190/telemetry?from=1',
      });
      const other = await gateway.inject({ url: '/api/v1/assets/0190/history', headers: AUTH });
      expect(other.json<Echo>().service).toBe('asset');
    });

    it('answers 404 ROUTE_NOT_FOUND for an unknown /api/v1 path', async () => {
      for (const url of ['/api/v1/nope', '/api/v1', '/api/v1/assetsX', '/api/v2/assets']) {
        const res = await gateway.inject({ url, headers: AUTH });
        expect(res.statusCode, url).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json().code).toBe('ROUTE_NOT_FOUND');
      }
    });

    it('answers 503 UPSTREAM_NOT_CONFIGURED for a known route without its service', async () => {
      const res = await gateway.inject({ method: 'POST', url: '/api/v1/alerts', headers: AUTH, payload: {} });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_NOT_CONFIGURED', upstream: 'alert' });
    });
  });

  describe('observability', () => {
    it('reports each upstream in /ready', async () => {
      const res = await gateway.inject({ url: '/ready' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'ready', checks: { asset: 'ok', telemetry: 'ok' } });
    });

    it('counts proxied requests by upstream and status', async () => {
      await gateway.inject({ url: '/api/v1/assets/special/created', headers: AUTH });
      const res = await gateway.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(
        /assetops_gateway_proxied_requests_total\{[^}]*upstream="asset"[^}]*status="201"[^}]*\} [1-9]/,
      );
      expect(res.body).toMatch(
        /assetops_gateway_proxied_request_duration_seconds_count\{[^}]*upstream="telemetry"/,
      );
      expect(res.body).toMatch(
        /assetops_gateway_proxied_requests_total\{[^}]*upstream="alert"[^}]*status="503"/,
      );
    });
  });
});

describe('gateway failures', () => {
  it('answers 502 UPSTREAM_UNAVAILABLE when the upstream refuses connections', async () => {
    const gateway = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: await unusedUrl() },
    });
    try {
      for (const method of ['GET', 'POST'] as const) {
        const res = await gateway.inject({
          method,
          url: '/api/v1/assets',
          headers: AUTH,
          payload: undefined,
        });
        expect(res.statusCode).toBe(502);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json()).toMatchObject({
          code: 'UPSTREAM_UNAVAILABLE',
          upstream: 'asset',
          reason: 'ECONNREFUSED',
        });
      }
      const ready = await gateway.inject({ url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json().checks.asset).toBe('ECONNREFUSED');
    } finally {
      await gateway.close();
    }
  });

  it('answers 504 UPSTREAM_TIMEOUT when the upstream is too slow, without waiting for it', async () => {
    const asset = await startEchoUpstream('asset', { documentedPath: '/api/v1/assets/:id' });
    const gateway = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: asset.url },
      upstreamTimeoutMs: 200,
    });
    try {
      const started = Date.now();
      const res = await gateway.inject({ url: '/api/v1/assets/special/slow?ms=10000', headers: AUTH });
      expect(res.statusCode).toBe(504);
      expect(res.json()).toMatchObject({ code: 'UPSTREAM_TIMEOUT', upstream: 'asset' });
      // undici checks its timeouts on a coarse (~1 s) clock, so "in time" here means well before the
      // upstream's 10 s, not exactly 200 ms.
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await gateway.close();
      await asset.close();
    }
  });
});

describe('gateway over real HTTP', () => {
  let asset: EchoUpstream;
  let gateway: HttpApp;
  let base: string;

  beforeAll(async () => {
    asset = await startEchoUpstream('asset', { documentedPath: '/api/v1/assets/:id' });
    gateway = await createGateway({
      logger,
      adminToken: ADMIN_TOKEN,
      upstreams: { asset: asset.url },
      maxBodyBytes: 8 * 1024 * 1024,
    });
    base = await gateway.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await gateway?.close();
    await asset?.close();
  });

  it('streams a large body through intact', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
    const res = await fetch(`${base}/api/v1/assets/bulk`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body,
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo.bodyLength).toBe(body.length);
    expect(echo.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('streams a chunked body (no content-length) through intact', async () => {
    const chunks = ['{"a":1}\n', '{"b":2}\n', '{"c":3}\n'];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });
    const res = await fetch(`${base}/api/v1/assets/readings`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/x-ndjson' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(Buffer.from(echo.body, 'base64').toString('utf8')).toBe(chunks.join(''));
  });

  it('refuses a body over the limit with 413 BODY_TOO_LARGE, declared or chunked', async () => {
    const tooBig = Buffer.alloc(8 * 1024 * 1024 + 1, 'x');
    const declared = await fetch(`${base}/api/v1/assets/bulk`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: tooBig,
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { code: string }).code).toBe('BODY_TOO_LARGE');

    const chunked = await fetch(`${base}/api/v1/assets/bulk`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/octet-stream' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < 9; i++) controller.enqueue(new Uint8Array(1024 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(((await chunked.json()) as { code: string }).code).toBe('BODY_TOO_LARGE');
  });

  it('refuses dot segments, which could reach a path other than the one routed', async () => {
    // fetch() and inject() normalise the URL; a raw request sends it as written.
    for (const path of [
      '/api/v1/assets/%2e%2e/alerts',
      '/api/v1/assets/../alerts',
      '/api/v1/assets/./x',
      '/api/v1/assets/..\\alerts',
    ]) {
      const { status, body } = await rawGet(base, path, AUTH);
      expect(status, path).toBe(404);
      expect(JSON.parse(body).code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('answers 401 over the network too', async () => {
    const res = await fetch(`${base}/api/v1/assets`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="assetops"');
  });
});

/** A GET with the path sent exactly as given (no URL normalisation on the client side). */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${base}/`, { path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}
