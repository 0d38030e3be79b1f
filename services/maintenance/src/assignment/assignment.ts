import type { ShiftWindow } from '@assetops/contracts';
import { isOnShift } from '../technicians/technician.shift.js';

/** A technician as the assignment sees them: who, what they can do, when, and how busy they are. */
export interface AssignmentCandidate {
  id: string;
  name: string;
  skills: readonly string[];
  shifts: readonly ShiftWindow[];
  available: boolean;
  active: boolean;
  /** Work orders they hold that are assigned or in progress (the one being assigned not counted). */
  load: number;
}

/** What the work order needs: a skill (null: anyone) at a time. */
export interface AssignmentNeed {
  requiredSkill: string | null;
  at: Date;
}

export type AssignmentChoice =
  | { technician: AssignmentCandidate; reason: string }
  | { technician: null; reason: string };

/**
 * The automatic assignment: among active, available technicians that have the required skill and
 * are on shift at the time, the one with the fewest open (assigned or in-progress) work orders;
 * ties go to the name, then the id, so the choice never depends on row order. Pure: the caller
 * loads the candidates (and serialises assignments so loads are current).
 *
 * @example
 * chooseTechnician(candidates, { requiredSkill: 'electrical', at: clock.now() }).technician?.id;
 */
export function chooseTechnician(
  candidates: readonly AssignmentCandidate[],
  need: AssignmentNeed,
): AssignmentChoice {
  const eligible = candidates
    .filter(
      (c) =>
        c.active &&
        c.available &&
        (need.requiredSkill === null || c.skills.includes(need.requiredSkill)) &&
        isOnShift(c.shifts, need.at),
    )
    .sort((a, b) => a.load - b.load || compareText(a.name, b.name) || compareText(a.id, b.id));
  const skill = need.requiredSkill === null ? '' : ` with skill '${need.requiredSkill}'`;
  const chosen = eligible[0];
  if (!chosen) {
    return {
      technician: null,
      reason: `no active, available technician${skill} is on shift at ${need.at.toISOString()}`,
    };
  }
  const held = chosen.load === 1 ? '1 open work order' : `${chosen.load} open work orders`;
  return {
    technician: chosen,
    reason: `automatically assigned to ${chosen.name}${skill}, on shift, holding ${held}`,
  };
}

/**
 * The note of a manual assignment: a person may override every rule of the automatic one, and the
 * note says which they overrode, so that the choice is visible later.
 */
export function manualAssignmentNote(technician: AssignmentCandidate, need: AssignmentNeed): string {
  const overridden: string[] = [];
  if (need.requiredSkill !== null && !technician.skills.includes(need.requiredSkill)) {
    overridden.push(`lacks the required skill '${need.requiredSkill}'`);
  }
  if (!technician.available) overridden.push('is marked unavailable');
  if (!isOnShift(technician.shifts, need.at)) overridden.push('is not on shift now');
  const base = `manually assigned to ${technician.name}`;
  return overridden.length === 0 ? base : `${base} (override: ${overridden.join(', ')})`;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
