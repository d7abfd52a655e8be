/** Small graph helpers shared by the losses. */
import { GraphError, InvalidOptionError, ShapeError, Tensor, UnknownOptionError, type GraphBuilder, type Value } from '@dc/core';

export function sumAxis(g: GraphBuilder, x: Value, axis: number, keepdims = false): Value {
  return g.op('ReduceSum', [x, g.int64s([axis])], { keepdims: keepdims ? 1 : 0 });
}

export function meanAll(g: GraphBuilder, x: Value): Value {
  return g.op('ReduceMean', [x], { keepdims: 0 });
}

export function sumAll(g: GraphBuilder, x: Value): Value {
  return g.op('ReduceSum', [x], { keepdims: 0 });
}

/** [N, C] with both dimensions static, or a ShapeError naming the argument. */
export function matrixShape(name: string, x: Value, caller: string): [number, number] {
  if (x.rank !== 2 || typeof x.shape[0] !== 'number' || typeof x.shape[1] !== 'number') {
    throw new ShapeError(name, ['N', 'C'], x.shape.map((d) => (typeof d === 'number' ? d : null)), `(${caller})`);
  }
  if (x.dtype !== 'float32') throw new GraphError(`${caller}: '${name}' must be float32, got ${x.dtype}`);
  return [x.shape[0], x.shape[1]];
}

export function vectorOf(name: string, x: Value, n: number, caller: string): void {
  if (x.rank !== 1 || x.shape[0] !== n) throw new ShapeError(name, [n], x.shape.map((d) => (typeof d === 'number' ? d : null)), `(${caller})`);
}

/** A [N] float weight from an optional float or bool [N] value. */
export function asWeight(g: GraphBuilder, name: string, x: Value, n: number, caller: string): Value {
  vectorOf(name, x, n, caller);
  if (x.dtype === 'bool') return g.op('Cast', [x], { to: 1 });
  if (x.dtype !== 'float32') throw new GraphError(`${caller}: '${name}' must be float32 or bool, got ${x.dtype}`);
  return x;
}

export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Reduces per-sample losses [N] with optional weights [N]: 'mean' divides by the sum of the weights (PyTorch's
 * convention for weighted and ignored samples; 0 when every weight is 0), 'batchmean' by N (FixMatch's masked
 * mean), 'sum' sums, 'none' returns the weighted per-sample values.
 */
export function reduce(g: GraphBuilder, perSample: Value, weight: Value | null, reduction: Reduction | 'batchmean'): Value {
  const weighted = weight ? g.op('Mul', [perSample, weight]) : perSample;
  switch (reduction) {
    case 'none':
      return weighted;
    case 'sum':
      return sumAll(g, weighted);
    case 'batchmean':
      return meanAll(g, weighted);
    case 'mean':
      if (!weight) return meanAll(g, weighted);
      return g.op('Div', [sumAll(g, weighted), g.op('Clip', [sumAll(g, weight), g.constant(1e-12), null])]);
  }
}

/** A constant float32 matrix. */
export function constantMatrix(g: GraphBuilder, rows: number, cols: number, fill: (i: number, j: number) => number): Value {
  const t = Tensor.zeros([rows, cols]);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t.data[i * cols + j] = fill(i, j);
  return g.constant(t);
}

/** Rejects option keys a loss does not know (a misspelt option would otherwise be ignored silently). */
export function checkKeys(caller: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidOptionError(caller, 'options', 'an object or undefined', options);
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new UnknownOptionError(caller, key, [...known]);
}
