/** The result of fitSpc: consensus labels, the agreement history, and the ensemble as a classifier. */
import { writeFile } from 'node:fs/promises';
import { ShapeError, Tensor, c, getRuntime, validateOptions, type Device } from '@dc/core';
import { exportOnnx as exportModel, predict as runModel, releaseModelSessions, type ModelState } from '@dc/nn';
import { readImages, type SpcInput } from './data.js';
import type { SpcNetworkConfig } from './network.js';
import { SpcEnsembleClassifier, ensembleState } from './predictor.js';

export interface SpcRoundRecord {
  /** 0 is the clustering of the pretrained autoencoders; round r follows r pseudo-label trainings. */
  round: number;
  /** Points every member (or the agreement fraction of them) labels alike. */
  agreed: number;
  /** agreed / n. */
  fraction: number;
  /** Labellings in this round's vote: the members clustered, plus the concatenated latent codes when used. */
  members: number;
  /** Labellings left out because no HDBSCAN cut gives exactly K clusters (ensembleSize: the concatenation). */
  excluded: number[];
  /** Mean training loss of the members in the training that preceded this clustering (null for round 0). */
  trainLoss: number | null;
  /** Seconds this round took (training, embedding, UMAP, clustering, alignment). */
  seconds: number;
}

export interface SpcPrediction {
  /** Consensus label of each image. */
  labels: Int32Array;
  /** [N, K] mean aligned class probabilities of the members. */
  probabilities: Tensor<'float32'>;
}

export interface SpcPredictOptions {
  /** Images per ONNX Runtime call (default 512). */
  batchSize?: number;
}

export class SpcResult {
  /** Consensus label of every training image (the best round's). */
  readonly labels: Int32Array;
  /** 1 where the best round's ensemble agreed. */
  readonly agreed: Uint8Array;
  /** One record per clustering round, round 0 first. */
  readonly history: readonly SpcRoundRecord[];
  /** Round with the most agreed points (its consensus is `labels`). */
  readonly bestRound: number;
  readonly nClusters: number;
  readonly seconds: number;
  private readonly config: SpcNetworkConfig;
  /** Per member: the consensus label of each of its head's classes. */
  private readonly classMaps: Int32Array[];
  private readonly classifier: SpcEnsembleClassifier;
  private readonly state: ModelState;
  private readonly imageShape: readonly [number, number, number];
  private readonly device: Device;
  private readonly threads: number;

  constructor(init: {
    labels: Int32Array;
    agreed: Uint8Array;
    history: SpcRoundRecord[];
    bestRound: number;
    config: SpcNetworkConfig;
    memberStates: ModelState[];
    classMaps: Int32Array[];
    seconds: number;
    device: Device;
    threads: number;
  }) {
    this.labels = init.labels;
    this.agreed = init.agreed;
    this.history = init.history;
    this.bestRound = init.bestRound;
    this.nClusters = init.config.nClusters;
    this.seconds = init.seconds;
    this.config = init.config;
    this.classMaps = init.classMaps;
    this.classifier = new SpcEnsembleClassifier(init.config, init.classMaps);
    this.state = ensembleState(init.memberStates);
    this.imageShape = init.config.inputShape;
    this.device = init.device;
    this.threads = init.threads;
  }

  /** Agreed points per round, round 0 first. */
  get agreementHistory(): number[] {
    return this.history.map((h) => h.agreed);
  }

  /** Labels new images [M, C, H, W] (uint8 or float32 like the training images) with the ensemble. */
  async predict(images: SpcInput, options: SpcPredictOptions = {}): Promise<SpcPrediction> {
    const o = validateOptions('SpcResult.predict', options, { batchSize: c.int({ min: 1 }) }, { batchSize: 512 });
    const x = readImages(images);
    const [, ch, h, w] = x.shape as [number, number, number, number];
    const [ec, eh, ew] = this.imageShape;
    if (ch !== ec || h !== eh || w !== ew) throw new ShapeError('images', ['M', ec, eh, ew], x.shape, 'New images must have the shape of the training images.');
    const runtime = await getRuntime({ device: this.device, threads: this.threads });
    const out = await runModel(this.classifier, this.state, x, { batchSize: o.batchSize, runtime });
    const probabilities = out.probabilities!;
    const k = this.nClusters;
    const m = x.shape[0]!;
    const labels = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (probabilities.data[i * k + j]! > probabilities.data[i * k + best]!) best = j;
      labels[i] = best;
    }
    return { labels, probabilities };
  }

  /** Releases the ONNX Runtime sessions `predict` compiled (one per batch size); a later `predict` recompiles. */
  async dispose(): Promise<void> {
    await releaseModelSessions(this.classifier, await getRuntime({ device: this.device, threads: this.threads }));
  }

  /**
   * The ensemble as one standalone ONNX model: input 'input' [N, C, H, W] float32 (pixels in [0, 1]), outputs
   * 'probabilities' [N, K] and 'labels' [N] int64. Plain onnxruntime runs it without any @dc package.
   */
  toOnnx(): Uint8Array {
    const model = new SpcEnsembleClassifier(this.config, this.classMaps, { withLabels: true });
    return exportModel(model, this.state, {
      inputShape: [...this.imageShape],
      metadata: { 'dc.method': 'SPC', 'dc.clusters': String(this.nClusters), 'dc.members': String(this.classMaps.length) },
    });
  }

  /** Writes toOnnx() to `path`. */
  async exportOnnx(path: string): Promise<void> {
    await writeFile(path, this.toOnnx());
  }
}
