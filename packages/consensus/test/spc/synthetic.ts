/**
 * Synthetic image clusters for SPC's tests: each class is a few Gaussian blobs at class-specific places; an image
 * jitters every blob's position and brightness and adds pixel noise, so a class is a continuous family of
 * similar images. Seeded; the class of each image is returned for evaluation only.
 */
import { Rng, Tensor } from '@dc/core';
import type { SpcOptions } from '@dc/consensus';

export function syntheticImages(n: number, k: number, size: number, seed: number): { images: Tensor<'float32'>; classes: Int32Array } {
  const rng = new Rng(seed);
  const blobs = 3;
  // Blob centres per class, kept away from the border.
  const centres = Array.from({ length: k }, () => Array.from({ length: blobs }, () => [2 + rng.uniform() * (size - 4), 2 + rng.uniform() * (size - 4)] as const));
  const data = new Float32Array(n * size * size);
  const classes = new Int32Array(n);
  const width = size / 8;
  for (let i = 0; i < n; i++) {
    const cls = i % k;
    classes[i] = cls;
    const o = i * size * size;
    const placed = centres[cls]!.map(([cx, cy]) => [cx + rng.normal(0, 0.8), cy + rng.normal(0, 0.8), 0.6 + 0.4 * rng.uniform()] as const);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let v = 0;
        for (const [cx, cy, a] of placed) v += a * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * width * width));
        data[o + y * size + x] = Math.min(1, Math.max(0, v + rng.normal(0, 0.05)));
      }
    }
  }
  return { images: new Tensor('float32', data, [n, 1, size, size]), classes };
}

/** A schedule small enough for a test (a few seconds): two small members, one thread, no worker threads. */
export const SMALL_SCHEDULE: Omit<SpcOptions, 'nClusters'> = {
  ensembleSize: 2,
  pretrainEpochs: 3,
  epochs: 1,
  maxRounds: 2,
  patience: 1,
  baseChannels: 8,
  latentDim: 8,
  batchSize: 32,
  threads: 1,
  workers: 0,
  seed: 0,
  umap: { nNeighbors: 15, epochs: 200 },
  hdbscan: { minPts: 5 },
};
