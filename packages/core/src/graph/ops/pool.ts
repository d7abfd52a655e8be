/** Pooling and inference-mode BatchNormalization. */
import type { InferContext, OpDef } from '../registry.js';
import type { Dim, ValueType } from '../types.js';
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
