export { NoExactCutError, SingularCovarianceError, SpcNoClusteringError } from './errors.js';
export {
  fitHdbscan,
  BORUVKA_MAX_DIMENSIONS,
  type HdbscanAlgorithm,
  type HdbscanOptions,
  type HdbscanPrediction,
  type HdbscanResult,
  type HdbscanStage,
} from './hdbscan/hdbscan.js';
export { stabilities } from './hdbscan/tree.js';
export type { CondensedTree, PointExit, SingleLinkage } from './hdbscan/tree.js';
export type { ExactCut } from './hdbscan/cut.js';
export { fitUmap, defaultEpochs, type UmapOptions, type UmapResult, type UmapStage } from './umap/umap.js';
export type { FuzzyGraph } from './umap/graph.js';
export { fitGmm, type CovarianceType, type GaussianMixture, type GmmInitialParameters, type GmmOptions } from './gmm/gmm.js';
export { fitKMeans, type KMeansModel, type KMeansOptions } from './kmeans/kmeans.js';
export { trustworthiness } from './umap/trustworthiness.js';
export { normalizedMutualInformation, type Labeling } from './ensemble/labelings.js';
export { alignLabelings, choosePivot, matchedAgreement, type AlignOptions, type Alignment, type PivotChoice, type PivotCriterion } from './ensemble/align.js';
export {
  AgreementHistory,
  agreementMask,
  agreementStats,
  consensusLabels,
  hasPlateaued,
  type AgreementOptions,
  type AgreementStats,
  type Consensus,
  type ConsensusOptions,
  type PlateauOptions,
} from './ensemble/consensus.js';
export { confidenceBatches, ensembleConfidence, type BatchConfidence, type ConfidenceBatchesOptions, type ConfidenceOptions } from './ensemble/confidence.js';
export {
  fitSpc,
  SpcResult,
  agreementDecision,
  type AgreementDecision,
  type ImagesLike,
  type SpcClusterer,
  type SpcHdbscanOptions,
  type SpcInput,
  type SpcMemberRound,
  type SpcOptions,
  type SpcPrediction,
  type SpcPredictOptions,
  type SpcProgress,
  type SpcRoundInfo,
  type SpcRoundRecord,
  type SpcStage,
  type SpcUmapOptions,
} from './spc/index.js';
