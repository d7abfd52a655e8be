/** Data-dependent input checks shared by every package (options are checked by validation.ts). */
import { InvalidInputError, NonFiniteError, ShapeError } from './errors.js';
import { Tensor, type DType } from './tensor.js';

/** Throws NonFiniteError naming the first NaN or ±Infinity. */
export function assertFinite(argument: string, data: ArrayLike<number>): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    // v - v is NaN exactly for NaN and ±Infinity, and this form is fast in V8.
    if (v - v !== 0) throw new NonFiniteError(argument, i, v);
  }
}

/** A matrix of samples: rank 2, at least one row and one column, finite. Returns [rows, columns]. */
export function assertMatrix(argument: string, t: unknown, options: { minRows?: number; dtypes?: readonly DType[] } = {}): [number, number] {
  if (!(t instanceof Tensor)) throw new InvalidInputError(argument, 'expected a Tensor of shape [n, d]');
  if (t.rank !== 2) throw new ShapeError(argument, ['n', 'd'], t.shape);
  const [n, d] = t.shape as [number, number];
  const minRows = options.minRows ?? 1;
  if (n < minRows) throw new InvalidInputError(argument, `needs at least ${minRows} row(s), got ${n}`);
  if (d < 1) throw new InvalidInputError(argument, 'needs at least one column');
  const dtypes = options.dtypes ?? ['float32', 'float64'];
  if (!dtypes.includes(t.dtype)) throw new InvalidInputError(argument, `dtype must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  if (t.dtype === 'float32' || t.dtype === 'float64') assertFinite(argument, t.data as Float32Array);
  return [n, d];
}

/** float32 data for a float tensor: the same array when already float32, a converted copy otherwise. */
export function asFloat32(t: Tensor): Tensor<'float32'> {
  return t.dtype === 'float32' ? (t as Tensor<'float32'>) : t.astype('float32');
}

/** Integer labels of a given length (e.g. pseudo-labels); returns them as an Int32Array. */
export function assertLabels(argument: string, labels: ArrayLike<number> | Tensor, length?: number, options: { allowNoise?: boolean } = {}): Int32Array {
  const data: ArrayLike<number | bigint> = labels instanceof Tensor ? (labels.data as ArrayLike<number | bigint>) : labels;
  if (labels instanceof Tensor && labels.rank !== 1) throw new ShapeError(argument, ['n'], labels.shape);
  if (length !== undefined && data.length !== length) {
    throw new ShapeError(argument, [length], [data.length], 'There must be one label per sample.');
  }
  if (data.length === 0) throw new InvalidInputError(argument, 'is empty');
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Number(data[i]!);
    if (!Number.isInteger(v)) throw new InvalidInputError(argument, `labels must be integers; found ${v} at index ${i}`);
    if (v < 0 && !(options.allowNoise && v === -1)) {
      throw new InvalidInputError(argument, `labels must be >= 0${options.allowNoise ? ' (or -1 for noise)' : ''}; found ${v} at index ${i}`);
    }
    // Int32Array would wrap larger values into small (or negative) labels.
    if (v > 0x7fffffff) throw new InvalidInputError(argument, `labels must be at most 2147483647; found ${v} at index ${i}`);
    out[i] = v;
  }
  return out;
}
