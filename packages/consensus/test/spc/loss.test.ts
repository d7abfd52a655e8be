/**
 * SPC's member loss (Eq. 2 with weighted targets): with confidence 0 it is the mean reconstruction error, with
 * confidence 1 it is the weighted cross-entropy against the targets. One optimizer step over the whole set
 * reports the loss at the initial weights, which the same seed makes identical across trainers.
 */
import { Tensor } from '@dc/core';
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
