/**
 * A pretrained encoder for RUC's networks, learned from the images alone. The paper starts both networks from a
 * freshly pretrained encoder (SimCLR, supplementary A.2) and trains for 200 epochs. From random weights a short
 * schedule collapses the labels: the networks learn too little in their first epochs, and their MixMatch guesses
 * pull most images into a few clusters (MNIST digits with 86% accurate SPC labels, 5 epochs: 12% on 3,000 images,
 * 54% on 10,000; from this encoder 70% on the same 3,000; README, What to expect). We pretrain a convolutional
 * autoencoder (reconstruction error, Adam) instead of SimCLR, which needs long contrastive training; its latent
 * code doubles as the embedding of the metric clean-set strategy. No label is read here.
 */
import { DEVICES, InvalidInputError, Rng, Tensor, c, validateOptions, type Device } from '@dc/core';
import { ConvAutoencoder, Trainer, adam, mse, predict, tensorDataset, type AutoencoderOutput, type ModelState, type Module } from '@dc/nn';
import { dataSource, transformInputs, type RucData } from './data-source.js';
import type { EncoderSpec } from './networks.js';

export interface PretrainEncoderOptions {
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
  seed?: number;
  /** Called after every epoch with its mean reconstruction loss. */
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
 * Trains a convolutional autoencoder on `data` (images: an ImageDataset or [N, C, H, W]) and returns its encoder
 * in the form `fitRuc`'s `encoder` option takes, and the latent codes as embeddings for the metric strategy. The
 * images are fed as `fitRuc` feeds them (the dataset's normalisation, or pixels in [0, 1]), so the encoder sees
 * the same inputs later.
 */
export async function pretrainEncoder(data: RucData, options: PretrainEncoderOptions = {}): Promise<PretrainedEncoder> {
  const source = dataSource(data);
  if (source.kind !== 'images') {
    throw new InvalidInputError('data', 'pretrainEncoder trains on images; embeddings are features already (fitRuc trains an MLP on them directly)');
  }
  const o = validateOptions('pretrainEncoder', options, {
    latentDim: c.int({ min: 1 }),
    baseChannels: c.int({ min: 1 }),
    epochs: c.int({ min: 1 }),
    batchSize: c.int({ min: 1 }),
    lr: c.number({ min: 0, minExclusive: true }),
    subset: c.optional(c.int({ min: 1 })),
    seed: c.int({ min: 0 }),
    onEpoch: c.optional(c.func<(epoch: number, epochs: number, loss: number) => void>()),
    device: c.optional(c.oneOf(DEVICES)),
    threads: c.optional(c.int({ min: 0 })),
  }, { latentDim: 32, baseChannels: 16, epochs: 10, batchSize: 256, lr: 1e-3, seed: 0 });

  const all = Int32Array.from({ length: source.n }, (_, i) => i);
  const rows = o.subset !== undefined && o.subset < source.n ? pretrainSubset(source.n, o.subset, o.seed) : all;
  const x = source.plain(rows);
  const [channels, height, width] = source.rowShape as [number, number, number];
  // Targets in [0, 1] suit a sigmoid output; normalised images can be negative, so those get a linear one.
  const min = x.data.reduce((m, v) => Math.min(m, v), Infinity);
  const max = x.data.reduce((m, v) => Math.max(m, v), -Infinity);
  const model = new ConvAutoencoder({
    inputShape: [channels, height, width],
    latentDim: o.latentDim,
    baseChannels: o.baseChannels,
    outputActivation: min >= 0 && max <= 1 ? 'sigmoid' : 'none',
  });
  const runtimeOptions = { ...(o.device !== undefined ? { device: o.device } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}) };
  const trainer = new Trainer({
    model,
    optimizer: adam({ lr: o.lr }),
    seed: o.seed,
    ...runtimeOptions,
    loss: (ctx) => {
      const input = ctx.input('x');
      return mse(ctx.g, ctx.forward<AutoencoderOutput>(input).reconstruction, input);
    },
  });
  const losses: number[] = [];
  try {
    await trainer.fit(tensorDataset({ x }), {
      epochs: o.epochs,
      batchSize: Math.min(o.batchSize, rows.length),
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

  // The encoder's weights, renamed relative to the encoder (what `fitRuc` copies into both backbones).
  const strip = (m: Map<string, Tensor<'float32'>>) =>
    new Map([...m].filter(([k]) => k.startsWith('encoder.')).map(([k, t]) => [k.slice('encoder.'.length), t.clone()] as const));
  const modelState = trainer.modelState;
  const state: ModelState = { parameters: strip(modelState.parameters), buffers: strip(modelState.buffers) };
  return {
    encoder: { module: model.get('encoder') as Module, outputDim: o.latentDim, state },
    losses,
    async embed(other?: RucData): Promise<Tensor<'float32'>> {
      // Without a subset the training rows are already every image, in order.
      const input = other !== undefined ? transformInputs(other, source.transform) : rows === all ? x : source.plain(all);
      const out = await predict(model, modelState, input, { module: 'encoder', batchSize: 1024, ...runtimeOptions });
      return out.output!;
    },
  };
}
