/**
 * Co-refurbishing (Eqs. 18-19): at the end of each epoch an unclean sample whose more confident network is
 * confident beyond tau2 takes that network's argmax as its label and joins the clean set. tau2 rises with the
 * epochs (0.9, +0.02 every 40 epochs in the paper).
 */
import { InvalidInputError, InvalidOptionError } from '@dc/core';

export interface Tau2Schedule {
  /** Threshold at epoch 0 (default 0.9). */
  start: number;
  /** Increase per stage (default 0.02). */
  step: number;
  /** Epochs per stage (default 40). */
  every: number;
}

export const DEFAULT_TAU2: Tau2Schedule = { start: 0.9, step: 0.02, every: 40 };

/** tau2 at a 0-based epoch: start + step * floor(epoch / every). */
export function refurbishThreshold(epoch: number, schedule: Tau2Schedule = DEFAULT_TAU2): number {
  if (!Number.isInteger(epoch) || epoch < 0) throw new InvalidOptionError('refurbishThreshold', 'epoch', 'an integer >= 0', epoch);
  return schedule.start + schedule.step * Math.floor(epoch / schedule.every);
}

export interface RefurbishResult {
  /** Updated clean mask (1 = clean); a new array. */
  clean: Uint8Array;
  /** Updated labels; a new array. */
  labels: Int32Array;
  /** Indices of the samples refurbished in this call. */
  refurbished: Int32Array;
}

/**
 * Applies Eqs. 18-19. `probabilities` holds one [n * K] array per network (one without co-training). For each
 * unclean sample the network with the highest max(p) is chosen (the first on ties); if that max exceeds tau2 the
 * sample becomes clean with that network's argmax as its label. Clean samples are never changed.
 */
export function refurbish(
  probabilities: readonly ArrayLike<number>[],
  clean: Uint8Array,
  labels: Int32Array,
  numClusters: number,
  tau2: number,
): RefurbishResult {
  const n = clean.length;
  if (labels.length !== n) throw new InvalidInputError('labels', `refurbish: expected ${n} labels, got ${labels.length}`);
  if (probabilities.length === 0) throw new InvalidInputError('probabilities', 'refurbish: needs at least one network');
  for (const p of probabilities) {
    if (p.length !== n * numClusters) throw new InvalidInputError('probabilities', `refurbish: expected ${n} x ${numClusters} values, got ${p.length}`);
  }
  const outClean = clean.slice();
  const outLabels = labels.slice();
  const done: number[] = [];
  for (let i = 0; i < n; i++) {
    if (clean[i]) continue;
    let bestConf = -Infinity;
    let bestLabel = 0;
    for (const p of probabilities) {
      let arg = 0;
      for (let j = 1; j < numClusters; j++) if (p[i * numClusters + j]! > p[i * numClusters + arg]!) arg = j;
      const conf = p[i * numClusters + arg]!;
      if (conf > bestConf) {
        bestConf = conf;
        bestLabel = arg;
      }
    }
    if (bestConf > tau2) {
      outClean[i] = 1;
      outLabels[i] = bestLabel;
      done.push(i);
    }
  }
  return { clean: outClean, labels: outLabels, refurbished: Int32Array.from(done) };
}
