import { Rng, Tensor } from '@dc/core';

/** Deterministic clustered test data: `clusters` Gaussian blobs in d dimensions. */
export function blobs(n: number, d: number, clusters = 50, seed = 7): Tensor<'float32'> {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => rng.normal()));
  const x = Tensor.zeros([n, d]);
  for (let i = 0; i < n; i++) {
    const c = centres[rng.int(clusters)]!;
    for (let j = 0; j < d; j++) x.data[i * d + j] = c[j]! + 0.5 * rng.normal();
  }
  return x;
}
