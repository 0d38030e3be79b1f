import type { Technician, TechnicianPage } from '@assetops/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MaintenanceHarness, startMaintenance } from './support/harness.js';

describe('technicians API', () => {
  let h: MaintenanceHarness;
  beforeAll(async () => {
    h = await startMaintenance();
  });
  afterAll(() => h?.close());

  it('adds a technician: active, available, on call by default (201, location, etag)', async () => {
    const response = await h.api<Technician>('POST', '/api/v1/technicians', {
      name: 'Ann',
      skills: ['electrical'],
    });
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe(`/api/v1/technicians/${response.body.id}`);
    expect(response.headers.etag).toBe('"1"');
    expect(response.body).toMatchObject({
      name: 'Ann',
      skills: ['electrical'],
      shifts: [],
      available: true,
      active: true,
      openWorkOrders: 0,
      version: 1,
      createdAt: h.clock.now().toISOString(),
    });
    const read = await h.api<Technician>('GET', `/api/v1/technicians/${response.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(response.body);
  });

  it.each([
    [{ name: '' }, '/body/name'],
    [{ name: 'x', skills: ['Not A Skill'] }, '/body/skills/0'],
    [{ name: 'x', skills: ['a', 'a'] }, '/body/skills'],
    [{ name: 'x', shifts: [{ days: ['mon'], start: '25:00', end: '06:00' }] }, '/body/shifts/0/start'],
    [{ name: 'x', shifts: [{ days: ['someday'], start: '08:00', end: '16:00' }] }, '/body/shifts/0/days/0'],
    [{ name: 'x', shifts: [{ days: [], start: '08:00', end: '16:00' }] }, '/body/shifts/0/days'],
    [{ name: 'x', role: 'boss' }, '/body/role'],
  ])('refuses %j with a 400 naming the field', async (body, path) => {
    const response = await h.api<{ code: string; errors: { path: string }[] }>(
      'POST',
      '/api/v1/technicians',
      body,
    );
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('VALIDATION_FAILED');
    expect(response.body.errors.map((e) => e.path)).toContain(path);
  });

  it('answers 404 for an unknown technician and 400 for a malformed id', async () => {
    const missing = await h.api<{ code: string }>(
      'GET',
      '/api/v1/technicians/01900000-0000-7000-8000-000000000000',
    );
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('TECHNICIAN_NOT_FOUND');
    expect((await h.api('GET', '/api/v1/technicians/nope')).status).toBe(400);
    const patch = await h.api<{ code: string }>(
      'PATCH',
      '/api/v1/technicians/01900000-0000-7000-8000-000000000000',
      { available: false },
    );
    expect(patch.status).toBe(404);
  });

  it('changes skills, shifts and availability; a request that changes nothing keeps the version', async () => {
    const ann = await h.addTechnician({ name: 'Ann' });
    const shifts = [{ days: ['mon', 'tue'], start: '06:00', end: '14:00' }];
    const changed = await h.api<Technician>('PATCH', `/api/v1/technicians/${ann.id}`, {
      skills: ['hvac', 'electrical'],
      shifts,
      available: false,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      skills: ['hvac', 'electrical'],
      shifts,
      available: false,
      version: 2,
    });
    expect(changed.headers.etag).toBe('"2"');
    // The same windows with their keys in another order are the same windows.
    const again = await h.api<Technician>('PATCH', `/api/v1/technicians/${ann.id}`, {
      shifts: [{ end: '14:00', start: '06:00', days: ['mon', 'tue'] }],
      available: false,
    });
    expect(again.body.version).toBe(2);
    expect((await h.api('PATCH', `/api/v1/technicians/${ann.id}`, {})).status).toBe(400);
  });

  it('honours If-Match (412 on a stale version, 400 on a malformed one)', async () => {
    const ann = await h.addTechnician({ name: 'Ann' });
    const stale = await h.api<{ code: string; currentVersion: number }>(
      'PATCH',
      `/api/v1/technicians/${ann.id}`,
      { name: 'Anna' },
      { 'if-match': '"7"' },
    );
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ code: 'TECHNICIAN_VERSION_MISMATCH', currentVersion: 1 });
    const fresh = await h.api<Technician>(
      'PATCH',
      `/api/v1/technicians/${ann.id}`,
      { name: 'Anna' },
      { 'if-match': '"1"' },
    );
    expect(fresh.body).toMatchObject({ name: 'Anna', version: 2 });
    const bad = await h.api<{ code: string }>(
      'PATCH',
      `/api/v1/technicians/${ann.id}`,
      { name: 'x' },
      { 'if-match': 'v1' },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_IF_MATCH');
  });

  it('deactivates and reactivates; lists active technicians unless asked, by skill, page by page', async () => {
    const skill = 'pneumatics';
    const added: Technician[] = [];
    for (const name of ['P1', 'P2', 'P3', 'P4', 'P5'])
      added.push(await h.addTechnician({ name, skills: [skill] }));
    const gone = await h.api<Technician>('POST', `/api/v1/technicians/${added[1]!.id}/deactivate`);
    expect(gone.status).toBe(200);
    expect(gone.body).toMatchObject({ active: false, version: 2 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/api/v1/technicians?skill=${skill}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page: TechnicianPage = (await h.api<TechnicianPage>('GET', query)).body;
      seen.push(...page.items.map((t) => t.name));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['P1', 'P3', 'P4', 'P5']);
    const inactive = await h.api<TechnicianPage>('GET', `/api/v1/technicians?skill=${skill}&active=false`);
    expect(inactive.body.items.map((t) => t.name)).toEqual(['P2']);
    const back = await h.api<Technician>('POST', `/api/v1/technicians/${added[1]!.id}/activate`);
    expect(back.body).toMatchObject({ active: true, version: 3 });
    const badCursor = await h.api<{ code: string }>('GET', '/api/v1/technicians?cursor=garbage');
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('INVALID_CURSOR');
  });
});
