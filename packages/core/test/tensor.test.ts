import ndarray from 'ndarray';
import { Matrix } from 'ml-matrix';
import * as ort from 'onnxruntime-node';
import { InvalidInputError, ShapeError, Tensor, allocate, dtypeOf, shapeSize, stridesOf } from '@dc/core';

describe('Tensor construction', () => {
  it('wraps data without copying and freezes the shape', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = Tensor.from(data, [2, 3]);
    expect(t.data).toBe(data);
    expect(t.dtype).toBe('float32');
    expect(t.shape).toEqual([2, 3]);
    expect(Object.isFrozen(t.shape)).toBe(true);
    expect(t.size).toBe(6);
    expect(t.rank).toBe(2);
    expect(t.strides).toEqual([3, 1]);
  });

  it('infers each dtype from its typed array', () => {
    expect(dtypeOf(new Float32Array(1))).toBe('float32');
    expect(dtypeOf(new Float64Array(1))).toBe('float64');
    expect(dtypeOf(new Int32Array(1))).toBe('int32');
    expect(dtypeOf(new BigInt64Array(1))).toBe('int64');
    expect(dtypeOf(new Uint8Array(1))).toBe('uint8');
    expect(Tensor.from(new Uint8Array([1, 0]), [2], 'bool').dtype).toBe('bool');
    expect(() => dtypeOf(new Int16Array(1) as never)).toThrow(InvalidInputError);
  });

  it('builds zeros, ones, full, arange for every dtype', () => {
    for (const dtype of ['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'] as const) {
      const z = Tensor.zeros([2, 2], dtype);
      expect(z.size).toBe(4);
      expect(z.get(1, 1)).toBe(0);
      expect(Tensor.ones([3], dtype).get(2)).toBe(1);
    }
    expect(Tensor.full([2], 7, 'int64').data).toEqual(new BigInt64Array([7n, 7n]));
    expect(Array.from(Tensor.arange(4, 'int32').data)).toEqual([0, 1, 2, 3]);
  });

  it('reads nested arrays and rejects ragged ones', () => {
    const t = Tensor.fromArray([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.get(1, 2)).toBe(6);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(Tensor.fromArray([true, false], 'bool').toArray()).toEqual([true, false]);
    expect(() => Tensor.fromArray([[1, 2], [3]])).toThrow(InvalidInputError);
  });

  it('checks that data length matches the shape', () => {
    expect(() => Tensor.from(new Float32Array(5), [2, 3])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, -1])).toThrow(InvalidInputError);
    expect(() => Tensor.zeros([1.5])).toThrow(InvalidInputError);
  });
});

describe('Tensor views and indexing', () => {
  const t = Tensor.from(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);

  it('reshapes with -1 and shares data', () => {
    const r = t.reshape([6, -1]);
    expect(r.shape).toEqual([6, 4]);
    expect(r.data).toBe(t.data);
    expect(() => t.reshape([5, -1])).toThrow(ShapeError);
    expect(() => t.reshape([-1, -1])).toThrow(InvalidInputError);
    expect(() => t.reshape([2, 2])).toThrow(ShapeError);
  });

  it('indexes with negative coordinates and bounds checks', () => {
    expect(t.get(1, 2, 3)).toBe(23);
    expect(t.get(-1, -1, -1)).toBe(23);
    expect(() => t.get(2, 0, 0)).toThrow(InvalidInputError);
    expect(() => t.get(0, 0)).toThrow(ShapeError);
    const c = t.clone();
    c.set([0, 0, 1], 100);
    expect(c.get(0, 0, 1)).toBe(100);
    expect(t.get(0, 0, 1)).toBe(1);
  });

  it('slices rows as views and gathers rows as copies', () => {
    const m = t.reshape([6, 4]);
    const rows = m.rows(2, 4);
    expect(rows.shape).toEqual([2, 4]);
    expect(rows.get(0, 0)).toBe(8);
    rows.data[0] = -1;
    expect(m.get(2, 0)).toBe(-1);
    m.data[8] = 8;
    expect(m.row(5).toArray()).toEqual([20, 21, 22, 23]);
    const g = m.gatherRows([5, 0]);
    expect(g.toArray()).toEqual([[20, 21, 22, 23], [0, 1, 2, 3]]);
    expect(() => m.rows(3, 7)).toThrow(InvalidInputError);
    expect(() => m.gatherRows([6])).toThrow(InvalidInputError);
  });

  it('converts dtypes', () => {
    const f = Tensor.fromArray([1.7, -2.2, 0]);
    expect(f.astype('int32').toArray()).toEqual([1, -2, 0]);
    expect(f.astype('int64').data).toEqual(new BigInt64Array([1n, -2n, 0n]));
    expect(f.astype('bool').toArray()).toEqual([true, true, false]);
    expect(Tensor.fromArray([3, 4], 'int64').astype('float64').toArray()).toEqual([3, 4]);
  });

  it('helpers compute sizes and strides', () => {
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeSize([])).toBe(1);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(allocate('int64', 3)).toBeInstanceOf(BigInt64Array);
  });
});

describe('Tensor interop', () => {
  it('round-trips through ndarray without copying', () => {
    const t = Tensor.from(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const nd = t.toNdarray();
    expect(nd.shape).toEqual([2, 3]);
    expect(nd.get(1, 2)).toBe(6);
    expect(nd.data).toBe(t.data);
    const back = Tensor.fromNdarray(nd);
    expect(back.data.buffer).toBe(t.data.buffer);
    expect(back.toArray()).toEqual(t.toArray());
  });

  it('copies non-contiguous ndarray views and shares offset views', () => {
    const base = ndarray(new Float64Array([0, 1, 2, 3, 4, 5]), [2, 3]);
    const transposed = base.transpose(1, 0);
    const t = Tensor.fromNdarray(transposed);
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([[0, 3], [1, 4], [2, 5]]);
    const lo = base.lo(1, 0);
    const row = Tensor.fromNdarray(lo);
    expect(row.toArray()).toEqual([[3, 4, 5]]);
    expect(row.data.buffer).toBe(base.data.buffer);
  });

  it('round-trips through onnxruntime tensors without copying', () => {
    for (const [dtype, data] of [
      ['float32', new Float32Array([1, 2])],
      ['float64', new Float64Array([1, 2])],
      ['int32', new Int32Array([1, 2])],
      ['int64', new BigInt64Array([1n, 2n])],
      ['uint8', new Uint8Array([1, 2])],
      ['bool', new Uint8Array([1, 0])],
    ] as const) {
      const t = Tensor.from(data, [2], dtype);
      const o = t.toOrt();
      expect(o.type).toBe(dtype);
      expect(o.dims).toEqual([2]);
      expect(o.data).toBe(data);
      const back = Tensor.fromOrt(o);
      expect(back.dtype).toBe(dtype);
      expect(back.data).toBe(data);
    }
    expect(() => Tensor.fromOrt(new ort.Tensor('string', ['a'], [1]))).toThrow(InvalidInputError);
  });

  it('round-trips through ml-matrix', () => {
    const t = Tensor.from(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const m = t.toMatrix();
    expect(m.rows).toBe(2);
    expect(m.columns).toBe(3);
    expect(m.get(1, 0)).toBe(4);
    const inv = new Matrix([[2, 0], [0, 4]]);
    expect(Tensor.fromMatrix(inv).toArray()).toEqual([[2, 0], [0, 4]]);
    expect(Tensor.fromMatrix(m, 'float32').dtype).toBe('float32');
    expect(() => Tensor.zeros([2]).toMatrix()).toThrow(ShapeError);
  });
});
