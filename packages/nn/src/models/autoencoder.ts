/**
 * Convolutional encoder, decoder and autoencoder sized from the input shape, in the style of SPC's autoencoders
 * (Mahon and Lukasiewicz: convolution + BatchNorm encoders, transposed-convolution decoders, leaky ReLU, an output
 * activation, Gaussian noise on the latent code). The paper gives no layer sizes, so these are ours: stride-2 3x3
 * convolutions halve the image until it is at most 4x4 (28 -> 14 -> 7 -> 4, 16 -> 8 -> 4, 32 -> 16 -> 8 -> 4),
 * a Linear maps to the latent code; the decoder mirrors it with transposed convolutions whose output_padding
 * restores every size exactly, and a sigmoid output for images in [0, 1].
 */
import { InvalidOptionError, c, validateOptions, type Value } from '@dc/core';
import { BatchNorm2d, Conv2d, ConvTranspose2d, Flatten, LeakyReLU, Linear, Sequential, Sigmoid, Tanh, Unflatten, Identity } from '../modules/layers.js';
import { Module, type ForwardContext } from '../modules/module.js';

export interface ConvGeometry {
  /** [C, H, W] of the images. */
  inputShape: readonly [number, number, number];
  /** Spatial size after each stage, input first: e.g. [[28, 28], [14, 14], [7, 7], [4, 4]]. */
  sizes: [number, number][];
  /** Channels after each stage. */
  channels: number[];
}

/** Stages halve H and W (ceil) until both are at most 4; channels start at `base` and double per stage. */
export function convGeometry(inputShape: readonly number[], base = 32, maxChannels = 256): ConvGeometry {
  if (inputShape.length !== 3 || !inputShape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new InvalidOptionError('convGeometry', 'inputShape', 'three positive integers [C, H, W]', [...inputShape]);
  }
  const [ch, h, w] = inputShape as [number, number, number];
  if (h < 2 || w < 2) throw new InvalidOptionError('convGeometry', 'inputShape', 'images of at least 2x2 pixels', [...inputShape]);
  const sizes: [number, number][] = [[h, w]];
  let [sh, sw] = [h, w];
  do {
    sh = Math.ceil(sh / 2);
    sw = Math.ceil(sw / 2);
    sizes.push([sh, sw]);
  } while (sh > 4 || sw > 4);
  const channels = sizes.slice(1).map((_, i) => Math.min(maxChannels, base * 2 ** i));
  return { inputShape: [ch, h, w], sizes, channels };
}

export interface ConvEncoderOptions {
  inputShape: readonly [number, number, number];
  latentDim: number;
  /** Channels of the first stage (doubling per stage, default 32). */
  baseChannels?: number;
  negativeSlope?: number;
}

const encoderSchema = {
  inputShape: c.custom<readonly [number, number, number]>('three positive integers [C, H, W]', (v) =>
    Array.isArray(v) && v.length === 3 && v.every((d) => Number.isInteger(d) && d >= 1),
  ),
  latentDim: c.int({ min: 1 }),
  baseChannels: c.int({ min: 1 }),
  negativeSlope: c.number({ min: 0 }),
};

/** [N, C, H, W] -> [N, latentDim]. */
export class ConvEncoder extends Module {
  readonly geometry: ConvGeometry;

  constructor(options: ConvEncoderOptions) {
    super();
    const o = validateOptions('ConvEncoder', options, encoderSchema, { baseChannels: 32, negativeSlope: 0.01 });
    const geo = convGeometry(o.inputShape, o.baseChannels);
    this.geometry = geo;
    const layers: Module[] = [];
    let cin = geo.inputShape[0];
    for (const cout of geo.channels) {
      layers.push(new Conv2d(cin, cout, 3, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(cout), new LeakyReLU(o.negativeSlope));
      cin = cout;
    }
    const [fh, fw] = geo.sizes[geo.sizes.length - 1]!;
    layers.push(new Flatten(), new Linear(cin * fh * fw, o.latentDim));
    this.registerModule('layers', new Sequential(...layers));
  }

  forward(ctx: ForwardContext, x: Value): Value {
    return ctx.call('layers', x);
  }
}

export interface ConvDecoderOptions {
  /** [C, H, W] of the images to reconstruct. */
  outputShape: readonly [number, number, number];
  latentDim: number;
  baseChannels?: number;
  negativeSlope?: number;
  outputActivation?: 'sigmoid' | 'tanh' | 'none';
}

/** [N, latentDim] -> [N, C, H, W], the mirror of ConvEncoder. */
export class ConvDecoder extends Module {
  readonly geometry: ConvGeometry;

  constructor(options: ConvDecoderOptions) {
    super();
    const o = validateOptions('ConvDecoder', options, {
      outputShape: encoderSchema.inputShape,
      latentDim: c.int({ min: 1 }),
      baseChannels: c.int({ min: 1 }),
      negativeSlope: c.number({ min: 0 }),
      outputActivation: c.oneOf(['sigmoid', 'tanh', 'none'] as const),
    }, { baseChannels: 32, negativeSlope: 0.01, outputActivation: 'sigmoid' });
    const geo = convGeometry(o.outputShape, o.baseChannels);
    this.geometry = geo;
    const stages = geo.channels.length;
    const [fh, fw] = geo.sizes[stages]!;
    const top = geo.channels[stages - 1]!;
    const layers: Module[] = [new Linear(o.latentDim, top * fh * fw), new LeakyReLU(o.negativeSlope), new Unflatten([top, fh, fw])];
    for (let s = stages - 1; s >= 0; s--) {
      const cin = geo.channels[s]!;
      const last = s === 0;
      const cout = last ? geo.inputShape[0] : geo.channels[s - 1]!;
      const [ih, iw] = geo.sizes[s + 1]!;
      const [oh, ow] = geo.sizes[s]!;
      // k3 s2 p1 gives 2*in - 1 + output_padding; choose output_padding to land exactly on the encoder's size.
      const outputPadding: [number, number] = [oh - (2 * ih - 1), ow - (2 * iw - 1)];
      layers.push(new ConvTranspose2d(cin, cout, 3, { stride: 2, padding: 1, outputPadding, bias: last }));
      if (!last) layers.push(new BatchNorm2d(cout), new LeakyReLU(o.negativeSlope));
    }
    layers.push(o.outputActivation === 'sigmoid' ? new Sigmoid() : o.outputActivation === 'tanh' ? new Tanh() : new Identity());
    this.registerModule('layers', new Sequential(...layers));
  }

  forward(ctx: ForwardContext, z: Value): Value {
    return ctx.call('layers', z);
  }
}

export interface ConvAutoencoderOptions {
  inputShape: readonly [number, number, number];
  latentDim: number;
  baseChannels?: number;
  negativeSlope?: number;
  outputActivation?: 'sigmoid' | 'tanh' | 'none';
  /**
   * Standard deviation of Gaussian noise added to the latent code in training (SPC's regulariser; default 0).
   * The noise is a graph input drawn by the trainer's Rng.
   */
  latentNoise?: number;
}

export interface AutoencoderOutput {
  latent: Value;
  reconstruction: Value;
  [key: string]: Value;
}

/** Encoder + decoder; forward gives the latent code and the reconstruction. */
export class ConvAutoencoder extends Module<[Value], AutoencoderOutput> {
  readonly latentNoise: number;

  constructor(options: ConvAutoencoderOptions) {
    super();
    const o = validateOptions('ConvAutoencoder', options, {
      ...encoderSchema,
      outputActivation: c.oneOf(['sigmoid', 'tanh', 'none'] as const),
      latentNoise: c.number({ min: 0 }),
    }, { baseChannels: 32, negativeSlope: 0.01, outputActivation: 'sigmoid', latentNoise: 0 });
    this.latentNoise = o.latentNoise;
    this.registerModule('encoder', new ConvEncoder({ inputShape: o.inputShape, latentDim: o.latentDim, baseChannels: o.baseChannels, negativeSlope: o.negativeSlope }));
    this.registerModule('decoder', new ConvDecoder({
      outputShape: o.inputShape, latentDim: o.latentDim, baseChannels: o.baseChannels, negativeSlope: o.negativeSlope, outputActivation: o.outputActivation,
    }));
  }

  forward(ctx: ForwardContext, x: Value): AutoencoderOutput {
    const latent = ctx.call<[Value], Value>('encoder', x);
    let code = latent;
    if (ctx.training && this.latentNoise > 0) code = ctx.g.op('Add', [latent, ctx.noise('latent_noise', latent.staticShape, this.latentNoise)]);
    const reconstruction = ctx.call<[Value], Value>('decoder', code);
    return { latent, reconstruction };
  }
}
