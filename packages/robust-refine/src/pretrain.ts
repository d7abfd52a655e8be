/**
 * A pretrained encoder for RUC's networks, learned from the images alone. The paper starts both networks from a
 * freshly pretrained encoder (SimCLR, supplementary A.2) and trains for 200 epochs. From random weights a short
 * schedule collapses the labels: the networks learn too little in their first epochs, and their MixMatch guesses
 * pull most images into a few clusters (MNIST digits with 86% accurate SPC labels, 5 epochs: 12% on 3,000 images,
 * 54% on 10,000; from this encoder 70% on the same 3,000; README, What to expect). Two methods: a convolutional
 * autoencoder (reconstruction error; the default, cheapest on a CPU) and SimCLR, the paper's (NT-Xent over two
 * augmented views of each image, through a projection head that is dropped afterwards). Either encoder's output
 * doubles as the embedding of the metric clean-set strategy. No label is read here.
 */
import { DEVICES, InvalidInputError, InvalidOptionError, Rng, Tensor, c, validateOptions, type Device, type Value } from '@dc/core';
import {
  ConvAutoencoder,
  ConvEncoder,
  ProjectionHead,
  Trainer,
  WithHead,
  adam,
  mse,
  ntXent,
  predict,
  tensorDataset,
  type AutoencoderOutput,
  type Dataset,
  type LossBuilder,
  type ModelState,
  type Module,
} from '@dc/nn';
import { rangePair } from '@dc/data';
import { dataSource, transformInputs, type DataSource, type RucData } from './data-source.js';
import type { EncoderSpec } from './networks.js';

export const PRETRAIN_METHODS = ['autoencoder', 'simclr'] as const;
export type PretrainMethod = (typeof PRETRAIN_METHODS)[number];

export interface PretrainEncoderOptions {
  /**
   * 'autoencoder' (default): a convolutional autoencoder trained on reconstruction error. 'simclr': the same
   * convolutional encoder trained contrastively (SimCLR's NT-Xent, the paper's pretraining).
   */
  method?: PretrainMethod;
  /** Size of the latent code, the encoder's output width (default 32). */
  latentDim?: number;
  /** Channels of the first convolution stage, doubling per stage (default 16). */
  baseChannels?: number;
  /** Training epochs over the (sub)set (default 10). */
  epochs?: number;
  batchSize?: number;
  /** Adam's learning rate (default 1e-3). */
  lr?: number;
  /** Train on a seeded random subset of this many images (default: all). */
  subset?: number;
  /** SimCLR only: NT-Xent's temperature (default 0.5, SimCLR's CIFAR setting). */
  temperature?: number;
  /**
   * SimCLR only: range of the random crop's area as a fraction of the image (default [0.5, 1]; SimCLR's
   * ImageNet setting [0.08, 1] leaves too little of a 28x28 image).
   */
  cropScale?: [number, number];
  /** SimCLR only: output width of the projection head (default 32; its hidden layer is latentDim wide). */
  projectionDim?: number;
  seed?: number;
  /** Called after every epoch with its mean loss (reconstruction error, or NT-Xent for SimCLR). */
  onEpoch?: (epoch: number, epochs: number, loss: number) => void;
  device?: Device;
  threads?: number;
}

export interface PretrainedEncoder {
  /** The encoder and its trained weights, for `fitRuc`'s `encoder` option. */
  encoder: EncoderSpec & { state: ModelState };
  /** Mean reconstruction loss of each epoch. */
  losses: number[];
  /** The latent code [N, latentDim] of every image of `data` (default: every image pretrainEncoder was given). */
  embed(data?: RucData): Promise<Tensor<'float32'>>;
}

/**
 * The rows `pretrainEncoder` trains on when given a subset. Its generator is seeded from a draw of `Rng(seed)`, not
 * `Rng(seed)` itself: the trainer's initial weights come from the start of `Rng(seed)`'s stream, and the subset
 * must not be chosen by the same numbers.
 */
export function pretrainSubset(n: number, subset: number, seed: number): Int32Array {
  return new Rng(new Rng(seed).nextSeed()).choice(n, subset);
}

/**
 * Trains a convolutional encoder on `data` (images: an ImageDataset or [N, C, H, W]), as an autoencoder or with
 * SimCLR (`method`), and returns it in the form `fitRuc`'s `encoder` option takes, with the encoder's outputs as
 * embeddings for the metric strategy. The images are fed as `fitRuc` feeds them (the dataset's normalisation, or
 * pixels in [0, 1]), so the encoder sees the same inputs later.
 */
export async function pretrainEncoder(data: RucData, options: PretrainEncoderOptions = {}): Promise<PretrainedEncoder> {
  const source = dataSource(data);
  if (source.kind !== 'images') {
    throw new InvalidInputError('data', 'pretrainEncoder trains on images; embeddings are features already (fitRuc trains an MLP on them directly)');
  }
  const o = validateOptions('pretrainEncoder', options, {
    method: c.oneOf(PRETRAIN_METHODS),
    latentDim: c.int({ min: 1 }),
    baseChannels: c.int({ min: 1 }),
    epochs: c.int({ min: 1 }),
    batchSize: c.int({ min: 1 }),
    lr: c.number({ min: 0, minExclusive: true }),
    subset: c.optional(c.int({ min: 1 })),
    temperature: c.optional(c.number({ min: 0, minExclusive: true })),
    cropScale: c.optional(rangePair(1)),
    projectionDim: c.optional(c.int({ min: 1 })),
    seed: c.int({ min: 0 }),
    onEpoch: c.optional(c.func<(epoch: number, epochs: number, loss: number) => void>()),
    device: c.optional(c.oneOf(DEVICES)),
    threads: c.optional(c.int({ min: 0 })),
  }, { method: 'autoencoder', latentDim: 32, baseChannels: 16, epochs: 10, batchSize: 256, lr: 1e-3, seed: 0 });
  if (o.method !== 'simclr') {
    for (const name of ['temperature', 'cropScale', 'projectionDim'] as const) {
      if (o[name] !== undefined) throw new InvalidOptionError('pretrainEncoder', name, "an option of method 'simclr' only", o[name]);
    }
  }

  const all = Int32Array.from({ length: source.n }, (_, i) => i);
  const rows = o.subset !== undefined && o.subset < source.n ? pretrainSubset(source.n, o.subset, o.seed) : all;
  const batchSize = Math.min(o.batchSize, rows.length);
  // NT-Xent contrasts each view with the batch's other images: a batch of one has no negatives.
  if (o.method === 'simclr' && batchSize < 2) {
    throw new InvalidOptionError('pretrainEncoder', 'batchSize', 'at least 2 images per batch (and as many to train on) for SimCLR', batchSize);
  }
  const [channels, height, width] = source.rowShape as [number, number, number];
  const inputShape: [number, number, number] = [channels, height, width];
  const runtimeOptions = { ...(o.device !== undefined ? { device: o.device } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}) };
  const setup = o.method === 'simclr'
    ? simclrSetup(source, rows, inputShape, o.latentDim, o.baseChannels, o.temperature ?? 0.5, o.cropScale ?? [0.5, 1], o.projectionDim ?? 32)
    : autoencoderSetup(source, rows, inputShape, o.latentDim, o.baseChannels);
  const trainer = new Trainer({ model: setup.model, optimizer: adam({ lr: o.lr }), seed: o.seed, ...runtimeOptions, loss: setup.loss });
  const losses: number[] = [];
  try {
    await trainer.fit(setup.data, {
      epochs: o.epochs,
      batchSize,
      onProgress: (e) => {
        if (e.type !== 'epoch') return;
        losses.push(e.loss);
        o.onEpoch?.(e.epoch, e.epochs, e.loss);
      },
    });
  } finally {
    // The trainer owns its own runtime and step session; only the weights are kept.
    await trainer.dispose();
  }

  // The encoder's weights, renamed relative to the encoder (what `fitRuc` copies into both backbones). Only the
  // model is kept from the setup: its training inputs are not held after training.
  const { model, encoderName } = setup;
  const prefix = `${encoderName}.`;
  const strip = (m: Map<string, Tensor<'float32'>>) =>
    new Map([...m].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t.clone()] as const));
  const modelState = trainer.modelState;
  const state: ModelState = { parameters: strip(modelState.parameters), buffers: strip(modelState.buffers) };
  return {
    encoder: { module: model.get(encoderName) as Module, outputDim: o.latentDim, state },
    losses,
    async embed(other?: RucData): Promise<Tensor<'float32'>> {
      const input = other !== undefined ? transformInputs(other, source.transform) : source.plain(all);
      const out = await predict(model, modelState, input, { module: encoderName, batchSize: 1024, ...runtimeOptions });
      return out.output!;
    },
  };
}

interface PretrainSetup {
  model: Module<never[], unknown>;
  /** The submodule that is the encoder. */
  encoderName: string;
  loss: LossBuilder;
  data: Dataset;
}

function autoencoderSetup(source: DataSource, rows: Int32Array, inputShape: [number, number, number], latentDim: number, baseChannels: number): PretrainSetup {
  const x = source.plain(rows);
  // Targets in [0, 1] suit a sigmoid output; normalised images can be negative, so those get a linear one.
  const min = x.data.reduce((m, v) => Math.min(m, v), Infinity);
  const max = x.data.reduce((m, v) => Math.max(m, v), -Infinity);
  const model = new ConvAutoencoder({ inputShape, latentDim, baseChannels, outputActivation: min >= 0 && max <= 1 ? 'sigmoid' : 'none' });
  return {
    model: model as Module<never[], unknown>,
    encoderName: 'encoder',
    loss: (ctx) => {
      const input = ctx.input('x');
      return mse(ctx.g, ctx.forward<AutoencoderOutput>(input).reconstruction, input);
    },
    data: tensorDataset({ x }),
  };
}

/**
 * SimCLR: the encoder and a projection head (Linear, ReLU, Linear) on two independent views of each image of the
 * batch; NT-Xent takes the other view as the positive and the batch's other 2B - 2 views as negatives. Views are
 * drawn from the step's batch generator, so a seed repeats them.
 */
function simclrSetup(
  source: DataSource,
  rows: Int32Array,
  inputShape: [number, number, number],
  latentDim: number,
  baseChannels: number,
  temperature: number,
  cropScale: [number, number],
  projectionDim: number,
): PretrainSetup {
  const view = source.contrastive!.bind(source);
  const encoder = new ConvEncoder({ inputShape, latentDim, baseChannels });
  // NT-Xent normalises the rows itself.
  const head = new ProjectionHead({ inputDim: latentDim, hiddenDim: latentDim, outputDim: projectionDim, normalize: false });
  const model = new WithHead(encoder, head);
  return {
    model: model as Module<never[], unknown>,
    encoderName: 'backbone',
    loss: (ctx) => ntXent(ctx.g, ctx.forward<Value>(ctx.input('a')), ctx.forward<Value>(ctx.input('b')), { temperature }),
    data: {
      size: rows.length,
      batch(indices, rng) {
        const picked = Int32Array.from(indices, (i) => rows[i]!);
        const a = view(picked, rng, cropScale);
        return { a, b: view(picked, rng, cropScale) };
      },
    },
  };
}
