/** Small synthetic problems for learnability tests (labels are only used as the supervised targets here). */
import { Rng, Tensor } from '@dc/core';

/** k Gaussian blobs in d dimensions, n points each, well separated. */
export function blobs(k: number, n: number, d: number, seed: number, spread = 0.4): { x: Tensor<'float32'>; y: Tensor<'int64'>; labels: number[] } {
  const rng = new Rng(seed);
  const centers = Array.from({ length: k }, () => Array.from({ length: d }, () => rng.normal(0, 2)));
  const x = Tensor.zeros([k * n, d]);
  const labels: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < n; i++) {
      const r = c * n + i;
      for (let j = 0; j < d; j++) x.data[r * d + j] = centers[c]![j]! + rng.normal(0, spread);
      labels.push(c);
    }
  }
  return { x, y: Tensor.fromArray(labels, 'int64'), labels };
}

/** 1x8x8 images: class 0 has a horizontal bar, class 1 a vertical bar, at random positions, plus noise. */
export function bars(n: number, seed: number): { x: Tensor<'float32'>; y: Tensor<'int64'>; labels: number[] } {
  const rng = new Rng(seed);
  const x = Tensor.zeros([n, 1, 8, 8]);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const pos = rng.int(1, 7);
    for (let p = 0; p < 64; p++) x.data[i * 64 + p] = rng.normal(0, 0.3);
    for (let t = 0; t < 8; t++) {
      const idx = c === 0 ? pos * 8 + t : t * 8 + pos;
      x.data[i * 64 + idx] = x.data[i * 64 + idx]! + 1;
    }
    labels.push(c);
  }
  return { x, y: Tensor.fromArray(labels, 'int64'), labels };
}

/** Fraction of rows whose argmax equals the label. */
export function accuracy(logits: Tensor, labels: readonly number[]): number {
  const [n, k] = logits.shape as [number, number];
  let ok = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits.data[i * k + j]! > logits.data[i * k + best]!) best = j;
    if (best === labels[i]) ok++;
  }
  return ok / n;
}
