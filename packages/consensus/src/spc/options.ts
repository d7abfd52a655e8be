/**
 * Options of fitSpc: one schema, one defaults object, checked at entry (data-dependent bounds once n is known).
 *
 * Defaults are a CPU schedule, not the paper's GPU one; every difference is listed in DEFAULTS' comments and in
 * the README's SPC section.
 */
import { availableParallelism } from 'node:os';
import { DEVICES, InvalidInputError, InvalidOptionError, c, validateOptions, type Device } from '@dc/core';
import type { SpcProgress, SpcRoundInfo } from './progress.js';
import { PSEUDO_LABEL_MODES, type SpcPseudoLabels } from './targets.js';

export type SpcClusterer = 'hdbscan' | 'gmm';

export interface SpcUmapOptions {
  /** Neighbours of the UMAP graph (default 30, the authors' value). */
  nNeighbors?: number;
  /** Minimum distance of the layout (default 0, the authors' value). */
  minDist?: number;
  /** Output dimensions (default 2, the authors' value). */
  nComponents?: number;
  /** Optimisation epochs (default: @dc/consensus's fitUmap default for the dataset size). */
  epochs?: number;
}

export interface SpcHdbscanOptions {
  /** Core-distance neighbourhood, the point itself included (default 10, the authors' min_samples). */
  minPts?: number;
  /** Smallest cluster (default 500 * n / 70,000, at least minPts: the authors' 500 for MNIST, scaled by size). */
  minClusterSize?: number;
  /**
   * A member whose exactly-K cut leaves more than this share of the points as noise sits the round out, as one
   * with no such cut does (default 0.15; 1 keeps every cut). Such a cut lies low in a hierarchy whose large
   * clusters have merged below K: the K clusters are splinters, not the data's clusters. Not in the paper; see
   * the README for the measurements behind the default.
   */
  maxNoiseFraction?: number;
}

/**
 * Random shifts (and optionally horizontal flips) of the training images, @dc/data's weakAugment: not in the
 * paper (whose Section 5 notes SPC "could easily be extended to include data augmentation"); see the README.
 */
export interface SpcAugmentOptions {
  /**
   * Largest shift in pixels, each direction (default 12.5% of the shorter side, rounded down: 3 for 28x28). The
   * shifted-in border is 0: the background of images in [0, 1] with dark backgrounds, such as MNIST's.
   */
  padding?: number;
  /** Random horizontal flips (default false: digits and text change meaning when mirrored). */
  flip?: boolean;
  /** Shift the images of autoencoder pretraining (default true). */
  pretrain?: boolean;
  /** Shift the images of the pseudo-label rounds (default true). */
  rounds?: boolean;
}

export interface SpcOptions {
  /** Number of clusters K (as in the paper, the number of classes). */
  nClusters: number;
  /** Autoencoders in the ensemble (default 3; the paper's main results use 15). */
  ensembleSize?: number;
  /** Latent code size (default 50, the paper's for MNIST and Fashion-MNIST). */
  latentDim?: number;
  /** Standard deviation of the Gaussian noise injected into the latent code while training (default 0.45). */
  latentNoise?: number;
  /** Channels of the first encoder convolution, doubling per stage (default 16). */
  baseChannels?: number;
  /** Hidden width of the MLP pseudo-classifier (default 25, the authors' value). */
  headHidden?: number;
  /** 'hdbscan' (default; cut to exactly nClusters) or 'gmm'. */
  clusterer?: SpcClusterer;
  /**
   * Add the concatenation of all members' latent codes as one more labelling in the vote, as the paper's Section
   * 5.2 describes (clustered like a member, with no network of its own to train; left out with one member, which
   * it would repeat). Default false: the authors' code clusters the concatenation but keeps it out of the vote,
   * and in the vote it cost accuracy here (MNIST test split, demo schedule with 1 epoch per round: ACC 86.22
   * against 95.51 without; Fashion-MNIST test split: 61.87 against 61.99); it also adds one UMAP per round.
   */
  concatenatedMember?: boolean;
  /**
   * Which points count as agreed: 'unanimous' (default, the paper: every member gives the consensus label) or a
   * fraction in (0.5, 1]: at least that share of the members give it.
   */
  agreement?: 'unanimous' | number;
  /**
   * Training targets of the pseudo-label rounds (targets.ts): 'votes' (default, the authors' code: every point's
   * share of member votes, weighted by the ensemble's confidence) or 'agreed' (the paper's Eq. 2 as written:
   * consensus labels of agreed points only).
   */
  pseudoLabels?: SpcPseudoLabels;
  /** Weight of the cross-entropy term against the per-pixel reconstruction error (default 1, Eq. 2's). */
  crossEntropyWeight?: number;
  /**
   * Train on randomly shifted copies of the images (true, or the shift's settings; default false, as the paper):
   * each batch is shifted before the autoencoder sees it, so the reconstruction target and the pseudo-classifier's
   * input are the same shifted image. Embeddings for clustering always use the images as given.
   */
  augment?: boolean | SpcAugmentOptions;
  /** Autoencoder pretraining epochs (default 3; the paper's 10). */
  pretrainEpochs?: number;
  /** Pseudo-label training epochs per round (default 1; the paper's 8). */
  epochs?: number;
  /** Pseudo-label rounds at most (default 6; the paper's 30). */
  maxRounds?: number;
  /** Stop after this many rounds without more agreed points (default 2; the paper's 7). */
  patience?: number;
  batchSize?: number;
  /** Adam learning rate (default 1e-3, the authors' value). */
  learningRate?: number;
  umap?: SpcUmapOptions;
  hdbscan?: SpcHdbscanOptions;
  seed?: number;
  device?: Device;
  /** ONNX Runtime intra-op threads of this thread's sessions (embedding, kNN; 0: one per core). */
  threads?: number;
  /**
   * Members trained at the same time, each in its own worker thread (default: 2 on a machine with 2 or more
   * cores and an ensemble of 2 or more, else 0); 0 trains them one after another in this thread.
   */
  workers?: number;
  onProgress?: (event: SpcProgress) => void;
  /** Called after each round's clustering with its consensus labels and agreed points (e.g. to monitor a run). */
  onRound?: (round: SpcRoundInfo) => void;
  /** Directory for checkpoints; a run pointed at a directory with a matching checkpoint resumes from it. */
  checkpointDir?: string;
}

export const DEFAULTS = {
  // The paper's main results use 15 members, 10 pretraining epochs, 8 epochs per round, up to 30 rounds and a
  // patience of 7 on GPUs; on two CPU cores that is days of work, so the defaults are a budget schedule.
  ensembleSize: 3,
  latentDim: 50,
  // The authors add N(0, 1) noise scaled by 1.5 / max(noise) over the batch; for 64 x 50 draws the maximum is
  // about 3.3, so the noise's standard deviation is about 0.45. We draw N(0, 0.45^2) directly.
  latentNoise: 0.45,
  baseChannels: 16,
  headHidden: 25,
  clusterer: 'hdbscan' as SpcClusterer,
  concatenatedMember: false,
  agreement: 'unanimous' as 'unanimous' | number,
  pseudoLabels: 'votes' as SpcPseudoLabels,
  crossEntropyWeight: 1,
  augment: false as boolean | SpcAugmentOptions,
  pretrainEpochs: 3,
  epochs: 1,
  maxRounds: 6,
  patience: 2,
  batchSize: 64,
  learningRate: 1e-3,
  seed: 0,
  device: 'cpu' as Device,
  threads: 0,
};

export interface ResolvedSpcOptions {
  nClusters: number;
  ensembleSize: number;
  latentDim: number;
  latentNoise: number;
  baseChannels: number;
  headHidden: number;
  clusterer: SpcClusterer;
  /** Whether the concatenated latent codes vote as one more labelling (only with 2 or more members). */
  concatenatedMember: boolean;
  /** Minimum share of members giving the consensus label (1 for unanimous). */
  agreementFraction: number;
  pseudoLabels: SpcPseudoLabels;
  crossEntropyWeight: number;
  /** The shift augmentation of the training batches; null when off. */
  augment: { padding: number; flip: boolean; pretrain: boolean; rounds: boolean } | null;
  pretrainEpochs: number;
  epochs: number;
  maxRounds: number;
  patience: number;
  batchSize: number;
  learningRate: number;
  umap: Required<Omit<SpcUmapOptions, 'epochs'>> & { epochs: number | undefined };
  hdbscan: Required<SpcHdbscanOptions>;
  seed: number;
  device: Device;
  threads: number;
  workers: number;
  /** ONNX Runtime threads of each training session. */
  workerThreads: number;
  onProgress: ((event: SpcProgress) => void) | undefined;
  onRound: ((round: SpcRoundInfo) => void) | undefined;
  checkpointDir: string | undefined;
}

const CALLER = 'fitSpc';

/** Checks every option against the dataset size n and image size [H, W] and fills the defaults. */
export function resolveOptions(options: unknown, n: number, imageSize: readonly [number, number]): ResolvedSpcOptions {
  if (options === undefined) throw new InvalidOptionError(CALLER, 'options', "an object with at least 'nClusters'", options);
  const o = validateOptions(CALLER, options, {
    nClusters: c.int({ min: 2, max: Math.max(2, Math.floor(n / 2)) }),
    ensembleSize: c.int({ min: 1, max: 64 }),
    latentDim: c.int({ min: 2, max: 4096 }),
    latentNoise: c.number({ min: 0 }),
    baseChannels: c.int({ min: 1, max: 512 }),
    headHidden: c.int({ min: 1, max: 4096 }),
    clusterer: c.oneOf(['hdbscan', 'gmm'] as const),
    concatenatedMember: c.bool(),
    agreement: c.anyOf(c.oneOf(['unanimous'] as const), c.number({ min: 0.5, max: 1, minExclusive: true })),
    pseudoLabels: c.oneOf(PSEUDO_LABEL_MODES),
    crossEntropyWeight: c.number({ min: 0 }),
    augment: c.anyOf(c.bool(), c.object<SpcAugmentOptions>()),
    pretrainEpochs: c.int({ min: 0 }),
    epochs: c.int({ min: 1 }),
    maxRounds: c.int({ min: 1 }),
    patience: c.int({ min: 1 }),
    batchSize: c.int({ min: 2, max: n }),
    learningRate: c.number({ min: 0, minExclusive: true }),
    umap: c.optional(c.object<SpcUmapOptions>()),
    hdbscan: c.optional(c.object<SpcHdbscanOptions>()),
    seed: c.int({ min: 0 }),
    device: c.oneOf(DEVICES),
    threads: c.int({ min: 0 }),
    workers: c.optional(c.int({ min: 0, max: 64 })),
    onProgress: c.optional(c.func<(event: SpcProgress) => void>()),
    onRound: c.optional(c.func<(round: SpcRoundInfo) => void>()),
    checkpointDir: c.optional(c.string()),
  }, DEFAULTS);
  const umap = validateOptions(`${CALLER} umap`, o.umap, {
    nNeighbors: c.int({ min: 2, max: n - 1 }),
    minDist: c.number({ min: 0, max: 1 }),
    nComponents: c.int({ min: 1, max: 100 }),
    epochs: c.optional(c.int({ min: 1 })),
  }, { nNeighbors: Math.min(30, n - 1), minDist: 0, nComponents: 2 });
  const hdb = validateOptions(`${CALLER} hdbscan`, o.hdbscan, {
    minPts: c.int({ min: 2, max: n }),
    minClusterSize: c.optional(c.int({ min: 2, max: n })),
    maxNoiseFraction: c.number({ min: 0, max: 1 }),
  }, { minPts: Math.min(10, n), maxNoiseFraction: 0.15 });
  const side = Math.min(imageSize[0], imageSize[1]);
  const augment = o.augment === false ? null : validateOptions(`${CALLER} augment`, o.augment === true ? {} : o.augment, {
    padding: c.int({ min: 0, max: side - 1 }),
    flip: c.bool(),
    pretrain: c.bool(),
    rounds: c.bool(),
  }, { padding: Math.floor(0.125 * side), flip: false, pretrain: true, rounds: true });
  // The authors' 500 points for 70,000 images, scaled with the dataset; never below minPts.
  const minClusterSize = hdb.minClusterSize ?? Math.max(hdb.minPts, Math.round((500 * n) / 70000));
  // Only HDBSCAN's cut needs clusters of that size; a Gaussian mixture takes any K up to n / 2.
  if (o.clusterer === 'hdbscan' && o.nClusters * minClusterSize > n) {
    throw new InvalidInputError('images', `${n} images cannot hold ${o.nClusters} clusters of at least ${minClusterSize} points (hdbscan.minClusterSize)`);
  }
  const cores = availableParallelism();
  const workers = Math.min(o.workers ?? (o.ensembleSize >= 2 && cores >= 2 ? 2 : 0), o.ensembleSize);
  // Parallel members split the cores between them; one member at a time gets what `threads` says.
  const workerThreads = workers > 0 ? (o.threads > 0 ? o.threads : Math.max(1, Math.floor(cores / workers))) : o.threads;
  return {
    nClusters: o.nClusters,
    ensembleSize: o.ensembleSize,
    latentDim: o.latentDim,
    latentNoise: o.latentNoise,
    baseChannels: o.baseChannels,
    headHidden: o.headHidden,
    clusterer: o.clusterer,
    concatenatedMember: o.concatenatedMember && o.ensembleSize >= 2,
    agreementFraction: o.agreement === 'unanimous' ? 1 : o.agreement,
    pseudoLabels: o.pseudoLabels,
    crossEntropyWeight: o.crossEntropyWeight,
    augment,
    pretrainEpochs: o.pretrainEpochs,
    epochs: o.epochs,
    maxRounds: o.maxRounds,
    patience: o.patience,
    batchSize: o.batchSize,
    learningRate: o.learningRate,
    umap: { nNeighbors: umap.nNeighbors, minDist: umap.minDist, nComponents: umap.nComponents, epochs: umap.epochs },
    hdbscan: { minPts: hdb.minPts, minClusterSize, maxNoiseFraction: hdb.maxNoiseFraction },
    seed: o.seed,
    device: o.device,
    threads: o.threads,
    workers,
    workerThreads,
    onProgress: o.onProgress,
    onRound: o.onRound,
    checkpointDir: o.checkpointDir,
  };
}
