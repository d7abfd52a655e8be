/**
 * Information-theoretic scores: entropy, mutual information, NMI and AMI (natural logarithms). Special cases and
 * floating-point guards follow scikit-learn 1.2 so values agree with it to ~1e-15:
 *  - both labelings with a single label: NMI = AMI = 1 (a perfect match);
 *  - MI = 0 otherwise: NMI = 0;
 *  - per-cell MI terms below machine epsilon in magnitude are dropped and MI is clipped at 0;
 *  - the AMI denominator keeps its sign and is at least machine epsilon in magnitude.
 */
import { c } from '@dc/core';
import { resolveArgs, type MetricArgs, type NoOptions } from './args.js';
import type { Contingency } from './contingency.js';
import { expectedMutualInformation } from './emi.js';

/** How the two entropies are averaged in the NMI and AMI normaliser. */
export type Average = 'arithmetic' | 'geometric' | 'min' | 'max';
export const AVERAGES: readonly Average[] = ['arithmetic', 'geometric', 'min', 'max'];

export interface AverageOptions {
  /** Normaliser: 'arithmetic' (default, as scikit-learn), 'geometric', 'min' or 'max' of the two entropies. */
  average?: Average;
}

const averageSchema = { average: c.oneOf(AVERAGES) };
const averageDefaults = { average: 'arithmetic' as Average };

const EPS = 2.220446049250313e-16;

function entropyOfSizes(sizes: Float64Array, n: number): number {
  if (sizes.length <= 1) return 0;
  const logN = Math.log(n);
  let h = 0;
  for (let i = 0; i < sizes.length; i++) {
    const s = sizes[i]!;
    h += (s / n) * (Math.log(s) - logN);
  }
  return -h;
}

function memo(table: Contingency, key: string, compute: () => number): number {
  let v = table.memo.get(key);
  if (v === undefined) {
    v = compute();
    table.memo.set(key, v);
  }
  return v;
}

/** Entropies of the true classes and of the predicted clusters (nats). */
export function entropies(table: Contingency): { truth: number; pred: number } {
  return {
    truth: memo(table, 'entropy.truth', () => entropyOfSizes(table.classSizes, table.n)),
    pred: memo(table, 'entropy.pred', () => entropyOfSizes(table.clusterSizes, table.n)),
  };
}

function mutualInfoOf(table: Contingency): number {
  return memo(table, 'mi', () => {
    if (table.numClasses === 1 || table.numClusters === 1) return 0;
    const n = table.n;
    const logN = Math.log(n);
    const { cellRow, cellCol, cellCount, classSizes, clusterSizes } = table;
    let mi = 0;
    for (let k = 0; k < cellCount.length; k++) {
      const v = cellCount[k]!;
      const p = v / n;
      const outer = classSizes[cellRow[k]!]! * clusterSizes[cellCol[k]!]!;
      const term = p * (Math.log(v) - logN) + p * (-Math.log(outer) + logN + logN);
      if (Math.abs(term) >= EPS) mi += term;
    }
    return mi > 0 ? mi : 0;
  });
}

function expectedMutualInfoOf(table: Contingency): number {
  return memo(table, 'emi', () => expectedMutualInformation(table.classSizes, table.clusterSizes, table.n));
}

export function generalizedAverage(u: number, v: number, average: Average): number {
  switch (average) {
    case 'arithmetic':
      return (u + v) / 2;
    case 'geometric':
      return Math.sqrt(u * v);
    case 'min':
      return Math.min(u, v);
    case 'max':
      return Math.max(u, v);
  }
}

/** Mutual information between predicted clusters and true classes, in nats. Symmetric. */
export function mutualInfo(...args: MetricArgs<NoOptions>): number {
  const { table } = resolveArgs('mutualInfo', args, {}, {});
  return mutualInfoOf(table);
}

/** Expected mutual information of two random labelings with the same class and cluster sizes, in nats. */
export function expectedMutualInfo(...args: MetricArgs<NoOptions>): number {
  const { table } = resolveArgs('expectedMutualInfo', args, {}, {});
  return expectedMutualInfoOf(table);
}

/** Normalized mutual information: MI divided by the `average` of the two entropies. In [0, 1]; symmetric. */
export function nmi(...args: MetricArgs<AverageOptions>): number {
  const { table, options } = resolveArgs('nmi', args, averageSchema, averageDefaults);
  return nmiOf(table, options.average);
}

/** @internal */
export function nmiOf(table: Contingency, average: Average): number {
  if (table.numClasses === 1 && table.numClusters === 1) return 1;
  const mi = mutualInfoOf(table);
  if (mi === 0) return 0;
  const h = entropies(table);
  return mi / generalizedAverage(h.truth, h.pred, average);
}

/**
 * Adjusted mutual information: (MI - E[MI]) / (average(H_truth, H_pred) - E[MI]), with the exact expected
 * mutual information under the permutation model. 1 for identical labelings, about 0 for independent ones,
 * negative when worse than chance; symmetric.
 */
export function ami(...args: MetricArgs<AverageOptions>): number {
  const { table, options } = resolveArgs('ami', args, averageSchema, averageDefaults);
  return amiOf(table, options.average);
}

/** @internal */
export function amiOf(table: Contingency, average: Average): number {
  if (table.numClasses === 1 && table.numClusters === 1) return 1;
  const mi = mutualInfoOf(table);
  const emi = expectedMutualInfoOf(table);
  const h = entropies(table);
  const normalizer = generalizedAverage(h.truth, h.pred, average);
  // Every permutation gives the same MI when one labeling puts each sample in its own cluster; with the 'min'
  // normaliser AMI is then 0/0 in exact arithmetic. Take the limit NMI takes (1) rather than rounding noise.
  if (normalizer > 0 && Math.abs(normalizer - emi) <= 1e-12 * normalizer) return 1;
  let denominator = normalizer - emi;
  // The normaliser is never below E[MI] in exact arithmetic; keep rounding from dividing by ~0.
  denominator = denominator < 0 ? Math.min(denominator, -EPS) : Math.max(denominator, EPS);
  return (mi - emi) / denominator;
}

/** @internal */
export function mutualInfoOfTable(table: Contingency): number {
  return mutualInfoOf(table);
}
