/**
 * SPC's member loss (Eq. 2 with weighted targets): with confidence 0 it is the mean reconstruction error, with
 * confidence 1 it is the weighted cross-entropy against the targets. One optimizer step over the whole set
 * reports the loss at the initial weights, which the same seed makes identical across trainers.
 */
import { Rng, Tensor } from '@dc/core';
import { Trainer, sgd } from '@dc/nn';
import { trainingData } from '../../src/spc/data';
import { spcLoss } from '../../src/spc/loss';
import { SpcNetwork } from '../../src/spc/network';

const N = 16;
const K = 3;
const images = new Tensor('float32', Float32Array.from({ length: N * 16 * 16 }, (_, i) => ((i * 7919) % 101) / 100), [N, 1, 16, 16]);
const config = { inputShape: [1, 16, 16] as const, latentDim: 4, baseChannels: 4, headHidden: 5, nClusters: K, latentNoise: 0.45, negativeSlope: 0.3 };

async function firstStep(confidence: number, weight: number): Promise<{ loss: number; metrics: Record<string, number> }> {
  const votes = new Float32Array(N * K);
  for (let i = 0; i < N; i++) votes[i * K + (i % K)] = confidence > 0 ? 1 : 0;
  const data = trainingData(images, votes, new Float32Array(N).fill(confidence));
  const trainer = new Trainer({ model: new SpcNetwork(config), loss: spcLoss(weight), optimizer: sgd({ lr: 0.01 }), seed: 3, threads: 1 });
  let out = { loss: NaN, metrics: {} as Record<string, number> };
  try {
    await trainer.fit(data, { epochs: 1, batchSize: N, onProgress: (e) => { if (e.type === 'epoch') out = { loss: e.loss, metrics: e.metrics as Record<string, number> }; } });
  } finally {
    await trainer.dispose();
  }
  return out;
}

describe('spcLoss', () => {
  it('with confidence 0 is the mean per-pixel reconstruction error', async () => {
    const r = await firstStep(0, 1);
    expect(r.loss).toBeGreaterThan(0);
    expect(r.loss).toBeCloseTo(r.metrics.reconstruction!, 6);
    expect(r.metrics.confidence).toBe(0);
  }, 30_000);

  it('with confidence 1 is the cross-entropy against the targets, scaled by crossEntropyWeight', async () => {
    const one = await firstStep(1, 1);
    const scaled = await firstStep(1, 2.5);
    expect(one.metrics.confidence).toBe(1);
    // An untrained head is near uniform: cross-entropy near ln K.
    expect(one.metrics.cross_entropy).toBeGreaterThan(0.5 * Math.log(K));
    expect(one.loss).toBeCloseTo(one.metrics.cross_entropy!, 5);
    expect(scaled.metrics.cross_entropy).toBeCloseTo(one.metrics.cross_entropy!, 5);
    expect(scaled.loss).toBeCloseTo(2.5 * one.loss, 5);
  }, 30_000);
});

describe('trainingData with shift augmentation', () => {
  const votes = new Float32Array(N * K);
  const confidence = new Float32Array(N);
  const indices = Int32Array.from([3, 0, 7, 7]);
  const row = (t: Tensor<'float32'>, i: number) => Array.from(t.data.subarray(i * 256, (i + 1) * 256));
  /** Image `r` of `images` shifted by (dx, dy) with zero fill. */
  const shifted = (r: number, dx: number, dy: number) =>
    Array.from({ length: 256 }, (_, p) => {
      const [y, x] = [Math.floor(p / 16) - dy, (p % 16) - dx];
      return x < 0 || x >= 16 || y < 0 || y >= 16 ? 0 : images.data[r * 256 + y * 16 + x]!;
    });

  it('gives every row a shifted copy of its image, drawn from the batch generator', async () => {
    const data = trainingData(images, votes, confidence, { padding: 2, flip: false });
    const a = (await data.batch(indices, new Rng(5))).x as Tensor<'float32'>;
    const b = (await data.batch(indices, new Rng(5))).x as Tensor<'float32'>;
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    const shifts: [number, number][] = [];
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) shifts.push([dx, dy]);
    let moved = 0;
    indices.forEach((r, i) => {
      const got = row(a, i);
      const match = shifts.find(([dx, dy]) => {
        const want = shifted(r, dx, dy);
        return got.every((v, p) => v === Math.fround(want[p]!));
      });
      expect(match).toBeDefined();
      if (match![0] !== 0 || match![1] !== 0) moved++;
    });
    expect(moved).toBeGreaterThan(0);
    const c = (await data.batch(indices, new Rng(6))).x as Tensor<'float32'>;
    expect(Array.from(c.data)).not.toEqual(Array.from(a.data));
  });

  it('leaves the images as given without augmentation, whatever the generator', async () => {
    const data = trainingData(images, votes, confidence);
    const a = (await data.batch(indices, new Rng(5))).x as Tensor<'float32'>;
    indices.forEach((r, i) => expect(row(a, i)).toEqual(row(images, r)));
  });
});
