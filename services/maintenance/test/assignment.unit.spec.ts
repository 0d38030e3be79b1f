import type { ShiftWindow } from '@assetops/contracts';
import { describe, expect, it } from 'vitest';
import { requiredSkillFor } from '../src/alerts/skill-map.js';
import {
  type AssignmentCandidate,
  chooseTechnician,
  manualAssignmentNote,
} from '../src/assignment/assignment.js';
import { isOnShift } from '../src/technicians/technician.shift.js';

// 2026-03-02 is a Monday.
const monday = (hhmm: string) => new Date(`2026-03-02T${hhmm}:00.000Z`);
const tuesday = (hhmm: string) => new Date(`2026-03-03T${hhmm}:00.000Z`);
const sunday = (hhmm: string) => new Date(`2026-03-08T${hhmm}:00.000Z`);

function tech(name: string, more: Partial<AssignmentCandidate> = {}): AssignmentCandidate {
  return { id: `id-${name}`, name, skills: [], shifts: [], available: true, active: true, load: 0, ...more };
}

describe('shift windows (UTC)', () => {
  const day: ShiftWindow[] = [{ days: ['mon', 'tue'], start: '06:00', end: '14:00' }];
  const night: ShiftWindow[] = [{ days: ['mon'], start: '22:00', end: '06:00' }];

  it('is on shift from start (inclusive) to end (exclusive) on the listed days', () => {
    expect(isOnShift(day, monday('05:59'))).toBe(false);
    expect(isOnShift(day, monday('06:00'))).toBe(true);
    expect(isOnShift(day, tuesday('13:59'))).toBe(true);
    expect(isOnShift(day, tuesday('14:00'))).toBe(false);
    expect(isOnShift(day, sunday('10:00'))).toBe(false);
  });

  it('runs a window ending at or before its start past midnight into the next day', () => {
    expect(isOnShift(night, monday('21:59'))).toBe(false);
    expect(isOnShift(night, monday('23:30'))).toBe(true);
    expect(isOnShift(night, tuesday('05:59'))).toBe(true);
    expect(isOnShift(night, tuesday('06:00'))).toBe(false);
    expect(isOnShift(night, monday('03:00'))).toBe(false); // that is Sunday night's part
    const wrapsTheWeek = [{ days: ['sun' as const], start: '20:00', end: '04:00' }];
    expect(isOnShift(wrapsTheWeek, monday('03:00'))).toBe(true);
    const fullDay = [{ days: ['mon' as const], start: '08:00', end: '08:00' }];
    expect(isOnShift(fullDay, tuesday('07:59'))).toBe(true);
    expect(isOnShift(fullDay, tuesday('08:00'))).toBe(false);
    const untilMidnight = [{ days: ['mon' as const], start: '18:00', end: '24:00' }];
    expect(isOnShift(untilMidnight, monday('23:59'))).toBe(true);
    expect(isOnShift(untilMidnight, tuesday('00:00'))).toBe(false);
  });

  it('treats a technician without windows as on call at any time', () => {
    expect(isOnShift([], sunday('03:00'))).toBe(true);
  });
});

describe('automatic assignment (pure choice)', () => {
  const at = monday('10:00');

  it('chooses the least loaded technician with the skill who is on shift', () => {
    const choice = chooseTechnician(
      [
        tech('Ann', { skills: ['electrical'], load: 3 }),
        tech('Bob', { skills: ['mechanical'], load: 0 }),
        tech('Cem', { skills: ['electrical', 'mechanical'], load: 1 }),
        tech('Dia', {
          skills: ['electrical'],
          load: 0,
          shifts: [{ days: ['sat'], start: '00:00', end: '00:00' }],
        }),
      ],
      { requiredSkill: 'electrical', at },
    );
    expect(choice.technician?.name).toBe('Cem');
    expect(choice.reason).toBe(
      "automatically assigned to Cem with skill 'electrical', on shift, holding 1 open work order",
    );
  });

  it('lets anyone take work that needs no skill; ties go to the name, then the id', () => {
    const candidates = [tech('Zoe'), tech('Ann', { id: 'b' }), tech('Ann', { id: 'a' })];
    expect(chooseTechnician(candidates, { requiredSkill: null, at }).technician?.id).toBe('a');
    expect(chooseTechnician([...candidates].reverse(), { requiredSkill: null, at }).technician?.id).toBe('a');
  });

  it('never chooses an inactive or unavailable technician, and says why when nobody fits', () => {
    const choice = chooseTechnician(
      [tech('Ann', { active: false }), tech('Bob', { available: false }), tech('Cem', { skills: ['hvac'] })],
      { requiredSkill: 'mechanical', at },
    );
    expect(choice).toEqual({
      technician: null,
      reason:
        "no active, available technician with skill 'mechanical' is on shift at 2026-03-02T10:00:00.000Z",
    });
    expect(
      chooseTechnician([tech('Ann', { available: false })], { requiredSkill: null, at }).technician,
    ).toBeNull();
  });

  it('notes what a manual assignment overrode', () => {
    const need = { requiredSkill: 'hvac', at };
    expect(manualAssignmentNote(tech('Ann', { skills: ['hvac'] }), need)).toBe('manually assigned to Ann');
    expect(
      manualAssignmentNote(
        tech('Bob', { available: false, shifts: [{ days: ['sun'], start: '08:00', end: '16:00' }] }),
        need,
      ),
    ).toBe(
      "manually assigned to Bob (override: lacks the required skill 'hvac', is marked unavailable, is not on shift now)",
    );
  });
});

describe('skill of an alert’s work order', () => {
  const map = { metrics: { vibration: 'mechanical' }, assetTypes: { chiller: 'hvac', pump: 'mechanical' } };

  it('goes by the metric first, then the asset type, else none', () => {
    expect(requiredSkillFor(map, { metric: 'vibration', assetType: 'chiller' })).toBe('mechanical');
    expect(requiredSkillFor(map, { metric: 'temperature', assetType: 'chiller' })).toBe('hvac');
    expect(requiredSkillFor(map, { metric: 'temperature', assetType: 'turbine' })).toBeNull();
    expect(requiredSkillFor(map, { metric: 'constructor', assetType: undefined })).toBeNull();
  });
});
