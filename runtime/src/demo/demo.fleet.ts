import type {
  Asset,
  CreateMaintenancePlanBody,
  CreateTechnicianBody,
  RegisterAssetBody,
} from '@assetops/contracts';
import type { Device } from './device.signals.js';
import { hashOf } from './random.js';

/**
 * The demo fleet `npm start` registers on an empty platform. Demo assets carry
 * `metadata.demo = true` (how a later start finds them again to resume their simulation) and
 * `metadata.simulator` (their seed and where their counters started, so the signals and counters
 * continue where they were).
 */
export interface DemoAssetSpec {
  name: string;
  type: string;
  location: string;
  manufacturer: string;
  model: string;
  /** Operating hours on the meter when the demo starts. */
  runHours: number;
}

export const demoAssets: readonly DemoAssetSpec[] = [
  // The first one gets the demo's scheduled fault.
  {
    name: 'Feed pump 1',
    type: 'pump',
    location: 'Plant A · Water treatment',
    manufacturer: 'Grundfos',
    model: 'NB 65-200',
    runHours: 18_240,
  },
  {
    name: 'Feed pump 2',
    type: 'pump',
    location: 'Plant A · Water treatment',
    manufacturer: 'Grundfos',
    model: 'NB 65-200',
    runHours: 17_905,
  },
  {
    name: 'Cooling water pump',
    type: 'pump',
    location: 'Plant B · Utilities',
    manufacturer: 'KSB',
    model: 'Etanorm 100-250',
    runHours: 9_310,
  },
  {
    name: 'Air compressor 1',
    type: 'compressor',
    location: 'Plant A · Compressor room',
    manufacturer: 'Atlas Copco',
    model: 'GA 75',
    runHours: 31_020,
  },
  {
    name: 'Air compressor 2',
    type: 'compressor',
    location: 'Plant B · Compressor room',
    manufacturer: 'Kaeser',
    model: 'CSD 125',
    runHours: 12_480,
  },
  {
    name: 'Conveyor motor M3',
    type: 'motor',
    location: 'Plant A · Line 3',
    manufacturer: 'Siemens',
    model: '1LE1 55 kW',
    runHours: 22_760,
  },
  {
    name: 'Mixer motor M7',
    type: 'motor',
    location: 'Plant B · Line 1',
    manufacturer: 'ABB',
    model: 'M3BP 250',
    runHours: 6_150,
  },
  {
    name: 'Extraction fan motor',
    type: 'motor',
    location: 'Plant B · Paint shop',
    manufacturer: 'WEG',
    model: 'W22 55 kW',
    runHours: 14_900,
  },
  {
    name: 'Chiller CH-1',
    type: 'chiller',
    location: 'Plant A · Roof',
    manufacturer: 'Carrier',
    model: 'AquaEdge 19DV',
    runHours: 25_400,
  },
  {
    name: 'Chiller CH-2',
    type: 'chiller',
    location: 'Plant B · Roof',
    manufacturer: 'Trane',
    model: 'RTAF 250',
    runHours: 8_730,
  },
];

/**
 * Technicians without shift windows (on call at any time), so the demo's alert work order is
 * assigned whenever it happens; their skills cover the skills a `MAINTENANCE_SKILL_MAP` would ask.
 */
export const demoTechnicians: readonly CreateTechnicianBody[] = [
  { name: 'Maria Lopez', skills: ['mechanical', 'pumps', 'hydraulics'] },
  { name: 'Tom Becker', skills: ['electrical', 'motors', 'mechanical'] },
  { name: 'Aisha Khan', skills: ['hvac', 'refrigeration', 'compressors'] },
];

const DAY_MS = 86_400_000;

/**
 * A quarterly inspection of the first compressor, last done 85 days ago: its work order opens at
 * the maintenance service's next plan check (it is due within the week's lead time), so the board
 * shows a preventive work order next to the alert's. It also counts operating hours.
 */
export function demoPlan(assetId: string, now: number): CreateMaintenancePlanBody {
  return {
    assetId,
    title: 'Quarterly inspection: oil, filters, belts',
    description: 'Change the oil and the air/oil separator filters, check the belts and the drain valves.',
    priority: 'medium',
    requiredSkill: 'compressors',
    interval: { every: 3, unit: 'month' },
    usage: { metric: 'run_hours', every: 2_000, kind: 'counter' },
    leadTime: { amount: 1, unit: 'week' },
    startsAt: new Date(now - 85 * DAY_MS).toISOString(),
  };
}

/** The registration of a demo asset: its description and the simulator's state. */
export function demoAssetBody(spec: DemoAssetSpec, index: number, now: number): RegisterAssetBody {
  const seed = hashOf(0x5eed, spec.name);
  return {
    name: spec.name,
    type: spec.type,
    location: spec.location,
    metadata: {
      demo: true,
      manufacturer: spec.manufacturer,
      model: spec.model,
      serial: `${spec.type.slice(0, 2).toUpperCase()}-${(seed % 900_000) + 100_000}`,
      simulator: simulatorMetadata({ seed, index, since: now, runHours: spec.runHours }),
    },
  };
}

/** What the simulator keeps in an asset's metadata (JSON). */
export interface SimulatorMetadata {
  seed: number;
  /** The asset's place in its fleet (the demo's scheduled fault goes to the first). */
  index: number;
  countersSince: string;
  runHours: number;
  energyKwh: number;
}

export function simulatorMetadata(opts: {
  seed: number;
  index: number;
  since: number;
  runHours: number;
}): SimulatorMetadata {
  return {
    seed: opts.seed,
    index: opts.index,
    countersSince: new Date(opts.since).toISOString(),
    runHours: opts.runHours,
    // A plausible meter reading for the hours run (about 60 % of the rating on average).
    energyKwh: Math.round(opts.runHours * 30),
  };
}

/** A demo asset (`metadata.demo`) that still sends readings. */
export function isDemoAsset(asset: Asset): boolean {
  return (
    asset.metadata.demo === true && asset.status !== 'decommissioned' && asset.status !== 'decommissioning'
  );
}

/**
 * The simulated device of an asset, from its `metadata.simulator`; an asset without one (metadata
 * edited away) gets a seed from its id and counters from its registration.
 */
export function deviceOf(asset: Asset): Device & { index: number } {
  const sim = asset.metadata.simulator as Partial<SimulatorMetadata> | undefined;
  const since = Date.parse(sim?.countersSince ?? '');
  return {
    assetId: asset.id,
    type: asset.type,
    seed: typeof sim?.seed === 'number' ? sim.seed : hashOf(0x5eed, asset.id),
    index: typeof sim?.index === 'number' ? sim.index : Number.MAX_SAFE_INTEGER,
    countersSince: Number.isFinite(since) ? since : Date.parse(asset.createdAt),
    runHoursAtSince: typeof sim?.runHours === 'number' ? sim.runHours : 0,
    energyAtSince: typeof sim?.energyKwh === 'number' ? sim.energyKwh : 0,
  };
}
