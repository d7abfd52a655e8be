export { fitSpc } from './fit.js';
export { SpcResult, type SpcPrediction, type SpcPredictOptions, type SpcRoundRecord } from './result.js';
export type { SpcOptions, SpcClusterer, SpcUmapOptions, SpcHdbscanOptions } from './options.js';
export type { SpcMemberRound, SpcProgress, SpcRoundInfo, SpcStage } from './progress.js';
export type { SpcInput, ImagesLike } from './data.js';
export type { SpcPseudoLabels } from './targets.js';
export { agreementDecision, type AgreementDecision } from './schedule.js';
