import { Rng, Tensor } from '@dc/core';

/**
 * Deterministic stand-in for autoencoder latents: `clusters` anisotropic Gaussian blobs in d dimensions with
 * different spreads and sizes, so neighbourhoods are neither trivial nor uniform.
 */
export function latentBlobs(n: number, d: number, clusters = 10, seed = 11): { x: Tensor<'float32'>; truth: Int32Array } {
  const rng = new Rng(seed);
  const centres = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => rng.normal(0, 4)));
  const scales = Array.from({ length: clusters }, () => Float32Array.from({ length: d }, () => 0.5 + rng.uniform())); 
  const weights = Array.from({ length: clusters }, () => 0.5 + rng.uniform());
  const total = weights.reduce((a, b) => a + b, 0);
  const x = Tensor.zeros([n, d]);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform() * total;
    let c = 0;
    while (c < clusters - 1 && u >= weights[c]!) u -= weights[c++]!;
    truth[i] = c;
    for (let j = 0; j < d; j++) x.data[i * d + j] = centres[c]![j]! + scales[c]![j]! * rng.normal();
  }
  return { x, truth };
}
