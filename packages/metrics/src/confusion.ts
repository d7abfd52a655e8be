/** The confusion (contingency) matrix as plain arrays, optionally reordered so the ACC mapping is diagonal. */
import { c } from '@dc/core';
import { resolveArgs, type MetricArgs } from './args.js';
import type { Contingency } from './contingency.js';

export interface ConfusionOptions {
  /**
   * Reorder rows and columns by the ACC mapping (default false): the matched class-cluster pairs come first, on
   * the diagonal, in ascending class order; unmatched classes and clusters follow in ascending order.
   */
  reorder?: boolean;
}

export interface ConfusionMatrix {
  /** Row labels: true classes. */
  classes: number[];
  /** Column labels: predicted clusters. */
  clusters: number[];
  /** counts[i][j]: samples of class classes[i] predicted as cluster clusters[j]. */
  counts: number[][];
}

const schema = { reorder: c.bool() };
const defaults = { reorder: false };

/**
 * Samples per (true class, predicted cluster); rows are classes and columns clusters, ascending by label unless
 * `reorder` is set. Equal to scikit-learn's `contingency_matrix(truth, pred)` without reordering.
 */
export function confusionMatrix(...args: MetricArgs<ConfusionOptions>): ConfusionMatrix {
  const { table, options } = resolveArgs('confusionMatrix', args, schema, defaults);
  return confusionOf(table, options.reorder);
}

/** @internal */
export function confusionOf(table: Contingency, reorder: boolean): ConfusionMatrix {
  const R = table.numClasses;
  const C = table.numClusters;
  const dense = table.dense();
  let rowOrder: number[];
  let colOrder: number[];
  if (reorder) {
    const { clusterToClass } = table.assignment();
    const classToCluster = new Int32Array(R).fill(-1);
    for (let col = 0; col < C; col++) if (clusterToClass[col]! >= 0) classToCluster[clusterToClass[col]!] = col;
    rowOrder = [];
    colOrder = [];
    for (let r = 0; r < R; r++) {
      if (classToCluster[r]! >= 0) {
        rowOrder.push(r);
        colOrder.push(classToCluster[r]!);
      }
    }
    for (let r = 0; r < R; r++) if (classToCluster[r]! < 0) rowOrder.push(r);
    for (let col = 0; col < C; col++) if (clusterToClass[col]! < 0) colOrder.push(col);
  } else {
    rowOrder = Array.from({ length: R }, (_, i) => i);
    colOrder = Array.from({ length: C }, (_, i) => i);
  }
  const counts = rowOrder.map((r) => colOrder.map((col) => dense[r * C + col]!));
  return {
    classes: rowOrder.map((r) => table.classes[r]!),
    clusters: colOrder.map((col) => table.clusters[col]!),
    counts,
  };
}
