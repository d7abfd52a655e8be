/**
 * The k-means baseline of the RUC benchmark: k-means on autoencoder features (ml-kmeans, k-means++, best of several
 * seeded starts by inertia), and cluster probabilities from k-means read as a mixture of spherical Gaussians with
 * one shared variance (the model whose hard-assignment limit k-means is):
 * p(j | z) ∝ pi_j exp(-|z - mu_j|^2 / (2 sigma^2)), with pi_j the cluster shares and sigma^2 = inertia / (n d).
 * No label is read here.
 */
import { Rng, Tensor } from '@dc/core';
import { kmeans } from 'ml-kmeans';

export interface KMeansBaseline {
  labels: Int32Array;
  /** [n, K] posterior of the spherical Gaussian mixture. */
  probabilities: Tensor<'float32'>;
  inertia: number;
}

/** k-means with `restarts` seeded k-means++ starts, keeping the lowest inertia. */
export function kmeansBaseline(features: Tensor<'float32'>, k: number, restarts: number, seed: number): KMeansBaseline {
  const [n, d] = features.shape as [number, number];
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(features.data.subarray(i * d, (i + 1) * d)));
  const rng = new Rng(seed);
  let best: { clusters: number[]; centroids: number[][]; inertia: number } | null = null;
  for (let r = 0; r < restarts; r++) {
    const res = kmeans(rows, k, { seed: rng.nextSeed(), initialization: 'kmeans++', maxIterations: 300 });
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      const cen = res.centroids[res.clusters[i]!]!;
      for (let j = 0; j < d; j++) inertia += (rows[i]![j]! - cen[j]!) ** 2;
    }
    if (!best || inertia < best.inertia) best = { clusters: res.clusters, centroids: res.centroids, inertia };
  }
  const sigma2 = best!.inertia / (n * d);
  const share = new Float64Array(k);
  for (const c of best!.clusters) share[c]! += 1 / n;
  const probabilities = Tensor.zeros([n, k]);
  const labels = new Int32Array(n);
  const logit = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      let d2 = 0;
      for (let j = 0; j < d; j++) d2 += (rows[i]![j]! - best!.centroids[c]![j]!) ** 2;
      logit[c] = Math.log(Math.max(share[c]!, 1e-12)) - d2 / (2 * sigma2);
      if (logit[c]! > max) {
        max = logit[c]!;
        labels[i] = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(logit[c]! - max);
    for (let c = 0; c < k; c++) probabilities.data[i * k + c] = Math.exp(logit[c]! - max) / sum;
  }
  return { labels, probabilities, inertia: best!.inertia };
}
