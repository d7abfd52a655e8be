/**
 * Pooling and inference-mode BatchNormalization, with their gradients. MaxPool's gradient scatters dY to the
 * positions in its Indices output (ScatterElements with reduction 'add' into ConstantOfShape zeros; MaxUnpool and
 * equality masks get overlapping windows and ties wrong). AveragePool's is a depthwise ConvTranspose with a ones
 * kernel after dividing dY by each window's element count.
 */
import { GraphError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import type { Value } from '../builder.js';
import type { GradContext, InferContext, OpDef } from '../registry.js';
import type { Dim, ValueType } from '../types.js';
import { expandTo, floatAttr, intAttr, intsAttr, reshapeTo, stringAttr, zerosOf } from './grad-utils.js';
import { resolvePads, windowOutput } from './shape-utils.js';

export const defs: OpDef[] = [];

function poolRule(ctx: InferContext, withDilations: boolean): Dim[] {
  ctx.requireDtype(0, ['float32', 'float64']);
  const x = ctx.input(0).shape;
  if (x.length < 3) ctx.fail(`X must be [N, C, spatial...], got [${x.join(', ')}]`);
  const n = x.length - 2;
  const kernel = ctx.ints('kernel_shape');
  if (kernel.length !== n) ctx.fail(`kernel_shape must have ${n} values`);
  const strides = ctx.ints('strides', new Array<number>(n).fill(1));
  const dilations = withDilations ? ctx.ints('dilations', new Array<number>(n).fill(1)) : new Array<number>(n).fill(1);
  const ceil = ctx.int('ceil_mode', 0) === 1;
  const pads = resolvePads(ctx, x.slice(2), kernel, strides, dilations);
  return [x[0]!, x[1]!, ...x.slice(2).map((d, i) => windowOutput(ctx, d, kernel[i]!, strides[i]!, pads[i]!, pads[i + n]!, dilations[i]!, ceil))];
}

defs.push({
  type: 'MaxPool',
  infer(ctx): ValueType[] {
    const shape = poolRule(ctx, true);
    return [
      { dtype: ctx.input(0).dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
});

defs.push({
  type: 'AveragePool',
  infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: poolRule(ctx, false) }],
});

for (const type of ['GlobalAveragePool', 'GlobalMaxPool']) {
  defs.push({
    type,
    infer(ctx) {
      const x = ctx.input(0).shape;
      if (x.length < 3) ctx.fail(`X must be [N, C, spatial...], got [${x.join(', ')}]`);
      return [{ dtype: ctx.input(0).dtype, shape: [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] }];
    },
  });
}

defs.push({
  type: 'BatchNormalization',
  floatAttributes: ['epsilon', 'momentum'],
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1, 2, 3, 4]);
    const x = ctx.input(0).shape;
    if (ctx.int('training_mode', 0) !== 0) ctx.fail('training_mode=1 is not supported; write batch norm from primitive ops');
    for (let i = 1; i <= 4; i++) ctx.requireRank(i, 1);
    return [{ dtype, shape: x }];
  },
});

// ---- gradients ------------------------------------------------------------------------------------------------

function staticShapeOf(v: Value, what: string): number[] {
  if (!v.shape.every((d): d is number => typeof d === 'number')) {
    throw new GraphError(`${what}: the gradient needs a static shape, got [${v.shape.join(', ')}]`);
  }
  return [...v.shape] as number[];
}

/** Pads of a pooling node with auto_pad resolved (as the shape rule does). */
function poolPads(node: GradContext['node'], spatial: readonly number[], kernel: readonly number[], strides: readonly number[]): number[] {
  const n = kernel.length;
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') return intsAttr(node, 'pads', new Array<number>(2 * n).fill(0));
  if (autoPad === 'VALID') return new Array<number>(2 * n).fill(0);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = Math.ceil(spatial[i]! / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + kernel[i]! - spatial[i]!);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [...begin, ...end];
}

function maxPoolBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return [];
  const x = node.inputs[0]!;
  if (intAttr(node, 'storage_order', 0) !== 0) throw new GraphError('MaxPool: the gradient needs storage_order 0', node.name);
  // Indices are flat positions in X (batch and channel included); recompute them if the node did not ask.
  const indices = node.outputs[1] ?? g.opMulti('MaxPool', [x], { ...node.attributes }, 2)[1]!;
  const shape = staticShapeOf(x, 'MaxPool');
  const size = shape.reduce((a, b) => a * b, 1);
  const flat = g.op('ScatterElements', [zerosOf(g, [size], x.dtype), reshapeTo(g, indices, [-1]), reshapeTo(g, gy, [-1])], {
    axis: 0,
    reduction: 'add',
  });
  return [reshapeTo(g, flat, shape)];
}

function averagePoolBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return [];
  const x = node.inputs[0]!;
  const xs = staticShapeOf(x, 'AveragePool');
  const ys = staticShapeOf(gy, 'AveragePool');
  const spatial = xs.slice(2);
  const n = spatial.length;
  const kernel = intsAttr(node, 'kernel_shape', []);
  const strides = intsAttr(node, 'strides', new Array<number>(n).fill(1));
  const pads = poolPads(node, spatial, kernel, strides);
  const includePad = intAttr(node, 'count_include_pad', 0) === 1;
  // Element count of each window per axis, as the forward divides: clipped to [-pb, H + pe) with padding
  // counted, to [0, H) without.
  const counts = spatial.map((h, i) =>
    Array.from({ length: ys[i + 2]! }, (_, o) => {
      const start = o * strides[i]! - pads[i]!;
      const end = Math.min(start + kernel[i]!, h + pads[i + n]!);
      return includePad ? end - start : Math.min(end, h) - Math.max(start, 0);
    }),
  );
  const uniform = counts.every((c) => c.every((v) => v === c[0]));
  let scaled: Value;
  if (uniform) {
    scaled = g.op('Mul', [gy, g.constant(1 / counts.reduce((a, c) => a * c[0]!, 1), x.dtype)]);
  } else {
    const inv = Tensor.zeros([1, 1, ...ys.slice(2)], x.dtype as 'float32');
    const strides2 = ys.slice(2).map((_, i) => ys.slice(2 + i + 1).reduce((a, b) => a * b, 1));
    for (let f = 0; f < inv.size; f++) {
      let c = 1;
      for (let i = 0; i < n; i++) c *= counts[i]![Math.floor(f / strides2[i]!) % ys[i + 2]!]!;
      inv.data[f] = 1 / c;
    }
    scaled = g.op('Mul', [gy, g.constant(inv)]);
  }
  // ConvTranspose geometry mapping back to H: output_padding for rows no window reached, or a larger end crop
  // where ceil_mode let the last window run past the end pad.
  const outputPadding: number[] = [];
  const endPads: number[] = [];
  for (let i = 0; i < n; i++) {
    const total = strides[i]! * (ys[i + 2]! - 1) + kernel[i]! - pads[i]! - pads[i + n]!;
    outputPadding.push(Math.max(0, spatial[i]! - total));
    endPads.push(pads[i + n]! + Math.max(0, total - spatial[i]!));
  }
  const c = xs[1]!;
  const ones = Tensor.ones([c, 1, ...kernel], x.dtype as 'float32');
  return [
    g.op('ConvTranspose', [scaled, g.constant(ones)], {
      group: c,
      kernel_shape: kernel,
      pads: [...pads.slice(0, n), ...endPads],
      strides,
      ...(outputPadding.some((p) => p !== 0) ? { output_padding: outputPadding } : {}),
    }),
  ];
}

function spatialAxes(rank: number): number[] {
  return Array.from({ length: rank - 2 }, (_, i) => i + 2);
}

function globalAveragePoolBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return [];
  const x = node.inputs[0]!;
  const count = staticShapeOf(x, 'GlobalAveragePool').slice(2).reduce((a, b) => a * b, 1);
  return [expandTo(g, g.op('Mul', [gy, g.constant(1 / count, x.dtype)]), x.shape)];
}

function globalMaxPoolBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return [];
  const x = node.inputs[0]!;
  const hit = g.op('Cast', [g.op('Equal', [x, node.outputs[0]!])], { to: x.dtype === 'float64' ? 11 : 1 });
  const count = g.op('ReduceSum', [hit, g.int64s(spatialAxes(x.rank))], { keepdims: 1 });
  return [g.op('Mul', [hit, g.op('Div', [gy, count])])];
}

/** Inference BatchNormalization: Y = (X - mean) * scale / sqrt(var + eps) + B, per channel (axis 1). */
function batchNormBackward(ctx: GradContext): (Value | null)[] {
  const { g, node } = ctx;
  const gy = ctx.gradOutputs[0];
  if (!gy) return [];
  const [x, scale, , mean, variance] = node.inputs as [Value, Value, Value, Value, Value];
  const eps = floatAttr(node, 'epsilon', 1e-5);
  const c = x.shape[1]!;
  const bshape: Dim[] = [1, c, ...x.shape.slice(2).map(() => 1)];
  const axes = g.int64s([0, ...spatialAxes(x.rank)]);
  const r = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, g.constant(eps, x.dtype)])])]); // [C]
  const need = ctx.needsGrad;
  const sumGy = need[2] || need[3] ? g.op('ReduceSum', [gy, axes], { keepdims: 0 }) : null;
  const sumGyXc = need[1] || need[4] ? g.op('ReduceSum', [g.op('Mul', [gy, g.op('Sub', [x, reshapeTo(g, mean, bshape)])]), axes], { keepdims: 0 }) : null;
  const scaleR = g.op('Mul', [scale, r]);
  return [
    need[0] ? g.op('Mul', [gy, reshapeTo(g, scaleR, bshape)]) : null,
    need[1] ? g.op('Mul', [sumGyXc!, r]) : null,
    need[2] ? sumGy : null,
    need[3] ? g.op('Neg', [g.op('Mul', [sumGy!, scaleR])]) : null,
    // d/dvar of (x - m) s (var + eps)^-1/2 = -1/2 (x - m) s r^3
    need[4] ? g.op('Mul', [sumGyXc!, g.op('Mul', [scaleR, g.op('Mul', [g.op('Mul', [r, r]), g.constant(-0.5, x.dtype)])])]) : null,
  ];
}

const BACKWARD: Record<string, OpDef['backward']> = {
  MaxPool: maxPoolBackward,
  AveragePool: averagePoolBackward,
  GlobalAveragePool: globalAveragePoolBackward,
  GlobalMaxPool: globalMaxPoolBackward,
  BatchNormalization: batchNormBackward,
};

for (const def of defs) {
  const rule = BACKWARD[def.type];
  if (rule) def.backward = rule;
}
