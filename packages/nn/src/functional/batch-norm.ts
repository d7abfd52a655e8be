/**
 * Batch normalisation written from primitive ops, with PyTorch's semantics (torch.nn.BatchNorm1d/2d).
 *
 * Training: per-channel statistics over every axis but 1, the biased variance normalises and the unbiased
 * variance (n / (n - 1)) updates the running estimate: rm' = (1 - m) rm + m mean, rv' = (1 - m) rv + m var_u.
 * The gradient is the closed form, declared with customGradient so the ops of the forward pass are not
 * differentiated one by one:
 *   dx = s dy - s mean(dy) - xc s r^2 mean(dy xc),  s = weight r, r = 1 / sqrt(var + eps), xc = x - mean
 *   dweight = sum(dy xc) r,  dbias = sum(dy)
 * ONNX BatchNormalization(training_mode=1) is not used: ONNX Runtime gives wrong Y when its scale/bias buffers
 * alias the running statistics, and it writes the statistics into the caller's input arrays.
 * Evaluation uses the ONNX BatchNormalization op with the running statistics (its gradient is in @dc/core).
 */
import { checkParameter, c, InvalidInputError, Tensor, type GraphBuilder, type Value } from '@dc/core';
import { customGradient } from '../autodiff/gradients.js';
import { checkBuilder, checkChannels, checkValue } from './common.js';

export interface BatchNormParams {
  weight: Value;
  bias: Value;
  runningMean: Value;
  runningVar: Value;
  training: boolean;
  /** Weight of the new batch statistic in the running update (PyTorch's default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

export interface BatchNormResult {
  y: Value;
  /** Updated running statistics, in training mode ([C]). */
  newRunningMean?: Value;
  newRunningVar?: Value;
}

const CALLER = 'batchNorm';

/** Batch norm over x [N, C] or [N, C, L] (1d) or [N, C, H, W] (2d), channels on axis 1. */
export function batchNorm(g: GraphBuilder, x: Value, p: BatchNormParams): BatchNormResult {
  checkBuilder(CALLER, g);
  checkValue(CALLER, 'x', g, x, [2, 3, 4], '[N, C], [N, C, L] or [N, C, H, W]');
  if (typeof p !== 'object' || p === null) throw new InvalidInputError('p', 'batchNorm needs { weight, bias, runningMean, runningVar, training }');
  const ch = x.shape[1]!;
  const weight = checkChannels(CALLER, 'weight', g, p.weight, ch, x);
  const bias = checkChannels(CALLER, 'bias', g, p.bias, ch, x);
  const runningMean = checkChannels(CALLER, 'runningMean', g, p.runningMean, ch, x);
  const runningVar = checkChannels(CALLER, 'runningVar', g, p.runningVar, ch, x);
  const training = checkParameter(CALLER, 'training', p.training, c.bool());
  const momentum = checkParameter(CALLER, 'momentum', p.momentum ?? 0.1, c.number({ min: 0, max: 1 }));
  const eps = checkParameter(CALLER, 'eps', p.eps ?? 1e-5, c.number({ min: 0, minExclusive: true }));
  const dtype = x.dtype;

  if (!training) {
    return { y: g.op('BatchNormalization', [x, weight, bias, runningMean, runningVar], { epsilon: eps }) };
  }

  const axesList = [0, ...Array.from({ length: x.rank - 2 }, (_, i) => i + 2)];
  const perChannel = x.shape.filter((_, i) => i !== 1);
  const staticCount = perChannel.every((d): d is number => typeof d === 'number') ? perChannel.reduce((a, b) => a * b, 1) : null;
  if (staticCount !== null && staticCount < 2) {
    throw new InvalidInputError('x', `batchNorm in training mode needs more than one value per channel, got shape [${x.shape.join(', ')}]`);
  }
  const axes = g.int64s(axesList);
  const spatialAxes = axesList.length > 1 ? g.int64s(axesList.slice(1)) : null;
  /**
   * Per-channel sum [1, C, 1...] of the backward pass in two steps, the contiguous spatial axes first (ONNX Runtime
   * measured 1.2-1.6x faster than over [0, 2, 3] at once). The forward statistics keep the one-step reductions:
   * two-step ones moved a PyTorch step fixture's first-layer gradient from 6e-5 to 3e-4 relative error.
   */
  const channelSum = (v: Value): Value => {
    if (!spatialAxes) return g.op('ReduceSum', [v, axes], { keepdims: 1 });
    return g.op('ReduceSum', [g.op('ReduceSum', [v, spatialAxes], { keepdims: 1 }), g.int64s([0])], { keepdims: 1 });
  };
  const bshape = g.int64s([1, -1, ...axesList.slice(1).map(() => 1)]);
  const cshape = g.int64s([-1]);
  // Elements per channel: a constant for static shapes, else computed from the runtime size.
  const count: Value =
    staticCount !== null
      ? g.constant(staticCount, dtype)
      : g.op('Div', [g.op('Cast', [g.op('Size', [x])], { to: dtype === 'float64' ? 11 : 1 }), g.op('Cast', [g.op('Gather', [g.op('Shape', [x]), g.int64s([1])])], { to: dtype === 'float64' ? 11 : 1 })]);
  const invCount = staticCount !== null ? g.constant(1 / staticCount, dtype) : g.op('Reciprocal', [count]);

  // Statistics accurate to float32 rounding of the spread, not of the mean. ONNX Runtime accumulates in the
  // input's precision, so a float32 mean over N*H*W values is off by ~1e-7 of its magnitude, which is large
  // against a small spread (2% of it in the batch-norm test: mean 1000, spread 0.01); PyTorch accumulates these
  // statistics in double, and the PyTorch step fixtures failed on the difference. So: a first mean m1, the
  // residual mean m2 of d = x - m1 (small values, summed accurately), and everything expressed through d with m2
  // folded into per-channel terms: xc = d - m2, var = mean(d^2) - m2^2, y = d s + (bias - m2 s). One extra
  // reduction pass, no extra elementwise pass.
  const m1 = g.op('ReduceMean', [x, axes], { keepdims: 1 });
  const d = g.op('Sub', [x, m1]);
  const m2 = g.op('ReduceMean', [d, axes], { keepdims: 1 });
  const mean = g.op('Add', [m1, m2]);
  // sum(d^2) as ReduceSum of d * d, not ReduceSumSquare: ONNX Runtime's ReduceSumSquare over these axes is both
  // slower (ResNet-18's step, 2 threads: 8.4 ms a step against 3.2 for the Muls and ReduceSums together) and less
  // accurate (the ResNet-18 PyTorch fixture: 111 of 288 tensors above 1e-4, worst 2.7e-3, against 5, worst 1.8e-4).
  const variance = g.op('Sub', [g.op('Mul', [g.op('ReduceSum', [g.op('Mul', [d, d]), axes], { keepdims: 1 }), invCount]), g.op('Mul', [m2, m2])]);
  const r = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.constant(eps, dtype)])])]);
  const scale = g.op('Mul', [r, g.op('Reshape', [weight, bshape])]);
  const meanC = g.op('Reshape', [mean, cshape]);
  const varC = g.op('Reshape', [variance, cshape]);
  const channels = typeof ch === 'number' ? ch : null;
  /** v * a + b per channel (a, b of shape [1, C, 1...]) in one pass: inference BatchNormalization with mean 0,
   * variance 1 and epsilon 0 is exactly that multiply-add (measured 1.6x faster than Mul then Add). */
  const multiplyAdd = (v: Value, a: Value, b: Value): Value => {
    if (channels === null) return g.op('Add', [g.op('Mul', [v, a]), b]);
    const zeros = g.constant(Tensor.zeros([channels], dtype));
    const ones = g.constant(Tensor.ones([channels], dtype));
    return g.op('BatchNormalization', [v, g.op('Reshape', [a, cshape]), g.op('Reshape', [b, cshape]), zeros, ones], { epsilon: 0 });
  };
  const y = multiplyAdd(d, scale, g.op('Sub', [g.op('Reshape', [bias, bshape]), g.op('Mul', [m2, scale])]));

  customGradient(g, {
    inputs: [x, weight, bias],
    outputs: [y],
    backward: ({ gradOutputs, needsGrad }) => {
      const gy = gradOutputs[0];
      if (!gy) return [];
      const sumGy = channelSum(gy);
      // sum(gy xc) = sum(gy d) - m2 sum(gy)
      const sumGyXc = needsGrad[0] || needsGrad[1] ? g.op('Sub', [channelSum(g.op('Mul', [gy, d])), g.op('Mul', [m2, sumGy])]) : null;
      let dx: Value | null = null;
      if (needsGrad[0]) {
        // Per-channel coefficients first (tiny tensors), with the scale s factored out:
        // dx = s (gy + xc b + c0) = s (gy + (d b + (c0 - m2 b))), b = -r^2 sum(gy xc) / n, c0 = -sum(gy) / n.
        // The last step is a per-channel Mul, which the gradient of a preceding Conv absorbs into its (smaller)
        // weights when it can (see the Conv backward rule in @dc/core); the dead Mul is then pruned.
        const b = g.op('Neg', [g.op('Mul', [g.op('Mul', [invCount, g.op('Mul', [r, r])]), sumGyXc!])]);
        const c0 = g.op('Neg', [g.op('Mul', [invCount, sumGy])]);
        const z = g.op('Add', [gy, multiplyAdd(d, b, g.op('Sub', [c0, g.op('Mul', [m2, b])]))]);
        dx = g.op('Mul', [z, scale]);
      }
      return [
        dx,
        needsGrad[1] ? g.op('Reshape', [g.op('Mul', [sumGyXc!, r]), cshape]) : null,
        needsGrad[2] ? g.op('Reshape', [sumGy, cshape]) : null,
      ];
    },
  });

  const keep = g.constant(1 - momentum, dtype);
  const m = g.constant(momentum, dtype);
  // Unbiased variance for the running estimate: var * n / (n - 1).
  const unbias = staticCount !== null ? g.constant(staticCount / (staticCount - 1), dtype) : g.op('Div', [count, g.op('Sub', [count, g.constant(1, dtype)])]);
  return {
    y,
    newRunningMean: g.op('Add', [g.op('Mul', [runningMean, keep]), g.op('Mul', [meanC, m])]),
    newRunningVar: g.op('Add', [g.op('Mul', [runningVar, keep]), g.op('Mul', [g.op('Mul', [varC, unbias]), m])]),
  };
}
