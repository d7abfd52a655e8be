/** Shape arithmetic shared by the op rules. */
import type { InferContext } from '../registry.js';
import type { Dim } from '../types.js';

/** Numpy-style multidirectional broadcasting; symbolic dims broadcast against 1 or an equal symbol. */
export function broadcast(ctx: InferContext, shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (dim !== d) {
        if (typeof dim === 'string' || typeof d === 'string') {
          dim = typeof dim === 'number' ? dim : d; // trust the static size; ONNX Runtime checks at run time
        } else {
          ctx.fail(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} cannot be broadcast together`);
        }
      }
    }
    out.push(dim);
  }
  return out;
}

export function sameDim(a: Dim | undefined, b: Dim | undefined): boolean {
  return a === b || typeof a === 'string' || typeof b === 'string';
}

/** The static dims' product and the symbolic dims, in order. */
function splitDims(dims: readonly Dim[]): { size: number; symbols: string[] } {
  let size = 1;
  const symbols: string[] = [];
  for (const d of dims) {
    if (typeof d === 'number') size *= d;
    else symbols.push(d);
  }
  return { size, symbols };
}

/**
 * The element count of `dims` where it is known: a number when every dim is static, the one symbolic dim when the
 * static ones multiply to 1 (so a batch dim 'N' survives Flatten and Reshape), otherwise undefined.
 */
export function dimProduct(dims: readonly Dim[]): Dim | undefined {
  const { size, symbols } = splitDims(dims);
  if (symbols.length === 0) return size;
  return symbols.length === 1 && size === 1 ? symbols[0] : undefined;
}

/**
 * What Reshape's -1 stands for when the input has symbolic dims: the input's symbolic dims that the target does not
 * carry over, times its static size over the target's; undefined when that is not one dim.
 */
export function reshapeFreeDim(input: readonly Dim[], target: readonly Dim[]): Dim | undefined {
  const { size: inputSize, symbols: left } = splitDims(input);
  const { size, symbols } = splitDims(target.filter((d) => d !== -1));
  for (const d of symbols) {
    const at = left.indexOf(d);
    if (at < 0) return undefined;
    left.splice(at, 1);
  }
  if (size === 0 || inputSize % size !== 0) return undefined;
  return dimProduct([...left, inputSize / size]);
}

/** int64 tensor values as numbers. */
export function intValues(t: { data: ArrayLike<number | bigint> }): number[] {
  return Array.from(t.data as ArrayLike<number | bigint>, (x) => Number(x));
}

/** Output size of a sliding window (conv, pooling). */
export function windowOutput(
  ctx: InferContext,
  size: Dim,
  kernel: number,
  stride: number,
  padBegin: number,
  padEnd: number,
  dilation: number,
  ceilMode = false,
): Dim {
  if (typeof size === 'string') return ctx.unknownDim();
  const span = dilation * (kernel - 1) + 1;
  const extent = size + padBegin + padEnd - span;
  if (extent < 0) ctx.fail(`a window of ${span} does not fit an input of ${size} with pads ${padBegin}+${padEnd}`);
  return (ceilMode ? Math.ceil(extent / stride) : Math.floor(extent / stride)) + 1;
}

/** Resolves auto_pad and explicit pads into [begin..., end...] for `spatial` axes. */
export function resolvePads(
  ctx: InferContext,
  inputSpatial: readonly Dim[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[],
): number[] {
  const n = kernel.length;
  const autoPad = ctx.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = ctx.ints('pads', new Array<number>(2 * n).fill(0));
    if (pads.length !== 2 * n) ctx.fail(`pads must have ${2 * n} values, got ${pads.length}`);
    return [...pads];
  }
  if (autoPad === 'VALID') return new Array<number>(2 * n).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') ctx.fail(`unknown auto_pad '${autoPad}'`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const size = inputSpatial[i];
    if (typeof size !== 'number') ctx.fail('auto_pad SAME needs static spatial sizes');
    const out = Math.ceil(size / strides[i]!);
    const total = Math.max(0, (out - 1) * strides[i]! + dilations[i]! * (kernel[i]! - 1) + 1 - size);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [...begin, ...end];
}
