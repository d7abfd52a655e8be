/**
 * Structural ops: reshaping, transposition, concatenation and splitting, slicing and gathering, padding, TopK,
 * and the constant makers. Shape-valued inputs must be constants; small int64 shape arithmetic is folded at
 * build time so a Reshape fed by Shape/Gather/Concat is still checked.
 */
import { Tensor, allocate, shapeSize, type DType } from '../../tensor.js';
import type { InferContext, OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { isStatic } from '../types.js';
import { broadcast, intValues, sameDim } from './shape-utils.js';

export const defs: OpDef[] = [];

const int64 = (values: readonly number[], shape: readonly number[] = [values.length]) =>
  new Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), shape);

function numbers(t: Tensor | undefined): number[] | undefined {
  return t ? intValues(t) : undefined;
}

defs.push({
  type: 'Reshape',
  infer(ctx) {
    const x = ctx.input(0);
    const target = intValues(ctx.constantInput(1, 'shape'));
    const allowZero = ctx.int('allowzero', 0) === 1;
    const out: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x.shape[i] ?? ctx.fail(`shape[${i}] = 0 copies a missing input dimension`)) : d));
    const free = out.indexOf(-1);
    if (free >= 0 && out.indexOf(-1, free + 1) >= 0) ctx.fail('shape may contain -1 once');
    if (out.some((d) => typeof d === 'number' && d < -1)) ctx.fail(`invalid target shape [${target.join(', ')}]`);
    if (isStatic(x.shape)) {
      const size = shapeSize(x.shape);
      if (free >= 0) {
        const known = out.reduce<number>((a, d, i) => (i === free ? a : typeof d === 'number' ? a * d : NaN), 1);
        if (Number.isNaN(known)) out[free] = ctx.unknownDim();
        else if (known === 0 || size % known !== 0) ctx.fail(`cannot reshape [${x.shape.join(', ')}] to [${target.join(', ')}]`);
        else out[free] = size / known;
      } else if (isStatic(out) && shapeSize(out) !== size) {
        ctx.fail(`cannot reshape [${x.shape.join(', ')}] (${size} elements) to [${target.join(', ')}]`);
      }
    } else if (free >= 0) {
      out[free] = ctx.unknownDim();
    }
    return [{ dtype: x.dtype, shape: out }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    if (!c || c.size > 64) return undefined;
    const target = intValues(ctx.constantInput(1, 'shape'));
    return [c.reshape(target.map((d, i) => (d === 0 ? c.shape[i]! : d)))];
  },
});

defs.push({
  type: 'Flatten',
  infer(ctx) {
    const x = ctx.input(0);
    const axis = ctx.int('axis', 1);
    const a = axis < 0 ? axis + x.shape.length : axis;
    if (a < 0 || a > x.shape.length) ctx.fail(`axis ${axis} is out of range for rank ${x.shape.length}`);
    const prod = (dims: readonly Dim[]): Dim => (isStatic(dims) ? shapeSize(dims) : ctx.unknownDim());
    return [{ dtype: x.dtype, shape: [prod(x.shape.slice(0, a)), prod(x.shape.slice(a))] }];
  },
});

defs.push({
  type: 'Transpose',
  infer(ctx) {
    const x = ctx.input(0);
    const rank = x.shape.length;
    const perm = ctx.ints('perm', x.shape.map((_, i) => rank - 1 - i));
    if (perm.length !== rank || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
      ctx.fail(`perm [${perm.join(', ')}] is not a permutation of ${rank} axes`);
    }
    return [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }];
  },
});

defs.push({
  type: 'Concat',
  infer(ctx) {
    const idx = ctx.inputs.map((_, i) => i);
    const dtype = ctx.sameDtype(idx);
    const first = ctx.input(0).shape;
    const axis = ctx.axis(ctx.int('axis'), first.length);
    let total: Dim = 0;
    for (const i of idx) {
      const s = ctx.input(i).shape;
      if (s.length !== first.length) ctx.fail(`input ${i} has rank ${s.length}, input 0 has ${first.length}`);
      s.forEach((d, a) => {
        if (a !== axis && !sameDim(d, first[a])) ctx.fail(`input ${i} differs from input 0 on axis ${a}`);
      });
      const d = s[axis]!;
      total = typeof total === 'number' && typeof d === 'number' ? total + d : ctx.unknownDim();
    }
    const shape = [...first];
    shape[axis] = total;
    return [{ dtype, shape }];
  },
  fold(ctx) {
    const parts = ctx.inputs.map((v) => v?.constant);
    if (parts.some((p) => !p || p.dtype !== 'int64' || p.shape.length !== 1)) return undefined;
    return [int64(parts.flatMap((p) => intValues(p!)))];
  },
});

defs.push({
  type: 'Split',
  infer(ctx) {
    const x = ctx.input(0);
    const axis = ctx.axis(ctx.int('axis', 0), x.shape.length);
    const dim = x.shape[axis]!;
    let sizes: number[];
    const splitInput = ctx.optionalInput(1);
    if (splitInput) {
      sizes = intValues(ctx.constantInput(1, 'split'));
    } else {
      const parts = ctx.int('num_outputs');
      if (typeof dim !== 'number') return ctx.fail('num_outputs needs a static split axis');
      const chunk = Math.ceil(dim / parts);
      sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
    }
    if (typeof dim === 'number' && sizes.reduce((a, b) => a + b, 0) !== dim) {
      ctx.fail(`split sizes [${sizes.join(', ')}] do not add up to ${dim}`);
    }
    return sizes.map((s) => {
      const shape = [...x.shape];
      shape[axis] = s;
      return { dtype: x.dtype, shape };
    });
  },
});

function sliceBounds(ctx: InferContext, shape: readonly Dim[]) {
  const starts = intValues(ctx.constantInput(1, 'starts'));
  const ends = intValues(ctx.constantInput(2, 'ends'));
  const axes = ctx.optionalInput(3) ? intValues(ctx.constantInput(3, 'axes')) : starts.map((_, i) => i);
  const steps = ctx.optionalInput(4) ? intValues(ctx.constantInput(4, 'steps')) : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    ctx.fail('starts, ends, axes and steps must have the same length');
  }
  return { starts, ends, axes: axes.map((a) => ctx.axis(a, shape.length)), steps };
}

function sliceRange(dim: number, start: number, end: number, step: number): [number, number] {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  return [s, e];
}

defs.push({
  type: 'Slice',
  infer(ctx) {
    const x = ctx.input(0);
    const { starts, ends, axes, steps } = sliceBounds(ctx, x.shape);
    const out = [...x.shape];
    axes.forEach((a, i) => {
      const step = steps[i]!;
      if (step === 0) ctx.fail('steps must be non-zero');
      const dim = x.shape[a]!;
      if (typeof dim !== 'number') {
        out[a] = ctx.unknownDim();
        return;
      }
      const [s, e] = sliceRange(dim, starts[i]!, ends[i]!, step);
      out[a] = Math.max(0, Math.ceil((e - s) / step));
    });
    return [{ dtype: x.dtype, shape: out }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    if (!c || c.dtype !== 'int64' || c.shape.length !== 1) return undefined;
    const { starts, ends, steps } = sliceBounds(ctx, c.shape);
    const [s, e] = sliceRange(c.size, starts[0]!, ends[0]!, steps[0]!);
    const vals = intValues(c);
    const out: number[] = [];
    for (let i = s; steps[0]! > 0 ? i < e : i > e; i += steps[0]!) out.push(vals[i]!);
    return [int64(out)];
  },
});

defs.push({
  type: 'Gather',
  infer(ctx) {
    const x = ctx.input(0);
    ctx.requireDtype(1, ['int32', 'int64']);
    const axis = ctx.axis(ctx.int('axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: [...x.shape.slice(0, axis), ...ctx.input(1).shape, ...x.shape.slice(axis + 1)] }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    const idx = ctx.input(1).constant;
    if (!c || !idx || c.dtype !== 'int64' || c.shape.length !== 1) return undefined;
    const vals = intValues(c);
    const picked = intValues(idx).map((i) => vals[i < 0 ? i + vals.length : i]!);
    return [int64(picked, idx.shape)];
  },
});

defs.push({
  type: 'GatherElements',
  infer(ctx) {
    ctx.requireDtype(1, ['int32', 'int64']);
    const x = ctx.input(0);
    const idx = ctx.input(1);
    if (idx.shape.length !== x.shape.length) ctx.fail('indices must have the rank of data');
    ctx.axis(ctx.int('axis', 0), x.shape.length);
    return [{ dtype: x.dtype, shape: idx.shape }];
  },
});

defs.push({
  type: 'ScatterElements',
  infer(ctx) {
    ctx.requireDtype(1, ['int32', 'int64']);
    const x = ctx.input(0);
    const idx = ctx.input(1);
    const upd = ctx.input(2);
    if (upd.dtype !== x.dtype) ctx.fail(`updates must have dtype ${x.dtype}`);
    if (idx.shape.length !== x.shape.length || upd.shape.length !== idx.shape.length) {
      ctx.fail('data, indices and updates must have the same rank');
    }
    idx.shape.forEach((d, i) => {
      if (!sameDim(d, upd.shape[i])) ctx.fail('indices and updates must have the same shape');
    });
    ctx.axis(ctx.int('axis', 0), x.shape.length);
    const reduction = ctx.string('reduction', 'none');
    if (!['none', 'add', 'mul', 'max', 'min'].includes(reduction)) ctx.fail(`unknown reduction '${reduction}'`);
    return [{ dtype: x.dtype, shape: x.shape }];
  },
});

defs.push({
  type: 'Unsqueeze',
  infer(ctx) {
    const x = ctx.input(0);
    const axes = intValues(ctx.constantInput(1, 'axes'));
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => ctx.axis(a, rank));
    if (new Set(norm).size !== norm.length) ctx.fail('axes contain duplicates');
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[j++]!);
    return [{ dtype: x.dtype, shape: out }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    if (!c || c.size > 64) return undefined;
    const axes = intValues(ctx.constantInput(1, 'axes'));
    const rank = c.rank + axes.length;
    const norm = axes.map((a) => (a < 0 ? a + rank : a));
    const shape: number[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : c.shape[j++]!);
    return [c.reshape(shape)];
  },
});

defs.push({
  type: 'Squeeze',
  infer(ctx) {
    const x = ctx.input(0);
    const axes = ctx.optionalInput(1)
      ? intValues(ctx.constantInput(1, 'axes')).map((a) => ctx.axis(a, x.shape.length))
      : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
    for (const a of axes) {
      const d = x.shape[a];
      if (typeof d === 'number' && d !== 1) ctx.fail(`cannot squeeze axis ${a} of size ${d}`);
    }
    return [{ dtype: x.dtype, shape: x.shape.filter((_, i) => !axes.includes(i)) }];
  },
  fold(ctx) {
    const c = ctx.input(0).constant;
    if (!c || c.size > 64) return undefined;
    const axes = ctx.optionalInput(1) ? intValues(ctx.constantInput(1, 'axes')).map((a) => (a < 0 ? a + c.rank : a)) : null;
    return [c.reshape(c.shape.filter((d, i) => (axes ? !axes.includes(i) : d !== 1)))];
  },
});

defs.push({
  type: 'Expand',
  infer(ctx) {
    const x = ctx.input(0);
    const target = intValues(ctx.constantInput(1, 'shape'));
    return [{ dtype: x.dtype, shape: broadcast(ctx, [x.shape, target]) }];
  },
});

defs.push({
  type: 'Tile',
  infer(ctx) {
    const x = ctx.input(0);
    const repeats = intValues(ctx.constantInput(1, 'repeats'));
    if (repeats.length !== x.shape.length) ctx.fail(`repeats must have ${x.shape.length} values`);
    return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (typeof d === 'number' ? d * repeats[i]! : ctx.unknownDim())) }];
  },
});

defs.push({
  type: 'Pad',
  infer(ctx) {
    const x = ctx.input(0);
    const pads = intValues(ctx.constantInput(1, 'pads'));
    const axes = ctx.optionalInput(3) ? intValues(ctx.constantInput(3, 'axes')).map((a) => ctx.axis(a, x.shape.length)) : x.shape.map((_, i) => i);
    if (pads.length !== 2 * axes.length) ctx.fail(`pads must have ${2 * axes.length} values, got ${pads.length}`);
    const mode = ctx.string('mode', 'constant');
    if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) ctx.fail(`unknown mode '${mode}'`);
    const out = [...x.shape];
    axes.forEach((a, i) => {
      const d = out[a]!;
      out[a] = typeof d === 'number' ? d + pads[i]! + pads[i + axes.length]! : ctx.unknownDim();
    });
    return [{ dtype: x.dtype, shape: out }];
  },
});

defs.push({
  type: 'Shape',
  infer(ctx) {
    const x = ctx.input(0);
    return [{ dtype: 'int64', shape: [x.shape.length] }];
  },
  fold(ctx) {
    const x = ctx.input(0);
    if (ctx.attributes.start || ctx.attributes.end || !isStatic(x.shape)) return undefined;
    return [int64(x.shape)];
  },
});

defs.push({
  type: 'Size',
  infer: () => [{ dtype: 'int64', shape: [] }],
  fold(ctx) {
    const x = ctx.input(0);
    return isStatic(x.shape) ? [int64([shapeSize(x.shape)], [])] : undefined;
  },
});

function valueAttribute(ctx: InferContext): Tensor {
  const v = ctx.attributes.value;
  if (v === undefined) return Tensor.zeros([1], 'float32');
  if (v.type !== 'tensor') ctx.fail("attribute 'value' must be a tensor");
  return v.value;
}

defs.push({
  type: 'ConstantOfShape',
  infer(ctx) {
    const shape = numbers(ctx.input(0).constant);
    const dtype = valueAttribute(ctx).dtype;
    const rankDim = ctx.input(0).shape[0];
    return [{ dtype, shape: shape ?? (typeof rankDim === 'number' ? Array.from({ length: rankDim }, () => ctx.unknownDim()) : ctx.fail('shape input needs a static length')) }];
  },
});

defs.push({
  type: 'Constant',
  infer(ctx) {
    const v = valueAttribute(ctx);
    return [{ dtype: v.dtype, shape: v.shape }];
  },
  fold: (ctx) => [valueAttribute(ctx)],
});

defs.push({
  type: 'TopK',
  infer(ctx) {
    const x = ctx.input(0);
    const k = ctx.input(1);
    if (k.dtype !== 'int64') ctx.fail('K must be int64');
    const axis = ctx.axis(ctx.int('axis', -1), x.shape.length);
    const kValue = k.constant ? intValues(k.constant)[0]! : ctx.unknownDim();
    const dim = x.shape[axis]!;
    if (typeof kValue === 'number' && typeof dim === 'number' && (kValue < 0 || kValue > dim)) {
      ctx.fail(`K = ${kValue} is outside [0, ${dim}] for axis ${axis}`);
    }
    const shape = [...x.shape];
    shape[axis] = kValue;
    return [
      { dtype: x.dtype, shape },
      { dtype: 'int64', shape },
    ];
  },
});

defs.push({
  type: 'OneHot',
  infer(ctx) {
    const indices = ctx.input(0);
    const depth = intValues(ctx.constantInput(1, 'depth'))[0]!;
    const values = ctx.input(2);
    const rank = indices.shape.length + 1;
    const axis = ctx.axis(ctx.int('axis', -1), rank);
    const shape = [...indices.shape];
    shape.splice(axis, 0, depth);
    return [{ dtype: values.dtype, shape }];
  },
});

defs.push({
  type: 'Range',
  infer(ctx) {
    const dtype = ctx.sameDtype([0, 1, 2]);
    const [start, limit, delta] = [0, 1, 2].map((i) => ctx.input(i).constant);
    if (!start || !limit || !delta) return [{ dtype, shape: [ctx.unknownDim()] }];
    const [s, l, d] = [start, limit, delta].map((t) => Number(t.data[0]!)) as [number, number, number];
    return [{ dtype, shape: [Math.max(0, Math.ceil((l - s) / d))] }];
  },
  fold(ctx) {
    const ts = [0, 1, 2].map((i) => ctx.input(i).constant);
    if (ts.some((t) => !t)) return undefined;
    const [s, l, d] = ts.map((t) => Number(t!.data[0]!)) as [number, number, number];
    const n = Math.max(0, Math.ceil((l - s) / d));
    if (n > 4096) return undefined;
    const dtype = ts[0]!.dtype as DType;
    const out = allocate(dtype, n);
    for (let i = 0; i < n; i++) {
      if (dtype === 'int64') (out as BigInt64Array)[i] = BigInt(s + i * d);
      else (out as Float64Array)[i] = s + i * d;
    }
    return [new Tensor(dtype, out, [n])];
  },
});
