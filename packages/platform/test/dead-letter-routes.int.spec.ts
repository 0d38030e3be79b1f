import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHttpApp,
  createLogger,
  type HttpApp,
  messagingMigrations,
  recordDeadLetter,
  registerDeadLetterRoutes,
  runMigrations,
} from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../src/testkit/index.js';
import { assetUpdated } from './messaging/backbone.harness.js';

describe('dead-letter API', () => {
  let db: TestDatabase;
  let app: HttpApp;
  const base = '/api/v1/ops/alert/dead-letters';

  beforeAll(async () => {
    db = await createTestDatabase('deadletters');
    await runMigrations(db.pool, [messagingMigrations]);
    app = await createHttpApp({
      service: 'alert',
      logger: createLogger({ service: 'alert', level: 'silent' }),
    });
    registerDeadLetterRoutes(app, { pool: db.pool, service: 'alert' });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('lists, pages, shows and redrives dead letters; refuses what cannot be redriven', async () => {
    const event = assetUpdated(randomUUID(), 1);
    const eventLetter = await recordDeadLetter(db.pool, {
      consumer: 'alert',
      eventId: event.id,
      type: event.type,
      subject: event.subject,
      payload: event,
      reason: 'handler failed 8 times: rule store unavailable',
      attempts: 8,
    });
    const rawLetter = await recordDeadLetter(db.pool, {
      consumer: 'alert.device',
      payload: { raw: '{not json' },
      reason: 'not JSON',
    });

    const firstPage = await app.inject({ method: 'GET', url: `${base}?limit=1` });
    expect(firstPage.statusCode).toBe(200);
    const page1 = firstPage.json();
    expect(page1.items.map((l: { id: number }) => l.id)).toEqual([rawLetter]);
    expect(page1.items[0]).toMatchObject({ eventId: null, reason: 'not JSON', redrivable: false });
    const second = await app.inject({ method: 'GET', url: `${base}?limit=1&cursor=${page1.nextCursor}` });
    expect(second.json().items.map((l: { id: number }) => l.id)).toEqual([eventLetter]);
    expect(second.json().nextCursor).toBeNull();

    const filtered = await app.inject({ method: 'GET', url: `${base}?consumer=alert` });
    expect(filtered.json().items).toHaveLength(1);
    expect(filtered.json().items[0]).toMatchObject({ id: eventLetter, attempts: 8, redrivable: true });

    const shown = await app.inject({ method: 'GET', url: `${base}/${eventLetter}` });
    expect(shown.statusCode).toBe(200);
    expect(shown.json().payload).toMatchObject({ id: event.id, type: event.type });

    const redriven = await app.inject({ method: 'POST', url: `${base}/${eventLetter}/redrive` });
    expect(redriven.statusCode).toBe(200);
    expect(redriven.json()).toMatchObject({ id: eventLetter, redrivable: false });
    expect(redriven.json().redrivenAt).toEqual(expect.any(String));
    const { rows } = await db.pool.query('SELECT status, attempts FROM inbox WHERE event_id = $1', [
      event.id,
    ]);
    expect(rows).toEqual([{ status: 'pending', attempts: 0 }]);

    const again = await app.inject({ method: 'POST', url: `${base}/${eventLetter}/redrive` });
    expect(again.statusCode).toBe(409);
    expect(again.headers['content-type']).toContain('application/problem+json');
    expect(again.json().code).toBe('DEAD_LETTER_ALREADY_REDRIVEN');
    const notAnEvent = await app.inject({ method: 'POST', url: `${base}/${rawLetter}/redrive` });
    expect(notAnEvent.statusCode).toBe(409);
    expect(notAnEvent.json().code).toBe('DEAD_LETTER_NOT_REDRIVABLE');

    const open = await app.inject({ method: 'GET', url: base });
    expect(open.json().items.map((l: { id: number }) => l.id)).toEqual([rawLetter]);
    const all = await app.inject({ method: 'GET', url: `${base}?includeRedriven=true` });
    expect(all.json().items).toHaveLength(2);
  });

  it('answers 404 for an unknown letter and 400 for a bad id or cursor', async () => {
    const missing = await app.inject({ method: 'GET', url: `${base}/999999` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('DEAD_LETTER_NOT_FOUND');
    expect((await app.inject({ method: 'POST', url: `${base}/999999/redrive` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: `${base}/abc` })).statusCode).toBe(400);
    const badCursor = await app.inject({ method: 'GET', url: `${base}?cursor=bm9wZQ` });
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().code).toBe('INVALID_CURSOR');
  });
});
