/**
 * Trustworthiness of an embedding (Venna and Kaski 2001), as scikit-learn's sklearn.manifold.trustworthiness:
 * T(k) = 1 - 2 / (n k (2n - 3k - 1)) * sum_i sum_{j in U_i} (r(i, j) - k), where U_i are the k nearest
 * neighbours of i in the embedding that are not among its k nearest in the input, and r(i, j) is j's rank
 * among i's neighbours in the input (1 = nearest). 1 means every embedded neighbourhood is a true one.
 *
 * O(n^2 log n) time and O(n) memory (one row of ranks at a time): an evaluation tool for up to ~10,000 points.
 */
import { InvalidOptionError, ShapeError, Tensor, c, validateOptions } from '@dc/core';
import { toFloat64Rows } from '../internal/matrix.js';

export function trustworthiness(x: Tensor, embedding: Tensor, options: { k?: number } = {}): number {
  const a = toFloat64Rows('x', x, 3);
  const e = toFloat64Rows('embedding', embedding, 3);
  if (e.n !== a.n) throw new ShapeError('embedding', [a.n, 'd'], embedding.shape, 'There must be one embedded row per input row.');
  const n = a.n;
  const maxK = Math.ceil(n / 2) - 1;
  const o = validateOptions('trustworthiness', options, { k: c.int({ min: 1, max: Math.max(1, maxK) }) }, { k: Math.min(5, Math.max(1, maxK)) });
  const k = o.k;
  if (k >= n / 2) throw new InvalidOptionError('trustworthiness', 'k', `an integer < n / 2 (${n / 2})`, k);
  const dist = new Float64Array(n);
  const order = new Int32Array(n);
  const rank = new Int32Array(n);
  const embedded = new Float64Array(n);
  const near = new Int32Array(n);
  let t = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c2 = 0; c2 < a.d; c2++) s += (a.data[i * a.d + c2]! - a.data[j * a.d + c2]!) ** 2;
      dist[j] = j === i ? Infinity : s;
      order[j] = j;
    }
    order.sort((p, q) => dist[p]! - dist[q]! || p - q);
    for (let r = 0; r < n; r++) rank[order[r]!] = r + 1;
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c2 = 0; c2 < e.d; c2++) s += (e.data[i * e.d + c2]! - e.data[j * e.d + c2]!) ** 2;
      embedded[j] = j === i ? Infinity : s;
      near[j] = j;
    }
    near.sort((p, q) => embedded[p]! - embedded[q]! || p - q);
    for (let r = 0; r < k; r++) {
      const excess = rank[near[r]!]! - k;
      if (excess > 0) t += excess;
    }
  }
  return 1 - (t * 2) / (n * k * (2 * n - 3 * k - 1));
}
