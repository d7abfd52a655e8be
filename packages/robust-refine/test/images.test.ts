import { Rng, Tensor, disposeSharedRuntimes } from '@dc/core';
import { ImageDataset } from '@dc/data';
import { ConvEncoder, predict, type Module } from '@dc/nn';
import { classifier, fitRuc, initialStates, transformInputs } from '@dc/robust-refine';
import { accuracy } from './blobs';

afterAll(() => disposeSharedRuntimes());

/** Grey 10x10 images of three shapes (horizontal bar, vertical bar, disk) with a random offset and pixel noise. */
function shapes(n: number, seed: number): { ds: ImageDataset; truth: Int32Array; noisy: Int32Array } {
  const s = 10;
  const rng = new Rng(seed);
  const img = new Uint8Array(n * s * s);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    truth[i] = c;
    const dy = rng.int(3) - 1;
    const dx = rng.int(3) - 1;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const on = c === 0 ? Math.abs(y - 5 - dy) <= 1 : c === 1 ? Math.abs(x - 5 - dx) <= 1 : (x - 5 - dx) ** 2 + (y - 5 - dy) ** 2 <= 6;
        img[i * s * s + y * s + x] = Math.max(0, Math.min(255, Math.round((on ? 200 : 40) + 25 * rng.normal())));
      }
    }
  }
  const noisy = truth.slice();
  for (const i of rng.choice(n, Math.round(0.3 * n))) noisy[i] = (truth[i]! + 1 + rng.int(2)) % 3;
  return { ds: new ImageDataset({ images: new Tensor('uint8', img, [n, 1, s, s]), hints: { horizontalFlip: false } }), truth, noisy };
}

describe('fitRuc on images', () => {
  it('recovers the shapes from 30% corrupted labels with the default CNN and RandAugment', async () => {
    const { ds, truth, noisy } = shapes(300, 5);
    const r = await fitRuc(ds, noisy, { epochs: 6, batchSize: 24, width: 8, seed: 2, embeddings: ds.toMatrix(), k: 10, threads: 1 });
    expect(accuracy(noisy, truth)).toBeCloseTo(0.7, 2);
    expect(accuracy(r.labels, truth)).toBeGreaterThan(0.9);
  }, 60_000);

  it('re-estimates BatchNorm statistics on plain images before labelling them, and only then', async () => {
    const { ds, noisy } = shapes(300, 6);
    const options = { epochs: 1, batchSize: 24, width: 8, seed: 4, embeddings: ds.toMatrix(), k: 10, threads: 1 };
    const on = await fitRuc(ds, noisy, options);
    const off = await fitRuc(ds, noisy, { ...options, recalibrateBatchNorm: false });
    // Training never reads running statistics: one epoch gives the same weights either way.
    for (const [name, t] of off.states[0]!.parameters) expect(Array.from(on.states[0]!.parameters.get(name)!.data)).toEqual(Array.from(t.data));
    // The first BatchNorm's running mean is now the mean of the first convolution's output on plain images
    // (estimated from 256 of the 300), not the statistics of the mixed and RandAugment-ed training batches.
    const conv = (await predict(on.model as Module<never[], unknown>, on.states[0]!, transformInputs(ds, on.transform), { module: 'backbone.0' })).output!;
    const [n, ch] = conv.shape as [number, number];
    const spatial = conv.rowSize / ch;
    const plainMean = Array.from({ length: ch }, (_, c) => {
      let s = 0;
      for (let i = 0; i < n; i++) for (let p = 0; p < spatial; p++) s += conv.data[(i * ch + c) * spatial + p]!;
      return s / (n * spatial);
    });
    const gap = (m: ArrayLike<number>) => Math.max(...plainMean.map((v, c) => Math.abs(v - m[c]!))) / Math.max(...plainMean.map(Math.abs));
    expect(gap(on.states[0]!.buffers.get('backbone.1.running_mean')!.data)).toBeLessThan(0.01);
    expect(gap(off.states[0]!.buffers.get('backbone.1.running_mean')!.data)).toBeGreaterThan(0.05);
  }, 60_000);

  it('starts both networks from a pretrained encoder with their own new heads', () => {
    const encoder = new ConvEncoder({ inputShape: [1, 10, 10], latentDim: 6, baseChannels: 4 });
    const pretrained = encoder.init(42);
    const model = classifier(encoder, 6, 3);
    const [a, b] = initialStates(model, 2, new Rng(1), pretrained);
    for (const [name, t] of pretrained.parameters) {
      expect(Array.from(a!.parameters.get(`backbone.${name}`)!.data)).toEqual(Array.from(t.data));
      expect(Array.from(b!.parameters.get(`backbone.${name}`)!.data)).toEqual(Array.from(t.data));
      // copies, not shared buffers
      expect(a!.parameters.get(`backbone.${name}`)!.data).not.toBe(t.data);
    }
    expect(Array.from(a!.parameters.get('head.weight')!.data)).not.toEqual(Array.from(b!.parameters.get('head.weight')!.data));
    const wrong = new ConvEncoder({ inputShape: [1, 10, 10], latentDim: 5, baseChannels: 4 }).init(1);
    expect(() => initialStates(model, 1, new Rng(1), wrong)).toThrow(/shape/);
  });
});
