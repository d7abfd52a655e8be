/**
 * Structural ops: reshaping, transposition, concatenation and splitting, slicing and gathering, padding, TopK,
 * and the constant makers. Shape-valued inputs must be constants; small int64 shape arithmetic is folded at
 * build time so a Reshape fed by Shape/Gather/Concat is still checked.
 *
 * Gradients (end of file): reshapes reshape back, Transpose applies the inverse permutation, Concat and Split
 * are each other's adjoint, Slice pads (unit steps) or scatters (other steps), and the gathers scatter-add into
 * zeros so repeated indices accumulate.
 */
import { GraphError } from '../../errors.js';
import { Tensor, allocate, shapeSize, type DType } from '../../tensor.js';
import type { Value } from '../builder.js';
import type { GradContext, GradRule, InferContext, OpDef } from '../registry.js';
import type { Dim } from '../types.js';
import { isStatic } from '../types.js';
import { intAttr, intsAttr, reshapeTo, stringAttr, sumToShape, zerosLike, zerosOf } from './grad-utils.js';
import { broadcast, dimProduct, intValues, reshapeFreeDim, sameDim } from './shape-utils.js';

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
      out[free] = reshapeFreeDim(x.shape, out) ?? ctx.unknownDim();
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
    const prod = (dims: readonly Dim[]): Dim => dimProduct(dims) ?? ctx.unknownDim();
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

// ---- gradients ------------------------------------------------------------------------------------------------

function needStatic(v: Value, op: string): number[] {
  if (!isStatic(v.shape)) throw new GraphError(`${op}: the gradient needs a static shape, got [${v.shape.join(', ')}]`);
  return [...v.shape];
}

function constInts(v: Value | null | undefined, op: string, what: string): number[] | null {
  if (!v) return null;
  if (!v.constant) throw new GraphError(`${op}: the gradient needs constant ${what}`);
  return intValues(v.constant);
}

/** dX for ops that only change the shape. */
const reshapeBack: GradRule = (ctx) => {
  const gy = ctx.gradOutputs[0];
  if (!gy || !ctx.needsGrad[0]) return [];
  return [reshapeTo(ctx.g, gy, ctx.node.inputs[0]!.shape)];
};

/** Scatter-adds `updates` at `indices` along `axis` into zeros shaped like `x`. */
function scatterAdd(ctx: GradContext, x: Value, indices: Value, updates: Value, axis: number): Value {
  return ctx.g.op('ScatterElements', [zerosLike(ctx.g, x), indices, updates], { axis, reduction: 'add' });
}

const BACKWARD: Record<string, GradRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose(ctx) {
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const rank = gy.rank;
    const perm = intsAttr(ctx.node, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return [ctx.g.op('Transpose', [gy], { perm: inverse })];
  },
  Concat(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy) return [];
    const axis = ((a) => (a < 0 ? a + gy.rank : a))(intAttr(node, 'axis', 0));
    const sizes = node.inputs.map((v) => {
      const d = v!.shape[axis];
      if (typeof d !== 'number') throw new GraphError('Concat: the gradient needs static sizes on the concatenation axis', node.name);
      return d;
    });
    const wanted = ctx.needsGrad.filter(Boolean).length;
    if (wanted >= 2) {
      const pieces = g.opMulti('Split', [gy, g.int64s(sizes)], { axis }, sizes.length);
      return pieces.map((p, i) => (ctx.needsGrad[i] ? p : null));
    }
    let offset = 0;
    return sizes.map((size, i) => {
      const start = offset;
      offset += size;
      return ctx.needsGrad[i] ? g.op('Slice', [gy, g.int64s([start]), g.int64s([start + size]), g.int64s([axis])]) : null;
    });
  },
  Split(ctx) {
    const { g, node } = ctx;
    if (!ctx.needsGrad[0] || ctx.gradOutputs.every((v) => !v)) return [];
    const axis = ((a) => (a < 0 ? a + node.inputs[0]!.rank : a))(intAttr(node, 'axis', 0));
    const pieces = node.outputs.map((o, i) => ctx.gradOutputs[i] ?? zerosLike(g, o));
    return [pieces.length === 1 ? pieces[0]! : g.op('Concat', pieces, { axis })];
  },
  Slice(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const x = node.inputs[0]!;
    const shape = needStatic(x, 'Slice');
    const starts = constInts(node.inputs[1], 'Slice', 'starts')!;
    const ends = constInts(node.inputs[2], 'Slice', 'ends')!;
    const axes = (constInts(node.inputs[3], 'Slice', 'axes') ?? starts.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a));
    const steps = constInts(node.inputs[4], 'Slice', 'steps') ?? starts.map(() => 1);
    const ranges = axes.map((a, i) => {
      const dim = shape[a]!;
      const [s, e] = sliceRange(dim, starts[i]!, ends[i]!, steps[i]!);
      return { axis: a, start: s, step: steps[i]!, count: Math.max(0, Math.ceil((e - s) / steps[i]!)) };
    });
    if (ranges.every((r) => r.step === 1)) {
      const pads = new Array<number>(2 * shape.length).fill(0);
      for (const r of ranges) {
        pads[r.axis] = r.start;
        pads[r.axis + shape.length] = shape[r.axis]! - r.start - r.count;
      }
      return [pads.every((p) => p === 0) ? gy : g.op('Pad', [gy, g.int64s(pads)])];
    }
    // Undo one axis at a time: Pad for unit steps, a scatter of the picked positions otherwise.
    let cur = gy;
    for (const r of ranges) {
      const target = [...needStatic(cur, 'Slice')];
      target[r.axis] = shape[r.axis]!;
      if (r.step === 1) {
        const pads = new Array<number>(2 * target.length).fill(0);
        pads[r.axis] = r.start;
        pads[r.axis + target.length] = target[r.axis]! - r.start - r.count;
        cur = g.op('Pad', [cur, g.int64s(pads)]);
        continue;
      }
      const idxShape = target.map((_, i) => (i === r.axis ? r.count : 1));
      const idx = g.int64s(Array.from({ length: r.count }, (_, i) => r.start + i * r.step));
      const full = g.op('Expand', [reshapeTo(g, idx, idxShape), g.int64s(cur.shape as number[])]);
      cur = g.op('ScatterElements', [zerosOf(g, target, cur.dtype), full, cur], { axis: r.axis });
    }
    return [cur];
  },
  Gather(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const [x, indices] = node.inputs as [Value, Value];
    const shape = needStatic(x, 'Gather');
    const axis = ((a) => (a < 0 ? a + shape.length : a))(intAttr(node, 'axis', 0));
    const count = needStatic(indices, 'Gather').reduce((a, b) => a * b, 1);
    // gy viewed as X's shape with the gathered axis holding all picked positions; indices broadcast to it.
    const updShape = shape.map((d, i) => (i === axis ? count : d));
    const upd = reshapeTo(g, gy, updShape);
    const idx = reshapeTo(g, indices, shape.map((_, i) => (i === axis ? count : 1)));
    const idxFull = updShape.every((d, i) => i === axis || d === 1) ? idx : g.op('Expand', [idx, g.int64s(updShape)]);
    return [scatterAdd(ctx, x, idxFull, upd, axis)];
  },
  GatherElements(ctx) {
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const [x, indices] = ctx.node.inputs as [Value, Value];
    const axis = ((a) => (a < 0 ? a + x.rank : a))(intAttr(ctx.node, 'axis', 0));
    return [scatterAdd(ctx, x, indices, gy, axis)];
  },
  TopK(ctx) {
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const x = ctx.node.inputs[0]!;
    const axis = ((a) => (a < 0 ? a + x.rank : a))(intAttr(ctx.node, 'axis', -1));
    return [scatterAdd(ctx, x, ctx.node.outputs[1]!, gy, axis)];
  },
  ScatterElements(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy) return [];
    const [, indices, updates] = node.inputs as [Value, Value, Value];
    const axis = ((a) => (a < 0 ? a + gy.rank : a))(intAttr(node, 'axis', 0));
    const reduction = stringAttr(node, 'reduction', 'none');
    if (reduction !== 'none' && reduction !== 'add') {
      throw new GraphError(`ScatterElements: the gradient supports reduction 'none' and 'add', not '${reduction}'`, node.name);
    }
    // Overwritten positions of data get no gradient (reduction 'none'); each update gets the gradient at its target.
    return [
      ctx.needsGrad[0] ? (reduction === 'add' ? gy : g.op('ScatterElements', [gy, indices, zerosLike(g, updates)], { axis })) : null,
      null,
      ctx.needsGrad[2] ? g.op('GatherElements', [gy, indices], { axis }) : null,
    ];
  },
  Expand(ctx) {
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    return [sumToShape(ctx.g, gy, ctx.node.inputs[0]!.shape)];
  },
  Tile(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    const x = node.inputs[0]!;
    const shape = needStatic(x, 'Tile');
    const repeats = constInts(node.inputs[1], 'Tile', 'repeats')!;
    // gy as [r0, d0, r1, d1, ...]; sum the repeat axes.
    const split = g.op('Reshape', [gy, g.int64s(shape.flatMap((d, i) => [repeats[i]!, d]))]);
    return [g.op('ReduceSum', [split, g.int64s(shape.map((_, i) => 2 * i))], { keepdims: 0 })];
  },
  Pad(ctx) {
    const { g, node } = ctx;
    const gy = ctx.gradOutputs[0];
    if (!gy || !ctx.needsGrad[0]) return [];
    if (stringAttr(node, 'mode', 'constant') !== 'constant') throw new GraphError(`Pad: the gradient supports mode 'constant' only`, node.name);
    const x = node.inputs[0]!;
    const shape = needStatic(x, 'Pad');
    const pads = constInts(node.inputs[1], 'Pad', 'pads')!;
    const axes = (constInts(node.inputs[3], 'Pad', 'axes') ?? shape.map((_, i) => i)).map((a) => (a < 0 ? a + shape.length : a));
    if (pads.some((p) => p < 0)) throw new GraphError('Pad: the gradient needs non-negative pads', node.name);
    return [g.op('Slice', [gy, g.int64s(axes.map((_, i) => pads[i]!)), g.int64s(axes.map((a, i) => pads[i]! + shape[a]!)), g.int64s(axes)])];
  },
};

for (const def of defs) {
  const rule = BACKWARD[def.type];
  if (rule) def.backward = rule;
}
