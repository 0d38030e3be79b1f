import { describe, expect, it } from 'vitest';
import {
  activeFaults,
  createRandom,
  type Device,
  dailyLoad,
  deviceModels,
  faultDurationMs,
  type MetricLimit,
  sampleDevice,
  sampleOne,
} from '../src/demo/index.js';

const HOUR = 3_600_000;
const t0 = Date.parse('2026-03-02T00:00:00Z');

function device(type: string, seed: number): Device {
  return {
    assetId: `00000000-0000-7000-8000-${String(seed).padStart(12, '0')}`,
    type,
    seed,
    countersSince: t0,
    runHoursAtSince: 1_000,
    energyAtSince: 50_000,
  };
}

function metricAt(d: Device, metric: string, t: number, opts = {}): number {
  const reading = sampleDevice(d, t, opts).find((r) => r.metric === metric);
  if (!reading) throw new Error(`no ${metric}`);
  return reading.value;
}

/** On the clear side of a profile rule (hysteresis included): the alert neither fires nor stays. */
function isClear(limit: MetricLimit, value: number): boolean {
  if (limit.kind === 'above') return value < limit.clear;
  if (limit.kind === 'below') return value > limit.clear;
  return value > limit.clearLow && value < limit.clearHigh;
}

function breaches(limit: MetricLimit, value: number): boolean {
  if (limit.kind === 'above') return value > limit.threshold;
  if (limit.kind === 'below') return value < limit.threshold;
  return value < limit.low || value > limit.high;
}

describe('device signals', () => {
  it('are deterministic for a seed and differ between seeds', () => {
    const t = t0 + 12.345 * HOUR;
    expect(sampleDevice(device('pump', 7), t, { faultsPerHour: 0.5 })).toEqual(
      sampleDevice(device('pump', 7), t, { faultsPerHour: 0.5 }),
    );
    expect(metricAt(device('pump', 7), 'temperature', t)).not.toBe(
      metricAt(device('pump', 8), 'temperature', t),
    );
    const a = createRandom(3);
    const b = createRandom(3);
    const drawn = Array.from({ length: 5 }, () => a());
    expect(drawn).toEqual(Array.from({ length: 5 }, () => b()));
    expect(new Set(drawn).size).toBe(5);
    for (const x of drawn) expect(x >= 0 && x < 1).toBe(true);
  });

  it('send every metric of the type, counters included, at the time asked', () => {
    const readings = sampleDevice(device('pump', 1), t0 + HOUR);
    expect(readings.map((r) => r.metric).sort()).toEqual(
      ['energy_kwh', 'flow', 'power', 'pressure', 'rpm', 'run_hours', 'temperature', 'vibration'].sort(),
    );
    for (const r of readings) {
      expect(r.ts).toBe(t0 + HOUR);
      expect(Number.isFinite(r.value)).toBe(true);
    }
    expect(sampleOne(device('pump', 1), 'temperature', t0 + HOUR).value).toBe(
      metricAt(device('pump', 1), 'temperature', t0 + HOUR),
    );
  });

  it.each(Object.keys(deviceModels))(
    '%s: in normal operation stay on the clear side of every profile rule',
    (type) => {
      const model = deviceModels[type]!;
      for (const seed of [1, 42, 1234]) {
        const d = device(type, seed);
        // Three days, every 97 s: every hour of the day, many drift knots.
        for (let t = t0; t < t0 + 72 * HOUR; t += 97_000) {
          const readings = sampleDevice(d, t, { faultsPerHour: 0 });
          for (const limit of model.limits) {
            const value = readings.find((r) => r.metric === limit.metric)!.value;
            if (!isClear(limit, value))
              throw new Error(`${type} seed ${seed}: ${limit.metric}=${value} at ${t}`);
          }
          const negative = readings.find((r) => !(r.value > 0));
          if (negative) throw new Error(`${type} seed ${seed}: ${negative.metric}=${negative.value}`);
        }
      }
    },
  );

  it('stay in plausible ranges', () => {
    const ranges: Record<string, Record<string, [number, number]>> = {
      pump: {
        temperature: [40, 80],
        vibration: [0.5, 6],
        pressure: [2, 10],
        flow: [30, 200],
        rpm: [1400, 1550],
      },
      compressor: { temperature: [55, 100], pressure: [5, 9.5], rpm: [2900, 3020] },
      motor: { temperature: [50, 120], current: [20, 90], rpm: [1450, 1510] },
      chiller: { temperature: [4.5, 9], return_temperature: [8, 17], pressure: [2.5, 5] },
    };
    for (const [type, metrics] of Object.entries(ranges)) {
      const d = device(type, 99);
      for (let t = t0; t < t0 + 48 * HOUR; t += 311_000) {
        for (const [metric, [low, high]] of Object.entries(metrics)) {
          const value = metricAt(d, metric, t, { faultsPerHour: 0 });
          if (!(value >= low && value <= high)) throw new Error(`${type}.${metric}=${value} at ${t}`);
        }
      }
    }
  });

  it('follow a daily cycle: more load in the afternoon than at night', () => {
    expect(dailyLoad(Date.parse('2026-01-01T03:00:00Z'), 0)).toBeCloseTo(0, 6);
    expect(dailyLoad(Date.parse('2026-01-01T15:00:00Z'), 0)).toBeCloseTo(1, 6);
    const d = device('pump', 5);
    let night = 0;
    let afternoon = 0;
    for (let day = 0; day < 5; day++) {
      night += metricAt(d, 'power', t0 + day * 24 * HOUR + 3 * HOUR);
      afternoon += metricAt(d, 'power', t0 + day * 24 * HOUR + 15 * HOUR);
    }
    expect(afternoon / 5).toBeGreaterThan(night / 5 + 15);
  });

  it('keep their counters monotonic and plausible', () => {
    const d = device('motor', 11);
    let previous = { run: 0, energy: 0 };
    for (let t = t0; t <= t0 + 24 * HOUR; t += 60_000) {
      const run = metricAt(d, 'run_hours', t);
      const energy = metricAt(d, 'energy_kwh', t);
      if (run < previous.run || energy < previous.energy) throw new Error(`a counter went back at ${t}`);
      previous = { run, energy };
    }
    expect(metricAt(d, 'run_hours', t0 + 24 * HOUR)).toBeCloseTo(1_024, 2);
    // 55 kW at 35 % + 55 % × ½ of its rating on average over a whole day.
    expect(metricAt(d, 'energy_kwh', t0 + 24 * HOUR) - 50_000).toBeCloseTo(55 * (0.35 + 0.275) * 24, 0);
  });

  it("never changes a motor's current fast enough for the current-spike rule (50 A/s)", () => {
    const d = device('motor', 3);
    let previous = metricAt(d, 'current', t0);
    for (let t = t0 + 100; t < t0 + 600_000; t += 100) {
      const value = metricAt(d, 'current', t);
      if (Math.abs(value - previous) / 0.1 >= 50)
        throw new Error(`current jumps ${previous} → ${value} at ${t}`);
      previous = value;
    }
  });

  for (const [type, model] of Object.entries(deviceModels)) {
    for (const fault of model.faults) {
      it(`${type}/${fault.kind}: crosses the '${fault.alerts.rule}' threshold for longer than its pending period`, () => {
        const d = device(type, 17);
        const limit = model.limits.find((l) => l.metric === fault.effects[0]!.metric)!;
        const startsAt = t0 + 10 * HOUR + 1_234;
        const opts = { scheduledFaults: [{ assetId: d.assetId, kind: fault.kind, startsAt }] };
        let breachSince: number | null = null;
        let longestBreachMs = 0;
        for (let t = startsAt - 30_000; t < startsAt + faultDurationMs(fault) + 60_000; t += 1_000) {
          const value = metricAt(d, limit.metric, t, opts);
          if (breaches(limit, value)) {
            breachSince ??= t;
            longestBreachMs = Math.max(longestBreachMs, t - breachSince);
          } else breachSince = null;
        }
        expect(longestBreachMs).toBeGreaterThanOrEqual(limit.forSeconds * 1000 + 60_000);
        // It crosses soon after it starts (the demo promises an alert within a minute) …
        expect(breaches(limit, metricAt(d, limit.metric, startsAt + fault.rampUpMs, opts))).toBe(true);
        // … and the device recovers afterwards: the alert clears.
        expect(
          isClear(limit, metricAt(d, limit.metric, startsAt + faultDurationMs(fault) + 1_000, opts)),
        ).toBe(true);
        expect(isClear(limit, metricAt(d, limit.metric, startsAt - 1_000, opts))).toBe(true);
      });
    }
  }

  it('raises random faults at the chosen rate, deterministically', () => {
    const d = device('compressor', 23);
    const hoursWithFault = (faultsPerHour: number) => {
      let count = 0;
      for (let hour = 0; hour < 200; hour++) {
        let seen = false;
        for (let t = t0 + hour * HOUR; t < t0 + (hour + 1) * HOUR && !seen; t += 30_000) {
          seen = activeFaults(d, t, { faultsPerHour }).length > 0;
        }
        if (seen) count++;
      }
      return count;
    };
    expect(hoursWithFault(0)).toBe(0);
    expect(hoursWithFault(1)).toBe(200);
    const some = hoursWithFault(0.25);
    expect(some).toBeGreaterThan(25);
    expect(some).toBeLessThan(80);
    expect(hoursWithFault(0.25)).toBe(some);
  });
});
