/** Elementwise ops: arithmetic and comparisons with broadcasting, unary maths, activations, Where, Clip, Cast. */
import { Tensor, allocate, type DType } from '../../tensor.js';
import type { InferContext, OpDef } from '../registry.js';
import type { ValueType } from '../types.js';
import { broadcast, intValues } from './shape-utils.js';

export const defs: OpDef[] = [];

const FLOAT: readonly DType[] = ['float32', 'float64'];
const NUMERIC: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8'];

function sameShape(ctx: InferContext, allowed: readonly DType[] = FLOAT): ValueType[] {
  ctx.requireDtype(0, allowed);
  const x = ctx.input(0);
  return [{ dtype: x.dtype, shape: x.shape }];
}

/** Build-time evaluation of small int64 arithmetic (shape computations). */
function foldInt64(op: (a: bigint, b: bigint) => bigint) {
  return (ctx: InferContext): Tensor[] | undefined => {
    const a = ctx.input(0).constant;
    const b = ctx.input(1).constant;
    if (!a || !b || a.dtype !== 'int64' || b.dtype !== 'int64' || a.size > 64 || b.size > 64) return undefined;
    const shape = broadcast(ctx, [a.shape, b.shape]) as number[];
    const size = shape.reduce((x, y) => x * y, 1);
    if ((a.size !== 1 && a.size !== size) || (b.size !== 1 && b.size !== size)) return undefined;
    const out = allocate('int64', size);
    for (let i = 0; i < size; i++) {
      out[i] = op((a.data as BigInt64Array)[a.size === 1 ? 0 : i]!, (b.data as BigInt64Array)[b.size === 1 ? 0 : i]!);
    }
    return [new Tensor('int64', out, shape)];
  };
}

const arithmeticFold: Record<string, ((ctx: InferContext) => Tensor[] | undefined) | undefined> = {
  Add: foldInt64((a, b) => a + b),
  Sub: foldInt64((a, b) => a - b),
  Mul: foldInt64((a, b) => a * b),
  Div: foldInt64((a, b) => a / b),
};

for (const type of ['Add', 'Sub', 'Mul', 'Div']) {
  const fold = arithmeticFold[type];
  defs.push({
    type,
    infer(ctx) {
      const dtype = ctx.sameDtype([0, 1]);
      return [{ dtype, shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape]) }];
    },
    ...(fold ? { fold } : {}),
  });
}

defs.push({
  type: 'Pow',
  infer(ctx) {
    ctx.requireDtype(0, NUMERIC);
    return [{ dtype: ctx.input(0).dtype, shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape]) }];
  },
});

defs.push({
  type: 'Mod',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1]);
    return [{ dtype, shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape]) }];
  },
});

for (const type of ['Max', 'Min', 'Sum', 'Mean']) {
  defs.push({
    type,
    infer(ctx) {
      const idx = ctx.inputs.map((_, i) => i);
      if (idx.length === 0) ctx.fail('needs at least one input');
      const dtype = ctx.sameDtype(idx);
      return [{ dtype, shape: broadcast(ctx, ctx.inputs.map((_, i) => ctx.input(i).shape)) }];
    },
  });
}

for (const type of ['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']) {
  defs.push({
    type,
    infer(ctx) {
      ctx.sameDtype([0, 1]);
      return [{ dtype: 'bool', shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape]) }];
    },
  });
}

for (const type of ['And', 'Or', 'Xor']) {
  defs.push({
    type,
    infer(ctx) {
      ctx.requireDtype(0, ['bool']);
      ctx.requireDtype(1, ['bool']);
      return [{ dtype: 'bool', shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape]) }];
    },
  });
}

defs.push({ type: 'Not', infer: (ctx) => sameShape(ctx, ['bool']) });

for (const type of ['Exp', 'Log', 'Sqrt', 'Reciprocal', 'Sigmoid', 'Tanh', 'Erf', 'Softplus', 'Sin', 'Cos', 'Floor', 'Ceil', 'Round']) {
  defs.push({ type, infer: (ctx) => sameShape(ctx) });
}
for (const type of ['Neg', 'Abs', 'Relu', 'Sign']) {
  defs.push({ type, infer: (ctx) => sameShape(ctx, NUMERIC) });
}
for (const type of ['LeakyRelu', 'Elu', 'Celu', 'ThresholdedRelu']) {
  defs.push({ type, floatAttributes: ['alpha'], infer: (ctx) => sameShape(ctx) });
}
defs.push({ type: 'HardSigmoid', floatAttributes: ['alpha', 'beta'], infer: (ctx) => sameShape(ctx) });
for (const type of ['IsNaN', 'IsInf']) {
  defs.push({
    type,
    infer(ctx) {
      ctx.requireDtype(0, FLOAT);
      return [{ dtype: 'bool', shape: ctx.input(0).shape }];
    },
  });
}

defs.push({
  type: 'Identity',
  infer: (ctx) => [{ dtype: ctx.input(0).dtype, shape: ctx.input(0).shape }],
  fold: (ctx) => (ctx.input(0).constant ? [ctx.input(0).constant!] : undefined),
});

defs.push({
  type: 'Where',
  infer(ctx) {
    ctx.requireDtype(0, ['bool']);
    const dtype = ctx.sameDtype([1, 2]);
    return [{ dtype, shape: broadcast(ctx, [ctx.input(0).shape, ctx.input(1).shape, ctx.input(2).shape]) }];
  },
});

defs.push({
  type: 'Clip',
  infer(ctx) {
    for (const i of [1, 2]) {
      const bound = ctx.optionalInput(i);
      if (bound && bound.shape.length !== 0) ctx.fail(`bound ${i} must be a scalar`);
      if (bound && bound.dtype !== ctx.input(0).dtype) ctx.fail(`bound ${i} must have dtype ${ctx.input(0).dtype}`);
    }
    return sameShape(ctx, NUMERIC);
  },
});

const CAST_TARGETS: Record<number, DType> = { 1: 'float32', 2: 'uint8', 6: 'int32', 7: 'int64', 9: 'bool', 11: 'float64' };

defs.push({
  type: 'Cast',
  infer(ctx) {
    const to = CAST_TARGETS[ctx.int('to')];
    if (!to) return ctx.fail(`unsupported target type code ${ctx.int('to')}`);
    return [{ dtype: to, shape: ctx.input(0).shape }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    const to = CAST_TARGETS[ctx.int('to')];
    if (!c || !to || c.size > 64) return undefined;
    return [c.astype(to)];
  },
});

defs.push({
  type: 'Dropout',
  infer(ctx) {
    ctx.requireDtype(0, FLOAT);
    const x = ctx.input(0);
    return [
      { dtype: x.dtype, shape: x.shape },
      { dtype: 'bool', shape: x.shape },
    ];
  },
});

