/**
 * Clustering accuracy (ACC) under the best one-to-one mapping of clusters to classes, and purity (each cluster
 * mapped to its majority class, many-to-one).
 */
import { resolveArgs, type MetricArgs, type NoOptions } from './args.js';
import type { Contingency } from './contingency.js';

/** One cluster mapped to one class, by label value. */
export interface MappingPair {
  cluster: number;
  class: number;
}

export interface AccuracyResult {
  /** Fraction of samples whose cluster is mapped to their class, in [0, 1]. */
  accuracy: number;
  /** Samples correctly labelled under the mapping. */
  correct: number;
  /** Samples evaluated (noise excluded). */
  n: number;
  /** The optimal one-to-one mapping, ascending by cluster. */
  mapping: MappingPair[];
  /** Clusters with no class (more clusters than classes); their samples count as errors. */
  unmatchedClusters: number[];
  /** Classes with no cluster (fewer clusters than classes). */
  unmatchedClasses: number[];
}

/**
 * ACC: the fraction of samples labelled correctly under the one-to-one mapping of clusters to classes that
 * maximises it (Hungarian algorithm). When the numbers of clusters and classes differ, min(clusters, classes)
 * pairs are matched and the remaining clusters' samples are errors. Symmetric in its value.
 */
export function clusteringAccuracy(...args: MetricArgs<NoOptions>): AccuracyResult {
  const { table } = resolveArgs('clusteringAccuracy', args, {}, {});
  return accuracyOf(table);
}

/** @internal */
export function accuracyOf(table: Contingency): AccuracyResult {
  const { clusterToClass, correct } = table.assignment();
  const mapping: MappingPair[] = [];
  const unmatchedClusters: number[] = [];
  const used = new Uint8Array(table.numClasses);
  for (let col = 0; col < clusterToClass.length; col++) {
    const r = clusterToClass[col]!;
    if (r < 0) unmatchedClusters.push(table.clusters[col]!);
    else {
      mapping.push({ cluster: table.clusters[col]!, class: table.classes[r]! });
      used[r] = 1;
    }
  }
  const unmatchedClasses: number[] = [];
  for (let r = 0; r < used.length; r++) if (!used[r]) unmatchedClasses.push(table.classes[r]!);
  return { accuracy: correct / table.n, correct, n: table.n, mapping, unmatchedClusters, unmatchedClasses };
}

/**
 * Purity: each cluster labelled with its most frequent class (several clusters may share a class), the
 * fraction of samples so labelled correctly. In [0, 1]; not symmetric (more clusters never lower it).
 */
export function purity(...args: MetricArgs<NoOptions>): number {
  const { table } = resolveArgs('purity', args, {}, {});
  return purityOf(table);
}

/** @internal */
export function purityOf(table: Contingency): number {
  const best = new Float64Array(table.numClusters);
  const { cellCol, cellCount } = table;
  for (let k = 0; k < cellCount.length; k++) {
    const col = cellCol[k]!;
    if (cellCount[k]! > best[col]!) best[col] = cellCount[k]!;
  }
  let total = 0;
  for (let col = 0; col < best.length; col++) total += best[col]!;
  return total / table.n;
}
