/** The two benchmark cases, shared by our runner (the PyTorch script mirrors them). */
import { Rng, Tensor } from '@dc/core';
import { ConvAutoencoder, adam, buildStepGraph, type GradientsOptions, crossEntropy, mse, resnet18, sgd, type AutoencoderOutput, type LossBuilder, type Module, type Optimizer } from '@dc/nn';

export interface BenchCase {
  name: string;
  description: string;
  model: () => Module<never[], unknown>;
  optimizer: () => Optimizer;
  loss: LossBuilder;
  batch: (rng: Rng) => Record<string, Tensor>;
  steps: number;
}

export const CASES: Record<string, BenchCase> = {
  'conv-autoencoder': {
    name: 'conv-autoencoder',
    description: 'conv autoencoder 1x28x28, batch 128, MSE, Adam',
    model: () => new ConvAutoencoder({ inputShape: [1, 28, 28], latentDim: 10 }),
    optimizer: () => adam({ lr: 1e-3 }),
    loss: (ctx) => {
      const x = ctx.input('x');
      return mse(ctx.g, ctx.forward<AutoencoderOutput>(x).reconstruction, x);
    },
    batch: (rng) => {
      const x = Tensor.zeros([128, 1, 28, 28]);
      rng.fillUniform(x.data);
      return { x };
    },
    steps: 10,
  },
  resnet18: {
    name: 'resnet18',
    description: 'ResNet-18 CIFAR 3x32x32, batch 32, cross-entropy, SGD momentum',
    model: () => resnet18({ numClasses: 10 }),
    optimizer: () => sgd({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 }),
    loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y')),
    batch: (rng) => {
      const x = Tensor.zeros([32, 3, 32, 32]);
      rng.fillNormal(x.data);
      const y = Tensor.fromArray(Array.from({ length: 32 }, () => rng.int(10)), 'int64');
      return { x, y };
    },
    steps: 5,
  },
};

/** One case's model, optimizer, seeded weights and batch, and its step graph; `rng` continues the same stream (both runners use this). */
export function buildCaseStep(c: BenchCase, gradientOptions: GradientsOptions) {
  const model = c.model();
  const optimizer = c.optimizer();
  const rng = new Rng(0);
  const modelState = model.init(rng.fork());
  const batch = c.batch(rng);
  const specs = Object.fromEntries(Object.entries(batch).map(([k, t]) => [k, { dtype: t.dtype, shape: [...t.shape] }]));
  const step = buildStepGraph({ model, optimizer, loss: c.loss, batch: specs, gradientOptions });
  return { model, optimizer, modelState, batch, specs, step, rng };
}
