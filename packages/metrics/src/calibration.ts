/**
 * Calibration of cluster probabilities: expected calibration error with equal-width confidence bins (RUC's
 * Eq. 20, after Guo et al. 2017), the per-bin accuracy, confidence and count of a reliability diagram, and the
 * confidence histogram.
 *
 *   ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|
 *
 * A sample's confidence is the probability its model gives to its predicted cluster (by default the argmax, so
 * the row maximum) and it is correct when that cluster's ACC-mapped class is its true class. Bin m holds
 * confidences in (m/M, (m+1)/M]; a confidence of exactly 0 goes to the first bin.
 */
import { InvalidInputError, NonFiniteError, ShapeError, Tensor, c, checkParameter, validateOptions } from '@dc/core';
import { buildContingency, type Contingency, type NoiseHandling } from './contingency.js';
import type { LabelInput } from './labels.js';

/** Rows of probabilities: a [n, k] float tensor or an array of n rows of k numbers. */
export type ProbabilityInput = Tensor | readonly (ArrayLike<number>)[];

/** Default tolerance on each probability row's sum: |sum - 1| <= 1e-4 (float32 softmax is far inside it). */
export const DEFAULT_SUM_TOLERANCE = 1e-4;
/** Default number of equal-width confidence bins (as in Guo et al.'s ECE). */
export const DEFAULT_BINS = 15;

export interface CalibrationBin {
  /** The bin is (lower, upper]. */
  lower: number;
  upper: number;
  /** Samples whose confidence falls in the bin. */
  count: number;
  /** Of those, samples whose mapped prediction is correct. */
  correct: number;
  /** correct / count, or 0 for an empty bin. */
  accuracy: number;
  /** Mean confidence in the bin, or 0 for an empty bin. */
  confidence: number;
}

export interface CalibrationResult {
  /** Expected calibration error, in [0, 1]. */
  ece: number;
  /** Maximum calibration error: the largest |accuracy - confidence| over non-empty bins. */
  mce: number;
  /** Mean confidence and accuracy over all samples. */
  meanConfidence: number;
  accuracy: number;
  /** Samples evaluated. */
  n: number;
  bins: CalibrationBin[];
}

export interface CalibrationOptions {
  /** Number of equal-width bins on [0, 1] (default 15). */
  bins?: number;
  /** Allowed |row sum - 1| (default 1e-4). */
  tolerance?: number;
  /**
   * Predicted cluster of each sample, used as the probability column; defaults to each row's argmax. Give it
   * when the labels being evaluated are not the argmax of these probabilities.
   */
  pred?: LabelInput;
  /** How a predicted -1 is treated (only with `pred`); a -1 has no probability column, so use 'exclude'. */
  noise?: NoiseHandling;
}

/** Probabilities read into one row-major array and checked. */
export interface ProbabilityRows {
  data: Float32Array | Float64Array;
  n: number;
  k: number;
}

/**
 * Checks probabilities: rank 2 with `n` rows when given and at least one column, finite, non-negative, and each
 * row summing to 1 within `tolerance`.
 */
export function readProbabilities(argument: string, input: ProbabilityInput, n: number | undefined, tolerance: number): ProbabilityRows {
  let data: Float32Array | Float64Array;
  let rows: number;
  let k: number;
  if (input instanceof Tensor) {
    if (input.rank !== 2) throw new ShapeError(argument, n === undefined ? ['n', 'k'] : [n, 'k'], input.shape, 'Probabilities are one row per sample.');
    if (input.dtype !== 'float32' && input.dtype !== 'float64') {
      throw new InvalidInputError(argument, `dtype must be float32 or float64, got ${input.dtype}`);
    }
    data = input.data as Float32Array | Float64Array;
    [rows, k] = input.shape as [number, number];
  } else if (Array.isArray(input)) {
    rows = input.length;
    // Row 0 gives k, so check it is a row before reading its length (a null row would be a TypeError).
    k = rows > 0 ? checkRow(argument, input[0], 0).length : 0;
    data = new Float64Array(rows * k);
    for (let i = 0; i < rows; i++) {
      const row = checkRow(argument, input[i], i);
      if (row.length !== k) throw new ShapeError(argument, [rows, k], [rows, row.length], `Row ${i} has a different length from row 0.`);
      for (let j = 0; j < k; j++) {
        const v = row[j] as unknown;
        if (typeof v !== 'number') throw new InvalidInputError(argument, `probabilities must be numbers; found ${String(v)} at row ${i}, column ${j}`);
        data[i * k + j] = v;
      }
    }
  } else {
    throw new InvalidInputError(argument, 'expected a [n, k] Tensor or an array of n rows of k probabilities');
  }
  if (n !== undefined && rows !== n) throw new ShapeError(argument, [n, k], [rows, k], 'There must be one probability row per sample.');
  if (rows === 0) throw new InvalidInputError(argument, 'is empty; at least one row is needed');
  if (k === 0) throw new ShapeError(argument, [rows, 'k >= 1'], [rows, k]);

  const bad = data instanceof Float32Array ? firstBadRow32(data, rows, k, tolerance) : firstBadRow64(data as Float64Array, rows, k, tolerance);
  if (bad >= 0) rowError(argument, data, bad, k, tolerance);
  return { data, n: rows, k };
}

/** One row of an array of probability rows: an array or typed array (not null, a number or a string). */
function checkRow(argument: string, row: unknown, i: number): ArrayLike<number> {
  if (!isArrayLike(row)) {
    const what = row === null || row === undefined ? String(row) : typeof row === 'object' ? 'an object without a length' : `a ${typeof row}`;
    throw new InvalidInputError(argument, `row ${i} is ${what}; each row must be an array of k probabilities`);
  }
  return row as ArrayLike<number>;
}

// The row check runs over every probability (10^8 for a million samples and 100 clusters), so it has one
// monomorphic copy per array type and four independent accumulators. min(0, ...) stays 0 unless a value is
// negative, and NaN propagates through both the sum and the min, so one test per row catches every problem.

function firstBadRow32(data: Float32Array, rows: number, k: number, tolerance: number): number {
  for (let i = 0, off = 0; i < rows; i++, off += k) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let low = 0;
    const end = off + k;
    let j = off;
    for (; j + 3 < end; j += 4) {
      const a = data[j]!;
      const b = data[j + 1]!;
      const c = data[j + 2]!;
      const d = data[j + 3]!;
      s0 += a;
      s1 += b;
      s2 += c;
      s3 += d;
      low = Math.min(low, a, b, c, d);
    }
    for (; j < end; j++) {
      s0 += data[j]!;
      low = Math.min(low, data[j]!);
    }
    if (!(low === 0 && Math.abs(s0 + s1 + s2 + s3 - 1) <= tolerance)) return i;
  }
  return -1;
}

function firstBadRow64(data: Float64Array, rows: number, k: number, tolerance: number): number {
  for (let i = 0, off = 0; i < rows; i++, off += k) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let low = 0;
    const end = off + k;
    let j = off;
    for (; j + 3 < end; j += 4) {
      const a = data[j]!;
      const b = data[j + 1]!;
      const c = data[j + 2]!;
      const d = data[j + 3]!;
      s0 += a;
      s1 += b;
      s2 += c;
      s3 += d;
      low = Math.min(low, a, b, c, d);
    }
    for (; j < end; j++) {
      s0 += data[j]!;
      low = Math.min(low, data[j]!);
    }
    if (!(low === 0 && Math.abs(s0 + s1 + s2 + s3 - 1) <= tolerance)) return i;
  }
  return -1;
}

/** Each row's first maximum (the predicted cluster when none is given). */
export function rowArgmax(probs: ProbabilityRows): Int32Array {
  const { data, n, k } = probs;
  const out = new Int32Array(n);
  for (let i = 0, off = 0; i < n; i++, off += k) {
    let best = data[off]!;
    let at = 0;
    for (let j = 1; j < k; j++) {
      if (data[off + j]! > best) {
        best = data[off + j]!;
        at = j;
      }
    }
    out[i] = at;
  }
  return out;
}

function rowError(argument: string, data: Float32Array | Float64Array, i: number, k: number, tolerance: number): never {
  let sum = 0;
  for (let j = 0; j < k; j++) {
    const v = data[i * k + j]!;
    if (v - v !== 0) throw new NonFiniteError(argument, i * k + j, v);
    if (v < 0) throw new InvalidInputError(argument, `probabilities must be >= 0; found ${v} at row ${i}, column ${j}`);
    sum += v;
  }
  throw new InvalidInputError(argument, `row ${i} sums to ${sum}; each row must sum to 1 within ${tolerance}`);
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as ArrayLike<unknown>).length === 'number';
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  return typeof value === 'string' ? `'${value}' (a string)` : `${String(value)} (a ${typeof value})`;
}

function binOf(confidence: number, bins: number): number {
  let m = Math.ceil(confidence * bins) - 1;
  // Fix rounding at the edges so bin m is exactly (m/M, (m+1)/M].
  if (m > 0 && confidence <= m / bins) m--;
  else if (m < bins - 1 && confidence > (m + 1) / bins) m++;
  return m < 0 ? 0 : m >= bins ? bins - 1 : m;
}

/**
 * Bins confidences (in [0, 1]) with correctness flags (0 or 1, one per confidence) into the reliability-diagram
 * summary over `bins` equal-width bins.
 */
export function calibrationFromConfidences(confidence: Float64Array, correct: Uint8Array, bins: number): CalibrationResult {
  // Exported, so checked: a bad bin count or confidence would otherwise give NaN, an out-of-range bin or ECE > 1.
  checkParameter('calibrationFromConfidences', 'bins', bins, calibrationSchema.bins);
  if (!isArrayLike(confidence)) throw new InvalidInputError('confidence', 'expected an array or typed array of confidences');
  if (!isArrayLike(correct)) throw new InvalidInputError('correct', 'expected an array or typed array of 0/1 flags');
  const n = confidence.length;
  if (n === 0) throw new InvalidInputError('confidence', 'is empty; at least one confidence is needed');
  if (correct.length !== n) throw new ShapeError('correct', [n], [correct.length], 'There must be one correctness flag per confidence.');
  for (let i = 0; i < n; i++) {
    const v = confidence[i] as unknown;
    if (typeof v !== 'number') throw new InvalidInputError('confidence', `confidences must be numbers; found ${describe(v)} at index ${i}`);
    if (v - v !== 0) throw new NonFiniteError('confidence', i, v);
    if (v < 0 || v > 1) throw new InvalidInputError('confidence', `confidences must lie in [0, 1]; found ${v} at index ${i}`);
    const f = correct[i] as unknown;
    if (f !== 0 && f !== 1) throw new InvalidInputError('correct', `flags must be 0 or 1; found ${describe(f)} at index ${i}`);
  }
  return binConfidences(confidence, correct, bins);
}

/**
 * calibrationFromConfidences without the checks, for `calibrationOf`: its confidences are probabilities already
 * checked, which may exceed 1 by the row-sum tolerance (binOf puts them in the last bin).
 */
function binConfidences(confidence: Float64Array, correct: Uint8Array, bins: number): CalibrationResult {
  const n = confidence.length;
  const count = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  let totalConf = 0;
  let totalCorrect = 0;
  for (let i = 0; i < n; i++) {
    const v = confidence[i]!;
    const m = binOf(v, bins);
    count[m]!++;
    confSum[m]! += v;
    hits[m]! += correct[i]!;
    totalConf += v;
    totalCorrect += correct[i]!;
  }
  let ece = 0;
  let mce = 0;
  const out: CalibrationBin[] = [];
  for (let m = 0; m < bins; m++) {
    const cnt = count[m]!;
    const accuracy = cnt > 0 ? hits[m]! / cnt : 0;
    const conf = cnt > 0 ? confSum[m]! / cnt : 0;
    if (cnt > 0) {
      const gap = Math.abs(accuracy - conf);
      ece += (cnt / n) * gap;
      if (gap > mce) mce = gap;
    }
    out.push({ lower: m / bins, upper: (m + 1) / bins, count: cnt, correct: hits[m]!, accuracy, confidence: conf });
  }
  return { ece, mce, meanConfidence: totalConf / n, accuracy: totalCorrect / n, n, bins: out };
}

/**
 * @internal Calibration of the counted samples of `table` (whose cluster labels are probability columns) with
 * the table's ACC mapping.
 */
export function calibrationOf(table: Contingency, probs: ProbabilityRows, bins: number): CalibrationResult {
  const { clusters } = table;
  const lowest = clusters[0]!;
  const highest = clusters[clusters.length - 1]!;
  if (lowest < 0 || highest >= probs.k) {
    const bad = lowest < 0 ? lowest : highest;
    const hint = bad === -1 ? "; the noise label -1 has no column, so pass noise: 'exclude'" : '';
    throw new InvalidInputError('pred', `predicted clusters index probability columns 0..${probs.k - 1}, found cluster ${bad}${hint}`);
  }
  const { clusterToClass } = table.assignment();
  const n = table.n;
  const confidence = new Float64Array(n);
  const correct = new Uint8Array(n);
  const { data, k } = probs;
  const kept = table.kept;
  const clusterCodes = table.clusterCodes;
  const classCodes = table.classCodes;
  for (let i = 0, j = 0; j < n; i++) {
    if (kept && !kept[i]) continue;
    const code = clusterCodes[j]!;
    confidence[j] = data[i * k + clusters[code]!]!;
    correct[j] = clusterToClass[code] === classCodes[j] ? 1 : 0;
    j++;
  }
  return binConfidences(confidence, correct, bins);
}

const calibrationSchema = {
  bins: c.int({ min: 1, max: 100_000 }),
  tolerance: c.number({ min: 0, max: 1 }),
  pred: c.optional(c.custom<LabelInput>('labels', () => true)),
  noise: c.oneOf(['cluster', 'exclude'] as const),
};
const calibrationDefaults = { bins: DEFAULT_BINS, tolerance: DEFAULT_SUM_TOLERANCE, noise: 'cluster' as NoiseHandling };

/**
 * Reliability of cluster probabilities against the truth: ECE, MCE and per-bin accuracy, confidence and
 * count. Predictions are each row's argmax unless `pred` is given; clusters are mapped to classes by the ACC
 * mapping of those predictions.
 */
export function calibration(probabilities: ProbabilityInput, truth: LabelInput, options?: CalibrationOptions): CalibrationResult {
  const o = validateOptions('calibration', options, calibrationSchema, calibrationDefaults);
  const probs = readProbabilities('probabilities', probabilities, undefined, o.tolerance);
  const table = buildContingency(o.pred ?? rowArgmax(probs), truth, o.noise);
  if (o.pred !== undefined && table.n + table.excluded !== probs.n) {
    throw new ShapeError('probabilities', [table.n + table.excluded, probs.k], [probs.n, probs.k], 'There must be one probability row per sample.');
  }
  return calibrationOf(table, probs, o.bins);
}

/** ECE alone; see `calibration`. */
export function expectedCalibrationError(probabilities: ProbabilityInput, truth: LabelInput, options?: CalibrationOptions): number {
  return calibration(probabilities, truth, options).ece;
}

export interface Histogram {
  /** bins + 1 edges from 0 to 1; bin m is (edges[m], edges[m+1]] (the first also holds 0). */
  edges: number[];
  counts: number[];
  /** counts / total. */
  fractions: number[];
}

/**
 * Histogram of confidences over equal-width bins on [0, 1]: either confidences in [0, 1] (one per sample) or
 * probability rows, whose maxima are taken.
 */
export function confidenceHistogram(input: ProbabilityInput | ArrayLike<number>, options?: { bins?: number; tolerance?: number }): Histogram {
  const o = validateOptions('confidenceHistogram', options, { bins: calibrationSchema.bins, tolerance: calibrationSchema.tolerance }, calibrationDefaults);
  let confidence: Float64Array;
  const isRows = input instanceof Tensor ? input.rank !== 1 : Array.isArray(input) && input.length > 0 && typeof input[0] === 'object';
  if (isRows) {
    const probs = readProbabilities('input', input as ProbabilityInput, undefined, o.tolerance);
    const argmax = rowArgmax(probs);
    confidence = new Float64Array(probs.n);
    for (let i = 0; i < probs.n; i++) confidence[i] = probs.data[i * probs.k + argmax[i]!]!;
  } else {
    const data = (input instanceof Tensor ? input.data : input) as ArrayLike<number>;
    if (data.length === 0) throw new InvalidInputError('input', 'is empty; at least one confidence is needed');
    confidence = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      // No Number() conversion: it would take '0.5', true or null as confidences.
      const v = data[i] as unknown;
      if (typeof v !== 'number') throw new InvalidInputError('input', `confidences must be numbers; found ${describe(v)} at index ${i}`);
      if (v - v !== 0) throw new NonFiniteError('input', i, v);
      if (v < 0 || v > 1) throw new InvalidInputError('input', `confidences must lie in [0, 1]; found ${v} at index ${i}`);
      confidence[i] = v;
    }
  }
  const counts = new Array<number>(o.bins).fill(0);
  for (let i = 0; i < confidence.length; i++) counts[binOf(confidence[i]!, o.bins)]!++;
  return {
    edges: Array.from({ length: o.bins + 1 }, (_, m) => m / o.bins),
    counts,
    fractions: counts.map((x) => x / confidence.length),
  };
}
