/**
 * Seeded pseudo-random numbers: xoshiro128** 1.0 (Blackman and Vigna, 2018), seeded through splitmix32.
 * Everything is 32-bit integer arithmetic (Math.imul, >>> 0), so the same seed gives the same sequence on
 * every platform and Node version. `fork()` uses the generator's jump function (2^64 steps ahead) to make
 * independent, non-overlapping streams.
 */
import { InvalidOptionError } from './errors.js';

export interface RngState {
  /** The four 32-bit words of the xoshiro128** state. */
  s: [number, number, number, number];
  /** The second Box-Muller normal, if one is cached. */
  spareNormal: number | null;
}

const JUMP = [0x8764000b, 0xf542d2d3, 0x6fa035c3, 0x77f2db5b];
// Module-level bindings: a global `Math` lookup in a hot loop is many times slower inside VM contexts (jest).
const { imul, sqrt, log, sin, cos, pow, floor, PI } = Math;
const TWO_POW_32 = 4294967296;

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function splitmix32(state: { x: number }): number {
  state.x = (state.x + 0x9e3779b9) >>> 0;
  let z = state.x;
  z = imul(z ^ (z >>> 16), 0x21f0aaad);
  z = imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private spare: number | null = null;

  /** `seed` is any integer in [0, 2^53). */
  constructor(seed = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new InvalidOptionError('Rng', 'seed', 'an integer in the range [0, 2^53)', seed);
    }
    const mix = { x: (seed >>> 0) ^ imul(floor(seed / TWO_POW_32), 0x85ebca6b) };
    this.s0 = splitmix32(mix);
    this.s1 = splitmix32(mix);
    this.s2 = splitmix32(mix);
    this.s3 = splitmix32(mix);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }

  getState(): RngState {
    return { s: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spare };
  }

  setState(state: RngState): void {
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((x) => x >>> 0) as [number, number, number, number];
    this.spare = state.spareNormal;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = imul(rotl(imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits; or in [low, high) when bounds are given. */
  uniform(low = 0, high = 1): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    const u = (a * 67108864 + b) / 9007199254740992;
    return low + (high - low) * u;
  }

  /** Uniform integer in [0, n) without modulo bias (n up to 2^32). */
  int(n: number): number;
  /** Uniform integer in [low, high). */
  int(low: number, high: number): number;
  int(a: number, b?: number): number {
    const low = b === undefined ? 0 : a;
    const n = b === undefined ? a : b - a;
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new InvalidOptionError('Rng.int', 'range size', 'an integer in the range [1, 2^32]', n);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return low + (x % n);
  }

  /** Standard normal (Box-Muller, the spare value cached), scaled to mean/std when given. */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return mean + std * z;
    }
    const u1 = 1 - this.uniform(); // (0, 1]
    const u2 = this.uniform();
    const r = sqrt(-2 * log(u1));
    this.spare = r * sin(2 * PI * u2);
    return mean + std * r * cos(2 * PI * u2);
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang (2000); shape < 1 through the u^(1/shape) boost. */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new InvalidOptionError('Rng.gamma', 'shape', 'a finite number > 0', shape);
    if (shape < 1) {
      const u = 1 - this.uniform();
      return this.gamma(shape + 1) * pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (log(u) < 0.5 * x * x + d * (1 - v + log(v))) return d * v;
    }
  }

  /** Beta(alpha, beta) as X / (X + Y) with X ~ Gamma(alpha), Y ~ Gamma(beta); MixUp draws Beta(a, a). */
  beta(alpha: number, beta: number = alpha): number {
    const x = this.gamma(alpha);
    const y = this.gamma(beta);
    return x / (x + y);
  }

  /** Shuffles an array in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** k distinct integers from [0, n), in random order. */
  choice(n: number, k: number): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new InvalidOptionError('Rng.choice', 'n', 'an integer >= 0', n);
    if (!Number.isInteger(k) || k < 0 || k > n) throw new InvalidOptionError('Rng.choice', 'k', `an integer in the range [0, ${n}]`, k);
    const out = new Int32Array(k);
    if (k * 4 < n) {
      // Floyd's algorithm: O(k) memory, no length-n array.
      const chosen = new Set<number>();
      for (let j = n - k, i = 0; j < n; j++, i++) {
        const t = this.int(j + 1);
        const v = chosen.has(t) ? j : t;
        chosen.add(v);
        out[i] = v;
      }
      return this.shuffle(out);
    }
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const tmp = p[i]!;
      p[i] = p[j]!;
      p[j] = tmp;
      out[i] = p[i]!;
    }
    return out;
  }

  /** Fills an array with uniform values in [low, high). */
  fillUniform<T extends Float32Array | Float64Array>(array: T, low = 0, high = 1): T {
    for (let i = 0; i < array.length; i++) array[i] = this.uniform(low, high);
    return array;
  }

  /** Fills an array with normal values. */
  fillNormal<T extends Float32Array | Float64Array>(array: T, mean = 0, std = 1): T {
    for (let i = 0; i < array.length; i++) array[i] = this.normal(mean, std);
    return array;
  }

  /** Advances the state by 2^64 steps. */
  jump(): void {
    let t0 = 0;
    let t1 = 0;
    let t2 = 0;
    let t3 = 0;
    for (const word of JUMP) {
      for (let b = 0; b < 32; b++) {
        if ((word >>> b) & 1) {
          t0 ^= this.s0;
          t1 ^= this.s1;
          t2 ^= this.s2;
          t3 ^= this.s3;
        }
        this.nextUint32();
      }
    }
    this.s0 = t0 >>> 0;
    this.s1 = t1 >>> 0;
    this.s2 = t2 >>> 0;
    this.s3 = t3 >>> 0;
    this.spare = null;
  }

  /**
   * An independent stream: the child continues from the current state and this generator jumps 2^64 steps
   * ahead, so the two never overlap in practice. All forks lie on one lattice of jumps: once the child forks, it
   * (and its second fork) stands exactly where this generator's next fork will. Fork only from one generator of a
   * family (give the others sequential draws), or seed a new Rng from `nextSeed()` for a separate family.
   */
  fork(): Rng {
    const child = Rng.fromState({ s: [this.s0, this.s1, this.s2, this.s3], spareNormal: null });
    this.jump();
    return child;
  }

  /** n independent streams (see `fork`). */
  split(n: number): Rng[] {
    return Array.from({ length: n }, () => this.fork());
  }

  /** A fresh integer seed in [0, 2^32) for libraries that take a number. */
  nextSeed(): number {
    return this.nextUint32();
  }
}

/** Creates a generator; `seed` undefined means 0 so that results are reproducible by default. */
export function createRng(seed?: number): Rng {
  return new Rng(seed ?? 0);
}
