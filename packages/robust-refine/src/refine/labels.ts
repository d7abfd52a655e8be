/**
 * The label arithmetic of RUC's retraining (Section 3.2, Algorithm 1) as pure functions over row-major
 * [rows * K] Float32Arrays: one-hot, label smoothing (Eq. 8), sharpening, co-refinement of clean labels with the
 * counter network (Eqs. 11-12), guessed labels for unclean samples (Eqs. 13-14) and the min-max normalised
 * confidence that weights co-refinement.
 */
import { InvalidInputError, InvalidOptionError } from '@dc/core';

function checkClasses(caller: string, k: number): void {
  if (!Number.isInteger(k) || k < 2) throw new InvalidOptionError(caller, 'numClusters', 'an integer >= 2', k);
}

function checkTemperature(caller: string, t: number): void {
  if (!(typeof t === 'number' && Number.isFinite(t) && t > 0)) throw new InvalidOptionError(caller, 'temperature', 'a finite number > 0', t);
}

function checkRows(caller: string, name: string, p: ArrayLike<number>, k: number): number {
  if (p.length % k !== 0) throw new InvalidInputError(name, `${caller}: length ${p.length} is not a multiple of ${k} classes`);
  return p.length / k;
}

/** One-hot rows for labels in 0..K-1. */
export function oneHot(labels: ArrayLike<number>, numClusters: number): Float32Array {
  checkClasses('oneHot', numClusters);
  const out = new Float32Array(labels.length * numClusters);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= numClusters) {
      throw new InvalidInputError('labels', `oneHot: label ${l} at index ${i} is outside 0..${numClusters - 1}`);
    }
    out[i * numClusters + l] = 1;
  }
  return out;
}

/**
 * Label smoothing (Eq. 8): (1 - eps) y + eps / (K - 1) (1 - y) for one-hot y, so the label keeps 1 - eps and the
 * other K - 1 classes share eps equally.
 */
export function smoothLabels(labels: ArrayLike<number>, numClusters: number, epsilon: number): Float32Array {
  if (!(typeof epsilon === 'number' && epsilon >= 0 && epsilon <= 1)) {
    throw new InvalidOptionError('smoothLabels', 'epsilon', 'a finite number in the range [0, 1]', epsilon);
  }
  const out = oneHot(labels, numClusters);
  const off = epsilon / (numClusters - 1);
  for (let i = 0; i < out.length; i++) out[i] = out[i] === 1 ? 1 - epsilon : off;
  return out;
}

/** Sharpen(p, T) = p^(1/T) / sum(p^(1/T)) per row. Rows are scaled by their maximum first so small T never underflows. */
export function sharpen(p: ArrayLike<number>, numClusters: number, temperature: number): Float32Array {
  checkClasses('sharpen', numClusters);
  checkTemperature('sharpen', temperature);
  const rows = checkRows('sharpen', 'p', p, numClusters);
  const out = new Float32Array(p.length);
  const power = 1 / temperature;
  for (let r = 0; r < rows; r++) {
    const o = r * numClusters;
    let max = 0;
    for (let j = 0; j < numClusters; j++) {
      const v = p[o + j]!;
      // A negative entry has no real power for most T, and even powers would turn it positive.
      if (v < 0) throw new InvalidInputError('p', `sharpen: probabilities must be >= 0; found ${v} at row ${r}, column ${j}`);
      max = Math.max(max, v);
    }
    if (!(max > 0)) throw new InvalidInputError('p', `sharpen: row ${r} has no positive entry`);
    let sum = 0;
    const row = new Float64Array(numClusters);
    for (let j = 0; j < numClusters; j++) {
      row[j] = Math.pow(p[o + j]! / max, power);
      sum += row[j]!;
    }
    for (let j = 0; j < numClusters; j++) out[o + j] = row[j]! / sum;
  }
  return out;
}

/**
 * Min-max normalisation of confidences to [0, 1], the co-refinement weight w of the paper's training details.
 * When every value is equal there is nothing to rank by and every weight is 0 (the given label is kept).
 */
export function minMaxNormalize(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v - v !== 0) throw new InvalidInputError('values', `minMaxNormalize: value ${v} at index ${i} is not finite`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  if (!(range > 0)) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - min) / range;
  return out;
}

/** Max of each row. */
export function rowMax(p: ArrayLike<number>, numClusters: number): Float32Array {
  const rows = checkRows('rowMax', 'p', p, numClusters);
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < numClusters; j++) m = Math.max(m, p[r * numClusters + j]!);
    out[r] = m;
  }
  return out;
}

/** Argmax of each row (first maximum on ties). */
export function rowArgmax(p: ArrayLike<number>, numClusters: number): Int32Array {
  const rows = checkRows('rowArgmax', 'p', p, numClusters);
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < numClusters; j++) if (p[r * numClusters + j]! > p[r * numClusters + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/**
 * Co-refinement of clean labels (Eqs. 11-12): y' = Sharpen((1 - w) y + w p_c, T), where p_c is the counter
 * network's prediction and w its min-max normalised confidence on that sample.
 */
export function coRefineLabels(
  labels: ArrayLike<number>,
  counterProbabilities: ArrayLike<number>,
  weights: ArrayLike<number>,
  numClusters: number,
  temperature: number,
): Float32Array {
  const y = labels.length * numClusters === counterProbabilities.length ? oneHot(labels, numClusters) : null;
  if (!y) {
    throw new InvalidInputError('counterProbabilities', `coRefineLabels: expected ${labels.length} x ${numClusters} values, got ${counterProbabilities.length}`);
  }
  if (weights.length !== labels.length) {
    throw new InvalidInputError('weights', `coRefineLabels: expected ${labels.length} weights, got ${weights.length}`);
  }
  const mixed = new Float32Array(y.length);
  for (let i = 0; i < labels.length; i++) {
    const w = weights[i]!;
    if (!(w >= 0 && w <= 1)) throw new InvalidInputError('weights', `coRefineLabels: weight ${w} at index ${i} is outside [0, 1]`);
    for (let j = 0; j < numClusters; j++) {
      const o = i * numClusters + j;
      mixed[o] = (1 - w) * y[o]! + w * counterProbabilities[o]!;
    }
  }
  return sharpen(mixed, numClusters, temperature);
}

/**
 * Guessed labels for unclean samples (Eqs. 13-14): the mean of the given predictions (M weak views from each of
 * the two networks, or from one network without co-training), sharpened.
 */
export function guessLabels(predictions: readonly ArrayLike<number>[], numClusters: number, temperature: number): Float32Array {
  if (predictions.length === 0) throw new InvalidInputError('predictions', 'guessLabels: needs at least one prediction');
  const len = predictions[0]!.length;
  checkRows('guessLabels', 'predictions', predictions[0]!, numClusters);
  const mean = new Float32Array(len);
  for (const p of predictions) {
    if (p.length !== len) throw new InvalidInputError('predictions', 'guessLabels: every prediction must have the same shape');
    for (let i = 0; i < len; i++) mean[i]! += p[i]!;
  }
  for (let i = 0; i < len; i++) mean[i]! /= predictions.length;
  return sharpen(mean, numClusters, temperature);
}
