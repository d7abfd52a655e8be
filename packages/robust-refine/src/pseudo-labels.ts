/**
 * Initial pseudo-labels from any clustering: hard labels (one integer per sample) or per-class probabilities
 * ([n, K] rows summing to 1). Both are read once into one plain form: the argmax label of every sample, the
 * probabilities when given, and the number of clusters.
 */
import { InvalidInputError, NonFiniteError, ShapeError, Tensor, assertLabels, c, validateOptions } from '@dc/core';

/** Hard labels (array, typed array, rank-1 tensor) or probabilities (rank-2 tensor or array of rows). */
export type PseudoLabelInput = ArrayLike<number> | Tensor | readonly (readonly number[])[];

export interface PseudoLabels {
  /** Number of samples. */
  n: number;
  /** Number of clusters K (labels lie in 0..K-1). */
  numClusters: number;
  /** The label of each sample (argmax of its probabilities, first maximum on ties). */
  labels: Int32Array;
  /** [n * K] row-major probabilities, or null for hard labels. */
  probabilities: Float32Array | null;
  /** max(p) of each sample, or null for hard labels. */
  confidence: Float32Array | null;
}

export interface ReadPseudoLabelsOptions {
  /** Required number of samples (the dataset's size). */
  n?: number;
  /** Number of clusters; default: the width of the probabilities, or the largest label + 1. */
  numClusters?: number;
  /** Largest accepted |sum(row) - 1| for probabilities (default 1e-3). */
  tolerance?: number;
  /** Name used in error messages (default 'pseudoLabels'). */
  argument?: string;
}

function isRows(value: unknown): value is readonly (readonly number[])[] {
  return Array.isArray(value) && value.length > 0 && Array.isArray(value[0]);
}

/** Reads and checks pseudo-labels; throws ShapeError, InvalidInputError or NonFiniteError naming the problem. */
export function readPseudoLabels(input: PseudoLabelInput, options: ReadPseudoLabelsOptions = {}): PseudoLabels {
  const o = validateOptions('readPseudoLabels', options, {
    n: c.optional(c.int({ min: 1 })),
    numClusters: c.optional(c.int({ min: 2 })),
    tolerance: c.number({ min: 0 }),
    argument: c.string(),
  }, { tolerance: 1e-3, argument: 'pseudoLabels' });
  const { argument, tolerance } = o;
  let t: Tensor | null = null;
  if (input instanceof Tensor) t = input;
  else if (isRows(input)) {
    const width = input[0]!.length;
    if (!input.every((r) => Array.isArray(r) && r.length === width)) {
      throw new InvalidInputError(argument, 'probability rows must all have the same length');
    }
    t = Tensor.fromArray(input as number[][], 'float64');
  }
  if (t !== null && t.rank === 2) return readProbabilities(t, argument, tolerance, o.n, o.numClusters);
  if (t !== null && t.rank !== 1) throw new ShapeError(argument, '[n] (hard labels) or [n, K] (probabilities)', t.shape);
  if (t === null && (input === null || typeof input !== 'object' || typeof (input as ArrayLike<number>).length !== 'number')) {
    throw new InvalidInputError(argument, 'expected hard labels (an array or rank-1 tensor) or probabilities (an [n, K] tensor)');
  }
  const labels = assertLabels(argument, (t ?? input) as ArrayLike<number> | Tensor, o.n);
  let max = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
  const numClusters = o.numClusters ?? Math.max(2, max + 1);
  if (max >= numClusters) {
    throw new InvalidInputError(argument, `labels must lie in 0..${numClusters - 1} for ${numClusters} clusters; found ${max}`);
  }
  return { n: labels.length, numClusters, labels, probabilities: null, confidence: null };
}

function readProbabilities(t: Tensor, argument: string, tolerance: number, n: number | undefined, numClusters: number | undefined): PseudoLabels {
  const [rows, k] = t.shape as [number, number];
  if (t.dtype !== 'float32' && t.dtype !== 'float64') {
    throw new InvalidInputError(argument, `probabilities must be float32 or float64, got ${t.dtype}`);
  }
  if (n !== undefined && rows !== n) throw new ShapeError(argument, [n, numClusters ?? 'K'], t.shape, 'There must be one row per sample.');
  if (rows === 0) throw new InvalidInputError(argument, 'is empty');
  if (k < 2) throw new ShapeError(argument, [rows, numClusters ?? 'K >= 2'], t.shape, 'Probabilities need at least two clusters.');
  if (numClusters !== undefined && k !== numClusters) {
    throw new ShapeError(argument, [rows, numClusters], t.shape, 'There must be one column per cluster.');
  }
  const src = t.data as Float32Array | Float64Array;
  const probabilities = new Float32Array(rows * k);
  const labels = new Int32Array(rows);
  const confidence = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    let best = 0;
    let bestValue = -Infinity;
    for (let j = 0; j < k; j++) {
      const v = src[i * k + j]!;
      if (v - v !== 0) throw new NonFiniteError(argument, i * k + j, v);
      if (v < 0) throw new InvalidInputError(argument, `probabilities must be >= 0; found ${v} at row ${i}, column ${j}`);
      sum += v;
      if (v > bestValue) {
        bestValue = v;
        best = j;
      }
      probabilities[i * k + j] = v;
    }
    if (Math.abs(sum - 1) > tolerance) {
      throw new InvalidInputError(argument, `each row of probabilities must sum to 1 (within ${tolerance}); row ${i} sums to ${sum}`);
    }
    labels[i] = best;
    confidence[i] = bestValue;
  }
  return { n: rows, numClusters: k, labels, probabilities, confidence };
}
