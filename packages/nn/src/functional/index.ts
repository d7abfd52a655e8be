/** Functional ops of the engine: graph-building functions whose gradients the autodiff knows. */
export { batchNorm, type BatchNormParams, type BatchNormResult } from './batch-norm.js';
export { l2Normalize } from './l2-normalize.js';
export { dropout } from './dropout.js';
export {
  linear,
  conv2d,
  convTranspose2d,
  maxPool2d,
  avgPool2d,
  globalAvgPool2d,
  type Conv2dParams,
  type ConvTranspose2dParams,
  type Pool2dParams,
} from './layers.js';
