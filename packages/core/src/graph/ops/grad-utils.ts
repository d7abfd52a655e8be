/**
 * Graph helpers shared by the backward rules of the ops in this folder. They emit as few nodes as possible: no
 * node at all when a reshape or reduction would be the identity, one ReduceSum for a broadcast gradient, and
 * ConstantOfShape (not a stored zeros tensor) for zeros.
 */
import { GraphError } from '../../errors.js';
import { Tensor, type DType } from '../../tensor.js';
import type { GraphBuilder, NodeRecord, Value } from '../builder.js';
import type { Dim } from '../types.js';
import { intValues } from './shape-utils.js';

export function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

export function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A constant target for Reshape/Expand that works with symbolic dimensions: a symbol the source has at the same
 * position is copied (0), one other symbol becomes -1. More than one unresolvable symbol is an error.
 */
function reshapeTarget(from: readonly Dim[], to: readonly Dim[], what: string): number[] {
  let free = false;
  return to.map((d, i) => {
    if (typeof d === 'number') return d;
    if (from[i] === d) return 0;
    if (free) throw new GraphError(`${what}: cannot reshape [${from.join(', ')}] to [${to.join(', ')}] with symbolic sizes`);
    free = true;
    return -1;
  });
}

/** `v` reshaped to `shape` (no node when the shapes already agree). */
export function reshapeTo(g: GraphBuilder, v: Value, shape: readonly Dim[]): Value {
  if (sameShape(v.shape, shape)) return v;
  return g.op('Reshape', [v, g.int64s(reshapeTarget(v.shape, shape, 'gradient'))]);
}

/** `v` broadcast (materialised) to `shape`. */
export function expandTo(g: GraphBuilder, v: Value, shape: readonly Dim[]): Value {
  if (sameShape(v.shape, shape)) return v;
  const offset = shape.length - v.shape.length;
  const target = shape.map((d, i) => (typeof d === 'number' ? d : v.shape[i - offset] === d ? 1 : -2));
  if (target.includes(-2)) throw new GraphError(`gradient: cannot expand [${v.shape.join(', ')}] to [${shape.join(', ')}]`);
  return g.op('Expand', [v, g.int64s(target)]);
}

/**
 * Sums a broadcast gradient back to the shape of the operand it came from: one ReduceSum over the broadcast axes
 * (keepdims only when inner axes are reduced), then a free Reshape where the rank differs.
 */
export function sumToShape(g: GraphBuilder, grad: Value, shape: readonly Dim[]): Value {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.shape.length - shape.length;
  if (lead < 0) throw new GraphError(`gradient of shape [${grad.shape.join(', ')}] cannot be summed to [${shape.join(', ')}]`);
  const leading = Array.from({ length: lead }, (_, i) => i);
  const inner: number[] = [];
  shape.forEach((d, i) => {
    if (d === 1 && grad.shape[lead + i] !== 1) inner.push(lead + i);
  });
  if (inner.length === 0) {
    if (leading.length === 0) return reshapeTo(g, grad, shape);
    return reshapeTo(g, g.op('ReduceSum', [grad, g.int64s(leading)], { keepdims: 0 }), shape);
  }
  return reshapeTo(g, g.op('ReduceSum', [grad, g.int64s([...leading, ...inner])], { keepdims: 1 }), shape);
}

/** Zeros of `shape` made by ConstantOfShape (nothing stored in the model). */
export function zerosOf(g: GraphBuilder, shape: readonly Dim[], dtype: DType, like?: Value): Value {
  const value = Tensor.zeros([1], dtype);
  if (shape.every((d) => typeof d === 'number')) return g.op('ConstantOfShape', [g.int64s(shape as number[])], { value });
  if (!like) throw new GraphError(`zeros of symbolic shape [${shape.join(', ')}] need a value to take the shape from`);
  return g.op('ConstantOfShape', [g.op('Shape', [like])], { value });
}

export function zerosLike(g: GraphBuilder, v: Value): Value {
  return zerosOf(g, v.shape, v.dtype, v);
}

/** The axes a reduction node reduces, normalised (all axes when the axes input is absent or empty). */
export function reductionAxes(node: NodeRecord, rank: number): number[] | null {
  const axesInput = node.inputs[1];
  const all = Array.from({ length: rank }, (_, i) => i);
  if (!axesInput) return all;
  if (!axesInput.constant) return null;
  const axes = intValues(axesInput.constant).map((a) => (a < 0 ? a + rank : a));
  if (axes.length === 0) {
    const noop = node.attributes.noop_with_empty_axes;
    return noop && noop.value === 1 ? [] : all;
  }
  return [...new Set(axes)].sort((a, b) => a - b);
}

/** The shape a reduction's output has with keepdims=1. */
export function keptShape(shape: readonly Dim[], axes: readonly number[]): Dim[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** The number of elements in the given axes of a static shape (the divisor of a mean). */
export function countOf(shape: readonly Dim[], axes: readonly number[], what: string): number {
  let n = 1;
  for (const a of axes) {
    const d = shape[a];
    if (typeof d !== 'number') throw new GraphError(`${what}: the gradient needs static sizes on the reduced axes`);
    n *= d;
  }
  return n;
}

/** Reads an int attribute of a node record. */
export function intAttr(node: NodeRecord, name: string, fallback: number): number {
  const a = node.attributes[name];
  return a && (a.type === 'int' || a.type === 'float') ? (a.value as number) : fallback;
}

export function floatAttr(node: NodeRecord, name: string, fallback: number): number {
  return intAttr(node, name, fallback);
}

export function intsAttr(node: NodeRecord, name: string, fallback: readonly number[]): number[] {
  const a = node.attributes[name];
  return a && a.type === 'ints' ? [...(a.value as number[])] : [...fallback];
}

export function stringAttr(node: NodeRecord, name: string, fallback: string): string {
  const a = node.attributes[name];
  return a && a.type === 'string' ? (a.value as string) : fallback;
}

/**
 * x [N, C, s...] as the zero-padded spatial-major table [Sp, N*C]: one row per position of the padded map
 * (row-major), each row every batch-channel pair. `pads` as ONNX gives them (begins, then ends).
 */
export function spatialTable(g: GraphBuilder, x: Value, pads: readonly number[]): Value {
  const [nb, c, ...spatial] = x.staticShape as [number, number, ...number[]];
  const n = spatial.length;
  const size = spatial.reduce((a, b) => a * b, 1);
  const rows = g.op('Transpose', [g.op('Reshape', [x, g.int64s([nb * c, size])])], { perm: [1, 0] });
  if (pads.every((q) => q === 0)) return rows;
  const grid = g.op('Reshape', [rows, g.int64s([...spatial, nb * c])]);
  const padded = g.op('Pad', [grid, g.int64s([...pads.slice(0, n), 0, ...pads.slice(n), 0])]);
  return g.op('Reshape', [padded, g.int64s([-1, nb * c])]);
}
