export { readPseudoLabels, type PseudoLabelInput, type PseudoLabels, type ReadPseudoLabelsOptions } from './pseudo-labels.js';
export {
  selectCleanSamples,
  confidenceMask,
  neighbourVote,
  SELECTION_STRATEGIES,
  type CleanSelection,
  type SelectCleanOptions,
  type SelectionStrategy,
} from './selection.js';
export { oneHot, smoothLabels, sharpen, minMaxNormalize, coRefineLabels, guessLabels, rowMax, rowArgmax } from './refine/labels.js';
export { mixWeight, mixRows, mixMatch, type MixedBatch } from './refine/mixmatch.js';
export { refurbish, refurbishThreshold, DEFAULT_TAU2, type RefurbishResult, type Tau2Schedule } from './refine/refurbish.js';
export { selectionFromMask } from './selection.js';

// Retraining.
export {
  fitRuc,
  type RucOptions,
  type RucResult,
  type RucPrediction,
  type RucProgress,
  type RucEpoch,
  type RucLosses,
  type RucCheckpointOptions,
} from './fit.js';
export { dataSource, transformInputs, type RucData, type Augmenter, type AugmentOptions, type DataSource, type InputTransform } from './data-source.js';
export { pretrainEncoder, PRETRAIN_METHODS, type PretrainEncoderOptions, type PretrainMethod, type PretrainedEncoder } from './pretrain.js';
export { smallCnn, smallMlp, classifier, initialStates, Ensemble, ensembleState, type EncoderSpec } from './networks.js';
export { buildRucStep, softmaxRows, type StepShapes } from './train/graphs.js';

// Evaluation helpers: the only functions here that take ground-truth labels (for scoring, never for training).
export { evaluateRuc, cleanSetReport, type RucEvaluation, type StrategyQuality } from './evaluate/quality.js';
export { adversarialAccuracy, type AdversarialOptions, type AdversarialPoint, type AdversarialResult, type AttackTarget } from './evaluate/adversarial.js';
