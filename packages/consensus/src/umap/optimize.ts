/**
 * UMAP's layout optimisation: stochastic gradient descent over graph edges, each sampled in proportion to its
 * weight, with negative sampling (the schedule of umap-js and the Python package).
 *
 * umap-js runs this loop over nested number arrays with Math.pow in every update (measured on 70,000 points:
 * 20 of 200 epochs in 29 s, about 290 s in all, against a 60 s budget for the whole embedding). Here the
 * embedding and the edge schedule are flat typed arrays, random numbers are drawn in batches, and the two
 * gradient coefficients, functions of the squared distance alone, come from tables (see CoefficientTable):
 * Math.pow was more than half the time of an update (measured 3x faster per update with the tables).
 */
import type { Rng } from '@dc/core';
import { fillUint32 } from '../internal/random.js';
import type { FuzzyGraph } from './graph.js';

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { floor, pow } = Math;

export interface LayoutOptions {
  nEpochs: number;
  a: number;
  b: number;
  learningRate: number;
  negativeSampleRate: number;
  repulsionStrength: number;
  rng: Rng;
  onEpoch?: (epoch: number, total: number) => void;
}

/** Edges kept for optimisation: those with weight >= max / nEpochs, as UMAP does. */
export function scheduleEdges(graph: FuzzyGraph, nEpochs: number): { head: Int32Array; tail: Int32Array; epochsPerSample: Float64Array } {
  let max = 0;
  for (const w of graph.weights) if (w > max) max = w;
  const minWeight = max / nEpochs;
  let m = 0;
  for (const w of graph.weights) if (w >= minWeight) m++;
  const head = new Int32Array(m);
  const tail = new Int32Array(m);
  const epochsPerSample = new Float64Array(m);
  let e = 0;
  for (let i = 0; i < graph.weights.length; i++) {
    const w = graph.weights[i]!;
    if (w < minWeight) continue;
    head[e] = graph.rows[i]!;
    tail[e] = graph.cols[i]!;
    // nEpochs / (w / max * nEpochs): an edge of the largest weight is sampled every epoch.
    epochsPerSample[e] = max / w;
    e++;
  }
  return { head, tail, epochsPerSample };
}

// Squared distances are located in the tables by their IEEE-754 bits: the exponent and the top mantissa bits
// give the bin, the remaining mantissa bits the position inside it.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = 1 - HI;
const BIN_BITS = 9;
const LOW_EXPONENT = -32;
const HIGH_EXPONENT = 16;
const BASE = (LOW_EXPONENT + 1023) << BIN_BITS;
const SIZE = (HIGH_EXPONENT - LOW_EXPONENT) << BIN_BITS;
const INSIDE_HI = 2 ** -(20 - BIN_BITS);
const INSIDE_LO = 2 ** -(52 - BIN_BITS);

/**
 * f(s) tabulated (float32) at 512 points per octave of s in [2^-32, 2^16) and linearly interpolated: relative
 * error below 3e-6 for UMAP's coefficients (tested), far below the noise of the sampled gradient. Outside the
 * range the caller evaluates f exactly.
 */
export class CoefficientTable {
  readonly values: Float32Array;

  constructor(f: (s: number) => number) {
    this.values = new Float32Array(SIZE + 1);
    for (let i = 0; i <= SIZE; i++) {
      const exponent = (i >> BIN_BITS) + LOW_EXPONENT;
      const mantissa = 1 + (i & ((1 << BIN_BITS) - 1)) / (1 << BIN_BITS);
      this.values[i] = f(2 ** exponent * mantissa);
    }
  }

  /** f(s) for s > 0, or NaN when s is outside the table. */
  at(s: number): number {
    F64[0] = s;
    const hi = U32[HI]!;
    const bin = (hi >>> (20 - BIN_BITS)) - BASE;
    if (bin < 0 || bin >= SIZE) return NaN;
    const inside = (hi & ((1 << (20 - BIN_BITS)) - 1)) * INSIDE_HI + U32[LO]! * INSIDE_LO;
    const v = this.values;
    const lo = v[bin]!;
    return lo + inside * (v[bin + 1]! - lo);
  }
}

/** The attractive coefficient -2ab s^(b-1) / (a s^b + 1) and the repulsive 2 gamma b / ((0.001 + s)(a s^b + 1)). */
export function gradientCoefficients(a: number, b: number, gamma: number): { attract: (s: number) => number; repel: (s: number) => number } {
  return {
    attract: (s) => {
      const p = pow(s, b - 1);
      return (-2 * a * b * p) / (a * p * s + 1);
    },
    repel: (s) => (2 * gamma * b) / ((0.001 + s) * (a * pow(s, b) + 1)),
  };
}

/** Random numbers are drawn from the Rng in batches of this size (see fillUint32). */
const RANDOM_BATCH = 1 << 14;

/**
 * Per-edge schedule, interleaved so one edge's state is one cache line:
 * [next sample epoch, epochs per sample, next negative-sampling epoch, epochs per negative sample].
 */
function edgeState(epochsPerSample: Float64Array, negativeSampleRate: number): Float64Array {
  const m = epochsPerSample.length;
  const state = new Float64Array(4 * m);
  for (let e = 0; e < m; e++) {
    const eps = epochsPerSample[e]!;
    state[4 * e] = eps;
    state[4 * e + 1] = eps;
    state[4 * e + 2] = eps / negativeSampleRate;
    state[4 * e + 3] = eps / negativeSampleRate;
  }
  return state;
}

/**
 * Optimises `embedding` ([n * dim], in place). The embedding is float32 (as in the Python package) and the
 * tables too: measured 1.7x faster than float64 with separate schedule arrays on 70,000 points, as more of
 * the randomly accessed embedding stays in cache.
 */
export function optimizeLayout(embedding: Float32Array, n: number, dim: number, graph: FuzzyGraph, o: LayoutOptions): void {
  const { head, tail, epochsPerSample } = scheduleEdges(graph, o.nEpochs);
  const state = edgeState(epochsPerSample, o.negativeSampleRate);
  const coefficients = gradientCoefficients(o.a, o.b, o.repulsionStrength);
  const tables = { attract: new CoefficientTable(coefficients.attract), repel: new CoefficientTable(coefficients.repel) };
  if (dim === 2) {
    optimize2d(embedding, n, head, tail, state, tables, coefficients, o);
    return;
  }
  const m = head.length;
  const { attract, repel } = coefficients;
  const rng = o.rng;
  const scale = n / 4294967296;
  const y = embedding;
  const random = new Uint32Array(RANDOM_BATCH);
  let next = RANDOM_BATCH;
  for (let epoch = 0; epoch < o.nEpochs; epoch++) {
    // The rate decays linearly, updated after each epoch as in the reference loop.
    const alpha = o.learningRate * (epoch === 0 ? 1 : 1 - (epoch - 1) / o.nEpochs);
    for (let e = 0; e < m; e++) {
      const s = e << 2;
      if (state[s]! > epoch) continue;
      const j = head[e]! * dim;
      const k = tail[e]! * dim;
      let d2 = 0;
      for (let d = 0; d < dim; d++) {
        const t = y[j + d]! - y[k + d]!;
        d2 += t * t;
      }
      if (d2 > 0) {
        let coeff = tables.attract.at(d2);
        if (coeff !== coeff) coeff = attract(d2);
        for (let d = 0; d < dim; d++) {
          let g = coeff * (y[j + d]! - y[k + d]!);
          g = g > 4 ? 4 : g < -4 ? -4 : g;
          y[j + d] = y[j + d]! + g * alpha;
          y[k + d] = y[k + d]! - g * alpha;
        }
      }
      state[s] = state[s]! + state[s + 1]!;
      const perNegative = state[s + 3]!;
      const nNeg = floor((epoch - state[s + 2]!) / perNegative);
      for (let p = 0; p < nNeg; p++) {
        if (next === RANDOM_BATCH) {
          fillUint32(rng, random);
          next = 0;
        }
        const r = floor(random[next++]! * scale) * dim;
        let s2 = 0;
        for (let d = 0; d < dim; d++) {
          const t = y[j + d]! - y[r + d]!;
          s2 += t * t;
        }
        // Coincident points (and the point itself) get no push, as in current UMAP; umap-js pushes by 4.
        if (s2 <= 0) continue;
        let coeff = tables.repel.at(s2);
        if (coeff !== coeff) coeff = repel(s2);
        for (let d = 0; d < dim; d++) {
          let g = coeff * (y[j + d]! - y[r + d]!);
          g = g > 4 ? 4 : g < -4 ? -4 : g;
          y[j + d] = y[j + d]! + g * alpha;
        }
      }
      if (nNeg > 0) state[s + 2] = state[s + 2]! + nNeg * perNegative;
    }
    o.onEpoch?.(epoch + 1, o.nEpochs);
  }
}

/**
 * The same loop written out for two dimensions, the common case for clustering, with the table lookups inlined
 * (about 2x faster than the general loop, measured on 20,000 points).
 */
function optimize2d(
  y: Float32Array,
  n: number,
  head: Int32Array,
  tail: Int32Array,
  state: Float64Array,
  tables: { attract: CoefficientTable; repel: CoefficientTable },
  coefficients: { attract: (s: number) => number; repel: (s: number) => number },
  o: LayoutOptions,
): void {
  const m = head.length;
  const rng = o.rng;
  const scale = n / 4294967296;
  const random = new Uint32Array(RANDOM_BATCH);
  let next = RANDOM_BATCH;
  const ta = tables.attract.values;
  const tr = tables.repel.values;
  const { attract, repel } = coefficients;
  const mask = (1 << (20 - BIN_BITS)) - 1;
  const shift = 20 - BIN_BITS;
  for (let epoch = 0; epoch < o.nEpochs; epoch++) {
    const alpha = o.learningRate * (epoch === 0 ? 1 : 1 - (epoch - 1) / o.nEpochs);
    for (let e = 0; e < m; e++) {
      const s = e << 2;
      if (state[s]! > epoch) continue;
      const j = head[e]! << 1;
      const k = tail[e]! << 1;
      let yj0 = y[j]!;
      let yj1 = y[j + 1]!;
      const dx = yj0 - y[k]!;
      const dy = yj1 - y[k + 1]!;
      const d2 = dx * dx + dy * dy;
      if (d2 > 0) {
        F64[0] = d2;
        const hi = U32[HI]!;
        const bin = (hi >>> shift) - BASE;
        let coeff: number;
        if (bin >= 0 && bin < SIZE) {
          const inside = (hi & mask) * INSIDE_HI + U32[LO]! * INSIDE_LO;
          const lo = ta[bin]!;
          coeff = lo + inside * (ta[bin + 1]! - lo);
        } else {
          coeff = attract(d2);
        }
        let gx = coeff * dx;
        gx = gx > 4 ? 4 : gx < -4 ? -4 : gx;
        let gy = coeff * dy;
        gy = gy > 4 ? 4 : gy < -4 ? -4 : gy;
        yj0 += gx * alpha;
        yj1 += gy * alpha;
        y[k] = y[k]! - gx * alpha;
        y[k + 1] = y[k + 1]! - gy * alpha;
      }
      state[s] = state[s]! + state[s + 1]!;
      const perNegative = state[s + 3]!;
      const nNeg = floor((epoch - state[s + 2]!) / perNegative);
      for (let p = 0; p < nNeg; p++) {
        if (next === RANDOM_BATCH) {
          fillUint32(rng, random);
          next = 0;
        }
        const r = floor(random[next++]! * scale) << 1;
        if (r === j) continue;
        const ex = yj0 - y[r]!;
        const ey = yj1 - y[r + 1]!;
        const s2 = ex * ex + ey * ey;
        if (s2 <= 0) continue;
        F64[0] = s2;
        const hi = U32[HI]!;
        const bin = (hi >>> shift) - BASE;
        let coeff: number;
        if (bin >= 0 && bin < SIZE) {
          const inside = (hi & mask) * INSIDE_HI + U32[LO]! * INSIDE_LO;
          const lo = tr[bin]!;
          coeff = lo + inside * (tr[bin + 1]! - lo);
        } else {
          coeff = repel(s2);
        }
        let gx = coeff * ex;
        gx = gx > 4 ? 4 : gx < -4 ? -4 : gx;
        let gy = coeff * ey;
        gy = gy > 4 ? 4 : gy < -4 ? -4 : gy;
        yj0 += gx * alpha;
        yj1 += gy * alpha;
      }
      // The head point stays in registers through its negative samples (a sample of the head itself is skipped
      // above, as the reference skips it), so writing it back here equals updating y in place.
      y[j] = yj0;
      y[j + 1] = yj1;
      if (nNeg > 0) state[s + 2] = state[s + 2]! + nNeg * perNegative;
    }
    o.onEpoch?.(epoch + 1, o.nEpochs);
  }
}
