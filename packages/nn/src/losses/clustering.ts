/**
 * Clustering losses: the entropy of the mean prediction (a balance regulariser) and the SCAN loss
 * (Van Gansbeke et al. 2020): neighbour consistency -mean log <p(x), p(n(x))> minus a weighted entropy of the
 * mean prediction.
 */
import { GraphError, InvalidOptionError, type GraphBuilder, type Value } from '@dc/core';
import { checkKeys, matrixShape, meanAll, sumAll, sumAxis } from './common.js';

const EPS = 1e-8;

/** H(mean_i p_i) = -sum_c pbar_c log pbar_c for probabilities [N, C] (clamped at 1e-8 inside the log, as SCAN). */
export function entropyOfMean(g: GraphBuilder, probs: Value): Value {
  matrixShape('probs', probs, 'entropyOfMean');
  const mean = g.op('ReduceMean', [probs, g.int64s([0])], { keepdims: 0 });
  const logm = g.op('Log', [g.op('Clip', [mean, g.constant(EPS), null])]);
  return g.op('Neg', [sumAll(g, g.op('Mul', [mean, logm]))]);
}

export interface ScanLossOptions {
  /** Weight of the entropy term (SCAN's default 5). */
  entropyWeight?: number;
  /** Whether the inputs are logits (default) or probabilities. */
  inputs?: 'logits' | 'probabilities';
}

export interface ScanLossTerms {
  total: Value;
  consistency: Value;
  entropy: Value;
}

/** The SCAN loss and its two terms: total = consistency - entropyWeight * entropy. */
export function scanLossTerms(g: GraphBuilder, anchors: Value, neighbors: Value, options: ScanLossOptions = {}): ScanLossTerms {
  const caller = 'scanLoss';
  checkKeys(caller, options, ['entropyWeight', 'inputs']);
  const w = options.entropyWeight ?? 5;
  if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw new InvalidOptionError(caller, 'entropyWeight', 'a finite number >= 0', w);
  const kind = options.inputs ?? 'logits';
  if (kind !== 'logits' && kind !== 'probabilities') throw new InvalidOptionError(caller, 'inputs', "one of 'logits', 'probabilities'", kind);
  const [n, k] = matrixShape('anchors', anchors, caller);
  const [n2, k2] = matrixShape('neighbors', neighbors, caller);
  if (n !== n2 || k !== k2) throw new GraphError(`${caller}: anchors ${anchors.toString()} and neighbors ${neighbors.toString()} must have the same shape`);
  const toProbs = (x: Value) => (kind === 'logits' ? g.op('Softmax', [x], { axis: 1 }) : x);
  const pa = toProbs(anchors);
  const pn = toProbs(neighbors);
  const similarity = sumAxis(g, g.op('Mul', [pa, pn]), 1);
  // SCAN uses BCE against 1, i.e. -log(similarity); the clamp keeps log finite like BCELoss's -100 floor.
  const consistency = g.op('Neg', [meanAll(g, g.op('Log', [g.op('Clip', [similarity, g.constant(EPS), null])]))]);
  const entropy = entropyOfMean(g, pa);
  const total = g.op('Sub', [consistency, g.op('Mul', [entropy, w])]);
  return { total, consistency, entropy };
}

/** The SCAN loss as a scalar (see scanLossTerms). */
export function scanLoss(g: GraphBuilder, anchors: Value, neighbors: Value, options: ScanLossOptions = {}): Value {
  return scanLossTerms(g, anchors, neighbors, options).total;
}
