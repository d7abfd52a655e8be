/** Synthetic data for the retraining tests: Gaussian blobs and corrupted pseudo-labels. */
import { Rng, Tensor } from '@dc/core';

export interface Blobs {
  x: Tensor<'float32'>;
  truth: Int32Array;
  /** Truth with `noise` of the labels moved to another cluster uniformly. */
  noisy: Int32Array;
  flipped: Uint8Array;
}

/** k clusters in d dimensions, centres at `spread` on orthogonal axes, unit-variance noise. */
export function blobs(n: number, k: number, d: number, noise: number, seed: number, spread = 3): Blobs {
  const rng = new Rng(seed);
  const x = Tensor.zeros([n, d]);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    truth[i] = c;
    for (let j = 0; j < d; j++) x.data[i * d + j] = rng.normal() + (j % k === c && j < k * Math.floor(d / k) ? spread : 0);
  }
  const noisy = truth.slice();
  const flipped = new Uint8Array(n);
  for (const i of rng.choice(n, Math.round(noise * n))) {
    noisy[i] = (truth[i]! + 1 + rng.int(k - 1)) % k;
    flipped[i] = 1;
  }
  return { x, truth, noisy, flipped };
}

export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  let right = 0;
  for (let i = 0; i < truth.length; i++) if (pred[i] === truth[i]) right++;
  return right / truth.length;
}
