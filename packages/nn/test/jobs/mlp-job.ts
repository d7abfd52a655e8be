/** A training job for the worker tests: built inside the worker thread from structured-cloneable args. */
import { Tensor } from '@dc/core';
import { Dropout, Linear, ReLU, Sequential, adam, crossEntropy, tensorDataset, type WorkerJobDefinition } from '@dc/nn';

export interface MlpJobArgs {
  x: Float32Array;
  y: number[];
  d: number;
  epochs: number;
  /** Diverge (an absurd learning rate) to test error propagation. */
  diverge?: boolean;
}

export function mlpModel(d: number) {
  return new Sequential(new Linear(d, 16), new ReLU(), new Dropout(0.2), new Linear(16, 3));
}

export function createJob(args: MlpJobArgs): WorkerJobDefinition {
  const n = args.y.length;
  const data = tensorDataset({ x: new Tensor('float32', args.x, [n, args.d]), y: Tensor.fromArray(args.y, 'int64') });
  return {
    trainer: {
      model: mlpModel(args.d),
      loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y')),
      optimizer: adam({ lr: 0.01 }),
      ...(args.diverge ? { schedule: () => 1e30 } : {}),
      seed: 5,
      threads: 1,
    },
    data,
    fit: { epochs: args.epochs, batchSize: 8 },
  };
}

export const notAFunction = 42;
