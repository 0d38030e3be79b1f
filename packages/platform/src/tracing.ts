import { randomFillSync } from 'node:crypto';

/**
 * W3C trace context and a small span recorder with an OpenTelemetry (OTLP/HTTP JSON) exporter.
 *
 * Every HTTP request gets a server span (a child of the caller's `traceparent`, or the root of a new
 * trace); its `traceparent` is what the request's commands put on their events, and an event's
 * handler runs in a consumer span that is a child of it — so one trace follows a reading from the
 * HTTP call through the events it causes in other services. Spans are exported only when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; otherwise the
 * context is still propagated and nothing is recorded.
 */

/** The identity of a span, as carried by `traceparent`. */
export interface SpanContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * Parses a version-00 `traceparent`; `undefined` when malformed or all-zero (the W3C spec says to
 * ignore such a header rather than refuse the request).
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
 * // { traceId: '4bf9…4736', spanId: '00f0…02b7', sampled: true }
 */
export function parseTraceparent(value: string | undefined): SpanContext | undefined {
  const match = value ? TRACEPARENT.exec(value) : null;
  if (!match) return undefined;
  const [, traceId, spanId, flags] = match as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** The `traceparent` header value of a span. */
export function formatTraceparent(ctx: SpanContext): string {
  return `00-${ctx.traceId}-${ctx.spanId}-${ctx.sampled ? '01' : '00'}`;
}

export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal';
type AttributeValue = string | number | boolean;

/** A finished span, as handed to an exporter. */
export interface SpanRecord {
  service: string;
  name: string;
  kind: SpanKind;
  context: SpanContext;
  parentSpanId: string | undefined;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, AttributeValue>;
  error: string | undefined;
}

export interface Span {
  readonly context: SpanContext;
  /** This span's `traceparent`, for the requests and events it causes. */
  readonly traceparent: string;
  setAttribute(key: string, value: AttributeValue): void;
  /** Ends the span (once; later calls are ignored), failed when `error` is given. */
  end(error?: unknown): void;
}

export interface SpanExporter {
  export(span: SpanRecord): void;
  /** Sends what is buffered; resolves when done (or failed: export errors are never thrown). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface Tracer {
  startSpan(
    name: string,
    opts?: { kind?: SpanKind; parent?: SpanContext | undefined; attributes?: Record<string, AttributeValue> },
  ): Span;
}

const noopExporter: SpanExporter = {
  export() {},
  flush: async () => {},
  shutdown: async () => {},
};

let processExporter: SpanExporter = noopExporter;

/**
 * Sets where every tracer of this process exports to (the runtimes call it once, from the
 * environment); returns the exporter so the runtime can flush it at shutdown.
 *
 * @example
 * const exporter = configureTracing(process.env); // OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318
 */
export function configureTracing(env: Record<string, string | undefined>): SpanExporter {
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint = tracesEndpoint ?? (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  processExporter = endpoint ? createOtlpHttpExporter({ endpoint }) : noopExporter;
  return processExporter;
}

// Span and trace ids come from a pool of random bytes refilled 4 KiB at a time: a span per consumed
// event made `randomBytes` (one RNG call per id) a measurable share of a busy process's CPU.
const randomPool = Buffer.alloc(4096);
let randomOffset = randomPool.length;

/** `bytes` cryptographically random bytes as lowercase hex. */
function randomHex(bytes: number): string {
  if (randomOffset + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const hex = randomPool.toString('hex', randomOffset, randomOffset + bytes);
  randomOffset += bytes;
  return hex;
}

/**
 * A tracer of one service. Span ids are random; the exporter is the given one, else the process's
 * (see {@link configureTracing}), looked up when each span ends.
 *
 * @example
 * const span = createTracer('alert').startSpan('evaluate', { parent: parseTraceparent(event.traceparent) });
 * span.end();
 */
export function createTracer(service: string, exporter?: SpanExporter): Tracer {
  return {
    startSpan(name, opts = {}) {
      const parent = opts.parent;
      const context: SpanContext = {
        traceId: parent?.traceId ?? randomHex(16),
        spanId: randomHex(8),
        sampled: parent?.sampled ?? true,
      };
      const attributes: Record<string, AttributeValue> = { ...opts.attributes };
      const start = nowUnixNano();
      let ended = false;
      return {
        context,
        traceparent: formatTraceparent(context),
        setAttribute(key, value) {
          attributes[key] = value;
        },
        end(error) {
          if (ended) return;
          ended = true;
          if (!context.sampled) return;
          (exporter ?? processExporter).export({
            service,
            name,
            kind: opts.kind ?? 'internal',
            context,
            parentSpanId: parent?.spanId,
            startTimeUnixNano: start,
            endTimeUnixNano: nowUnixNano(),
            attributes,
            error: error === undefined ? undefined : error instanceof Error ? error.message : String(error),
          });
        },
      };
    },
  };
}

const originNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
function nowUnixNano(): bigint {
  return originNs + process.hrtime.bigint();
}

const KIND_NUMBER: Record<SpanKind, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

/**
 * Exports spans to an OpenTelemetry collector over OTLP/HTTP with JSON encoding, in batches (every
 * `intervalMs` or `maxBatch` spans). Spans beyond `maxQueue` are dropped and counted: tracing
 * must never slow the work it observes or grow memory without bound.
 */
export function createOtlpHttpExporter(opts: {
  endpoint: string;
  intervalMs?: number;
  maxBatch?: number;
  maxQueue?: number;
  headers?: Record<string, string>;
}): SpanExporter & { dropped(): number } {
  const maxBatch = opts.maxBatch ?? 512;
  const maxQueue = opts.maxQueue ?? 8192;
  let queue: SpanRecord[] = [];
  let dropped = 0;
  let sending: Promise<void> = Promise.resolve();
  const timer = setInterval(() => void flush(), opts.intervalMs ?? 1000);
  timer.unref();

  async function send(batch: SpanRecord[]): Promise<void> {
    const byService = new Map<string, SpanRecord[]>();
    for (const span of batch) byService.set(span.service, [...(byService.get(span.service) ?? []), span]);
    const body = {
      resourceSpans: [...byService].map(([service, spans]) => ({
        resource: { attributes: [{ key: 'service.name', value: { stringValue: `assetops-${service}` } }] },
        scopeSpans: [
          {
            scope: { name: '@assetops/platform' },
            spans: spans.map((span) => ({
              traceId: span.context.traceId,
              spanId: span.context.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: KIND_NUMBER[span.kind],
              startTimeUnixNano: span.startTimeUnixNano.toString(),
              endTimeUnixNano: span.endTimeUnixNano.toString(),
              attributes: Object.entries(span.attributes).map(([key, value]) => ({
                key,
                value: otlpValue(value),
              })),
              status: span.error === undefined ? { code: 1 } : { code: 2, message: span.error },
            })),
          },
        ],
      })),
    };
    try {
      const response = await fetch(opts.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...opts.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) dropped += batch.length;
    } catch {
      dropped += batch.length;
    }
  }

  function flush(): Promise<void> {
    sending = sending.then(async () => {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(maxBatch);
        await send(batch);
      }
    });
    return sending;
  }

  return {
    export(span) {
      if (queue.length >= maxQueue) {
        dropped += 1;
        return;
      }
      queue.push(span);
      if (queue.length >= maxBatch) void flush();
    },
    flush,
    async shutdown() {
      clearInterval(timer);
      await flush();
    },
    dropped: () => dropped,
  };
}

function otlpValue(value: AttributeValue) {
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}
