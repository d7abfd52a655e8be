import { InvalidInputError, Rng, ShapeError, Tensor } from '@dc/core';
import { EmbeddingDataset, ImageDataset } from '@dc/data';
import { dataSource, transformInputs } from '@dc/robust-refine';

function images(n: number): Tensor<'uint8'> {
  const t = Tensor.zeros([n, 1, 8, 8], 'uint8');
  const rng = new Rng(1);
  for (let i = 0; i < t.data.length; i++) t.data[i] = rng.int(256);
  return t;
}

describe('dataSource', () => {
  it('gives images as the dataset batches them, with weak and strong views of the same shape', () => {
    const raw = images(6);
    const ds = new ImageDataset({ images: raw, normalization: { mean: [0.5], std: [0.25] } });
    const s = dataSource(ds);
    expect(s.kind).toBe('images');
    expect(s.rowShape).toEqual([1, 8, 8]);
    const plain = s.plain([2, 0]);
    expect(plain.shape).toEqual([2, 1, 8, 8]);
    expect(plain.data[0]).toBeCloseTo((raw.data[2 * 64]! / 255 - 0.5) / 0.25, 5);
    const rng = new Rng(3);
    expect(s.weak([0, 1, 2], rng).shape).toEqual([3, 1, 8, 8]);
    expect(s.strong([0, 1, 2], rng).shape).toEqual([3, 1, 8, 8]);
    // the same stream gives the same views
    expect(Array.from(s.strong([4, 5], new Rng(9)).data)).toEqual(Array.from(s.strong([4, 5], new Rng(9)).data));
    // a plain tensor of images has no normalisation: pixels in [0, 1]
    const t = dataSource(raw);
    expect(t.plain([1]).data[0]).toBeCloseTo(raw.data[64]! / 255, 6);
  });

  it('uses custom augmentations and checks what they return', () => {
    const raw = images(4);
    const flip = (rows: Tensor) => {
      const out = rows.clone();
      (out.data as Uint8Array).reverse();
      return out;
    };
    const s = dataSource(raw, { weak: flip });
    expect(s.weak([0], new Rng(1)).data[0]).toBeCloseTo(raw.data[63]! / 255, 6);
    const bad = dataSource(raw, { strong: () => Tensor.zeros([1, 1, 4, 4], 'uint8') });
    expect(() => bad.strong([0], new Rng(1))).toThrow(ShapeError);
  });

  it('makes feature-space views of embeddings: weak noise at 0.1 of each feature spread', () => {
    const rng = new Rng(2);
    const x = Tensor.zeros([2000, 2]);
    for (let i = 0; i < 2000; i++) {
      x.data[i * 2] = rng.normal() * 3;
      x.data[i * 2 + 1] = rng.normal() * 0.5;
    }
    const s = dataSource(new EmbeddingDataset({ features: x }));
    expect(s.kind).toBe('embeddings');
    const idx = Int32Array.from({ length: 2000 }, (_, i) => i);
    const w = s.weak(idx, new Rng(5));
    let d0 = 0;
    let d1 = 0;
    for (let i = 0; i < 2000; i++) {
      d0 += (w.data[i * 2]! - x.data[i * 2]!) ** 2;
      d1 += (w.data[i * 2 + 1]! - x.data[i * 2 + 1]!) ** 2;
    }
    expect(Math.sqrt(d0 / 2000)).toBeCloseTo(0.3, 1);
    expect(Math.sqrt(d1 / 2000)).toBeCloseTo(0.05, 2);
    expect(s.strong(idx, new Rng(5)).shape).toEqual([2000, 2]);
  });

  it('rejects other inputs', () => {
    expect(() => dataSource(Tensor.zeros([3]))).toThrow(ShapeError);
    expect(() => dataSource({} as never)).toThrow(InvalidInputError);
  });
});

describe('transformInputs', () => {
  it('checks new data against what the model was fitted on', () => {
    const s = dataSource(images(2));
    expect(transformInputs(images(3), s.transform).shape).toEqual([3, 1, 8, 8]);
    expect(() => transformInputs(Tensor.zeros([3, 1, 6, 6], 'uint8'), s.transform)).toThrow(ShapeError);
    expect(() => transformInputs(Tensor.zeros([3, 64]), s.transform)).toThrow(InvalidInputError);
    const e = dataSource(Tensor.zeros([5, 4]));
    expect(() => transformInputs(Tensor.zeros([3, 5]), e.transform)).toThrow(ShapeError);
    expect(() => transformInputs(images(3), e.transform)).toThrow(InvalidInputError);
  });
});
