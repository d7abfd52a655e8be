import { Rng, Tensor } from '@dc/core';
import { trustworthiness } from '@dc/consensus';

/** Trustworthiness (k = 10) on a seeded 2,000-row subset: the full O(n^2 log n) measure is too slow at 10,000. */
export function subsetTrustworthiness(x: Tensor, embedding: Tensor, size = 2000, seed = 3): number {
  const n = x.shape[0]!;
  const rows = new Rng(seed).choice(n, Math.min(size, n));
  return trustworthiness(x.gatherRows(rows), embedding.gatherRows(rows), { k: 10 });
}
