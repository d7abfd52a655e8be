/**
 * fitRuc: RUC end to end (Park et al., CVPR 2021, Algorithm 1). Splits the initial pseudo-labels into a clean and
 * an unclean set (Section 3.1), then co-trains two networks on them for `epochs` epochs (Section 3.2): each step
 * of network k
 *   1. draws a clean batch x (Bx) and an unclean batch u (Bu) and M weak views of each,
 *   2. guesses labels for u: the mean prediction of both networks over the M views, sharpened (Eqs. 13-14),
 *   3. co-refines the labels of x with the counter network's prediction, weighted by its min-max normalised
 *      confidence, sharpened (Eqs. 11-12),
 *   4. mixes the pool of views and targets with MixMatch (Eqs. 1-4),
 *   5. takes one SGD step on L_Xs + L_X + lambda_u L_U (Eqs. 9, 6, 7, 10) with label-smoothed targets (Eq. 8)
 *      on a strongly augmented view of x;
 * network 1 trains a whole epoch, then network 2. At the end of each epoch the unclean samples either network is
 * confident about beyond tau2 are refurbished into the clean set (Eqs. 18-19).
 *
 * Where we differ from the paper (also noted at each spot):
 *   - batches are a fixed number of clean and unclean samples (static graph shapes), not a random split of one
 *     batch; an epoch is ceil(n / (Bx + Bu)) steps, so each network sees about n samples per epoch;
 *   - the co-refinement weights come from an evaluation pass at the end of the previous epoch (zero in the
 *     first epoch); guesses and co-refinement predictions use the networks in training mode (batch statistics)
 *     without touching their running statistics;
 *   - L_U is averaged over classes too (MixMatch's definition), so lambda_u keeps MixMatch's scale;
 *   - before every evaluation pass (refurbishing, co-refinement weights, final labels) each network's BatchNorm
 *     running statistics are re-estimated on plain inputs (`recalibrateBatchNorm`): trained on mixed and
 *     RandAugment-ed batches, they otherwise describe those and cost accuracy on the plain images being labelled;
 *   - the default networks are small (CPU); pass `network` or `encoder` for others, e.g. ResNet-18.
 * No ground-truth label is read anywhere here.
 */
import { DEVICES, InvalidInputError, InvalidOptionError, Rng, Tensor, c, getRuntime, validateOptions, type Device, type Runtime } from '@dc/core';
import {
  Module,
  TrainingDivergedError,
  exportOnnx as nnExportOnnx,
  loadCheckpoint,
  releaseModelSessions,
  saveCheckpoint,
  sgd,
  zeroSlots,
  type Checkpoint,
  type ModelState,
  type NamedTensors,
  type TrainState,
} from '@dc/nn';
import { dataSource, transformInputs, type AugmentOptions, type DataSource, type InputTransform, type RucData } from './data-source.js';
import { Ensemble, classifier, ensembleState, initialStates, smallCnn, smallMlp, type EncoderSpec } from './networks.js';
import { readPseudoLabels, type PseudoLabelInput, type PseudoLabels } from './pseudo-labels.js';
import { coRefineLabels, guessLabels, minMaxNormalize, oneHot, rowArgmax, rowMax, smoothLabels } from './refine/labels.js';
import { mixMatch } from './refine/mixmatch.js';
import { DEFAULT_TAU2, refurbish, refurbishThreshold, type Tau2Schedule } from './refine/refurbish.js';
import { SELECTION_STRATEGIES, selectCleanSamples, type CleanSelection, type SelectionStrategy } from './selection.js';
import { Cycler, concatRows, gather, repeatRows } from './train/batches.js';
import { batchNormCalibration } from './train/calibration.js';
import { ForwardRunner, createStepRunner } from './train/graphs.js';

export interface RucProgress {
  /** 'selection' once at the start, 'step' during training, 'epoch' after each epoch's refurbishing. */
  type: 'selection' | 'step' | 'epoch';
  /** 1-based epoch (0 for 'selection'). */
  epoch: number;
  epochs: number;
  /** Network being trained ('step'). */
  network?: number;
  step?: number;
  stepsPerEpoch?: number;
  /** This step's total loss ('step') or the epoch's mean over both networks ('epoch'). */
  loss?: number;
  cleanSize: number;
  refurbished?: number;
  elapsedSeconds: number;
  etaSeconds: number;
}

export interface RucLosses {
  total: number;
  /** L_Xs: label-smoothed cross-entropy on strongly augmented clean samples (0 when label smoothing is off). */
  lXs: number;
  /** L_X: cross-entropy on the mixed clean pool. */
  lX: number;
  /** L_U: squared error on the mixed unclean pool (before lambda_u). */
  lU: number;
}

export interface RucEpoch {
  /** 1-based. */
  epoch: number;
  lr: number;
  lambdaU: number;
  tau2: number;
  /** Clean samples after this epoch's refurbishing. */
  cleanSize: number;
  /** Samples refurbished at the end of this epoch. */
  refurbished: number;
  /** Mean losses of each network over the epoch's steps. */
  losses: RucLosses[];
  /** Share of samples both networks label alike (1 without co-training). */
  agreement: number;
  /** Mean max-probability of the ensemble. */
  meanConfidence: number;
  seconds: number;
}

export interface RucCheckpointOptions {
  path: string;
  /** Write every this many epochs (default 1). */
  everyEpochs?: number;
}

export interface RucOptions {
  /** Number of clusters (default: from the pseudo-labels). */
  numClusters?: number;

  /** A selection made beforehand with selectCleanSamples (its labels must be these pseudo-labels' labels). */
  selection?: CleanSelection;
  /** Clean-set strategy (see selectCleanSamples); ignored when `selection` is given. */
  strategy?: SelectionStrategy;
  tau1?: number;
  k?: number;
  /** [n, d] unsupervised embeddings for the metric and hybrid strategies. */
  embeddings?: Tensor;
  knnMetric?: 'cosine' | 'euclidean';

  /** The classifier to co-train (input rows -> K logits); default: a small backbone + linear head. */
  network?: Module;
  /** A pretrained encoder to start both networks from; a new linear head is put on top. */
  encoder?: EncoderSpec;
  /** Width of the default backbone (channels of the first CNN stage, or the MLP's hidden width). */
  width?: number;

  epochs?: number;
  /** Clean samples per step (Bx). */
  batchSize?: number;
  /** Unclean samples per step (Bu; default batchSize). */
  unlabeledBatchSize?: number;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  /** Label smoothing epsilon of Eq. 8. */
  epsilon?: number;
  /** Sharpening temperature T. */
  temperature?: number;
  /** MixMatch's Beta(alpha, alpha). */
  alpha?: number;
  /** Weak augmentations per sample, M. */
  augmentations?: number;
  /** Weight of L_U. */
  lambdaU?: number;
  /**
   * Epochs over which lambda_u rises linearly, from a tenth of its value, to its full value (default: all
   * epochs; 0 keeps it constant). Full weight on guessed labels from the start lets early, degenerate guesses
   * collapse the networks onto few clusters.
   */
  lambdaURampUp?: number;
  /** Refurbishing threshold schedule: tau2 = start + step * floor(epoch / every). */
  tau2?: Partial<Tau2Schedule>;
  /** Co-training of two networks (false: one network, no co-refinement; Table 3 "without co-training"). */
  coTraining?: boolean;
  /** The label-smoothed strong-augmentation term L_Xs (false: Table 3 "without label smoothing"). Both false is "MixMatch only". */
  labelSmoothing?: boolean;
  /** Custom weak/strong augmentations. */
  augment?: AugmentOptions;
  /**
   * Re-estimate each network's BatchNorm running statistics on plain inputs (a seeded subset of up to 8,192
   * samples) before every evaluation pass (default true; our addition, see the README). false keeps the statistics
   * training leaves, as the paper does.
   */
  recalibrateBatchNorm?: boolean;

  seed?: number;
  onProgress?: (event: RucProgress) => void;
  checkpoint?: RucCheckpointOptions;
  /** Path of a checkpoint written by an earlier run with the same data and options, to continue from. */
  resume?: string;
  /** Stops cleanly at the end of the current epoch (after its checkpoint); the result then has `stopped: true`. */
  signal?: AbortSignal;
  /** Rows per evaluation run (default 512). */
  evalBatchSize?: number;
  device?: Device;
  threads?: number;
}

export interface RucPrediction {
  labels: Int32Array;
  confidences: Float32Array;
  /** [n, K] mean softmax of the networks. */
  probabilities: Tensor<'float32'>;
}

export interface RucResult extends RucPrediction {
  numClusters: number;
  /** The pseudo-labels RUC started from. */
  initialLabels: Int32Array;
  /** Their probabilities ([n, K]) when given. */
  initialProbabilities: Tensor<'float32'> | null;
  /** The initial clean-set selection. */
  selection: CleanSelection;
  /** The clean set at the end (initial selection plus refurbished samples) and its labels. */
  finalClean: Uint8Array;
  finalCleanLabels: Int32Array;
  history: RucEpoch[];
  /** Epochs completed (less than `epochs` when stopped by the signal). */
  epochsDone: number;
  stopped: boolean;
  /** Each network's own predictions [n, K]. */
  networkProbabilities: Tensor<'float32'>[];
  /** The classifier module and each network's weights. */
  model: Module;
  states: ModelState[];
  transform: InputTransform;
  seconds: number;
  /** Labels for new data by the ensemble of the networks. */
  predict(data: RucData, options?: { batchSize?: number }): Promise<RucPrediction>;
  /** A standalone .onnx of the ensemble (input 'input', output 'output': mean probabilities); written to `path` when given. */
  exportOnnx(path?: string): Promise<Uint8Array>;
  /** Releases the ONNX Runtime sessions kept for `predict` (it recompiles them if called again). */
  dispose(): Promise<void>;
}

let fitCount = 0;

const DEFAULTS = {
  epochs: 200,
  batchSize: 64,
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 5e-4,
  nesterov: false,
  epsilon: 0.5,
  temperature: 0.5,
  alpha: 4,
  augmentations: 2,
  lambdaU: 25,
  coTraining: true,
  labelSmoothing: true,
  recalibrateBatchNorm: true,
  seed: 0,
  evalBatchSize: 512,
  device: 'cpu' as Device,
  threads: 0,
};

const SCHEMA = {
  numClusters: c.optional(c.int({ min: 2 })),
  selection: c.optional(c.object<CleanSelection>()),
  strategy: c.optional(c.oneOf(SELECTION_STRATEGIES)),
  tau1: c.optional(c.number({ min: 0, max: 1, minExclusive: true, maxExclusive: true })),
  k: c.optional(c.int({ min: 1 })),
  embeddings: c.optional(c.instanceOf(Tensor)),
  knnMetric: c.optional(c.oneOf(['cosine', 'euclidean'] as const)),
  network: c.optional(c.instanceOf(Module)),
  encoder: c.optional(c.object<EncoderSpec>()),
  width: c.optional(c.int({ min: 1 })),
  epochs: c.int({ min: 1 }),
  batchSize: c.int({ min: 1 }),
  unlabeledBatchSize: c.optional(c.int({ min: 1 })),
  lr: c.number({ min: 0, minExclusive: true }),
  momentum: c.number({ min: 0, max: 1, maxExclusive: true }),
  weightDecay: c.number({ min: 0 }),
  nesterov: c.bool(),
  epsilon: c.number({ min: 0, max: 1 }),
  temperature: c.number({ min: 0, minExclusive: true }),
  alpha: c.number({ min: 0, minExclusive: true }),
  augmentations: c.int({ min: 1, max: 16 }),
  lambdaU: c.number({ min: 0 }),
  lambdaURampUp: c.optional(c.number({ min: 0 })),
  tau2: c.optional(c.object<Partial<Tau2Schedule>>()),
  coTraining: c.bool(),
  labelSmoothing: c.bool(),
  augment: c.optional(c.object<AugmentOptions>()),
  recalibrateBatchNorm: c.bool(),
  seed: c.int({ min: 0 }),
  onProgress: c.optional(c.func<(e: RucProgress) => void>()),
  checkpoint: c.optional(c.object<RucCheckpointOptions>()),
  resume: c.optional(c.string()),
  signal: c.optional(c.custom<AbortSignal>('an AbortSignal', (v) => typeof v === 'object' && v !== null && 'aborted' in v)),
  evalBatchSize: c.int({ min: 1 }),
  device: c.oneOf(DEVICES),
  threads: c.int({ min: 0 }),
};

type Resolved = ReturnType<typeof resolveOptions>;

function resolveOptions(options: RucOptions | undefined) {
  const o = validateOptions('fitRuc', options, SCHEMA, DEFAULTS);
  const tau2 = validateOptions('fitRuc', o.tau2 ?? {}, {
    start: c.number({ min: 0, max: 1, minExclusive: true, maxExclusive: true }),
    step: c.number({ min: 0 }),
    every: c.int({ min: 1 }),
  }, DEFAULT_TAU2);
  // A threshold of 1 or more refurbishes nothing: a schedule that gets there would switch co-refurbishing off.
  const lastTau2 = refurbishThreshold(o.epochs - 1, tau2);
  if (lastTau2 >= 1) {
    throw new InvalidOptionError('fitRuc', 'tau2', `a schedule that stays below 1 over the ${o.epochs} epochs (this one reaches ${+lastTau2.toFixed(6)})`, o.tau2);
  }
  if (o.network && o.encoder) throw new InvalidInputError('options', "give either 'network' or 'encoder', not both");
  if (o.encoder) {
    validateOptions('fitRuc', o.encoder, { module: c.instanceOf(Module), outputDim: c.int({ min: 1 }), state: c.optional(c.object<ModelState>()) }, {});
  }
  if (o.checkpoint) validateOptions('fitRuc', o.checkpoint, { path: c.string(), everyEpochs: c.int({ min: 1 }) }, { everyEpochs: 1 });
  if (o.augment) validateOptions('fitRuc', o.augment, { weak: c.optional(c.func()), strong: c.optional(c.func()) }, {});
  return { ...o, tau2, unlabeledBatchSize: o.unlabeledBatchSize ?? o.batchSize, lambdaURampUp: o.lambdaURampUp ?? o.epochs };
}

/**
 * The fields a resumed run must share with the run that wrote the checkpoint: every option that shapes training,
 * the networks' parameter shapes, and a checksum of the initial clean set (its labels and mask), so a resumed run
 * reports the selection it started from.
 */
function runSignature(o: Resolved, n: number, k: number, rowShape: readonly number[], model: Module, selection: CleanSelection): Record<string, unknown> {
  return {
    n,
    numClusters: k,
    rowShape: [...rowShape],
    parameters: Object.fromEntries(model.namedParameters().map(([name, spec]) => [name, [...spec.shape]])),
    selection: selectionChecksum(selection),
    epsilon: o.epsilon,
    temperature: o.temperature,
    alpha: o.alpha,
    tau2: o.tau2,
    epochs: o.epochs,
    batchSize: o.batchSize,
    unlabeledBatchSize: o.unlabeledBatchSize,
    augmentations: o.augmentations,
    lambdaU: o.lambdaU,
    lambdaURampUp: o.lambdaURampUp,
    coTraining: o.coTraining,
    labelSmoothing: o.labelSmoothing,
    recalibrateBatchNorm: o.recalibrateBatchNorm,
    seed: o.seed,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    nesterov: o.nesterov,
  };
}

/** Clusters that hold pseudo-labels but no clean sample, with their sizes. */
function uncoveredClusters(labels: Int32Array, cleanPerCluster: Int32Array, k: number): { cluster: number; size: number }[] {
  const sizes = new Int32Array(k);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]!]!++;
  const out: { cluster: number; size: number }[] = [];
  for (let c = 0; c < k; c++) if (sizes[c]! > 0 && cleanPerCluster[c] === 0) out.push({ cluster: c, size: sizes[c]! });
  return out;
}

/** FNV-1a over the clean mask and the labels (a fingerprint, not a security hash). */
function selectionChecksum(selection: CleanSelection): string {
  let h = 0x811c9dc5;
  const mix = (v: number) => {
    h ^= v & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  };
  for (let i = 0; i < selection.clean.length; i++) {
    mix(selection.clean[i]!);
    const l = selection.labels[i]!;
    mix(l);
    mix(l >>> 8);
    mix(l >>> 16);
    mix(l >>> 24);
  }
  return h.toString(16).padStart(8, '0');
}

function cosine(lr: number, epoch: number, epochs: number): number {
  return (lr * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
}

/** The networks and their pooled input spec for the data. */
function buildModel(o: Resolved, source: DataSource, k: number): { model: Module; encoderState?: ModelState } {
  if (o.network) return { model: o.network };
  if (o.encoder) return { model: classifier(o.encoder.module, o.encoder.outputDim, k), ...(o.encoder.state ? { encoderState: o.encoder.state } : {}) };
  const backbone = source.kind === 'images' ? smallCnn(source.rowShape[0]!, o.width ?? 32) : smallMlp(source.rowShape[0]!, o.width ?? 256);
  return { model: classifier(backbone.module, backbone.outputDim, k) };
}

interface RunState {
  states: TrainState[];
  labels: Int32Array;
  clean: Uint8Array;
  /** Co-refinement weights of each network (its min-max normalised confidence). */
  weights: Float32Array[];
  history: RucEpoch[];
  epochsDone: number;
  rng: Rng;
}

function prefixed(m: NamedTensors, prefix: string, into: NamedTensors): void {
  for (const [k, t] of m) into.set(`${prefix}${k}`, t);
}

function unprefixed(m: NamedTensors, prefix: string): NamedTensors {
  const out: NamedTensors = new Map();
  for (const [k, t] of m) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), t);
  return out;
}

function runCheckpoint(run: RunState, signature: Record<string, unknown>, slots: readonly string[]): Checkpoint {
  const parameters: NamedTensors = new Map();
  const buffers: NamedTensors = new Map();
  const slotMaps: Record<string, NamedTensors> = {};
  for (const slot of slots) slotMaps[slot] = new Map();
  run.states.forEach((s, i) => {
    prefixed(s.model.parameters, `net${i}/`, parameters);
    prefixed(s.model.buffers, `net${i}/`, buffers);
    for (const slot of slots) prefixed(s.optimizer.slots[slot] ?? new Map(), `net${i}/`, slotMaps[slot]!);
  });
  // RUC's own state rides along as float32 buffers (labels < 2^24 are exact).
  buffers.set('ruc/labels', new Tensor('float32', Float32Array.from(run.labels), [run.labels.length]));
  buffers.set('ruc/clean', new Tensor('float32', Float32Array.from(run.clean), [run.clean.length]));
  run.weights.forEach((w, i) => buffers.set(`ruc/weights${i}`, new Tensor('float32', w.slice(), [w.length])));
  return {
    state: { model: { parameters, buffers }, optimizer: { step: run.states[0]!.optimizer.step, slots: slotMaps } },
    progress: { epoch: run.epochsDone, stepInEpoch: 0, globalStep: run.states.reduce((s, t) => s + t.optimizer.step, 0) },
    rng: run.rng.getState(),
    epochRng: null,
    optimizer: { kind: 'sgd', config: {} },
    data: null,
    metadata: { format: '@dc/robust-refine', signature, history: run.history, steps: run.states.map((s) => s.optimizer.step) },
  };
}

function restoreRun(ck: Checkpoint, path: string, signature: Record<string, unknown>, networks: number, slots: readonly string[]): RunState {
  const meta = ck.metadata as { format?: string; signature?: Record<string, unknown>; history?: RucEpoch[]; steps?: number[] };
  if (meta.format !== '@dc/robust-refine') throw new InvalidInputError('resume', `'${path}' is not a checkpoint of fitRuc`);
  for (const [key, value] of Object.entries(signature)) {
    if (JSON.stringify(meta.signature?.[key]) !== JSON.stringify(value)) {
      throw new InvalidInputError('resume', `the checkpoint was written with ${key} = ${JSON.stringify(meta.signature?.[key])}, this run has ${JSON.stringify(value)}`);
    }
  }
  const bufs = ck.state.model.buffers;
  const states: TrainState[] = [];
  for (let i = 0; i < networks; i++) {
    const slotMaps: Record<string, NamedTensors> = {};
    for (const slot of slots) slotMaps[slot] = unprefixed(ck.state.optimizer.slots[slot] ?? new Map(), `net${i}/`);
    states.push({
      model: { parameters: unprefixed(ck.state.model.parameters, `net${i}/`), buffers: unprefixed(bufs, `net${i}/`) },
      optimizer: { step: meta.steps?.[i] ?? 0, slots: slotMaps },
    });
  }
  const get = (name: string) => {
    const t = bufs.get(name);
    if (!t) throw new InvalidInputError('resume', `the checkpoint lacks '${name}'`);
    return t.data;
  };
  return {
    states,
    labels: Int32Array.from(get('ruc/labels')),
    clean: Uint8Array.from(get('ruc/clean')),
    weights: Array.from({ length: networks }, (_, i) => Float32Array.from(get(`ruc/weights${i}`))),
    history: meta.history ?? [],
    epochsDone: ck.progress.epoch,
    rng: Rng.fromState(ck.rng),
  };
}

/** Mean softmax of each network over all samples, in evaluation mode. */
async function predictAll(fwd: ForwardRunner, states: readonly ModelState[], rows: (start: number, end: number) => Tensor<'float32'>, n: number): Promise<Float32Array[]> {
  const outs: Float32Array[] = [];
  for (const state of states) {
    let acc: Float32Array | null = null;
    for (let start = 0; start < n; start += fwd.batch) {
      const end = Math.min(n, start + fwd.batch);
      const p = await fwd.probabilities(state, rows(start, end));
      acc ??= new Float32Array(n * (p.length / (end - start)));
      acc.set(p, start * (p.length / (end - start)));
    }
    outs.push(acc!);
  }
  return outs;
}

function average(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts[0]!.length);
  for (const p of parts) for (let i = 0; i < out.length; i++) out[i]! += p[i]!;
  for (let i = 0; i < out.length; i++) out[i]! /= parts.length;
  return out;
}

/**
 * Refines pseudo-labels from any clustering with RUC. `data` holds the images (or embeddings) the pseudo-labels
 * belong to; `pseudoLabels` are hard labels [n] or probabilities [n, K].
 */
export async function fitRuc(data: RucData, pseudoLabels: PseudoLabelInput | PseudoLabels, options: RucOptions = {}): Promise<RucResult> {
  const t0 = performance.now();
  const o = resolveOptions(options);
  const source = dataSource(data, o.augment ?? {});
  const n = source.n;
  const pseudo = isPseudo(pseudoLabels)
    ? pseudoLabels
    : readPseudoLabels(pseudoLabels, { n, ...(o.numClusters !== undefined ? { numClusters: o.numClusters } : {}) });
  if (pseudo.n !== n) throw new InvalidInputError('pseudoLabels', `there are ${pseudo.n} pseudo-labels for ${n} samples`);
  if (o.numClusters !== undefined && pseudo.numClusters !== o.numClusters) {
    throw new InvalidInputError('pseudoLabels', `they have ${pseudo.numClusters} clusters, options.numClusters is ${o.numClusters}`);
  }
  const k = pseudo.numClusters;

  let selection: CleanSelection;
  if (o.selection) {
    selection = o.selection;
    if (!(selection.clean instanceof Uint8Array) || selection.clean.length !== n || selection.labels.length !== n) {
      throw new InvalidInputError('selection', `must be a selection of the same ${n} samples`);
    }
    if (selection.labels.some((l, i) => l !== pseudo.labels[i])) throw new InvalidInputError('selection', 'was made for other pseudo-labels');
  } else {
    selection = await selectCleanSamples(pseudo, {
      ...(o.strategy !== undefined ? { strategy: o.strategy } : {}),
      ...(o.tau1 !== undefined ? { tau1: o.tau1 } : {}),
      ...(o.k !== undefined ? { k: o.k } : {}),
      ...(o.embeddings !== undefined ? { embeddings: o.embeddings } : {}),
      ...(o.knnMetric !== undefined ? { knnMetric: o.knnMetric } : {}),
      device: o.device,
      threads: o.threads,
    });
  }
  if (selection.cleanIndices.length === 0) {
    throw new InvalidInputError('selection', 'no sample was selected as clean; lower tau1 or use another strategy');
  }
  // A cluster with members but no clean sample cannot survive training: its class is never a target of L_X, the
  // guessed labels never favour it, and refurbishing only adds what the networks predict. Say so rather than
  // return K - 1 clusters without a word.
  const uncovered = uncoveredClusters(pseudo.labels, selection.cleanPerCluster, k);
  if (uncovered.length > 0) {
    const list = uncovered.map(({ cluster, size }) => `${cluster} (${size} samples)`).join(', ');
    throw new InvalidInputError(
      'selection',
      `no clean sample in cluster${uncovered.length > 1 ? 's' : ''} ${list}: RUC would lose ${uncovered.length > 1 ? 'them' : 'it'}. ` +
        (selection.strategy === 'metric'
          ? 'Their members all sit among other clusters in the embedding space: cluster into fewer groups, use other embeddings, or pass a selection that covers every cluster.'
          : `Lower tau1 (the '${selection.strategy}' strategy used ${selection.tau1}), use the 'metric' strategy, or pass a selection that covers every cluster.`),
    );
  }

  const networks = o.coTraining ? 2 : 1;
  const m = o.augmentations;
  const bx = o.batchSize;
  const bu = o.unlabeledBatchSize;
  const { model, encoderState } = buildModel(o, source, k);
  const runtime: Runtime = await getRuntime({ device: o.device, threads: o.threads });
  const optimizer = sgd({ lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, nesterov: o.nesterov });
  const tag = `@dc/robust-refine:fit${++fitCount}`;
  const runner = await createStepRunner(
    model,
    optimizer,
    { rowShape: source.rowShape, numClusters: k, labeledRows: m * bx, unlabeledRows: m * bu, strongRows: o.labelSmoothing ? bx : 0 },
    runtime,
    `${tag}:step`,
  );
  // Every session made from here on is released if the run throws; the evaluation session outlives a
  // successful run for predict().
  let guessFwd: ForwardRunner | null = null;
  let evalFwd: ForwardRunner | null = null;
  let succeeded = false;
  try {
    // Guesses see the u views and, with co-training, the plain x rows (for co-refinement) in one batch.
    const guessRows = m * bu + (networks === 2 ? bx : 0);
    guessFwd = await ForwardRunner.create(model, source.rowShape, guessRows, runtime, `${tag}:guess`, true);
    evalFwd = await ForwardRunner.create(model, source.rowShape, o.evalBatchSize, runtime, `${tag}:eval:${o.evalBatchSize}`);
    const signature = runSignature(o, n, k, source.rowShape, model, selection);

    const root = new Rng(o.seed);
    const initRng = root.fork();
    const calibrate = batchNormCalibration(o.recalibrateBatchNorm, model, source, root.fork(), runtime);
    let run: RunState;
    if (o.resume) {
      run = restoreRun(await loadCheckpoint(o.resume), o.resume, signature, networks, optimizer.slots);
    } else {
      const modelStates = initialStates(model, networks, initRng, encoderState);
      run = {
        states: modelStates.map((s) => ({ model: s, optimizer: { step: 0, slots: zeroSlots(optimizer.slots, s.parameters, runner.step.trained) } })),
        labels: selection.labels.slice(),
        clean: selection.clean.slice(),
        // No prediction yet to trust: the first epoch keeps the given labels (w = 0).
        weights: Array.from({ length: networks }, () => new Float32Array(n)),
        history: [],
        epochsDone: 0,
        rng: root.fork(),
      };
    }

    const countClean = (mask: Uint8Array) => mask.reduce((s, v) => s + v, 0);
    const stepsPerEpoch = Math.ceil(n / (bx + bu));
    const totalSteps = o.epochs * stepsPerEpoch * networks;
    const elapsed = () => (performance.now() - t0) / 1000;
    let stepsDone = 0;
    const stepsBefore = run.epochsDone * stepsPerEpoch * networks;
    const trainStart = performance.now();
    // Steps still to run, at the mean time per step so far (the end-of-epoch passes included).
    const eta = () => (stepsDone > 0 ? ((performance.now() - trainStart) / 1000 / stepsDone) * (totalSteps - stepsBefore - stepsDone) : 0);
    o.onProgress?.({ type: 'selection', epoch: 0, epochs: o.epochs, cleanSize: countClean(run.clean), elapsedSeconds: elapsed(), etaSeconds: 0 });

    let finalProbs: Float32Array[] | null = null;
    let stopped = false;
    for (let epoch = run.epochsDone; epoch < o.epochs; epoch++) {
      const te = performance.now();
      // The run as it stood when the epoch began: the state a divergence checkpoint keeps, since partway through
      // the epoch the networks, their step counts and the generator have moved on and match no epoch boundary.
      const atEpochStart: RunState = { ...run, states: [...run.states], history: [...run.history], rng: Rng.fromState(run.rng.getState()) };
      const lr = cosine(o.lr, epoch, o.epochs);
      // lambda_u follows a linear ramp in fractional epochs (t = epoch + step / steps), from 0.1 lambda_u.
      const rampU = (step: number) =>
        o.lambdaURampUp > 0 ? o.lambdaU * Math.min(1, Math.max(0.1, (epoch + step / stepsPerEpoch) / o.lambdaURampUp)) : o.lambdaU;
      const lambdaU = rampU(stepsPerEpoch);
      const cleanIdx = indicesWhere(run.clean, 1);
      const uncleanIdx = indicesWhere(run.clean, 0);
      const losses: RucLosses[] = [];
      for (let net = 0; net < networks; net++) {
        const counter = networks === 2 ? 1 - net : net;
        const rng = run.rng.fork();
        const cleanDraw = new Cycler(cleanIdx, rng);
        // With nothing left unclean, clean samples stand in as unlabeled data (their labels unused).
        const uncleanDraw = new Cycler(uncleanIdx.length > 0 ? uncleanIdx : cleanIdx, rng);
        const sums = { total: 0, lXs: 0, lX: 0, lU: 0 };
        for (let step = 0; step < stepsPerEpoch; step++) {
          const xi = cleanDraw.next(bx);
          const ui = uncleanDraw.next(bu);
          const xViews = Array.from({ length: m }, () => source.weak(xi, rng));
          const uViews = Array.from({ length: m }, () => source.weak(ui, rng));
          const guessIn = concatRows(networks === 2 ? [...uViews, source.plain(xi)] : uViews, source.rowShape);
          const pOwn = await guessFwd.probabilities(run.states[net]!.model, guessIn, rng);
          const pCounter = networks === 2 ? await guessFwd.probabilities(run.states[counter]!.model, guessIn, rng) : null;
          const views: Float32Array[] = [];
          for (const p of pCounter ? [pOwn, pCounter] : [pOwn]) {
            for (let v = 0; v < m; v++) views.push(p.subarray(v * bu * k, (v + 1) * bu * k));
          }
          const q = guessLabels(views, k, o.temperature);
          const y = gather(run.labels, xi);
          const yBar = pCounter
            ? coRefineLabels(y, pCounter.subarray(m * bu * k, (m * bu + bx) * k), gather(run.weights[counter]!, xi), k, o.temperature)
            : oneHot(y, k);
          const poolInputs = concatRows([...xViews, ...uViews], source.rowShape);
          const poolTargets = new Float32Array((m * (bx + bu)) * k);
          poolTargets.set(repeatRows(yBar, m), 0);
          poolTargets.set(repeatRows(q, m), m * bx * k);
          const mixed = mixMatch(poolInputs.data, poolTargets, k, rng, o.alpha);
          const batch: Record<string, Tensor> = {
            mixed: new Tensor('float32', mixed.inputs, poolInputs.shape),
            targets: new Tensor('float32', mixed.targets, [m * (bx + bu), k]),
          };
          if (o.labelSmoothing) {
            batch.strong = source.strong(xi, rng);
            batch.smoothed = new Tensor('float32', smoothLabels(y, k, o.epsilon), [bx, k]);
          }
          const out = await runner.run(run.states[net]!, batch, { lr, lambda_u: rampU(step) }, rng);
          const gradNorm = out.metrics.grad_norm ?? 0;
          if (!Number.isFinite(out.loss) || !Number.isFinite(gradNorm)) {
            const path = o.checkpoint?.path ?? null;
            if (path) await saveCheckpoint(path, runCheckpoint(atEpochStart, signature, optimizer.slots));
            throw new TrainingDivergedError(epoch + 1, stepsDone, out.loss, gradNorm, path);
          }
          run.states[net] = out.next;
          sums.total += out.loss;
          sums.lXs += out.metrics.l_xs ?? 0;
          sums.lX += out.metrics.l_x ?? 0;
          sums.lU += out.metrics.l_u ?? 0;
          stepsDone++;
          o.onProgress?.({
            type: 'step',
            epoch: epoch + 1,
            epochs: o.epochs,
            network: net,
            step: step + 1,
            stepsPerEpoch,
            loss: out.loss,
            cleanSize: cleanIdx.length,
            elapsedSeconds: elapsed(),
            etaSeconds: eta(),
          });
        }
        losses.push({ total: sums.total / stepsPerEpoch, lXs: sums.lXs / stepsPerEpoch, lX: sums.lX / stepsPerEpoch, lU: sums.lU / stepsPerEpoch });
      }

      // End of epoch: evaluate both networks on every sample, refurbish, and update the co-refinement weights.
      for (let i = 0; i < networks; i++) run.states[i] = { ...run.states[i]!, model: await calibrate(run.states[i]!.model) };
      const probs = await predictAll(evalFwd, run.states.map((s) => s.model), (a, b) => source.plain(range(a, b)), n);
      const tau2 = refurbishThreshold(epoch, o.tau2);
      const r = refurbish(probs, run.clean, run.labels, k, tau2);
      run.clean = r.clean;
      run.labels = r.labels;
      run.weights = probs.map((p) => minMaxNormalize(rowMax(p, k)));
      run.epochsDone = epoch + 1;
      const ens = average(probs);
      const record: RucEpoch = {
        epoch: epoch + 1,
        lr,
        lambdaU,
        tau2,
        cleanSize: countClean(run.clean),
        refurbished: r.refurbished.length,
        losses,
        agreement: agreementOf(probs, k),
        meanConfidence: mean(rowMax(ens, k)),
        seconds: (performance.now() - te) / 1000,
      };
      run.history.push(record);
      finalProbs = probs;
      if (o.checkpoint && ((epoch + 1) % (o.checkpoint.everyEpochs ?? 1) === 0 || epoch + 1 === o.epochs || o.signal?.aborted)) {
        await saveCheckpoint(o.checkpoint.path, runCheckpoint(run, signature, optimizer.slots));
      }
      o.onProgress?.({
        type: 'epoch',
        epoch: epoch + 1,
        epochs: o.epochs,
        loss: losses.reduce((s, l) => s + l.total, 0) / losses.length,
        cleanSize: record.cleanSize,
        refurbished: record.refurbished,
        elapsedSeconds: elapsed(),
        etaSeconds: eta(),
      });
      if (o.signal?.aborted && epoch + 1 < o.epochs) {
        stopped = true;
        break;
      }
    }
    finalProbs ??= await predictAll(evalFwd, run.states.map((s) => s.model), (a, b) => source.plain(range(a, b)), n);

    const states = run.states.map((s) => s.model);
    const ensemble = new Ensemble(model, networks);
    const ensState = ensembleState(states);
    const ens = average(finalProbs);
    const transform = source.transform;
    const evalSessions = new Set([evalFwd.session]);
    const predictFn = async (newData: RucData, opts: { batchSize?: number } = {}): Promise<RucPrediction> => {
      const p = validateOptions('RucResult.predict', opts, { batchSize: c.int({ min: 1 }) }, { batchSize: o.evalBatchSize });
      const x = transformInputs(newData, transform);
      const rows = x.shape[0]!;
      const fwd = await ForwardRunner.create(model, source.rowShape, p.batchSize, runtime, `${tag}:eval:${p.batchSize}`);
      evalSessions.add(fwd.session);
      const probs = average(await predictAll(fwd, states, (a, b) => x.rows(a, b), rows));
      return { labels: rowArgmax(probs, k), confidences: rowMax(probs, k), probabilities: new Tensor('float32', probs, [rows, k]) };
    };
    succeeded = true;
    return {
      labels: rowArgmax(ens, k),
      confidences: rowMax(ens, k),
      probabilities: new Tensor('float32', ens, [n, k]),
      numClusters: k,
      initialLabels: pseudo.labels,
      initialProbabilities: pseudo.probabilities ? new Tensor('float32', pseudo.probabilities, [n, k]) : null,
      selection,
      finalClean: run.clean,
      finalCleanLabels: run.labels,
      history: run.history,
      epochsDone: run.epochsDone,
      stopped,
      networkProbabilities: finalProbs.map((p) => new Tensor('float32', p, [n, k])),
      model,
      states,
      transform,
      seconds: elapsed(),
      predict: predictFn,
      async dispose(): Promise<void> {
        for (const session of evalSessions) await session.release();
        evalSessions.clear();
      },
      async exportOnnx(path?: string): Promise<Uint8Array> {
        const bytes = nnExportOnnx(ensemble as unknown as Module<never[], unknown>, ensState, {
          inputShape: source.rowShape,
          metadata: { 'dc.method': 'RUC', 'dc.numClusters': String(k) },
        });
        if (path !== undefined) {
          const { writeFile } = await import('node:fs/promises');
          await writeFile(path, bytes);
        }
        return bytes;
      },
    };
  } finally {
    await runner.session.release();
    await guessFwd?.session.release();
    // The batch-norm recalibration programs @dc/nn cached for the networks; predict() uses the evaluation runner.
    await releaseModelSessions(model, runtime);
    if (!succeeded) await evalFwd?.session.release();
  }
}


function isPseudo(v: unknown): v is PseudoLabels {
  return typeof v === 'object' && v !== null && !(v instanceof Tensor) && (v as PseudoLabels).labels instanceof Int32Array && typeof (v as PseudoLabels).numClusters === 'number';
}

function indicesWhere(mask: Uint8Array, value: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i] === value) out.push(i);
  return Int32Array.from(out);
}

function range(a: number, b: number): Int32Array {
  const out = new Int32Array(b - a);
  for (let i = 0; i < out.length; i++) out[i] = a + i;
  return out;
}

function agreementOf(probs: readonly Float32Array[], k: number): number {
  if (probs.length < 2) return 1;
  const a = rowArgmax(probs[0]!, k);
  const b = rowArgmax(probs[1]!, k);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

function mean(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s / x.length;
}
