/**
 * MixMatch's MixUp step (Eqs. 1-4): lambda ~ Beta(alpha, alpha), lambda' = max(lambda, 1 - lambda), and every
 * row mixed with a partner row of a random permutation of the same pool, inputs and targets alike. Taking the
 * larger weight keeps each mixed row closer to its own sample, so the first rows of the pool stay "labeled" and
 * the last "unlabeled" for the two losses.
 */
import { InvalidInputError, InvalidOptionError, type Rng } from '@dc/core';

/** lambda' = max(lambda, 1 - lambda) with lambda ~ Beta(alpha, alpha); always in [0.5, 1]. */
export function mixWeight(rng: Rng, alpha: number): number {
  if (!(typeof alpha === 'number' && Number.isFinite(alpha) && alpha > 0)) {
    throw new InvalidOptionError('mixWeight', 'alpha', 'a finite number > 0', alpha);
  }
  const lambda = rng.beta(alpha, alpha);
  // For tiny alpha both gamma draws can underflow to 0 (0 / 0); Beta(alpha, alpha) then sits at 0 or 1.
  if (!Number.isFinite(lambda)) return 1;
  return Math.max(lambda, 1 - lambda);
}

/**
 * out[i] = lambda * x[i] + (1 - lambda) * x[perm[i]] for every row i of a [rows, rowSize] array. Used for inputs
 * (rowSize = C*H*W) and targets (rowSize = K) with the same lambda and permutation.
 */
export function mixRows(x: Float32Array, rowSize: number, lambda: number, perm: ArrayLike<number>, out?: Float32Array): Float32Array {
  if (!Number.isInteger(rowSize) || rowSize < 1 || x.length % rowSize !== 0) {
    throw new InvalidInputError('x', `mixRows: length ${x.length} is not a multiple of the row size ${rowSize}`);
  }
  const rows = x.length / rowSize;
  if (perm.length !== rows) throw new InvalidInputError('perm', `mixRows: expected ${rows} entries, got ${perm.length}`);
  if (!(lambda >= 0 && lambda <= 1)) throw new InvalidOptionError('mixRows', 'lambda', 'a finite number in the range [0, 1]', lambda);
  const result = out ?? new Float32Array(x.length);
  if (result.length !== x.length || result === x) throw new InvalidInputError('out', 'mixRows: needs a separate array of the same length');
  const mu = 1 - lambda;
  for (let i = 0; i < rows; i++) {
    const j = perm[i]!;
    if (!(j >= 0 && j < rows)) throw new InvalidInputError('perm', `mixRows: entry ${j} at index ${i} is outside 0..${rows - 1}`);
    const a = i * rowSize;
    const b = j * rowSize;
    for (let c = 0; c < rowSize; c++) result[a + c] = lambda * x[a + c]! + mu * x[b + c]!;
  }
  return result;
}

export interface MixedBatch {
  inputs: Float32Array;
  targets: Float32Array;
  lambda: number;
  perm: Int32Array;
}

/** MixUp of a pool of rows and their soft targets with one draw of lambda' and one permutation from `rng`. */
export function mixMatch(inputs: Float32Array, targets: Float32Array, numClusters: number, rng: Rng, alpha: number): MixedBatch {
  const rows = targets.length / numClusters;
  if (!Number.isInteger(rows) || rows < 1 || inputs.length % rows !== 0) {
    throw new InvalidInputError('inputs', `mixMatch: ${inputs.length} input values do not split into ${rows} rows`);
  }
  const lambda = mixWeight(rng, alpha);
  const perm = rng.permutation(rows);
  return {
    inputs: mixRows(inputs, inputs.length / rows, lambda, perm),
    targets: mixRows(targets, numClusters, lambda, perm),
    lambda,
    perm,
  };
}
