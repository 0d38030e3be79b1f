import { isUtf8 } from 'node:buffer';
import type { IngestItem } from '../ingest/ingest.js';
import { parseMeasurement, type Rejection, type TimeLimits } from '../ingest/validate.js';

/** Larger payloads are dead-lettered unread. */
export const MAX_PAYLOAD_BYTES = 1024 * 1024;
/** The most readings one message may carry (the HTTP batch limit). */
export const MAX_READINGS_PER_MESSAGE = 10_000;
/** How much of a dead-lettered payload is kept. */
const MAX_STORED_PAYLOAD_BYTES = 64 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A device message split into ingest items (each reading, or the rejection of one), with a label
 * per item that names it in a dead letter (`rpm`, `[2] temperature`). A message rejected as a whole
 * (bad topic, not JSON, wrong shape) is one rejection labelled `message`.
 */
export interface DeviceMessage {
  items: IngestItem[];
  labels: string[];
}

const whole = (code: string, reason: string): DeviceMessage => ({
  items: [{ code, reason }],
  labels: ['message'],
});

/**
 * The topic root of a subscription filter: `assetops` for `assetops/+/telemetry` and for the shared
 * subscription `$share/telemetry/assetops/+/telemetry`; `site-a/assetops` for `site-a/assetops/+/telemetry`.
 */
export function topicRoot(filter: string): string {
  const plain = filter.startsWith('$share/') ? filter.split('/').slice(2).join('/') : filter;
  return plain.endsWith('/+/telemetry') ? plain.slice(0, -'/+/telemetry'.length) : 'assetops';
}

/** The asset id of a telemetry topic `<root>/<assetId>/telemetry` (lower case), or why the topic is not one. */
export function parseTopic(topic: string, root = 'assetops'): string | Rejection {
  const levels = topic.split('/');
  const rootLevels = root.split('/');
  if (
    levels.length !== rootLevels.length + 2 ||
    levels.slice(0, rootLevels.length).join('/') !== root ||
    levels.at(-1) !== 'telemetry'
  ) {
    return { code: 'INVALID_TOPIC', reason: `the topic must be ${root}/<assetId>/telemetry` };
  }
  const id = levels.at(-2)!;
  if (!UUID.test(id)) {
    return { code: 'INVALID_ASSET_ID', reason: 'the asset id in the topic must be a UUID' };
  }
  return id.toLowerCase();
}

/**
 * Parses one device message. The payload is JSON: `{"metric", "value", "ts"?}`, or
 * `{"ts"?, "values": {metric: value, …}}`, or an array of such objects; `ts` is RFC 3339 or epoch
 * milliseconds and defaults to the time of receipt (`limits.receivedAtMs`). Each reading is checked
 * like an HTTP one; its asset is checked later, in batch.
 */
export function parseDeviceMessage(
  topic: string,
  payload: Buffer,
  limits: TimeLimits,
  root = 'assetops',
): DeviceMessage {
  const assetId = parseTopic(topic, root);
  if (typeof assetId !== 'string') return whole(assetId.code, assetId.reason);
  if (payload.length > MAX_PAYLOAD_BYTES) {
    return whole('PAYLOAD_TOO_LARGE', `the payload exceeds ${MAX_PAYLOAD_BYTES} bytes`);
  }
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return whole('INVALID_JSON', 'the payload is not valid JSON');
  }
  const message: DeviceMessage = { items: [], labels: [] };
  const elements = Array.isArray(body) ? body : [body];
  if (elements.length === 0) return whole('EMPTY_MESSAGE', 'the payload holds no readings');
  elements.forEach((element, index) => {
    const prefix = Array.isArray(body) ? `[${index}] ` : '';
    for (const [item, label] of readingsOf(assetId, element, limits)) {
      message.items.push(item);
      message.labels.push(prefix + label);
    }
  });
  if (message.items.length > MAX_READINGS_PER_MESSAGE) {
    return whole('TOO_MANY_READINGS', `a message may hold at most ${MAX_READINGS_PER_MESSAGE} readings`);
  }
  return message;
}

const SHAPE = 'expected {"metric", "value", "ts"?} or {"ts"?, "values": {metric: value, …}}';

/** The readings of one object of a payload, each with its label. */
function readingsOf(assetId: string, element: unknown, limits: TimeLimits): [IngestItem, string][] {
  const reject = (label: string, code: string, reason: string): [IngestItem, string][] => [
    [{ code, reason }, label],
  ];
  if (typeof element !== 'object' || element === null || Array.isArray(element)) {
    return reject('reading', 'INVALID_MESSAGE', `not an object: ${SHAPE}`);
  }
  const { metric, value, values, ts } = element as Record<string, unknown>;
  if (values !== undefined) {
    if (metric !== undefined || value !== undefined) {
      return reject('reading', 'INVALID_MESSAGE', `both "metric" and "values": ${SHAPE}`);
    }
    if (typeof values !== 'object' || values === null || Array.isArray(values)) {
      return reject('values', 'INVALID_MESSAGE', '"values" must be an object {metric: value, …}');
    }
    const entries = Object.entries(values);
    if (entries.length === 0) return reject('values', 'EMPTY_MESSAGE', '"values" holds no readings');
    return entries.map(([name, v]) => [parseMeasurement(assetId, name, v, ts, limits), name]);
  }
  if (metric === undefined) return reject('reading', 'INVALID_MESSAGE', SHAPE);
  return [
    [parseMeasurement(assetId, metric, value, ts, limits), typeof metric === 'string' ? metric : 'metric'],
  ];
}

/** One rejected reading of a message, as listed in its dead letter. */
export interface RejectedInMessage {
  reading: string;
  code: string;
  reason: string;
}

/**
 * The dead-letter reason of a message: its rejections grouped by code, e.g.
 * `1 of 3 readings rejected: INVALID_VALUE (rpm): value must be a finite number (or a boolean)`.
 */
export function deadLetterReason(rejected: readonly RejectedInMessage[], readings: number): string {
  const groups = new Map<string, { reason: string; readings: string[] }>();
  for (const r of rejected) {
    const group = groups.get(r.code) ?? { reason: r.reason, readings: [] };
    group.readings.push(r.reading);
    groups.set(r.code, group);
  }
  const parts = [...groups].map(([code, g]) => {
    const named = g.readings.slice(0, 10).join(', ') + (g.readings.length > 10 ? ', …' : '');
    return `${code} (${named}): ${g.reason}`;
  });
  const head =
    rejected.length === 1 && rejected[0]!.reading === 'message'
      ? ''
      : `${rejected.length} of ${readings} readings rejected: `;
  return printable(head + parts.join('; '), 2000);
}

/**
 * What a dead letter keeps of a payload: the text (cut to 64 KiB) when it is UTF-8 JSON can store,
 * base64 otherwise (PostgreSQL's JSON and text types hold no NUL character).
 */
export function storedPayload(payload: Buffer): { raw: string } | { rawBase64: string } {
  const cut = payload.length > MAX_STORED_PAYLOAD_BYTES;
  if (isUtf8(payload) && !payload.includes(0)) {
    // Cutting may split a character: the decoder turns its remains into U+FFFD, never into a lone
    // surrogate (which PostgreSQL would refuse).
    const text = payload.subarray(0, MAX_STORED_PAYLOAD_BYTES).toString('utf8');
    return { raw: cut ? `${text}…` : text };
  }
  return { rawBase64: payload.subarray(0, MAX_STORED_PAYLOAD_BYTES).toString('base64') };
}

/**
 * Text safe to store and to read in a log: control characters become `?`, lone surrogates U+FFFD
 * (both are refused by PostgreSQL or garble a terminal), at most `max` characters.
 */
export function printable(text: string, max = 100): string {
  let out = '';
  let i = 0;
  for (; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) out += '?';
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else out += '\ufffd';
    } else if (c >= 0xdc00 && c <= 0xdfff) out += '\ufffd';
    else out += text[i]!;
  }
  return i < text.length ? `${out}…` : out;
}
