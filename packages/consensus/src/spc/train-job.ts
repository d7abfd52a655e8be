/**
 * One member's training phase as a job for @dc/nn's trainInWorker (and for in-process runs, which use the same
 * definition so both give the same training). Everything in `args` crosses the thread boundary: the images and
 * the targets live in SharedArrayBuffers, written by the main thread before the phase starts.
 */
import { Tensor } from '@dc/core';
import { adam, type WorkerJobDefinition } from '@dc/nn';
import { trainingData, type BatchAugment } from './data.js';
import { spcLoss } from './loss.js';
import { SpcNetwork, type SpcNetworkConfig } from './network.js';

export interface SpcTrainJobArgs {
  config: SpcNetworkConfig;
  /** [N, C, H, W] float32 pixels. */
  images: Float32Array;
  /** [N * K] target distribution of each image (targets.ts). */
  votes: Float32Array;
  /** [N] confidence of each image's target. */
  confidence: Float32Array;
  crossEntropyWeight: number;
  /** Random shifts (and flips) of each batch, drawn from the trainer's batch generator; null: none. */
  augment: BatchAugment | null;
  seed: number;
  learningRate: number;
  batchSize: number;
  epochs: number;
  threads: number;
  device: 'auto' | 'cpu' | 'cuda' | 'webgpu';
}

export function createJob(args: SpcTrainJobArgs): WorkerJobDefinition {
  const [c, h, w] = args.config.inputShape;
  const n = args.confidence.length;
  const images = new Tensor('float32', args.images, [n, c, h, w]);
  return {
    trainer: {
      model: new SpcNetwork(args.config),
      loss: spcLoss(args.crossEntropyWeight),
      optimizer: adam({ lr: args.learningRate }),
      seed: args.seed,
      threads: args.threads,
      device: args.device,
    },
    data: trainingData(images, args.votes, args.confidence, args.augment),
    fit: { epochs: args.epochs, batchSize: args.batchSize, progressEvery: 10 },
  };
}
