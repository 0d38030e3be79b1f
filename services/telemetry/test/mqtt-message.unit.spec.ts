import { describe, expect, it } from 'vitest';
import {
  deadLetterReason,
  MAX_PAYLOAD_BYTES,
  parseDeviceMessage,
  parseTopic,
  printable,
  storedPayload,
  topicRoot,
} from '../src/mqtt/mqtt-message.js';

const asset = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
const topic = `assetops/${asset}/telemetry`;
const receivedAtMs = Date.parse('2026-11-28T12:00:00.000Z');
const limits = { receivedAtMs, latenessMs: 3_600_000, maxFutureMs: 300_000 };
const parse = (payload: unknown, t = topic) =>
  parseDeviceMessage(t, Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), limits);

describe('MQTT device messages', () => {
  it('takes the asset id from the topic', () => {
    expect(parseTopic(`assetops/${asset.toUpperCase()}/telemetry`)).toBe(asset);
    expect(parseTopic('assetops/pump-7/telemetry')).toMatchObject({ code: 'INVALID_ASSET_ID' });
    expect(parseTopic(`assetops/${asset}/status`)).toMatchObject({ code: 'INVALID_TOPIC' });
    expect(parseTopic(`x/assetops/${asset}/telemetry`)).toMatchObject({ code: 'INVALID_TOPIC' });
    expect(parseTopic(`site-a/assetops/${asset}/telemetry`, 'site-a/assetops')).toBe(asset);
    expect(topicRoot('$share/telemetry/site-a/assetops/+/telemetry')).toBe('site-a/assetops');
    expect(topicRoot('assetops/+/telemetry')).toBe('assetops');
  });

  it('reads one measurement, a set of values, or an array of both', () => {
    expect(parse({ metric: 'temperature', value: 71.2, ts: '2026-11-28T11:59:00Z' })).toEqual({
      items: [{ assetId: asset, metric: 'temperature', value: 71.2, tsMs: receivedAtMs - 60_000 }],
      labels: ['temperature'],
    });
    expect(
      parse({ ts: receivedAtMs - 1000, values: { temperature: 71.2, rpm: 1480, running: true } }),
    ).toEqual({
      items: [
        { assetId: asset, metric: 'temperature', value: 71.2, tsMs: receivedAtMs - 1000 },
        { assetId: asset, metric: 'rpm', value: 1480, tsMs: receivedAtMs - 1000 },
        { assetId: asset, metric: 'running', value: 1, tsMs: receivedAtMs - 1000 },
      ],
      labels: ['temperature', 'rpm', 'running'],
    });
    // No ts: the time of receipt.
    expect(parse([{ metric: 'rpm', value: 1 }, { values: { flow: 2 } }])).toEqual({
      items: [
        { assetId: asset, metric: 'rpm', value: 1, tsMs: receivedAtMs },
        { assetId: asset, metric: 'flow', value: 2, tsMs: receivedAtMs },
      ],
      labels: ['[0] rpm', '[1] flow'],
    });
  });

  it('rejects each bad reading on its own, with the checks of the HTTP API', () => {
    const message = parse(
      '[{"values": {"temperature": 70, "rpm": "fast", "9bad": 1, "flow": 1e999}}, 7,' +
        ' {"metric": "rpm", "value": 1, "ts": "2026-11-28T13:00:00Z"}, {"metric": "rpm", "values": {}}]',
    );
    expect(message.labels).toEqual([
      '[0] temperature',
      '[0] rpm',
      '[0] 9bad',
      '[0] flow',
      '[1] reading',
      '[2] rpm',
      '[3] reading',
    ]);
    expect(message.items.map((i) => ('code' in i ? i.code : 'ok'))).toEqual([
      'ok',
      'INVALID_VALUE',
      'INVALID_METRIC',
      'INVALID_VALUE',
      'INVALID_MESSAGE',
      'TS_IN_FUTURE',
      'INVALID_MESSAGE',
    ]);
  });

  it('rejects a message as a whole when it cannot be read', () => {
    const code = (payload: unknown, t = topic) => {
      const m = parse(payload, t);
      expect(m.labels).toEqual(['message']);
      return (m.items[0] as { code: string }).code;
    };
    expect(code('{"metric": "rpm", ')).toBe('INVALID_JSON');
    expect(code({ metric: 'rpm', value: 1 }, 'assetops/nope/telemetry')).toBe('INVALID_ASSET_ID');
    expect(code([])).toBe('EMPTY_MESSAGE');
    expect(code(`"${'x'.repeat(MAX_PAYLOAD_BYTES)}"`)).toBe('PAYLOAD_TOO_LARGE');
    expect(code({ values: Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`m${i}`, i])) })).toBe(
      'TOO_MANY_READINGS',
    );
    expect(parse({ hello: 'world' }).items).toEqual([
      { code: 'INVALID_MESSAGE', reason: expect.any(String) },
    ]);
  });

  it('explains a dead letter by grouping its rejections', () => {
    expect(
      deadLetterReason(
        [
          { reading: 'rpm', code: 'INVALID_VALUE', reason: 'value must be a finite number (or a boolean)' },
          { reading: 'flow', code: 'INVALID_VALUE', reason: 'value must be a finite number (or a boolean)' },
          { reading: '9bad', code: 'INVALID_METRIC', reason: 'bad metric' },
        ],
        4,
      ),
    ).toBe(
      '3 of 4 readings rejected: INVALID_VALUE (rpm, flow): value must be a finite number (or a boolean); ' +
        'INVALID_METRIC (9bad): bad metric',
    );
    expect(deadLetterReason([{ reading: 'message', code: 'INVALID_JSON', reason: 'not JSON' }], 1)).toBe(
      'INVALID_JSON (message): not JSON',
    );
  });

  it('keeps payloads and names in a form PostgreSQL stores', () => {
    expect(storedPayload(Buffer.from('{"a": 1}'))).toEqual({ raw: '{"a": 1}' });
    expect(storedPayload(Buffer.from([0x7b, 0x00, 0x7d]))).toEqual({ rawBase64: 'ewB9' });
    expect(storedPayload(Buffer.from([0xff, 0xfe]))).toEqual({ rawBase64: '//4=' });
    const big = storedPayload(Buffer.from('é'.repeat(40_000))) as { raw: string };
    expect(big.raw.length).toBeLessThan(40_000);
    expect(big.raw.endsWith('…')).toBe(true);
    expect(printable('a\u0000b\nc\ud800d\ud83d\ude00')).toBe('a?b?c\ufffdd\ud83d\ude00');
    expect(printable('x'.repeat(150))).toBe(`${'x'.repeat(100)}…`);
  });
});
