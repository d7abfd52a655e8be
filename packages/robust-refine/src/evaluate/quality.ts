/**
 * Evaluation helpers: the only place in this package that takes ground-truth labels. They score what RUC did
 * (clean-set quality per strategy as in the paper's Table 6; ACC/NMI/ARI and calibration before and after) and
 * never feed anything back into training.
 */
import { InvalidInputError, Tensor, c, validateOptions } from '@dc/core';
import { cleanSetQuality, evaluateClustering, type CleanSetQuality, type Evaluation, type LabelInput } from '@dc/metrics';
import type { RucResult } from '../fit.js';
import { oneHot } from '../refine/labels.js';
import type { CleanSelection, SelectionStrategy } from '../selection.js';

export interface StrategyQuality extends CleanSetQuality {
  strategy: SelectionStrategy;
}

/**
 * Precision, recall and F1 of the clean set each strategy would select (those the selection's inputs allow:
 * confidence with probabilities, metric with embeddings, hybrid with both), against the truth.
 */
export function cleanSetReport(selection: CleanSelection, truth: LabelInput): StrategyQuality[] {
  const out: StrategyQuality[] = [];
  const { confidence, metric } = selection.masks;
  const add = (strategy: SelectionStrategy, mask: Uint8Array) => out.push({ strategy, ...cleanSetQuality(selection.labels, truth, mask) });
  if (confidence) add('confidence', confidence);
  if (metric) add('metric', metric);
  if (confidence && metric) {
    const both = new Uint8Array(confidence.length);
    for (let i = 0; i < both.length; i++) both[i] = confidence[i]! & metric[i]!;
    add('hybrid', both);
  }
  if (out.length === 0) out.push({ strategy: selection.strategy, ...cleanSetQuality(selection.labels, truth, selection.clean) });
  return out;
}

export interface RucEvaluation {
  /** The initial pseudo-labels (with their probabilities, or one-hot rows for hard labels). */
  before: Evaluation;
  /** RUC's refined labels with the ensemble's probabilities. */
  after: Evaluation;
  /** Clean-set quality of each strategy on the initial pseudo-labels. */
  cleanSets: StrategyQuality[];
  /** Quality of the clean set RUC ended with (initial selection plus refurbished samples). */
  finalCleanSet: CleanSetQuality;
  /** Shorthands, in [0, 1]. */
  accuracyBefore: number;
  accuracyAfter: number;
  eceBefore: number;
  eceAfter: number;
}

/**
 * Scores a RUC run against the truth. Hard initial labels count as one-hot probabilities, i.e. fully confident,
 * so their ECE is 1 - ACC.
 */
export function evaluateRuc(result: RucResult, truth: LabelInput, options: { bins?: number } = {}): RucEvaluation {
  const n = result.labels.length;
  const k = result.numClusters;
  const truthLength = truth instanceof Tensor ? truth.shape[0] : (truth as ArrayLike<number>).length;
  if (truthLength !== n) throw new InvalidInputError('truth', `expected ${n} labels, got ${String(truthLength)}`);
  const { bins } = validateOptions('evaluateRuc', options, { bins: c.int({ min: 1 }) }, { bins: 15 });
  const beforeProbs = result.initialProbabilities ?? new Tensor('float32', oneHot(result.initialLabels, k), [n, k]);
  // The input probabilities were accepted by fitRuc with rows summing to 1 within 1e-3 (readPseudoLabels), and
  // the networks' float32 means are as close; score both with that tolerance.
  const tolerance = 1e-3;
  const before = evaluateClustering(result.initialLabels, truth, { probabilities: beforeProbs, bins, clean: result.selection.clean, tolerance });
  const after = evaluateClustering(result.labels, truth, { probabilities: result.probabilities, bins, tolerance });
  return {
    before,
    after,
    cleanSets: cleanSetReport(result.selection, truth),
    finalCleanSet: cleanSetQuality(result.finalCleanLabels, truth, result.finalClean),
    accuracyBefore: before.accuracy,
    accuracyAfter: after.accuracy,
    eceBefore: before.calibration!.ece,
    eceAfter: after.calibration!.ece,
  };
}
