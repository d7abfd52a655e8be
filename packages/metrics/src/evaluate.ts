/**
 * Everything at once: one contingency table, one Hungarian mapping and one entropy/MI computation shared by
 * every metric, returned as a plain (JSON-serialisable) object.
 */
import { c, validateOptions } from '@dc/core';
import { accuracyOf, purityOf, type MappingPair } from './accuracy.js';
import { DEFAULT_BINS, DEFAULT_SUM_TOLERANCE, calibrationOf, readProbabilities, type CalibrationResult, type ProbabilityInput } from './calibration.js';
import { cleanSetOf, readMask, type CleanSetQuality, type MaskInput } from './clean-set.js';
import { confusionOf, type ConfusionMatrix } from './confusion.js';
import { buildContingency, type NoiseHandling } from './contingency.js';
import { AVERAGES, amiOf, mutualInfoOfTable, nmiOf, type Average } from './information.js';
import type { LabelInput } from './labels.js';
import { ariOf } from './rand.js';

export interface EvaluationOptions {
  /** Cluster probabilities [n, k] (columns are cluster labels 0..k-1): adds calibration (ECE). */
  probabilities?: ProbabilityInput;
  /** Selection mask of a clean subset of the predictions: adds clean-set precision/recall/F1. */
  clean?: MaskInput;
  /** Predicted -1: 'cluster' (default, an ordinary cluster) or 'exclude' (left out of every metric). */
  noise?: NoiseHandling;
  /** Normaliser of the headline NMI and AMI (default 'arithmetic'); all four are in `nmiByAverage`/`amiByAverage`. */
  average?: Average;
  /** Calibration bins (default 15). */
  bins?: number;
  /** Allowed |row sum - 1| of the probabilities (default 1e-4). */
  tolerance?: number;
  /** Include the confusion matrix when it has at most this many cells (default 2^20); otherwise it is null. */
  maxConfusionCells?: number;
}

export interface Evaluation {
  /** Samples evaluated. */
  n: number;
  /** Samples left out as noise (prediction -1 with noise: 'exclude'). */
  excluded: number;
  numClusters: number;
  numClasses: number;
  accuracy: number;
  nmi: number;
  ami: number;
  ari: number;
  purity: number;
  /** The normaliser used by `nmi` and `ami`. */
  average: Average;
  nmiByAverage: Record<Average, number>;
  amiByAverage: Record<Average, number>;
  /** Mutual information in nats. */
  mutualInfo: number;
  /** The ACC mapping, ascending by cluster, and what it leaves unmatched. */
  mapping: MappingPair[];
  unmatchedClusters: number[];
  unmatchedClasses: number[];
  /** Rows: classes; columns: clusters; reordered so the ACC mapping is on the diagonal. */
  confusion: ConfusionMatrix | null;
  calibration?: CalibrationResult;
  cleanSet?: CleanSetQuality;
}

const schema = {
  probabilities: c.optional(c.custom<ProbabilityInput>('a [n, k] Tensor or an array of probability rows', (v) => typeof v === 'object' && v !== null)),
  clean: c.optional(c.custom<MaskInput>('a selection mask (array or Tensor)', (v) => typeof v === 'object' && v !== null)),
  noise: c.oneOf(['cluster', 'exclude'] as const),
  average: c.oneOf(AVERAGES),
  bins: c.int({ min: 1, max: 100_000 }),
  tolerance: c.number({ min: 0, max: 1 }),
  maxConfusionCells: c.int({ min: 0 }),
};
const defaults = {
  noise: 'cluster' as NoiseHandling,
  average: 'arithmetic' as Average,
  bins: DEFAULT_BINS,
  tolerance: DEFAULT_SUM_TOLERANCE,
  maxConfusionCells: 2 ** 20,
};

/** ACC (with its mapping), NMI, AMI, ARI, purity, the confusion matrix, and optionally ECE and clean-set quality. */
export function evaluateClustering(pred: LabelInput, truth: LabelInput, options?: EvaluationOptions): Evaluation {
  const o = validateOptions('evaluateClustering', options, schema, defaults);
  const table = buildContingency(pred, truth, o.noise);
  const total = table.n + table.excluded;
  // Check the optional inputs before the heavier work.
  const probs = o.probabilities === undefined ? undefined : readProbabilities('probabilities', o.probabilities, total, o.tolerance);
  const mask = o.clean === undefined ? undefined : readMask('clean', o.clean, total);

  const acc = accuracyOf(table);
  const nmiByAverage = {} as Record<Average, number>;
  const amiByAverage = {} as Record<Average, number>;
  for (const avg of AVERAGES) {
    nmiByAverage[avg] = nmiOf(table, avg);
    amiByAverage[avg] = amiOf(table, avg);
  }
  const result: Evaluation = {
    n: table.n,
    excluded: table.excluded,
    numClusters: table.numClusters,
    numClasses: table.numClasses,
    accuracy: acc.accuracy,
    nmi: nmiByAverage[o.average],
    ami: amiByAverage[o.average],
    ari: ariOf(table),
    purity: purityOf(table),
    average: o.average,
    nmiByAverage,
    amiByAverage,
    mutualInfo: mutualInfoOfTable(table),
    mapping: acc.mapping,
    unmatchedClusters: acc.unmatchedClusters,
    unmatchedClasses: acc.unmatchedClasses,
    confusion: table.numClasses * table.numClusters <= o.maxConfusionCells ? confusionOf(table, true) : null,
  };
  if (probs) result.calibration = calibrationOf(table, probs, o.bins);
  if (mask) result.cleanSet = cleanSetOf(table, mask);
  return result;
}
