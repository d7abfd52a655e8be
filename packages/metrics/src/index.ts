export { type LabelInput } from './labels.js';
export { Contingency, contingency, NOISE_LABEL, type ContingencyOptions, type NoiseHandling, type IndexAssignment } from './contingency.js';
export { type MetricArgs, type NoOptions } from './args.js';
export { clusteringAccuracy, purity, type AccuracyResult, type MappingPair } from './accuracy.js';
export { nmi, ami, mutualInfo, expectedMutualInfo, entropies, generalizedAverage, AVERAGES, type Average, type AverageOptions } from './information.js';
export { expectedMutualInformation } from './emi.js';
export { ari, pairCounts, type PairCounts } from './rand.js';
export { confusionMatrix, type ConfusionMatrix, type ConfusionOptions } from './confusion.js';
export {
  calibration,
  expectedCalibrationError,
  confidenceHistogram,
  calibrationFromConfidences,
  DEFAULT_BINS,
  DEFAULT_SUM_TOLERANCE,
  type CalibrationBin,
  type CalibrationOptions,
  type CalibrationResult,
  type Histogram,
  type ProbabilityInput,
} from './calibration.js';
export { cleanSetQuality, type CleanSetQuality, type MaskInput } from './clean-set.js';
export { evaluateClustering, type Evaluation, type EvaluationOptions } from './evaluate.js';
export { formatEvaluation, type FormatOptions } from './format.js';
