import { Rng } from '@dc/core';

export interface BenchData {
  truth: Int32Array;
  pred: Int32Array;
  /** Probability of each sample's predicted cluster; the other k - 1 columns share the rest equally. */
  confidence: Float32Array;
  probabilities: Float32Array;
  clean: Uint8Array;
}

/**
 * n labels over k classes; the prediction is the true class under a random renaming 70% of the time and a random
 * cluster otherwise. Probabilities put `confidence` on the predicted cluster; the clean set is confidence > 0.9.
 */
export function benchData(n: number, k: number, seed = 1): BenchData {
  const rng = new Rng(seed);
  const rename = rng.permutation(k);
  const truth = new Int32Array(n);
  const pred = new Int32Array(n);
  const confidence = new Float32Array(n);
  const probabilities = new Float32Array(n * k);
  const clean = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const t = rng.int(k);
    truth[i] = t;
    const p = rng.uniform() < 0.7 ? rename[t]! : rng.int(k);
    pred[i] = p;
    const c = Math.fround(0.3 + 0.7 * rng.uniform());
    confidence[i] = c;
    probabilities.fill(Math.fround((1 - c) / (k - 1)), i * k, (i + 1) * k);
    probabilities[i * k + p] = c;
    clean[i] = c > 0.9 ? 1 : 0;
  }
  return { truth, pred, confidence, probabilities, clean };
}
