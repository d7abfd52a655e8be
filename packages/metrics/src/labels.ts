/**
 * Label input: arrays, typed arrays or rank-1 tensors of integers with any values. Labels are read once into a
 * typed array (no per-element objects) and encoded as dense codes 0..k-1 in ascending order of value, the order
 * scikit-learn's `np.unique` gives, so contingency rows and columns line up with its `contingency_matrix`.
 */
import { InvalidInputError, NonFiniteError, ShapeError, Tensor } from '@dc/core';

/** Integer labels: a plain or typed array, or a rank-1 `Tensor` (any dtype holding integers). */
export type LabelInput = ArrayLike<number> | BigInt64Array | Tensor;

/** Labels read into a typed array, with their range. */
export interface LabelValues {
  values: Int32Array | Float64Array;
  min: number;
  max: number;
}

/** Labels encoded as 0..k-1; `uniques[code]` is the original value, ascending. */
export interface EncodedLabels {
  codes: Int32Array;
  uniques: Float64Array;
  /** How many samples carry each code. */
  sizes: Float64Array;
}

const INT_ARRAYS = new Set(['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array']);

function tagOf(value: unknown): string {
  return Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * Reads and checks labels: rank 1, non-empty, `length` entries when given, every entry a safe integer.
 * Integer typed arrays whose values always fit in int32 skip the per-element checks.
 */
export function readLabels(argument: string, input: LabelInput, length?: number): LabelValues {
  let data: ArrayLike<number> | BigInt64Array;
  if (input instanceof Tensor) {
    if (input.rank !== 1) throw new ShapeError(argument, ['n'], input.shape, 'Labels must be a rank-1 tensor.');
    data = input.data as ArrayLike<number> | BigInt64Array;
  } else if (input !== null && typeof input === 'object' && typeof (input as ArrayLike<number>).length === 'number') {
    data = input;
  } else {
    throw new InvalidInputError(argument, 'expected an array, a typed array or a rank-1 Tensor of integer labels');
  }
  const n = data.length;
  if (length !== undefined && n !== length) {
    throw new ShapeError(argument, [length], [n], 'There must be one label per sample.');
  }
  if (n === 0) throw new InvalidInputError(argument, 'is empty; at least one label is needed');

  const tag = tagOf(data);
  if (tag === 'Int32Array' || INT_ARRAYS.has(tag)) {
    const typed = data as Int32Array;
    let min = typed[0]!;
    let max = min;
    for (let i = 1; i < n; i++) {
      const v = typed[i]!;
      if (v < min) min = v;
      else if (v > max) max = v;
    }
    // Int32Array is used as is (never written to); narrower arrays are widened once.
    const values = tag === 'Int32Array' ? typed : Int32Array.from(typed as ArrayLike<number>);
    return { values, min, max };
  }

  if (tag === 'BigInt64Array' || tag === 'BigUint64Array') {
    const big = data as BigInt64Array;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = Number(big[i]!);
      if (!Number.isSafeInteger(v)) {
        throw new InvalidInputError(argument, `labels must be integers within ±(2^53 - 1); found ${big[i]} at index ${i}`);
      }
      values[i] = v;
    }
    return finishFloat(values);
  }

  // Plain arrays and float arrays: check each entry. Most labels fit in int32, so try that first and fall back
  // to float64 storage the first time one does not.
  const arr = data as ArrayLike<number>;
  let out: Int32Array | Float64Array = new Int32Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = arr[i] as unknown;
    if (typeof v !== 'number') {
      throw new InvalidInputError(argument, `labels must be integers; found ${typeof v === 'string' ? `'${v}'` : String(v)} (${typeof v}) at index ${i}`);
    }
    if ((v | 0) !== v) {
      if (v - v !== 0) throw new NonFiniteError(argument, i, v);
      if (!Number.isInteger(v)) throw new InvalidInputError(argument, `labels must be integers; found ${v} at index ${i}`);
      if (!Number.isSafeInteger(v)) throw new InvalidInputError(argument, `labels must be integers within ±(2^53 - 1); found ${v} at index ${i}`);
      if (out instanceof Int32Array) out = Float64Array.from(out);
    }
    out[i] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // -0 is stored as 0 by Int32Array; in Float64Array normalise it so it encodes like 0.
  if (out instanceof Float64Array) for (let i = 0; i < n; i++) out[i] = out[i]! + 0;
  return { values: out, min, max };
}

function finishFloat(values: Float64Array): LabelValues {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { values, min, max };
}

/** Largest value range encoded through a lookup table; wider ranges are sorted instead. */
function tableLimit(n: number): number {
  return Math.max(1 << 16, 4 * n);
}

/**
 * Encodes labels as dense codes in ascending order of value. `keep`, when given, lists which samples to keep
 * (1) or drop (0); dropped samples get no code and the output is shorter.
 */
export function encodeLabels(labels: LabelValues, keep?: Uint8Array, kept?: number): EncodedLabels {
  const { values, min, max } = labels;
  const n = values.length;
  const m = keep ? kept! : n;
  const codes = new Int32Array(m);
  const range = max - min + 1;

  if (range <= tableLimit(n)) {
    // Dense value range: one table of value -> code, built by marking then numbering present values.
    const table = new Int32Array(range);
    if (keep) {
      for (let i = 0; i < n; i++) if (keep[i]) table[values[i]! - min] = 1;
    } else {
      for (let i = 0; i < n; i++) table[values[i]! - min] = 1;
    }
    let k = 0;
    for (let v = 0; v < range; v++) if (table[v]) table[v] = ++k;
    const uniques = new Float64Array(k);
    for (let v = 0; v < range; v++) if (table[v]) uniques[table[v]! - 1] = v + min;
    const sizes = new Float64Array(k);
    let j = 0;
    for (let i = 0; i < n; i++) {
      if (keep && !keep[i]) continue;
      const code = table[values[i]! - min]! - 1;
      codes[j++] = code;
      sizes[code]!++;
    }
    return { codes, uniques, sizes };
  }

  // Sparse values (e.g. hashes or large ids): sort the distinct values and look each one up by binary search.
  const sorted = new Float64Array(m);
  let j = 0;
  for (let i = 0; i < n; i++) if (!keep || keep[i]) sorted[j++] = values[i]!;
  sorted.sort();
  let k = 0;
  for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[k - 1]) sorted[k++] = sorted[i]!;
  const uniques = sorted.slice(0, k);
  const sizes = new Float64Array(k);
  j = 0;
  for (let i = 0; i < n; i++) {
    if (keep && !keep[i]) continue;
    const v = values[i]!;
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (uniques[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    codes[j++] = lo;
    sizes[lo]!++;
  }
  return { codes, uniques, sizes };
}
