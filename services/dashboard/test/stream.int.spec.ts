import { randomUUID } from 'node:crypto';
import type { DashboardAsset, DashboardFleetTotals } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardHarness, events, eventually, startDashboard } from './support/harness.js';

interface SseMessage {
  event: string;
  id?: number;
  data: unknown;
}

/** Reads an SSE response with fetch and a stream reader, as the web UI does. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  });
  const messages: SseMessage[] = [];
  const comments: string[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const reading = (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          const message: Partial<SseMessage> & { data?: unknown } = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) message.event = line.slice(7);
            else if (line.startsWith('id: ')) message.id = Number(line.slice(4));
            else if (line.startsWith('data: ')) message.data = JSON.parse(line.slice(6));
          }
          if (message.event) messages.push(message as SseMessage);
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    response,
    messages,
    comments,
    async close() {
      controller.abort();
      await reading;
    },
  };
}

describe('dashboard live stream (SSE)', () => {
  let h: DashboardHarness;
  let baseUrl: string;
  beforeAll(async () => {
    h = await startDashboard({ env: { DASHBOARD_STREAM_KEEPALIVE: '200ms' } });
    baseUrl = await h.service.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => h?.close());

  it('sends fleet totals, then every committed change of an asset, with keep-alives', async () => {
    const stream = await openStream(`${baseUrl}/api/v1/dashboard/stream`);
    try {
      expect(stream.response.status).toBe(200);
      expect(stream.response.headers.get('content-type')).toContain('text/event-stream');
      await eventually(async () => stream.messages.find((m) => m.event === 'fleet'));
      const assetId = randomUUID();
      await h.deliver(events.registered(assetId, { name: 'Streamed pump' }));
      await h.deliver(events.telemetry(assetId, 'temperature', 77, '2026-03-02T10:00:09.000Z'));
      const changed = await eventually(async () =>
        stream.messages.find(
          (m) =>
            m.event === 'asset' &&
            (m.data as DashboardAsset).assetId === assetId &&
            (m.data as DashboardAsset).lastSeenAt,
        ),
      );
      expect((changed.data as DashboardAsset).latest.temperature?.value).toBe(77);
      expect(changed.id).toBe((changed.data as DashboardAsset).position);
      // Totals follow the change (coalesced).
      await eventually(async () =>
        stream.messages.find(
          (m) => m.event === 'fleet' && (m.data as DashboardFleetTotals).assets.total >= 1,
        ),
      );
      await eventually(async () => (stream.comments.includes('keepalive') ? true : undefined));
      const ids = stream.messages.filter((m) => m.id !== undefined).map((m) => m.id!);
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    } finally {
      await stream.close();
    }
  });

  it('resumes after Last-Event-ID with the assets changed since', async () => {
    const before = randomUUID();
    await h.deliver(events.registered(before, { name: 'Before' }));
    const first = await openStream(`${baseUrl}/api/v1/dashboard/stream`);
    const fleet = await eventually(async () => first.messages.find((m) => m.event === 'fleet'));
    await first.close();
    const after = randomUUID();
    await h.deliver(events.registered(after, { name: 'After' }));
    const resumed = await openStream(`${baseUrl}/api/v1/dashboard/stream`, {
      'last-event-id': String(fleet.id),
    });
    try {
      const caughtUp = await eventually(async () =>
        resumed.messages.find((m) => m.event === 'asset' && (m.data as DashboardAsset).assetId === after),
      );
      expect(caughtUp).toBeDefined();
      expect(
        resumed.messages.some((m) => m.event === 'asset' && (m.data as DashboardAsset).assetId === before),
      ).toBe(false);
    } finally {
      await resumed.close();
    }
  });
});
