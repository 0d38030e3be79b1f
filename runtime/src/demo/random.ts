/**
 * Seeded randomness for the device simulator.
 *
 * The signals use *keyed* randomness — a hash of (seed, keys…) — rather than a stream generator: a
 * value depends only on the device's seed, the metric and the time it is asked for, never on what
 * was drawn before. So a signal is a pure function of time: the demo resumes after a restart with
 * the same curves, a test can sample any instant, and two runs with one seed give the same readings
 * whatever their pace. {@link createRandom} is the ordinary stream generator, for choices that are
 * made once (which asset gets a fault, the CLI's seeds).
 */

const TWO_32 = 4_294_967_296;

/**
 * A 32-bit hash of a seed and a list of keys (strings or integers), well mixed (MurmurHash3 steps).
 *
 * @example
 * hashOf(42, 'temperature', 17); // the same number on every call
 */
export function hashOf(seed: number, ...keys: readonly (string | number)[]): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const key of keys) {
    if (typeof key === 'number') {
      const whole = Math.floor(key);
      // Times in milliseconds exceed 32 bits: mix the low and the high word.
      h = mix(h, whole >>> 0);
      h = mix(h, Math.floor(whole / TWO_32) >>> 0);
    } else {
      for (let i = 0; i < key.length; i++) h = mix(h, key.charCodeAt(i));
    }
    // A separator, so ('ab', 'c') and ('a', 'bc') differ.
    h = mix(h, 0x2f);
  }
  return finalMix(h);
}

/** A uniform number in [0, 1) for a seed and keys. */
export function uniformOf(seed: number, ...keys: readonly (string | number)[]): number {
  return hashOf(seed, ...keys) / TWO_32;
}

/** A standard normal number (mean 0, standard deviation 1) for a seed and keys (Box–Muller). */
export function gaussianOf(seed: number, ...keys: readonly (string | number)[]): number {
  const u1 = (hashOf(seed, ...keys, 1) + 1) / (TWO_32 + 1);
  const u2 = hashOf(seed, ...keys, 2) / TWO_32;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Smooth noise: standard normal values at knots `stepMs` apart, joined by a smoothstep curve. Its
 * rate of change stays bounded (about 3 standard deviations per step), which matters for
 * rate-of-change alert rules, and it looks the same whatever the sampling rate.
 */
export function smoothNoise(seed: number, key: string, t: number, stepMs: number): number {
  const knot = Math.floor(t / stepMs);
  const f = (t - knot * stepMs) / stepMs;
  const a = gaussianOf(seed, key, knot);
  const b = gaussianOf(seed, key, knot + 1);
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

/** A seeded stream of uniform numbers in [0, 1) (mulberry32). */
export type Random = () => number;

/**
 * @example
 * const random = createRandom(7); random(); // 0.…, the same sequence for seed 7 every time
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / TWO_32;
  };
}

function mix(h: number, value: number): number {
  let k = Math.imul(value, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let out = h ^ k;
  out = (out << 13) | (out >>> 19);
  return (Math.imul(out, 5) + 0xe6546b64) >>> 0;
}

function finalMix(h: number): number {
  let out = h ^ (h >>> 16);
  out = Math.imul(out, 0x85ebca6b);
  out ^= out >>> 13;
  out = Math.imul(out, 0xc2b2ae35);
  out ^= out >>> 16;
  return out >>> 0;
}
