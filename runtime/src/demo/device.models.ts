/**
 * What a simulated device of each asset type measures and how it fails. The numbers are plausible
 * for the equipment (a 45 kW centrifugal pump, a 75 kW screw compressor, a 55 kW motor, a 250 kW
 * water chiller) and are chosen against the built-in alert profiles of the Alert service
 * (`services/alert/src/rules/profiles.ts`): in normal operation every watched metric stays on the
 * clear side of its rule (hysteresis threshold included), and each fault pushes a watched metric
 * past its threshold for much longer than the rule's pending period. `limits` restates those rules
 * so the unit tests can hold the models to them.
 */

/** A measured metric: `base` at the daily low of the load, `base + dailySwing` at its peak. */
export interface MetricModel {
  metric: string;
  unit: string;
  base: number;
  /** Added at full daily load (negative: the metric falls as the load rises). */
  dailySwing: number;
  /** Standard deviation of the second-to-second noise. */
  noise: number;
  /** Standard deviation of the slow drift (knots two hours apart, truncated at 3σ). */
  drift: number;
  /** Decimal places sent. */
  decimals: number;
}

/** A monotonic counter, computed in closed form from the time (it never goes back, even after a restart). */
export interface CounterModel {
  metric: string;
  unit: string;
  kind: 'run_hours' | 'energy';
}

/**
 * One way a device fails: each effect pulls a metric toward `target` (ramp up, hold, ramp down).
 * `alerts` names the profile rule it is meant to fire and whether that rule's severity opens a
 * work order (major or critical).
 */
export interface FaultModel {
  kind: string;
  /** A noun phrase: "bearing overheating (lubrication failure)". */
  description: string;
  effects: readonly { metric: string; target: number }[];
  rampUpMs: number;
  holdMs: number;
  rampDownMs: number;
  alerts: { rule: string; opensWorkOrder: boolean };
}

/** A profile rule's limit, restated (see the module comment). `clear` is the hysteresis threshold. */
export type MetricLimit =
  | { metric: string; kind: 'above'; threshold: number; clear: number; forSeconds: number }
  | { metric: string; kind: 'below'; threshold: number; clear: number; forSeconds: number }
  | {
      metric: string;
      kind: 'outside';
      low: number;
      high: number;
      clearLow: number;
      clearHigh: number;
      forSeconds: number;
    };

export interface DeviceModel {
  type: string;
  ratedPowerKw: number;
  metrics: readonly MetricModel[];
  counters: readonly CounterModel[];
  /** The first fault is the one the demo schedules on purpose: it opens a work order. */
  faults: readonly FaultModel[];
  limits: readonly MetricLimit[];
}

const counters: readonly CounterModel[] = [
  { metric: 'run_hours', unit: 'h', kind: 'run_hours' },
  { metric: 'energy_kwh', unit: 'kWh', kind: 'energy' },
];

/** Electrical power follows the load: 35 % of the rating at the daily low, 90 % at the peak. */
export const IDLE_LOAD_SHARE = 0.35;
export const LOAD_SHARE_SWING = 0.55;

function power(ratedKw: number, noise: number, drift: number): MetricModel {
  return {
    metric: 'power',
    unit: 'kW',
    base: ratedKw * IDLE_LOAD_SHARE,
    dailySwing: ratedKw * LOAD_SHARE_SWING,
    noise,
    drift,
    decimals: 1,
  };
}

// Long enough for the slowest rule (a chiller's 60 s) and short of the 300 s escalation.
const HOLD_MS = 150_000;

export const deviceModels: Readonly<Record<string, DeviceModel>> = {
  pump: {
    type: 'pump',
    ratedPowerKw: 45,
    metrics: [
      { metric: 'temperature', unit: '°C', base: 58, dailySwing: 9, noise: 0.3, drift: 1.5, decimals: 1 },
      {
        metric: 'vibration',
        unit: 'mm/s',
        base: 2.4,
        dailySwing: 0.8,
        noise: 0.12,
        drift: 0.25,
        decimals: 2,
      },
      { metric: 'pressure', unit: 'bar', base: 5.2, dailySwing: 1.6, noise: 0.06, drift: 0.25, decimals: 2 },
      { metric: 'flow', unit: 'm³/h', base: 70, dailySwing: 80, noise: 1.5, drift: 4, decimals: 1 },
      { metric: 'rpm', unit: 'rpm', base: 1465, dailySwing: 25, noise: 2, drift: 3, decimals: 0 },
      power(45, 0.4, 0.8),
    ],
    counters,
    faults: [
      {
        kind: 'bearing-overheat',
        description: 'bearing overheating (lubrication failure)',
        effects: [
          { metric: 'temperature', target: 96 },
          { metric: 'vibration', target: 5.5 },
        ],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Bearing temperature high', opensWorkOrder: true },
      },
      {
        kind: 'cavitation',
        description: 'cavitation (discharge pressure and flow collapse)',
        effects: [
          { metric: 'pressure', target: 0.6 },
          { metric: 'flow', target: 30 },
          { metric: 'vibration', target: 5 },
        ],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Discharge pressure out of range', opensWorkOrder: true },
      },
      {
        kind: 'imbalance',
        description: 'impeller imbalance',
        effects: [{ metric: 'vibration', target: 9.2 }],
        rampUpMs: 20_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Vibration high', opensWorkOrder: false },
      },
    ],
    limits: [
      { metric: 'temperature', kind: 'above', threshold: 85, clear: 80, forSeconds: 10 },
      { metric: 'vibration', kind: 'above', threshold: 7.1, clear: 6.5, forSeconds: 30 },
      {
        metric: 'pressure',
        kind: 'outside',
        low: 1,
        high: 12,
        clearLow: 1.5,
        clearHigh: 11,
        forSeconds: 15,
      },
    ],
  },
  compressor: {
    type: 'compressor',
    ratedPowerKw: 75,
    metrics: [
      { metric: 'temperature', unit: '°C', base: 76, dailySwing: 10, noise: 0.5, drift: 2, decimals: 1 },
      { metric: 'pressure', unit: 'bar', base: 6.8, dailySwing: 0.9, noise: 0.05, drift: 0.15, decimals: 2 },
      { metric: 'vibration', unit: 'mm/s', base: 3.5, dailySwing: 1.2, noise: 0.2, drift: 0.4, decimals: 2 },
      { metric: 'rpm', unit: 'rpm', base: 2960, dailySwing: 10, noise: 3, drift: 4, decimals: 0 },
      power(75, 0.8, 1.5),
    ],
    counters,
    faults: [
      {
        kind: 'overheat',
        description: 'discharge overheating (fouled oil cooler)',
        effects: [{ metric: 'temperature', target: 118 }],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Discharge temperature high', opensWorkOrder: true },
      },
      {
        kind: 'overpressure',
        description: 'discharge overpressure (stuck unloader valve)',
        effects: [{ metric: 'pressure', target: 10.8 }],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Discharge pressure high', opensWorkOrder: true },
      },
    ],
    limits: [
      { metric: 'temperature', kind: 'above', threshold: 110, clear: 100, forSeconds: 10 },
      { metric: 'pressure', kind: 'above', threshold: 10, clear: 9.5, forSeconds: 5 },
      { metric: 'vibration', kind: 'above', threshold: 11, clear: 10, forSeconds: 30 },
    ],
  },
  motor: {
    type: 'motor',
    ratedPowerKw: 55,
    metrics: [
      { metric: 'temperature', unit: '°C', base: 70, dailySwing: 25, noise: 0.4, drift: 2.5, decimals: 1 },
      { metric: 'current', unit: 'A', base: 35, dailySwing: 40, noise: 0.4, drift: 1, decimals: 1 },
      { metric: 'vibration', unit: 'mm/s', base: 1.6, dailySwing: 0.6, noise: 0.1, drift: 0.2, decimals: 2 },
      { metric: 'rpm', unit: 'rpm', base: 1478, dailySwing: 12, noise: 1.5, drift: 2, decimals: 0 },
      power(55, 0.5, 1),
    ],
    counters,
    faults: [
      {
        kind: 'winding-overheat',
        description: 'winding overheating (failed cooling fan)',
        effects: [{ metric: 'temperature', target: 142 }],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Winding temperature high', opensWorkOrder: true },
      },
    ],
    limits: [{ metric: 'temperature', kind: 'above', threshold: 130, clear: 120, forSeconds: 30 }],
  },
  chiller: {
    type: 'chiller',
    ratedPowerKw: 250,
    metrics: [
      // Supply (leaving) chilled-water temperature: the one the profile watches.
      { metric: 'temperature', unit: '°C', base: 6, dailySwing: 1, noise: 0.08, drift: 0.25, decimals: 2 },
      {
        metric: 'return_temperature',
        unit: '°C',
        base: 10.5,
        dailySwing: 3,
        noise: 0.1,
        drift: 0.4,
        decimals: 2,
      },
      // Refrigerant suction pressure: falls a little as the load rises.
      { metric: 'pressure', unit: 'bar', base: 3.8, dailySwing: -0.3, noise: 0.03, drift: 0.15, decimals: 2 },
      power(250, 2, 5),
    ],
    counters,
    faults: [
      {
        kind: 'supply-temperature-high',
        description: 'chilled water too warm (fouled condenser)',
        effects: [{ metric: 'temperature', target: 12.5 }],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Supply water temperature out of range', opensWorkOrder: true },
      },
      {
        kind: 'refrigerant-leak',
        description: 'refrigerant leak (suction pressure drops)',
        effects: [
          { metric: 'pressure', target: 1.4 },
          { metric: 'temperature', target: 8.5 },
        ],
        rampUpMs: 8_000,
        holdMs: HOLD_MS,
        rampDownMs: 30_000,
        alerts: { rule: 'Refrigerant pressure low', opensWorkOrder: true },
      },
    ],
    limits: [
      {
        metric: 'temperature',
        kind: 'outside',
        low: 4,
        high: 10,
        clearLow: 4.5,
        clearHigh: 9,
        forSeconds: 60,
      },
      { metric: 'pressure', kind: 'below', threshold: 2, clear: 2.5, forSeconds: 30 },
    ],
  },
};

/** The asset types the simulator knows, in the order the CLI cycles through them. */
export const simulatedTypes = Object.keys(deviceModels);

/** The model of an asset type; other types are simulated as pumps. */
export function modelOf(type: string): DeviceModel {
  return (Object.hasOwn(deviceModels, type) ? deviceModels[type] : undefined) ?? deviceModels.pump!;
}
