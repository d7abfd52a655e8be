/**
 * @dc/nn: the training engine of deep-cluster. Reverse-mode autodiff to standard ONNX ops, modules and a model
 * zoo, losses, optimizers inside the step graph, a Trainer with checkpoints and exact resume, and export of a
 * trained model to a standalone .onnx.
 */

// Autodiff and functional ops.
export * from './autodiff/index.js';
export * from './functional/index.js';

// Modules.
export {
  Module,
  ForwardContext,
  checkState,
  cloneState,
  type ModelState,
  type NamedTensors,
  type ParameterSpec,
  type BufferSpec,
  type ParameterHost,
  type RandomInput,
} from './modules/module.js';
export { init, fans, gain, weightInitializer, WEIGHT_INITS, type Initializer, type Nonlinearity, type KaimingOptions, type WeightInit } from './modules/init.js';
export {
  Linear,
  Conv2d,
  ConvTranspose2d,
  BatchNorm1d,
  BatchNorm2d,
  Dropout,
  ReLU,
  LeakyReLU,
  Sigmoid,
  Tanh,
  Softmax,
  LogSoftmax,
  L2Normalize,
  Identity,
  MaxPool2d,
  AvgPool2d,
  GlobalAvgPool2d,
  Flatten,
  Unflatten,
  Sequential,
  type LinearOptions,
  type Conv2dOptions,
  type ConvTranspose2dOptions,
  type BatchNormOptions,
  type Pool2dOptions,
} from './modules/layers.js';

// Models.
export { MLP, activation, ACTIVATIONS, type Activation, type MLPOptions } from './models/mlp.js';
export {
  ConvEncoder,
  ConvDecoder,
  ConvAutoencoder,
  convGeometry,
  type ConvGeometry,
  type ConvEncoderOptions,
  type ConvDecoderOptions,
  type ConvAutoencoderOptions,
  type AutoencoderOutput,
} from './models/autoencoder.js';
export { ResNet, BasicBlock, resnet18, resnet34, type ResNetOptions, type ResNetVariantOptions } from './models/resnet.js';
export {
  ProjectionHead,
  ClusteringHead,
  MultiClusteringHead,
  WithHead,
  type ProjectionHeadOptions,
  type ClusteringHeadOptions,
  type MultiHeadOptions,
} from './models/heads.js';

// Losses.
export { crossEntropy, doubleSoftmaxCrossEntropy, type CrossEntropyOptions } from './losses/cross-entropy.js';
export { mse, type MseOptions } from './losses/regression.js';
export { ntXent, infoNce, type NtXentOptions, type InfoNceOptions } from './losses/contrastive.js';
export { scanLoss, scanLossTerms, entropyOfMean, type ScanLossOptions, type ScanLossTerms } from './losses/clustering.js';

// Optimizers and schedules.
export { sgd, adam, adamw, type Optimizer, type SgdOptions, type AdamOptions, type ParameterUpdate, type ParameterUpdateInput } from './optim/optimizers.js';
export { constantLr, cosineLr, stepLr, warmup, type LrSchedule, type CosineOptions, type StepDecayOptions, type WarmupOptions } from './optim/schedules.js';

// Training.
export {
  buildStepGraph,
  type StepContext,
  type StepLossResult,
  type LossBuilder,
  type EmaSpec,
  type StepGraph,
  type StepGraphOptions,
  type BatchSpec,
  type RandomInputSpec,
} from './train/step.js';
export { StepRunner, drawRandom, type StepOutcome } from './train/runner.js';
export { zeroSlots, cloneTrainState, type TrainState, type OptimizerState } from './train/state.js';
export { buildForwardGraph, weightFeeds, type ForwardGraph, type ForwardGraphOptions, type InputSpec, type ModelOutputs } from './train/forward.js';
export { predict, releaseModelSessions, type PredictOptions } from './train/predict.js';
export { recalibrateBatchNorm, type RecalibrateOptions } from './train/batch-norm-statistics.js';
export { tensorDataset, planBatches, type Dataset, type BatchPlan } from './train/data.js';
export {
  Trainer,
  resumeTrainer,
  type TrainerOptions,
  type TrainProgress,
  type FitOptions,
  type FitResult,
  type EpochRecord,
  type CheckpointOptions,
} from './train/trainer.js';
export {
  saveCheckpoint,
  loadCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
  type Checkpoint,
  type CheckpointHeader,
  type CheckpointProgress,
  type CheckpointTensorEntry,
  type EpochSums,
} from './train/checkpoint.js';
export { TrainingDivergedError, CheckpointError } from './train/errors.js';
export { trainInWorker, workerEntry, type WorkerJob, type WorkerJobDefinition, type WorkerRunOptions, type WorkerResult } from './train/worker.js';

// Export.
export { exportOnnx, saveOnnx, type ExportOptions } from './export/onnx.js';
