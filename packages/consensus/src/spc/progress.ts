/** Progress events of fitSpc: one per unit of work in every stage, and one summary per round. */
import type { SpcRoundRecord } from './result.js';

export type SpcStage = 'pretrain' | 'embed' | 'umap' | 'cluster' | 'align' | 'train';

export interface SpcProgress {
  stage: SpcStage;
  /** 0 for pretraining and the first clustering; round r trains on round r - 1's agreed points. */
  round: number;
  /** Ensemble member (0-based), ensembleSize for the concatenated latent codes ('umap', 'cluster'), or null for
   * ensemble-wide stages ('align'). */
  member: number | null;
  /** Units done and in all for this stage and member: optimizer steps ('pretrain', 'train'), rows ('embed'),
   * UMAP work units ('umap'), 0/1 ('cluster', 'align'). */
  done: number;
  total: number;
  /** Training loss of the latest step ('pretrain', 'train'). */
  loss?: number;
  /** Agreed points after alignment ('align'). */
  agreed?: number;
  /** Members left out of this round's ensemble because no HDBSCAN cut gives exactly K clusters ('align'). */
  excluded?: number[];
  /** Seconds since fitSpc started. */
  elapsedSeconds: number;
}

/** What `onRound` receives after each round's clustering. */
export interface SpcRoundInfo {
  record: SpcRoundRecord;
  /** Consensus label of every image in this round. */
  consensus: Int32Array;
  /** 1 where this round's ensemble agrees. */
  agreed: Uint8Array;
}
