import { Rng, Tensor } from '@dc/core';

/**
 * Stand-in for a 2-D UMAP embedding of an image dataset: `clusters` Gaussian blobs of different sizes and
 * spreads, some elongated, plus a uniform background of noise points.
 */
export function embeddingLike(n: number, clusters = 10, noise = 0.03, seed = 5, d = 2): Tensor<'float32'> {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => rng.uniform(-15, 15)));
  const scales = Array.from({ length: clusters }, () => Array.from({ length: d }, () => rng.uniform(0.3, 1.5)));
  const x = Tensor.zeros([n, d]);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < noise) {
      for (let j = 0; j < d; j++) x.data[i * d + j] = rng.uniform(-18, 18);
      continue;
    }
    const c = rng.int(clusters);
    for (let j = 0; j < d; j++) x.data[i * d + j] = centres[c]![j]! + scales[c]![j]! * rng.normal();
  }
  return x;
}
