import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, dropServiceDatabase } from '@assetops/platform';
import { testEnv } from '@assetops/platform/testkit';
import fc from 'fast-check';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AllInOne, databaseServices, startAllInOne } from '../src/index.js';

// Bad input, generated: every public endpoint (found in the gateway's merged OpenAPI document, so
// new endpoints are covered without touching this file) and device payloads over MQTT. Whatever
// arrives, the answer is a 4xx problem+json or a dead letter with a reason: never a 5xx, never a
// crash, never a partial write of an invalid item, and valid items beside it are stored.
//
// The seed is printed on failure by fast-check; rerun one with FUZZ_SEED=<seed>. FUZZ_RUNS scales
// the number of cases per endpoint (default 25; `npm run test:fuzz` runs 200).
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const runsPerOperation = Number(process.env.FUZZ_RUNS ?? 25);
const fcParams = (numRuns: number) => ({ numRuns, ...(seed === undefined ? {} : { seed }) });

/** Strings that break naive code: injection, traversal, control characters, unicode, sizes. */
const nastyStrings = [
  "' OR 1=1 --",
  "x'); DROP TABLE readings; --",
  '../../../etc/passwd',
  '%00',
  '\u0000',
  '<script>alert(1)</script>',
  '$' + '{jndi:ldap://x}',
  '温度センサー',
  '🔥💧',
  '\uD800',
  'a'.repeat(5_000),
  '',
  ' ',
  '-1',
  '0',
  '1e309',
  'NaN',
  'Infinity',
  'null',
  'true',
  '[]',
  '{}',
  '9999-99-99T99:99:99Z',
  '1970-01-01T00:00:00Z',
  '99999999999999999999',
];

const anyString = fc.oneof(
  fc.constantFrom(...nastyStrings),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const anyJson = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 63), 1.5, 1e308) },
);

/** Request bodies that are not even valid JSON objects, sent raw with a JSON content type. */
const rawBodies = [
  '{',
  '{"a":',
  'NaN',
  '[1,2',
  '{"value": 1e999}',
  '\u0000',
  'null',
  '"text"',
  '{"__proto__": {"polluted": true}}',
];

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodyProperties: string[] | undefined;
}

interface Outcome {
  status: number;
  contentType: string;
  body: string;
}

describe('bad input never becomes a 5xx, a crash or a partial write', () => {
  let platform: AllInOne;
  let dataDir: string;
  const prefix = `fuzz_${randomBytes(3).toString('hex')}`;
  const token = `fuzz-${randomBytes(16).toString('hex')}`;
  let assetId: string;
  const counts: Record<string, number> = {};
  const count = (what: string, n = 1) => {
    counts[what] = (counts[what] ?? 0) + n;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'assetops-fuzz-'));
    platform = await startAllInOne({
      dataDir,
      port: 0,
      host: '127.0.0.1',
      adminToken: token,
      postgres: { adminUrl: testEnv.databaseUrl, databasePrefix: prefix },
      logger: createLogger({ service: 'runtime', level: 'silent' }),
    });
    const created = await send('POST', '/api/v1/assets', JSON.stringify({ name: 'Fuzz pump', type: 'pump' }));
    expect(created.status).toBe(201);
    assetId = JSON.parse(created.body).id;
    await waitFor(
      async () => JSON.parse((await send('GET', `/api/v1/assets/${assetId}`)).body).status === 'active',
    );
  }, 90_000);

  afterAll(async () => {
    process.stdout.write(`fuzz cases: ${JSON.stringify(counts)}\n`);
    await platform?.stop();
    for (const name of databaseServices) {
      await dropServiceDatabase(testEnv.databaseUrl, {
        database: `${prefix}_${name}`,
        role: `${prefix}_${name}`,
      });
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  async function send(
    method: string,
    url: string,
    body?: string,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ): Promise<Outcome> {
    const res = await fetch(`${platform.gatewayUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : headers) },
      body,
    });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
  }

  async function waitFor(probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** A 4xx must be problem+json with its status and a stable code; a 5xx is always a failure. */
  function expectHandled(outcome: Outcome, what: string): void {
    if (outcome.status >= 500) throw new Error(`${what} → ${outcome.status}: ${outcome.body.slice(0, 500)}`);
    if (outcome.status >= 400) {
      expect(outcome.contentType, `${what} → ${outcome.status}`).toContain('application/problem+json');
      const problem = JSON.parse(outcome.body);
      expect(problem.status, what).toBe(outcome.status);
      expect(typeof problem.code, `${what}: problem.code`).toBe('string');
    }
  }

  async function latestMetrics(): Promise<Map<string, number>> {
    const res = await send('GET', `/api/v1/assets/${assetId}/telemetry/latest`);
    expect(res.status).toBe(200);
    const values = JSON.parse(res.body).values as { metric: string; value: number }[];
    return new Map(values.map((v) => [v.metric, v.value]));
  }

  it('stores exactly the valid readings of a mixed HTTP batch and rejects each invalid one by index', async () => {
    const now = Date.now();
    type Item = { text: string; valid: boolean; metric: string; value: number };
    const invalidReading = (metric: string): fc.Arbitrary<string> =>
      fc.constantFrom(
        `{"assetId":"${assetId}","metric":"${metric}","value":1e999}`,
        `{"assetId":"${assetId}","metric":"${metric}","value":"12.5"}`,
        `{"assetId":"${assetId}","metric":"${metric}","value":null}`,
        `{"assetId":"${assetId}","metric":"${metric}"}`,
        `{"assetId":"${assetId}","metric":"${metric}","value":1,"ts":"2026-13-45T00:00:00Z"}`,
        `{"assetId":"${assetId}","metric":"${metric}","value":1,"ts":"${new Date(now + 3_600_000 * 24).toISOString()}"}`,
        `{"assetId":"${assetId}","metric":"${metric}","value":1,"ts":"1000-01-01T00:00:00Z"}`,
        `{"assetId":"${randomUUID()}","metric":"${metric}","value":1}`,
        `{"assetId":"not-a-uuid","metric":"${metric}","value":1}`,
        `{"assetId":"${assetId}","metric":"x'); DROP TABLE readings; --","value":1}`,
        `{"assetId":"${assetId}","metric":"温度","value":1}`,
        `{"assetId":"${assetId}","metric":"${'m'.repeat(101)}","value":1}`,
        `{"assetId":"${assetId}","metric":{"$ne":null},"value":1}`,
        '"just a string"',
        'null',
        '[1,2,3]',
      );
    let batchNo = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.nat()), {
          minLength: 1,
          maxLength: 40,
        }),
        async (shape) => {
          batchNo += 1;
          const items: Item[] = [];
          for (const [index, [valid, value, pick]] of shape.entries()) {
            const metric = `${valid ? 'ok' : 'bad'}_${batchNo}_${index}`;
            if (valid) {
              items.push({ text: JSON.stringify({ assetId, metric, value }), valid, metric, value });
            } else {
              const choices = fc.sample(invalidReading(metric), { numRuns: 1, seed: pick });
              items.push({ text: choices[0] as string, valid, metric, value });
            }
          }
          const res = await send(
            'POST',
            '/api/v1/telemetry',
            `{"readings":[${items.map((i) => i.text).join(',')}]}`,
          );
          count('http mixed batches');
          count('http readings', items.length);
          expectHandled(res, 'mixed batch');
          expect(res.status).toBe(200);
          const result = JSON.parse(res.body) as {
            accepted: number;
            rejected: { index: number; reason: string }[];
          };
          const invalidIndexes = items.flatMap((item, index) => (item.valid ? [] : [index]));
          expect(result.rejected.map((r) => r.index).sort((a, b) => a - b)).toEqual(invalidIndexes);
          for (const rejection of result.rejected) expect(rejection.reason.length).toBeGreaterThan(0);
          expect(result.accepted).toBe(items.length - invalidIndexes.length);
          const latest = await latestMetrics();
          for (const item of items) {
            if (item.valid) expect(latest.get(item.metric), item.metric).toBeCloseTo(item.value, 6);
            else expect(latest.has(item.metric), `${item.metric} must not be stored`).toBe(false);
          }
        },
      ),
      fcParams(25),
    );
  }, 120_000);

  it('refuses oversized bodies and batches with a problem, and survives malformed JSON', async () => {
    const reading = JSON.stringify({ assetId, metric: 'flood', value: 1 });
    const tooMany = await send(
      'POST',
      '/api/v1/telemetry',
      `{"readings":[${Array(10_001).fill(reading).join(',')}]}`,
    );
    expectHandled(tooMany, '10,001 readings');
    expect(tooMany.status).toBeGreaterThanOrEqual(400);
    const huge = await send(
      'POST',
      '/api/v1/assets',
      JSON.stringify({ name: 'x'.repeat(20 * 1024 * 1024), type: 'pump' }),
    );
    expectHandled(huge, '20 MiB body');
    expect(huge.status).toBe(413);
    for (const raw of rawBodies) {
      for (const url of [
        '/api/v1/telemetry',
        '/api/v1/assets',
        '/api/v1/work-orders',
        '/api/v1/alert-rules',
      ]) {
        const res = await send('POST', url, raw);
        count('raw bodies');
        expectHandled(res, `POST ${url} ${JSON.stringify(raw)}`);
        expect(res.status).toBeGreaterThanOrEqual(400);
      }
    }
    const ndjson = await send(
      'POST',
      '/api/v1/telemetry',
      `${reading}
{broken
${reading.replace('flood', 'flood2')}
`,
      {
        'content-type': 'application/x-ndjson',
      },
    );
    expectHandled(ndjson, 'ndjson with a broken line');
    expect(ndjson.status).toBe(200);
    expect(JSON.parse(ndjson.body)).toMatchObject({ accepted: 2, rejected: [{ index: 1 }] });
  }, 60_000);

  it('dead-letters every bad device payload with a reason and stores the good ones (MQTT)', async () => {
    const client = await mqtt.connectAsync(platform.mqttUrl, {
      clientId: `fuzz-${randomUUID()}`,
      clean: true,
    });
    const topic = `assetops/${assetId}/telemetry`;
    const telemetryUrl = platform.services.telemetry!.url;
    const deadLetters = async () => {
      const res = await fetch(
        `${telemetryUrl}/api/v1/ops/telemetry/dead-letters?consumer=telemetry.mqtt&limit=500`,
      );
      return ((await res.json()) as { items: { reason: string; payload: unknown }[] }).items;
    };
    const before = (await deadLetters()).length;
    const badPayload = fc.oneof(
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((bytes) => Buffer.concat([Buffer.from('\u0001'), Buffer.from(bytes)])),
      fc
        .constantFrom('', '{', 'null', '[]', '42', '"text"', '{"metric":"x","value":1e999}', '{"values":[]}')
        .map((s) => Buffer.from(s)),
      fc
        .record({
          metric: fc.constantFrom(...nastyStrings.filter((s) => !/^[A-Za-z]/.test(s))),
          value: fc.double(),
        })
        .map((o) => Buffer.from(JSON.stringify(o))),
      fc
        .record({
          metric: fc.constant('pressure'),
          value: fc.oneof(fc.string(), fc.constant(null), fc.object()),
        })
        .map((o) => Buffer.from(JSON.stringify(o))),
      fc
        .jsonValue({ maxDepth: 2 })
        .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
        .map((v) => Buffer.from(JSON.stringify(v))),
    );
    const payloads = fc.sample(badPayload, { numRuns: 60, ...(seed === undefined ? {} : { seed }) });
    const good = Array.from({ length: 20 }, (_, i) => ({ metric: `mqtt_ok_${i}`, value: i * 1.5 }));
    for (const [i, payload] of payloads.entries()) {
      await client.publishAsync(topic, payload, { qos: 1 });
      const ok = good[i % good.length]!;
      if (i < good.length) await client.publishAsync(topic, JSON.stringify(ok), { qos: 1 });
    }
    count('mqtt bad payloads', payloads.length);
    count('mqtt good payloads', good.length);
    await waitFor(async () => (await deadLetters()).length - before >= payloads.length);
    const letters = (await deadLetters()).slice(0, payloads.length);
    expect((await deadLetters()).length - before).toBe(payloads.length);
    for (const letter of letters) expect(letter.reason.length).toBeGreaterThan(0);
    await waitFor(async () => {
      const latest = await latestMetrics();
      return good.every((g) => latest.get(g.metric) === g.value);
    });
    await client.endAsync();
  }, 60_000);

  it('answers every operation of the public API with a 2xx, 3xx or a 4xx problem, whatever the input', async () => {
    const doc = (await (await fetch(`${platform.gatewayUrl}/docs/openapi.json`)).json()) as {
      paths: Record<string, Record<string, OpenApiOperation>>;
    };
    const operations = collectOperations(doc.paths);
    expect(operations.length).toBeGreaterThan(20);
    const paramValue = fc.oneof(fc.constant(assetId), fc.uuid(), anyString);
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(
          fc.array(paramValue, { minLength: op.pathParams.length, maxLength: op.pathParams.length }),
          fc.dictionary(fc.constantFrom(...op.queryParams, 'unknown'), fc.oneof(anyString, fc.uuid())),
          bodyFor(op),
          async (pathValues, query, body) => {
            let url = op.path;
            op.pathParams.forEach((name, i) => {
              url = url.replace(`{${name}}`, encodePathSegment(pathValues[i] as string));
            });
            const qs = new URLSearchParams(query).toString();
            const outcome = await send(op.method, qs ? `${url}?${qs}` : url, body);
            count('api cases');
            expectHandled(
              outcome,
              `${op.method} ${url.slice(0, 200)}?${qs.slice(0, 200)} ${body?.slice(0, 200) ?? ''}`,
            );
          },
        ),
        fcParams(runsPerOperation),
      );
      count('api operations');
    }
    for (const service of Object.values(platform.services)) {
      expect((await fetch(`${service.url}/health`)).status, `${service.name} still answers`).toBe(200);
    }
  }, 240_000);

  function bodyFor(op: Operation): fc.Arbitrary<string | undefined> {
    if (op.bodyProperties === undefined) return fc.constant(undefined);
    const keys = op.bodyProperties.length > 0 ? op.bodyProperties : ['name'];
    return fc.oneof(
      fc.dictionary(fc.constantFrom(...keys), anyJson).map((o) => JSON.stringify(o)),
      anyJson.map((v) => JSON.stringify(v)),
      fc.constantFrom(...rawBodies),
    );
  }
});

/** Percent-encodes every byte of the UTF-8 form but unreserved characters (lone surrogates included). */
function encodePathSegment(value: string): string {
  return [...Buffer.from(value, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0')}`,
    )
    .join('');
}

interface OpenApiOperation {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

function collectOperations(paths: Record<string, Record<string, OpenApiOperation>>): Operation[] {
  const operations: Operation[] = [];
  for (const [route, methods] of Object.entries(paths)) {
    if (!route.startsWith('/api/v1/') || route.endsWith('/stream')) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      const params = op.parameters ?? [];
      const json = op.requestBody?.content?.['application/json'];
      operations.push({
        method: method.toUpperCase(),
        path: route,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        bodyProperties: json ? Object.keys(json.schema?.properties ?? {}) : undefined,
      });
    }
  }
  return operations;
}
