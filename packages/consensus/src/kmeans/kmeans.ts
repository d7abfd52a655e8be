/**
 * k-means through ml-kmeans (Lloyd iterations), seeded with our greedy k-means++ so the result depends only on
 * `seed`; `nInit` restarts keep the lowest inertia.
 */
import { Rng, ShapeError, Tensor, assertMatrix, c, validateOptions } from '@dc/core';
import { kmeans } from 'ml-kmeans';
import { kmeansPlusPlus } from '../internal/kmeanspp.js';
import { toFloat64Rows } from '../internal/matrix.js';

export interface KMeansOptions {
  k: number;
  /** Restarts from different k-means++ seeds; the lowest inertia wins (default 1). */
  nInit?: number;
  maxIterations?: number;
  /** Convergence tolerance on centroid movement (ml-kmeans' tolerance, default 1e-6). */
  tolerance?: number;
  seed?: number;
}

export interface KMeansModel {
  k: number;
  labels: Int32Array;
  /** [k * d] row-major. */
  centroids: Float64Array;
  /** Sum of squared distances to the nearest centroid. */
  inertia: number;
  iterations: number;
  converged: boolean;
  /** Nearest centroid of each row. */
  predict(x: Tensor): Int32Array;
}

export function fitKMeans(x: Tensor, options: KMeansOptions): KMeansModel {
  const { data, n, d } = toFloat64Rows('x', x);
  const o = validateOptions('fitKMeans', options, {
    k: c.int({ min: 1, max: n }),
    nInit: c.int({ min: 1 }),
    maxIterations: c.int({ min: 1 }),
    tolerance: c.number({ min: 0 }),
    seed: c.int({ min: 0 }),
  }, { nInit: 1, maxIterations: 100, tolerance: 1e-6, seed: 0 });
  const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
  const rng = new Rng(o.seed);
  let best: { labels: Int32Array; centroids: Float64Array; inertia: number; iterations: number; converged: boolean } | null = null;
  for (let run = 0; run < o.nInit; run++) {
    const seeds = kmeansPlusPlus(data, n, d, o.k, rng.fork());
    const result = kmeans(rows, o.k, {
      initialization: Array.from(seeds, (i) => rows[i]!.slice()),
      maxIterations: o.maxIterations,
      tolerance: o.tolerance,
    });
    const centroids = new Float64Array(o.k * d);
    result.centroids.forEach((cen, j) => centroids.set(cen, j * d));
    // ml-kmeans returns the assignment made before its last centroid update; assign to the returned centroids so
    // labels, predict() on the same rows and inertia agree (they differ when maxIterations ends the run).
    const labels = nearest(data, n, d, centroids, o.k);
    const inertia = sumSquares(data, n, d, centroids, labels);
    if (!best || inertia < best.inertia) best = { labels, centroids, inertia, iterations: result.iterations, converged: result.converged };
  }
  const fitted = best!;
  return {
    k: o.k,
    ...fitted,
    predict: (t) => {
      const [m, dq] = assertMatrix('x', t);
      if (dq !== d) throw new ShapeError('x', ['m', d], t.shape, 'Rows must have as many columns as the fitted data.');
      const q = Float64Array.from(t.data as Float32Array);
      return nearest(q, m, d, fitted.centroids, o.k);
    },
  };
}

function nearest(data: Float64Array, n: number, d: number, centroids: Float64Array, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestD = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let a = 0; a < d; a++) s += (data[i * d + a]! - centroids[j * d + a]!) ** 2;
      if (s < bestD) {
        bestD = s;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

function sumSquares(data: Float64Array, n: number, d: number, centroids: Float64Array, labels: Int32Array): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const j = labels[i]!;
    for (let a = 0; a < d; a++) s += (data[i * d + a]! - centroids[j * d + a]!) ** 2;
  }
  return s;
}
