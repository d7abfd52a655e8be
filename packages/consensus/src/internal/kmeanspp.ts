/**
 * Greedy k-means++ seeding (Arthur and Vassilvitskii 2007, with the local trials of scikit-learn's
 * kmeans_plusplus): each new centre is the best of 2 + floor(ln k) candidates drawn with probability
 * proportional to the squared distance to the nearest centre chosen so far. Returns the chosen row indices.
 */
import type { Rng } from '@dc/core';

export function kmeansPlusPlus(data: Float64Array, n: number, d: number, k: number, rng: Rng): Int32Array {
  const chosen = new Int32Array(k);
  const trials = 2 + Math.floor(Math.log(k));
  const closest = new Float64Array(n);
  const dist2 = (a: number, b: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = data[a * d + j]! - data[b * d + j]!;
      s += t * t;
    }
    return s;
  };
  chosen[0] = rng.int(n);
  let potential = 0;
  for (let i = 0; i < n; i++) {
    closest[i] = dist2(i, chosen[0]!);
    potential += closest[i]!;
  }
  const candidateDist = new Float64Array(n);
  const bestDist = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let bestCandidate = -1;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      // Sample proportionally to `closest` (uniformly if every point coincides with a centre).
      let candidate: number;
      if (potential > 0) {
        let u = rng.uniform() * potential;
        candidate = n - 1;
        for (let i = 0; i < n; i++) {
          u -= closest[i]!;
          if (u < 0) {
            candidate = i;
            break;
          }
        }
      } else {
        candidate = rng.int(n);
      }
      let p = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.min(closest[i]!, dist2(i, candidate));
        candidateDist[i] = v;
        p += v;
      }
      if (p < bestPotential) {
        bestPotential = p;
        bestCandidate = candidate;
        bestDist.set(candidateDist);
      }
    }
    chosen[c] = bestCandidate;
    closest.set(bestDist);
    potential = bestPotential;
  }
  return chosen;
}
