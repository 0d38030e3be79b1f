import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  createLogger,
  type HttpApp,
  IllegalStateError,
  NotFoundError,
  ValidationError,
} from '../src/index.js';

describe('HTTP bootstrap', () => {
  let app: HttpApp;
  let ready = true;
  beforeAll(async () => {
    app = await createHttpApp({
      service: 'demo',
      logger: createLogger({ service: 'demo', level: 'silent' }),
      readiness: {
        database: async () => {
          if (!ready) throw new Error('connection refused');
        },
      },
    });
    app.post(
      '/things',
      {
        schema: {
          body: Type.Object(
            { name: Type.String({ minLength: 1 }), size: Type.Integer({ minimum: 0 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => request.body,
    );
    app.get(
      '/things',
      {
        schema: {
          querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }) }),
        },
      },
      async (request) => ({ limit: request.query.limit }),
    );
    app.post(
      '/open',
      { schema: { body: Type.Object({ value: Type.Unknown(), label: Type.String() }) } },
      async (request) => ({ finite: Number.isFinite(request.body.value), label: request.body.label }),
    );
    app.get('/things/missing', async () => {
      throw new NotFoundError('THING_NOT_FOUND', 'no such thing');
    });
    app.get('/things/locked', async () => {
      throw new IllegalStateError('THING_LOCKED', 'thing is locked', { from: 'locked', to: 'open' });
    });
    app.get('/things/invalid', async () => {
      throw new ValidationError('THING_INVALID', 'bad thing', [{ path: '/name', message: 'too long' }]);
    });
    app.get('/things/bug', async () => {
      throw new Error('secret internal detail');
    });
    await app.ready();
  });
  afterAll(() => app.close());

  it('answers a schema violation with 400 problem+json listing each field', async () => {
    const res = await app.inject({ method: 'POST', url: '/things', payload: { size: -1, colour: 'red' } });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json();
    expect(body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'Bad Request',
      instance: '/things',
    });
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { path: '/body/name', message: "must have required property 'name'" },
        { path: '/body/colour', message: "unknown property 'colour'" },
        { path: '/body/size', message: 'must be >= 0' },
      ]),
    );
  });

  it('refuses a coerced Infinity that Ajv would let past its bounds, and still coerces finite numbers', async () => {
    for (const text of ['Infinity', '-Infinity', '1e400']) {
      const res = await app.inject({ method: 'GET', url: `/things?limit=${encodeURIComponent(text)}` });
      expect(res.statusCode, text).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors).toEqual([{ path: '/querystring/limit', message: 'must be a finite number' }]);
    }
    const body = await app.inject({
      method: 'POST',
      url: '/things',
      payload: { name: 'x', size: 'Infinity' },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json().errors).toEqual([{ path: '/body/size', message: 'must be a finite number' }]);
    expect((await app.inject({ method: 'GET', url: '/things?limit=7' })).json()).toEqual({ limit: 7 });
    // Text that is not a number at all, or a finite exponent, is judged by the schema as before.
    expect((await app.inject({ method: 'GET', url: '/things?limit=Inferno' })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/things?limit=2e2' })).json()).toEqual({ limit: 200 });
    // A non-finite JSON literal in a field the schema leaves open is the handler's to judge.
    const open = await app.inject({
      method: 'POST',
      url: '/open',
      headers: { 'content-type': 'application/json' },
      payload: '{"value": 1e999, "label": "Infinity"}',
    });
    expect(open.statusCode).toBe(200);
    expect(open.json()).toEqual({ finite: false, label: 'Infinity' });
    // A lone surrogate is not text: the body is refused, naming the field (or the key).
    for (const [payload, path] of [
      ['{"value": 1, "label": "\\ud800"}', '/body/label'],
      ['{"value": {"\\udc00x": 1}, "label": "ok"}', '/body/value/\udc00x'],
      ['{"value": [{"a": "x", "b": ["y"]}, {"c": "\\ud800"}], "label": "ok"}', '/body/value/1/c'],
    ] as const) {
      const bad = await app.inject({
        method: 'POST',
        url: '/open',
        headers: { 'content-type': 'application/json' },
        payload,
      });
      expect(bad.statusCode, payload).toBe(400);
      expect(bad.json().errors, payload).toEqual([
        { path, message: 'must be well-formed Unicode text (it holds a lone surrogate)' },
      ]);
    }
    // A well-formed pair (an emoji) is text like any other.
    const emoji = await app.inject({
      method: 'POST',
      url: '/open',
      headers: { 'content-type': 'application/json' },
      payload: '{"value": 1, "label": "\\ud83d\\ude00"}',
    });
    expect(emoji.json()).toEqual({ finite: true, label: '😀' });
    expect((await app.inject({ method: 'GET', url: '/things' })).json()).toEqual({ limit: 100 });
  });

  it('answers malformed JSON with 400 INVALID_JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('answers an unsupported content type with 415', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { 'content-type': 'text/xml' },
      payload: '<a/>',
    });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });

  it('maps AppErrors to their status and stable code', async () => {
    expect((await app.inject('/things/missing')).json()).toMatchObject({
      status: 404,
      code: 'THING_NOT_FOUND',
    });
    const locked = await app.inject('/things/locked');
    expect(locked.statusCode).toBe(409);
    expect(locked.json()).toMatchObject({ code: 'THING_LOCKED', from: 'locked', to: 'open' });
    expect((await app.inject('/things/invalid')).json()).toMatchObject({
      status: 400,
      code: 'THING_INVALID',
      errors: [{ path: '/name', message: 'too long' }],
    });
  });

  it('hides internals of an unexpected error behind a 500 problem', async () => {
    const res = await app.inject('/things/bug');
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(res.body).not.toContain('secret internal detail');
  });

  it('answers an unknown route with 404 ROUTE_NOT_FOUND', async () => {
    const res = await app.inject('/nowhere');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'ROUTE_NOT_FOUND' });
  });

  it('serves /health, /ready (with checks) and Prometheus /metrics', async () => {
    expect((await app.inject('/health')).json()).toEqual({ status: 'ok', service: 'demo' });
    ready = true;
    expect((await app.inject('/ready')).statusCode).toBe(200);
    ready = false;
    const notReady = await app.inject('/ready');
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json()).toMatchObject({ checks: { database: 'connection refused' } });
    await app.inject('/things/missing');
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain(
      'assetops_http_request_duration_seconds_count{service="demo",method="GET",route="/things/missing",status="404"}',
    );
    expect(metrics.body).toContain('assetops_process_cpu_seconds_total');
  });

  it('publishes its OpenAPI document', async () => {
    const doc = (await app.inject('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/things');
    expect(Object.keys(doc.paths)).not.toContain('/health');
  });
});
