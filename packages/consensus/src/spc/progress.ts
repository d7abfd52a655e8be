/** Progress events of fitSpc: one per unit of work in every stage, and one summary per round. */
import type { Tensor } from '@dc/core';
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
  /** Every ensemble element's clustering in this round, in member order (the concatenated codes last). */
  members: SpcMemberRound[];
}

/** One ensemble element's clustering in a round: its UMAP layout and its labels, for plots and inspection. */
export interface SpcMemberRound {
  /** Ensemble member (0-based), or ensembleSize for the concatenated latent codes. */
  member: number;
  /** The UMAP layout of the member's latent codes, [n, umap.nComponents], that its clusters were cut from. */
  layout: Tensor<'float32'>;
  /**
   * The member's cluster of every point, renamed to the consensus's labels (the Hungarian matching the vote
   * used), -1 where HDBSCAN called the point noise; null when the member sat the round out.
   */
  labels: Int32Array | null;
  /** Why the member sat the round out (no exact cut, a fragmented cut, an empty mixture component), else null. */
  excludedReason: string | null;
}
