import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { IngestBody, type IngestResult, IngestResultSchema, ProblemSchema } from '@assetops/contracts';
import { type HttpApp, ValidationError } from '@assetops/platform';
import { DEVICE_SCOPE_HEADER, type DeviceScope, deviceScopeOf, restrictToScope } from './device-scope.js';
import type { IngestItem, Ingestor } from './ingest.js';
import { parseReading } from './validate.js';

/** How many NDJSON readings are written per transaction while a stream is read. */
const NDJSON_CHUNK = 5000;
export const MAX_READINGS_PER_REQUEST = 10_000;

const tags = ['telemetry'];

/**
 * `POST /api/v1/telemetry`: JSON `{readings: [...]}` (up to 10,000), or NDJSON (one reading per
 * line, any number, written in chunks as the body streams in). Valid readings are stored; the
 * answer lists each rejected one with its index (NDJSON: its line, from 0) and reason. A 200 means
 * every accepted reading is durable.
 */
export function registerIngestRoutes(app: HttpApp, ingestor: Ingestor): void {
  app.addContentTypeParser(['application/x-ndjson', 'application/ndjson'], (_request, payload, done) =>
    done(null, payload),
  );

  app.post(
    '/api/v1/telemetry',
    {
      schema: {
        tags,
        summary: 'Ingest readings (JSON up to 10,000 per request, or NDJSON for bulk streams)',
        description:
          'Each reading is {assetId, metric, value, ts?}; ts is RFC 3339 or epoch ms and defaults to the time of receipt. ' +
          'Invalid readings are listed in `rejected` with their index and reason; the others are stored.',
        body: IngestBody,
        response: { 200: IngestResultSchema, 400: ProblemSchema, 413: ProblemSchema },
      },
      // NDJSON bodies are streams and are not validated by the JSON schema.
      preValidation: async (request) => {
        if (isNdjson(request.headers['content-type'])) request.body = { readings: [] };
      },
    },
    async (request) => {
      // A device token's readings are limited to its asset (set by the gateway, see device-scope.ts).
      const scope = deviceScopeOf(request.headers[DEVICE_SCOPE_HEADER]);
      if (isNdjson(request.headers['content-type'])) {
        return ingestNdjson(ingestor, request.raw as Readable, scope);
      }
      if (scope === undefined) return ingestor.ingestRaw(request.body.readings);
      const limits = ingestor.limits();
      return ingestor.ingest(
        request.body.readings.map((reading) => restrictToScope(parseReading(reading, limits), scope)),
        'http',
      );
    },
  );
}

function isNdjson(contentType: string | undefined): boolean {
  return /^application\/(x-)?ndjson\b/i.test(contentType ?? '');
}

async function ingestNdjson(
  ingestor: Ingestor,
  body: Readable,
  scope: DeviceScope | undefined,
): Promise<IngestResult> {
  const total: IngestResult = { accepted: 0, duplicates: 0, rejected: [] };
  let chunk: IngestItem[] = [];
  let lineOf: number[] = [];
  let lineNo = -1;
  let readings = 0;
  const flush = async () => {
    const result = await ingestor.ingest(chunk, 'http');
    total.accepted += result.accepted;
    total.duplicates += result.duplicates;
    for (const r of result.rejected) {
      if (total.rejected.length < MAX_READINGS_PER_REQUEST)
        total.rejected.push({ ...r, index: lineOf[r.index]! });
    }
    readings += chunk.length;
    chunk = [];
    lineOf = [];
  };
  const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
  const limits = ingestor.limits();
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue; // blank lines separate nothing; they are skipped
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      chunk.push({ code: 'INVALID_JSON', reason: 'the line is not valid JSON' });
      lineOf.push(lineNo);
      continue;
    }
    chunk.push(restrictToScope(parseReading(parsed, limits), scope));
    lineOf.push(lineNo);
    if (chunk.length >= NDJSON_CHUNK) await flush();
  }
  if (chunk.length > 0) await flush();
  if (readings === 0) throw new ValidationError('EMPTY_BODY', 'the NDJSON body holds no readings');
  return total;
}
