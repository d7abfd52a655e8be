/**
 * One SPC ensemble member: a convolutional autoencoder with Gaussian noise injected into its latent code, and an
 * MLP pseudo-classifier on the latent code (Mahon and Lukasiewicz, Section 3.2).
 *
 * Training mode returns the noisy code's reconstruction and class logits (the noise regularises both, as in the
 * authors' code); evaluation mode uses the clean latent code. The noise is a graph input drawn from the trainer's
 * seeded Rng, so training stays reproducible and resumable.
 */
import { type Value } from '@dc/core';
import { ConvDecoder, ConvEncoder, MLP, Module, type ForwardContext } from '@dc/nn';

export interface SpcNetworkConfig {
  /** [C, H, W] of the images. */
  inputShape: readonly [number, number, number];
  latentDim: number;
  /** Channels of the first convolution (doubling per stride-2 stage). */
  baseChannels: number;
  /** Hidden width of the pseudo-classifier. */
  headHidden: number;
  nClusters: number;
  /** Standard deviation of the training-time latent noise. */
  latentNoise: number;
  /** Leaky ReLU slope (0.3 in the authors' code). */
  negativeSlope: number;
}

export interface SpcForward {
  latent: Value;
  logits: Value;
  /** Only in training mode. */
  reconstruction?: Value;
  [key: string]: Value | undefined;
}

export class SpcNetwork extends Module<[Value], SpcForward> {
  readonly config: SpcNetworkConfig;

  constructor(config: SpcNetworkConfig) {
    super();
    this.config = { ...config };
    const { inputShape, latentDim, baseChannels, negativeSlope } = config;
    this.registerModule('encoder', new ConvEncoder({ inputShape, latentDim, baseChannels, negativeSlope }));
    // The paper's decoders end in tanh; images are fed in [0, 1], which tanh covers.
    this.registerModule('decoder', new ConvDecoder({ outputShape: inputShape, latentDim, baseChannels, negativeSlope, outputActivation: 'tanh' }));
    this.registerModule('head', new MLP({ inputDim: latentDim, hidden: [config.headHidden], outputDim: config.nClusters }));
  }

  forward(ctx: ForwardContext, x: Value): SpcForward {
    const latent = ctx.call<[Value], Value>('encoder', x);
    if (!ctx.training) return { latent, logits: ctx.call<[Value], Value>('head', latent) };
    const code = this.config.latentNoise > 0 ? ctx.g.op('Add', [latent, ctx.noise('latent_noise', latent.staticShape, this.config.latentNoise)]) : latent;
    return {
      latent,
      logits: ctx.call<[Value], Value>('head', code),
      reconstruction: ctx.call<[Value], Value>('decoder', code),
    };
  }
}
