import {
  type DeviceModel,
  type FaultModel,
  IDLE_LOAD_SHARE,
  LOAD_SHARE_SWING,
  type MetricModel,
  modelOf,
} from './device.models.js';
import { gaussianOf, smoothNoise, uniformOf } from './random.js';

/**
 * One simulated device. Everything it sends is a pure function of this description and the time:
 * `seed` picks its noise, drift, daily phase and random faults; the counters count from
 * `countersSince` (epoch ms), where they stood at `runHoursAtSince` and `energyAtSince`.
 */
export interface Device {
  assetId: string;
  type: string;
  seed: number;
  countersSince: number;
  runHoursAtSince: number;
  energyAtSince: number;
}

/** A fault placed on purpose (the demo's first one): `kind` of the device's model, from `startsAt`. */
export interface ScheduledFault {
  assetId: string;
  kind: string;
  startsAt: number;
}

export interface SignalOptions {
  scheduledFaults?: readonly ScheduledFault[];
  /** Chance per device and hour of a random fault (0 … 1; default 0: none). */
  faultsPerHour?: number;
}

export interface SimulatedReading {
  assetId: string;
  metric: string;
  value: number;
  /** Epoch milliseconds. */
  ts: number;
}

export interface ActiveFault {
  fault: FaultModel;
  startsAt: number;
  /** 0 … 1: how far the fault pulls its metrics toward their targets now. */
  strength: number;
}

const HOUR_MS = 3_600_000;
const DAY_HOURS = 24;
const OMEGA = (2 * Math.PI) / DAY_HOURS;
const NOISE_STEP_MS = 1_000;
const DRIFT_STEP_MS = 2 * HOUR_MS;
/** The daily low of the load, in UTC hours, before the device's own phase shift. */
const LOAD_LOW_HOUR = 3;

/**
 * The load of a device through the day, 0 (night low, about 03:00 UTC plus `phaseHours`) to 1
 * (afternoon peak twelve hours later).
 *
 * @example
 * dailyLoad(Date.parse('2026-01-01T15:00:00Z'), 0); // 1
 */
export function dailyLoad(t: number, phaseHours: number): number {
  return 0.5 - 0.5 * Math.cos(OMEGA * (t / HOUR_MS - LOAD_LOW_HOUR - phaseHours));
}

/** A device's shift of its daily cycle, −1.5 … +1.5 hours. */
export function phaseOf(device: Pick<Device, 'seed'>): number {
  return (uniformOf(device.seed, 'phase') - 0.5) * 3;
}

/** How strongly a fault acts `elapsedMs` after it started: ramp up, hold, ramp down, then 0. */
export function faultStrength(fault: FaultModel, elapsedMs: number): number {
  if (elapsedMs < 0) return 0;
  if (elapsedMs < fault.rampUpMs) return elapsedMs / fault.rampUpMs;
  const afterHold = elapsedMs - fault.rampUpMs - fault.holdMs;
  if (afterHold < 0) return 1;
  if (afterHold < fault.rampDownMs) return 1 - afterHold / fault.rampDownMs;
  return 0;
}

export function faultDurationMs(fault: FaultModel): number {
  return fault.rampUpMs + fault.holdMs + fault.rampDownMs;
}

/**
 * The faults acting on a device at `t`: the scheduled ones, and the random one of the current hour
 * (each hour a device fails with probability `faultsPerHour`, at a moment and in a way its seed
 * picks; a random fault starts and ends within its hour).
 */
export function activeFaults(device: Device, t: number, opts: SignalOptions = {}): ActiveFault[] {
  const model = modelOf(device.type);
  const found: ActiveFault[] = [];
  for (const scheduled of opts.scheduledFaults ?? []) {
    if (scheduled.assetId !== device.assetId) continue;
    const fault = model.faults.find((f) => f.kind === scheduled.kind);
    if (!fault) continue;
    const strength = faultStrength(fault, t - scheduled.startsAt);
    if (strength > 0) found.push({ fault, startsAt: scheduled.startsAt, strength });
  }
  const chance = Math.min(1, Math.max(0, opts.faultsPerHour ?? 0));
  const hour = Math.floor(t / HOUR_MS);
  if (chance > 0 && model.faults.length > 0 && uniformOf(device.seed, 'fault', hour) < chance) {
    const index = Math.floor(uniformOf(device.seed, 'fault-kind', hour) * model.faults.length);
    const fault = model.faults[index]!;
    const room = Math.max(0, HOUR_MS - faultDurationMs(fault));
    const startsAt = hour * HOUR_MS + Math.floor(uniformOf(device.seed, 'fault-at', hour) * room);
    const strength = faultStrength(fault, t - startsAt);
    if (strength > 0) found.push({ fault, startsAt, strength });
  }
  return found;
}

/** A measured metric of a device at `t`, faults included. */
export function sampleMetric(
  device: Device,
  metric: MetricModel,
  t: number,
  faults: readonly ActiveFault[] = [],
): number {
  const load = dailyLoad(t, phaseOf(device));
  // Each device sits a little off the type's nominal values (up to ±1 drift deviation).
  const offset = 0.5 * clamp(gaussianOf(device.seed, metric.metric, 'offset'), -2, 2);
  const drift = clamp(smoothNoise(device.seed, `${metric.metric}:drift`, t, DRIFT_STEP_MS), -3, 3);
  const noise = clamp(smoothNoise(device.seed, `${metric.metric}:noise`, t, NOISE_STEP_MS), -4, 4);
  let value = metric.base + metric.dailySwing * load + metric.drift * (offset + drift) + metric.noise * noise;
  // The strongest fault acting on the metric pulls it toward its target.
  let pull: { target: number; strength: number } | undefined;
  for (const active of faults) {
    const effect = active.fault.effects.find((e) => e.metric === metric.metric);
    if (effect && (!pull || active.strength > pull.strength))
      pull = { target: effect.target, strength: active.strength };
  }
  if (pull) value += (pull.target - value) * pull.strength;
  return round(Math.max(0, value), metric.decimals);
}

/** Operating hours at `t`: the devices run around the clock. */
export function runHoursAt(device: Device, t: number): number {
  return round(device.runHoursAtSince + Math.max(0, t - device.countersSince) / HOUR_MS, 3);
}

/**
 * Energy used by `t`, in kWh: the integral of the power's daily cycle since `countersSince`, in
 * closed form (so it is exact and monotonic at any sampling rate, and continues after a restart).
 */
export function energyAt(device: Device, model: DeviceModel, t: number): number {
  const from = device.countersSince / HOUR_MS;
  const to = Math.max(from, t / HOUR_MS);
  const shift = LOAD_LOW_HOUR + phaseOf(device);
  // ∫ load dh with load = ½ − ½·cos(ω(h − shift))
  const loadHours =
    0.5 * (to - from) - (0.5 / OMEGA) * (Math.sin(OMEGA * (to - shift)) - Math.sin(OMEGA * (from - shift)));
  const kwh = model.ratedPowerKw * (IDLE_LOAD_SHARE * (to - from) + LOAD_SHARE_SWING * loadHours);
  return round(device.energyAtSince + kwh, 2);
}

/**
 * Every reading a device sends at `t`: its measured metrics and its counters.
 *
 * @example
 * sampleDevice(device, Date.now(), { faultsPerHour: 0.05 });
 * // [{ assetId, metric: 'temperature', value: 63.2, ts }, …, { metric: 'run_hours', … }]
 */
export function sampleDevice(device: Device, t: number, opts: SignalOptions = {}): SimulatedReading[] {
  const model = modelOf(device.type);
  const faults = activeFaults(device, t, opts);
  const readings: SimulatedReading[] = model.metrics.map((metric) => ({
    assetId: device.assetId,
    metric: metric.metric,
    value: sampleMetric(device, metric, t, faults),
    ts: t,
  }));
  for (const counter of model.counters) {
    const value = counter.kind === 'run_hours' ? runHoursAt(device, t) : energyAt(device, model, t);
    readings.push({ assetId: device.assetId, metric: counter.metric, value, ts: t });
  }
  return readings;
}

/** The metric names a device of a type sends. */
export function metricsOf(type: string): string[] {
  const model = modelOf(type);
  return [...model.metrics.map((m) => m.metric), ...model.counters.map((c) => c.metric)];
}

/** One reading of one metric (the CLI spreads its rate over asset × metric pairs). */
export function sampleOne(
  device: Device,
  metric: string,
  t: number,
  opts: SignalOptions = {},
): SimulatedReading {
  const model = modelOf(device.type);
  const measured = model.metrics.find((m) => m.metric === metric);
  let value: number;
  if (measured) value = sampleMetric(device, measured, t, activeFaults(device, t, opts));
  else if (metric === 'run_hours') value = runHoursAt(device, t);
  else value = energyAt(device, model, t);
  return { assetId: device.assetId, metric, value, ts: t };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
