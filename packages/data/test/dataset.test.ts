import { InvalidInputError, InvalidOptionError, NonFiniteError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { EmbeddingDataset, ImageDataset, batchIndices, imagesToFloat, splitIndices, type EmbeddingDatasetInit, type ImageDatasetInit } from '../src/index.js';
import { randomImages } from './helpers.js';

describe('ImageDataset', () => {
  const images = randomImages(10, 3, 4, 5, 11);
  const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 2];
  const ds = new ImageDataset({ images, labels, classNames: ['a', 'b', 'c'], name: 'toy' });

  it('exposes its dimensions and evaluation-only labels', () => {
    expect(ds.length).toBe(10);
    expect(ds.imageShape).toEqual([3, 4, 5]);
    expect([ds.channels, ds.height, ds.width]).toEqual([3, 4, 5]);
    expect(Array.from(ds.labels!)).toEqual(labels);
    expect(ds.hints.horizontalFlip).toBe(true);
    expect(ds.normalization).toBeNull();
  });

  it('makes float batches on demand, scaled to [0, 1] without normalisation', () => {
    const b = ds.batch([7, 2]);
    expect(b.shape).toEqual([2, 3, 4, 5]);
    expect(b.dtype).toBe('float32');
    for (let i = 0; i < 60; i++) {
      expect(b.data[i]).toBeCloseTo(images.data[7 * 60 + i]! / 255, 6);
      expect(b.data[60 + i]).toBeCloseTo(images.data[2 * 60 + i]! / 255, 6);
    }
    expect(ds.batch().shape).toEqual([10, 3, 4, 5]);
  });

  it('normalises per channel with given mean and std', () => {
    const norm = { mean: [0.5, 0.25, 0], std: [0.5, 2, 0.1] };
    const n = ds.withNormalization(norm);
    expect(n.images).toBe(ds.images);
    const b = n.batch([3]);
    for (let k = 0; k < 3; k++) {
      for (let p = 0; p < 20; p++) {
        const raw = images.data[3 * 60 + k * 20 + p]! / 255;
        expect(b.data[k * 20 + p]).toBeCloseTo((raw - norm.mean[k]!) / norm.std[k]!, 5);
      }
    }
    expect(n.batch([3], { normalize: false }).data[0]).toBeCloseTo(images.data[180]! / 255, 6);
    expect(n.withNormalization(null).normalization).toBeNull();
  });

  it('computes channel statistics from the data; normalised data then has mean 0 and std 1', () => {
    const stats = ds.channelStats();
    for (let k = 0; k < 3; k++) {
      const vals: number[] = [];
      for (let i = 0; i < 10; i++) for (let p = 0; p < 20; p++) vals.push(images.data[i * 60 + k * 20 + p]! / 255);
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const std = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / vals.length);
      expect(stats.mean[k]).toBeCloseTo(mean, 10);
      expect(stats.std[k]).toBeCloseTo(std, 10);
    }
    const x = ds.withNormalization('data').batch();
    for (let k = 0; k < 3; k++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < 10; i++) for (let p = 0; p < 20; p++) {
        const v = x.data[i * 60 + k * 20 + p]!;
        s += v;
        s2 += v * v;
      }
      expect(s / 200).toBeCloseTo(0, 5);
      expect(s2 / 200).toBeCloseTo(1, 4);
    }
  });

  it('gives a flat channel std 1 rather than dividing by zero', () => {
    const flat = new ImageDataset({ images: new Tensor('uint8', new Uint8Array(2 * 1 * 2 * 2).fill(9), [2, 1, 2, 2]) });
    expect(flat.withNormalization('data').normalization).toEqual({ mean: [9 / 255], std: [1] });
  });

  it('stores float32 images as values in [0, 1]', () => {
    const f = new ImageDataset({ images: new Tensor('float32', Float32Array.from([0, 0.5, 1, 0.25]), [1, 1, 2, 2]) });
    expect(Array.from(f.batch([0]).data)).toEqual([0, 0.5, 1, 0.25]);
    expect(f.channelStats().mean[0]).toBeCloseTo(0.4375, 10);
  });

  it('converts raw (e.g. augmented) batches with its normalisation', () => {
    const n = ds.withNormalization({ mean: [0, 0, 0], std: [2, 2, 2] });
    const raw = n.raw([1, 1]);
    expect(raw.shape).toEqual([2, 3, 4, 5]);
    expect(raw.data).not.toBe(images.data);
    const f = n.toFloat(raw);
    expect(f.data[0]).toBeCloseTo(images.data[60]! / 255 / 2, 6);
    expect(() => n.toFloat(randomImages(1, 1, 4, 5, 1))).toThrow(ShapeError);
    expect(imagesToFloat(raw).data[0]).toBeCloseTo(images.data[60]! / 255, 6);
  });

  it('flattens into a matrix', () => {
    const m = ds.toMatrix();
    expect(m.shape).toEqual([10, 60]);
    expect(m.data[61]).toBeCloseTo(images.data[61]! / 255, 6);
  });

  it('takes subsets, slices and splits with labels following their images', () => {
    const sub = ds.subset([9, 0, 9]);
    expect(sub.length).toBe(3);
    expect(Array.from(sub.labels!)).toEqual([2, 0, 2]);
    expect(Array.from(sub.images.data.subarray(0, 60))).toEqual(Array.from(images.data.subarray(540, 600)));
    expect(sub.classNames).toEqual(['a', 'b', 'c']);
    const sl = ds.slice(2, 5);
    expect(sl.length).toBe(3);
    expect(sl.images.data.buffer).toBe(images.data.buffer);
    expect(Array.from(sl.labels!)).toEqual([2, 0, 1]);
    const [a, b] = ds.split(0.3, { seed: 4 });
    expect(a.length + b.length).toBe(10);
    expect(a.length).toBe(3);
    const [a2] = ds.split(0.3, { seed: 4 });
    expect(Array.from(a2.images.data)).toEqual(Array.from(a.images.data));
    const [first, rest] = ds.split(4, { shuffle: false });
    expect(Array.from(first.labels!)).toEqual(labels.slice(0, 4));
    expect(Array.from(rest.labels!)).toEqual(labels.slice(4));
  });

  it('concatenates datasets', () => {
    const both = ImageDataset.concat([ds.slice(0, 2), ds.slice(8)], 'joined');
    expect(both.length).toBe(4);
    expect(both.name).toBe('joined');
    expect(Array.from(both.labels!)).toEqual([0, 1, 2, 2]);
    expect(Array.from(both.images.data.subarray(120))).toEqual(Array.from(images.data.subarray(480)));
    const unlabelled = new ImageDataset({ images: randomImages(1, 3, 4, 5, 2) });
    expect(ImageDataset.concat([ds, unlabelled]).labels).toBeNull();
    expect(() => ImageDataset.concat([ds, new ImageDataset({ images: randomImages(1, 1, 4, 5, 2) })])).toThrow(ShapeError);
    expect(() => ImageDataset.concat([])).toThrow(InvalidInputError);
  });

  it('rejects invalid construction one case at a time', () => {
    expect(() => new ImageDataset({ images: new Tensor('uint8', new Uint8Array(20), [1, 20]) })).toThrow(ShapeError);
    expect(() => new ImageDataset({ images: new Tensor('int32', new Int32Array(4), [1, 1, 2, 2]) as unknown as Tensor<'uint8'> })).toThrow(InvalidInputError);
    expect(() => new ImageDataset({ images: new Tensor('uint8', new Uint8Array(0), [0, 1, 2, 2]) })).toThrow(/empty/);
    expect(() => new ImageDataset({ images: new Float32Array(4) as unknown as Tensor<'uint8'> })).toThrow(InvalidInputError);
    expect(() => new ImageDataset({ images, labels: [1, 2] })).toThrow(ShapeError);
    expect(() => new ImageDataset({ images, labels: labels.map((l) => l + 0.5) })).toThrow(/integers/);
    expect(() => new ImageDataset({ images, labels, classNames: ['a', 'b'] })).toThrow(/labels go up to 2/);
    expect(() => new ImageDataset({ images, normalization: { mean: [0, 0], std: [1, 1] } })).toThrow(/3 finite numbers/);
    expect(() => new ImageDataset({ images, normalization: { mean: [0, 0, 0], std: [1, 0, 1] } })).toThrow(/std must be > 0/);
    expect(() => new ImageDataset(null as unknown as { images: Tensor<'uint8'> })).toThrow(InvalidInputError);
  });

  it('rejects unknown or meaningless construction options instead of ignoring them', () => {
    expect(() => new ImageDataset({ images, normalisation: { mean: [0, 0, 0], std: [1, 1, 1] } } as object as ImageDatasetInit)).toThrow(UnknownOptionError);
    expect(() => new ImageDataset({ images, lables: labels } as object as ImageDatasetInit)).toThrow(/Did you mean 'labels'/);
    expect(() => new ImageDataset({ images, hints: { horizontalflip: false } } as object as ImageDatasetInit)).toThrow(UnknownOptionError);
    expect(() => new ImageDataset({ images, hints: { horizontalFlip: 'no' } } as object as ImageDatasetInit)).toThrow(InvalidOptionError);
    expect(() => new ImageDataset({ images, hints: false } as object as ImageDatasetInit)).toThrow(InvalidOptionError);
    expect(() => new ImageDataset({ images, name: 7 } as object as ImageDatasetInit)).toThrow(InvalidOptionError);
    expect(() => new ImageDataset({ images, sources: 'a.png' } as object as ImageDatasetInit)).toThrow(InvalidOptionError);
    // Every key the dataset itself passes on (subset, withNormalization, concat) stays valid.
    const full = new ImageDataset({ images, labels, classNames: ['a', 'b', 'c'], name: 'n', normalization: { mean: [0, 0, 0], std: [1, 1, 1] }, hints: { horizontalFlip: false }, sources: ['x'] });
    expect(full.subset([1]).hints.horizontalFlip).toBe(false);
    expect(ImageDataset.concat([full, full.withNormalization('data')]).length).toBe(20);
  });

  it('rejects invalid indices, ranges and options', () => {
    expect(() => ds.batch([10])).toThrow(/outside \[0, 10\)/);
    expect(() => ds.batch([-1])).toThrow(InvalidInputError);
    expect(() => ds.batch([1.5])).toThrow(InvalidInputError);
    expect(() => ds.subset(5 as unknown as number[])).toThrow(InvalidInputError);
    expect(() => ds.slice(4, 2)).toThrow(InvalidInputError);
    expect(() => ds.slice(3, 3)).toThrow(/empty/);
    expect(() => ds.slice(0, 11)).toThrow(InvalidInputError);
    expect(() => ds.batch([0], { normalise: true } as object)).toThrow(UnknownOptionError);
    expect(() => ds.split(0)).toThrow(InvalidOptionError);
    expect(() => ds.split(10)).toThrow(InvalidOptionError);
    expect(() => ds.split(1.5)).toThrow(InvalidOptionError);
    expect(() => ds.split(0.5, { seed: -1 })).toThrow(InvalidOptionError);
    expect(() => ds.withNormalization('auto' as 'data')).toThrow(InvalidOptionError);
  });
});

describe('EmbeddingDataset', () => {
  const features = new Tensor('float32', Float32Array.from({ length: 12 }, (_, i) => i / 2), [4, 3]);
  const ds = new EmbeddingDataset({ features, labels: [1, 0, 1, 0] });

  it('holds [N, D] float32 features with batches, subsets, slices and splits', () => {
    expect([ds.length, ds.dim]).toEqual([4, 3]);
    expect(Array.from(ds.batch([2]).data)).toEqual([3, 3.5, 4]);
    expect(Array.from(ds.subset([3, 0]).labels!)).toEqual([0, 1]);
    expect(ds.slice(1).features.data.buffer).toBe(features.data.buffer);
    const [a, b] = ds.split(0.5, { seed: 1 });
    expect(a.length + b.length).toBe(4);
    const f64 = new EmbeddingDataset({ features: new Tensor('float64', Float64Array.from([1, 2]), [1, 2]) });
    expect(f64.features.dtype).toBe('float32');
  });

  it('rejects invalid features and labels', () => {
    expect(() => new EmbeddingDataset({ features: new Tensor('float32', new Float32Array(3), [3]) })).toThrow(ShapeError);
    expect(() => new EmbeddingDataset({ features: new Tensor('float32', Float32Array.from([1, NaN]), [1, 2]) })).toThrow(NonFiniteError);
    expect(() => new EmbeddingDataset({ features, labels: [1] })).toThrow(ShapeError);
    expect(() => ds.batch([4])).toThrow(InvalidInputError);
  });

  it('rejects unknown construction options instead of ignoring them', () => {
    expect(() => new EmbeddingDataset({ features, label: [1, 0, 1, 0] } as object as EmbeddingDatasetInit)).toThrow(UnknownOptionError);
    expect(() => new EmbeddingDataset({ features, normalization: null } as object as EmbeddingDatasetInit)).toThrow(UnknownOptionError);
    expect(() => new EmbeddingDataset({ features, name: 3 } as object as EmbeddingDatasetInit)).toThrow(InvalidOptionError);
    expect(new EmbeddingDataset({ features, labels: [1, 0, 1, 0], classNames: ['a', 'b'], name: 'e', sources: ['f.npy'] }).subset([0]).name).toBe('e');
  });

  it('rejects float64 features that overflow float32, naming the value', () => {
    const big = new Tensor('float64', Float64Array.from([1, 2, 1e39, 4]), [2, 2]);
    expect(() => new EmbeddingDataset({ features: big })).toThrow(InvalidInputError);
    expect(() => new EmbeddingDataset({ features: big })).toThrow(/1e\+39 at flat index 2 is outside the float32 range/);
    expect(() => new EmbeddingDataset({ features: new Tensor('float64', Float64Array.from([-1e39, 0]), [1, 2]) })).toThrow(/-1e\+39 at flat index 0/);
    // The largest float32 itself, and values that round down to it, are kept.
    const edge = new EmbeddingDataset({ features: new Tensor('float64', Float64Array.from([3.4028234663852886e38, -3.40282350e38]), [1, 2]) });
    expect(Array.from(edge.features.data).every(Number.isFinite)).toBe(true);
  });
});

describe('index helpers', () => {
  it('batches one epoch, shuffled and seeded', () => {
    const b = batchIndices(10, 4, { seed: 3 });
    expect(b.map((x) => x.length)).toEqual([4, 4, 2]);
    expect(Array.from(b.flatMap((x) => Array.from(x))).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batchIndices(10, 4, { seed: 3 })).toEqual(b);
    expect(batchIndices(10, 4, { seed: 4 })).not.toEqual(b);
    expect(batchIndices(10, 4, { shuffle: false, last: 'drop' }).map((x) => Array.from(x))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(Array.from(batchIndices(10, 4, { shuffle: false, last: 'wrap' })[2]!)).toEqual([8, 9, 0, 1]);
    expect(batchIndices(3, 4, { last: 'drop' })).toEqual([]);
  });

  it('splits into two sorted disjoint parts', () => {
    const [a, b] = splitIndices(7, 3, { seed: 9 });
    expect(a.length).toBe(3);
    expect(new Set([...a, ...b]).size).toBe(7);
    expect(Array.from(a)).toEqual(Array.from(a).sort((x, y) => x - y));
  });

  it('rejects invalid arguments', () => {
    expect(() => batchIndices(0, 4)).toThrow(InvalidOptionError);
    expect(() => batchIndices(5, 0)).toThrow(InvalidOptionError);
    expect(() => batchIndices(5, 2, { last: 'pad' as 'drop' })).toThrow(InvalidOptionError);
    expect(() => batchIndices(5, 2, { shufle: true } as object)).toThrow(UnknownOptionError);
    expect(() => splitIndices(1, 0.5)).toThrow(InvalidInputError);
  });
});
