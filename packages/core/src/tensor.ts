/**
 * The tensor interface shared by every @dc package: a dtype, a shape and one contiguous row-major typed array.
 * Conversions to and from ndarray and ONNX Runtime tensors share the buffer (zero-copy); ml-matrix stores rows
 * as separate arrays, so conversions to and from it copy.
 */
import ndarray, { type NdArray } from 'ndarray';
import { Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { InvalidInputError, InvalidOptionError, ShapeError } from './errors.js';

export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';
export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'];

export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  /** One byte per element, 0 or 1, as ONNX Runtime stores booleans. */
  bool: Uint8Array;
}
export type TypedArray = DataTypeMap[DType];
export type Shape = readonly number[];

const CONSTRUCTORS = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

/** Allocates a zeroed typed array for `dtype`. */
export function allocate<D extends DType>(dtype: D, size: number): DataTypeMap[D] {
  return new CONSTRUCTORS[dtype](size) as DataTypeMap[D];
}

/** The dtype a typed array maps to (Uint8Array maps to uint8). */
export function dtypeOf(data: TypedArray): DType {
  const tag = Object.prototype.toString.call(data).slice(8, -1);
  switch (tag) {
    case 'Float32Array':
      return 'float32';
    case 'Float64Array':
      return 'float64';
    case 'Int32Array':
      return 'int32';
    case 'BigInt64Array':
      return 'int64';
    case 'Uint8Array':
      return 'uint8';
    default:
      throw new InvalidInputError('data', `unsupported typed array ${tag}; use one of ${DTYPES.join(', ')}`);
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

function checkShape(shape: Shape, argument = 'shape'): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new InvalidInputError(argument, `dimensions must be non-negative integers, got [${shape.join(', ')}]`);
    }
  }
}

type NestedArray = number | boolean | bigint | readonly NestedArray[];

export class Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: Shape;
  readonly data: DataTypeMap[D];

  /** Wraps `data` (not copied). Its length must equal the product of `shape`. */
  constructor(dtype: D, data: DataTypeMap[D], shape: Shape) {
    checkShape(shape);
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new ShapeError('data', `${size} elements for shape [${shape.join(', ')}]`, [data.length]);
    }
    this.dtype = dtype;
    this.data = data;
    this.shape = Object.freeze([...shape]);
  }

  // ---- constructors -------------------------------------------------------------------------------------------

  /** A tensor over an existing typed array; the dtype follows the array (pass 'bool' to read bytes as booleans). */
  static from<A extends TypedArray>(data: A, shape: Shape = [data.length], dtype?: DType): Tensor {
    const dt = dtype ?? dtypeOf(data);
    if (dtype === 'bool' && dtypeOf(data) !== 'uint8') throw new InvalidInputError('data', 'bool tensors need a Uint8Array');
    return new Tensor(dt, data as DataTypeMap[typeof dt], shape);
  }

  static zeros<D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D): Tensor<D> {
    checkShape(shape);
    return new Tensor(dtype, allocate(dtype, shapeSize(shape)), shape);
  }

  static full<D extends DType = 'float32'>(shape: Shape, value: number, dtype: D = 'float32' as D): Tensor<D> {
    const t = Tensor.zeros(shape, dtype);
    if (dtype === 'int64') (t.data as BigInt64Array).fill(BigInt(value));
    else (t.data as Exclude<TypedArray, BigInt64Array>).fill(value);
    return t;
  }

  static ones<D extends DType = 'float32'>(shape: Shape, dtype: D = 'float32' as D): Tensor<D> {
    return Tensor.full(shape, 1, dtype);
  }

  /** 0, 1, ..., n-1. */
  static arange<D extends DType = 'float32'>(n: number, dtype: D = 'float32' as D): Tensor<D> {
    const t = Tensor.zeros([n], dtype);
    for (let i = 0; i < n; i++) t.setFlat(i, i);
    return t;
  }

  /** A tensor from (nested) JavaScript arrays; ragged arrays are rejected. */
  static fromArray<D extends DType = 'float32'>(values: NestedArray, dtype: D = 'float32' as D): Tensor<D> {
    const shape: number[] = [];
    let probe: NestedArray = values;
    while (Array.isArray(probe)) {
      shape.push(probe.length);
      probe = (probe as readonly NestedArray[])[0] as NestedArray;
      if (probe === undefined) break;
    }
    const t = Tensor.zeros(shape, dtype);
    let k = 0;
    const walk = (v: NestedArray, depth: number): void => {
      if (depth === shape.length) {
        if (Array.isArray(v)) throw new InvalidInputError('values', 'ragged nested array');
        t.setFlat(k++, typeof v === 'boolean' ? Number(v) : (v as number | bigint));
        return;
      }
      if (!Array.isArray(v) || v.length !== shape[depth]) throw new InvalidInputError('values', 'ragged nested array');
      for (const x of v as readonly NestedArray[]) walk(x, depth + 1);
    };
    walk(values, 0);
    return t;
  }

  // ---- basic properties ---------------------------------------------------------------------------------------

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  get strides(): number[] {
    return stridesOf(this.shape);
  }

  /** Same data, new shape; one dimension may be -1. */
  reshape(shape: readonly number[]): Tensor<D> {
    const free = shape.indexOf(-1);
    let resolved = [...shape];
    if (free >= 0) {
      if (shape.indexOf(-1, free + 1) >= 0) throw new InvalidInputError('shape', 'only one dimension may be -1');
      const known = shape.reduce((a, d, i) => (i === free ? a : a * d), 1);
      if (known === 0 || this.size % known !== 0) {
        throw new ShapeError('shape', `a shape with ${this.size} elements`, shape);
      }
      resolved = shape.map((d, i) => (i === free ? this.size / known : d));
    }
    if (shapeSize(resolved) !== this.size) throw new ShapeError('shape', `a shape with ${this.size} elements`, shape);
    return new Tensor(this.dtype, this.data, resolved);
  }

  private flatIndex(index: readonly number[]): number {
    if (index.length !== this.rank) throw new ShapeError('index', `${this.rank} coordinates`, [index.length]);
    let flat = 0;
    let stride = 1;
    for (let i = this.rank - 1; i >= 0; i--) {
      const dim = this.shape[i]!;
      let x = index[i]!;
      if (x < 0) x += dim;
      if (!Number.isInteger(x) || x < 0 || x >= dim) {
        throw new InvalidInputError('index', `coordinate ${index[i]} is out of range for axis ${i} of size ${dim}`);
      }
      flat += x * stride;
      stride *= dim;
    }
    return flat;
  }

  /** The element at `index` (negative coordinates count from the end). int64 elements come back as numbers. */
  get(...index: number[]): number {
    return Number(this.data[this.flatIndex(index)]!);
  }

  set(index: readonly number[], value: number): void {
    this.setFlat(this.flatIndex(index), value);
  }

  private setFlat(i: number, value: number | bigint): void {
    if (this.dtype === 'int64') (this.data as BigInt64Array)[i] = BigInt(value);
    else (this.data as Exclude<TypedArray, BigInt64Array>)[i] = Number(value);
  }

  /** Elements per index of the first axis. */
  get rowSize(): number {
    return this.rank === 0 ? 1 : this.size / Math.max(1, this.shape[0]!);
  }

  /** Rows [start, end) along the first axis, sharing data. */
  rows(start: number, end: number = this.shape[0]!): Tensor<D> {
    if (this.rank === 0) throw new ShapeError('tensor', 'at least one dimension', this.shape);
    const n = this.shape[0]!;
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= n)) {
      throw new InvalidInputError('rows', `range [${start}, ${end}) is outside [0, ${n})`);
    }
    const w = this.rowSize;
    return new Tensor(this.dtype, this.data.subarray(start * w, end * w) as DataTypeMap[D], [end - start, ...this.shape.slice(1)]);
  }

  /** Row i of the first axis (shape without the first axis), sharing data. */
  row(i: number): Tensor<D> {
    const r = this.rows(i, i + 1);
    return new Tensor(this.dtype, r.data, this.shape.slice(1));
  }

  /** Copies the rows listed in `indices` into a new tensor. */
  gatherRows(indices: ArrayLike<number>): Tensor<D> {
    const n = this.shape[0] ?? 0;
    const w = this.rowSize;
    const out = allocate(this.dtype, indices.length * w);
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new InvalidInputError('indices', `row ${i} is outside [0, ${n})`);
      (out as Float32Array).set((this.data as Float32Array).subarray(i * w, (i + 1) * w), j * w);
    }
    return new Tensor(this.dtype, out, [indices.length, ...this.shape.slice(1)]);
  }

  clone(): Tensor<D> {
    return new Tensor(this.dtype, this.data.slice() as DataTypeMap[D], this.shape);
  }

  /** Converts to another dtype (always copies). Float to integer conversion truncates toward zero. */
  astype<E extends DType>(dtype: E): Tensor<E> {
    const out = allocate(dtype, this.size);
    if (dtype === 'int64') {
      for (let i = 0; i < this.size; i++) (out as BigInt64Array)[i] = BigInt(Math.trunc(Number(this.data[i]!)));
    } else if (dtype === 'bool') {
      for (let i = 0; i < this.size; i++) (out as Uint8Array)[i] = Number(this.data[i]!) !== 0 ? 1 : 0;
    } else if (this.dtype === 'int64') {
      for (let i = 0; i < this.size; i++) (out as Float64Array)[i] = Number(this.data[i]!);
    } else {
      (out as Float64Array).set(this.data as Float64Array);
    }
    return new Tensor(dtype, out, this.shape);
  }

  /** Nested JavaScript arrays (int64 as numbers, bool as booleans). */
  toArray(): NestedArray {
    const build = (offset: number, axis: number): NestedArray => {
      if (axis === this.rank) {
        const v = Number(this.data[offset]!);
        return this.dtype === 'bool' ? v !== 0 : v;
      }
      const stride = this.strides[axis]!;
      return Array.from({ length: this.shape[axis]! }, (_, i) => build(offset + i * stride, axis + 1));
    };
    return build(0, 0);
  }

  // ---- interop ------------------------------------------------------------------------------------------------

  /** An ndarray view of the same buffer (int64 and bool are exposed as their typed arrays). */
  toNdarray(): NdArray {
    return ndarray(this.data as unknown as Float32Array<ArrayBuffer>, [...this.shape]);
  }

  /** From an ndarray: shares the buffer when the view is row-major contiguous, copies otherwise. */
  static fromNdarray(array: NdArray, dtype?: DType): Tensor {
    const data = array.data as unknown;
    if (!ArrayBuffer.isView(data)) throw new InvalidInputError('array', 'ndarray must be backed by a typed array');
    const typed = data as TypedArray;
    const dt = dtype ?? dtypeOf(typed);
    const shape = array.shape;
    const size = shapeSize(shape);
    const contiguous = stridesOf(shape);
    const isContiguous = shape.every((d, i) => d <= 1 || array.stride[i] === contiguous[i]);
    if (isContiguous) {
      return new Tensor(dt, typed.subarray(array.offset, array.offset + size) as DataTypeMap[typeof dt], shape);
    }
    const out = allocate(dt, size) as Float64Array;
    const idx = new Array<number>(shape.length).fill(0);
    for (let k = 0; k < size; k++) {
      (out as unknown as TypedArray)[k] = array.get(...idx) as never;
      for (let a = shape.length - 1; a >= 0; a--) {
        if (++idx[a]! < shape[a]!) break;
        idx[a] = 0;
      }
    }
    return new Tensor(dt, out as unknown as DataTypeMap[typeof dt], shape);
  }

  /** An ONNX Runtime tensor over the same buffer. */
  toOrt(): ort.Tensor {
    return new ort.Tensor(this.dtype, this.data as never, [...this.shape]);
  }

  /** From an ONNX Runtime CPU tensor, sharing its buffer. */
  static fromOrt(value: ort.Tensor): Tensor {
    const dtype = value.type as DType;
    if (!DTYPES.includes(dtype)) throw new InvalidInputError('value', `ONNX Runtime tensor type '${value.type}' is not supported`);
    return new Tensor(dtype, value.data as DataTypeMap[typeof dtype], value.dims);
  }

  /** A copy as an ml-matrix Matrix (2-D tensors only). */
  toMatrix(): Matrix {
    if (this.rank !== 2) throw new ShapeError('tensor', '[rows, columns]', this.shape);
    const [r, cols] = this.shape as [number, number];
    const m = new Matrix(r, cols);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < cols; j++) m.set(i, j, Number(this.data[i * cols + j]!));
    }
    return m;
  }

  /** A copy of an ml-matrix Matrix, float64 by default. */
  static fromMatrix<D extends 'float32' | 'float64' = 'float64'>(m: Matrix, dtype: D = 'float64' as D): Tensor<D> {
    const t = Tensor.zeros([m.rows, m.columns], dtype);
    const data = t.data as Float64Array;
    for (let i = 0; i < m.rows; i++) {
      for (let j = 0; j < m.columns; j++) data[i * m.columns + j] = m.get(i, j);
    }
    return t;
  }
}

/** Convenience: a tensor over `data` with `shape` (the dtype follows the typed array). */
export function tensor(data: TypedArray, shape?: Shape, dtype?: DType): Tensor {
  return Tensor.from(data, shape, dtype);
}

export function checkDtype(argument: string, t: Tensor, allowed: readonly DType[], caller = 'this function'): void {
  if (!allowed.includes(t.dtype)) {
    throw new InvalidOptionError(caller, `${argument}.dtype`, `one of ${allowed.map((d) => `'${d}'`).join(', ')}`, t.dtype);
  }
}
