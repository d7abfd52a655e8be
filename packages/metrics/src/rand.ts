/**
 * Adjusted Rand index from pair counts. The pair counts reach n^2 (10^12 for a million labels) and the ARI
 * numerator multiplies two of them, beyond float64's exact integers, so the final products use BigInt, as
 * scikit-learn uses Python integers.
 */
import { resolveArgs, type MetricArgs, type NoOptions } from './args.js';
import type { Contingency } from './contingency.js';

/** Ordered-pair counts as in scikit-learn's `pair_confusion_matrix` (each unordered pair counted twice). */
export interface PairCounts {
  /** Pairs together in both labelings. */
  togetherBoth: bigint;
  /** Pairs together in the prediction only. */
  togetherPredOnly: bigint;
  /** Pairs together in the truth only. */
  togetherTruthOnly: bigint;
  /** Pairs apart in both. */
  apartBoth: bigint;
}

function sumOfSquares(values: Float64Array, exact: boolean): bigint {
  if (exact) {
    let s = 0;
    for (let i = 0; i < values.length; i++) s += values[i]! * values[i]!;
    return BigInt(s);
  }
  let s = 0n;
  for (let i = 0; i < values.length; i++) {
    const v = BigInt(values[i]!);
    s += v * v;
  }
  return s;
}

export function pairCounts(table: Contingency): PairCounts {
  // Below 2^26 samples every sum of squares is below 2^53, so float64 sums are exact.
  const exact = table.n < 2 ** 26;
  const n = BigInt(table.n);
  const cells = sumOfSquares(table.cellCount, exact);
  const truth = sumOfSquares(table.classSizes, exact);
  const pred = sumOfSquares(table.clusterSizes, exact);
  const togetherBoth = cells - n;
  const togetherPredOnly = pred - cells;
  const togetherTruthOnly = truth - cells;
  const apartBoth = n * n - togetherPredOnly - togetherTruthOnly - cells;
  return { togetherBoth, togetherPredOnly, togetherTruthOnly, apartBoth };
}

/** Adjusted Rand index: 1 for identical partitions, about 0 for independent ones, down to -0.5. Symmetric. */
export function ari(...args: MetricArgs<NoOptions>): number {
  const { table } = resolveArgs('ari', args, {}, {});
  return ariOf(table);
}

/** @internal */
export function ariOf(table: Contingency): number {
  const { togetherBoth: tp, togetherPredOnly: fp, togetherTruthOnly: fn, apartBoth: tn } = pairCounts(table);
  if (fn === 0n && fp === 0n) return 1;
  const numerator = 2n * (tp * tn - fn * fp);
  const denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return Number(numerator) / Number(denominator);
}
