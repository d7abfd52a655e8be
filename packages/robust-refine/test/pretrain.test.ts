import { InvalidInputError, InvalidOptionError, Rng, Tensor, UnknownOptionError, disposeSharedRuntimes } from '@dc/core';
import { ImageDataset } from '@dc/data';
import { fitRuc, initialStates, pretrainEncoder, smallMlp, type PretrainEncoderOptions, type PretrainedEncoder } from '@dc/robust-refine';
import { pretrainSubset } from '../src/pretrain';

afterAll(() => disposeSharedRuntimes());

/** Grey 16x16 images: a bright square at one of four places, with pixel noise. */
function squares(n: number, seed: number, noise = 20): ImageDataset {
  const s = 16;
  const rng = new Rng(seed);
  const img = new Uint8Array(n * s * s);
  for (let i = 0; i < n; i++) {
    const oy = (i % 2) * 8;
    const ox = (Math.floor(i / 2) % 2) * 8;
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const on = y >= oy + 2 && y < oy + 6 && x >= ox + 2 && x < ox + 6;
        img[i * s * s + y * s + x] = Math.max(0, Math.min(255, Math.round((on ? 220 : 30) + noise * rng.normal())));
      }
    }
  }
  return new ImageDataset({ images: new Tensor('uint8', img, [n, 1, s, s]), hints: { horizontalFlip: false } });
}

const SMALL = { latentDim: 6, baseChannels: 4, epochs: 8, batchSize: 16, lr: 1e-2, threads: 1 };

describe('independent random streams', () => {
  it("the subset is not drawn from the numbers that start the trainer's weights", () => {
    // The Trainer's weights come from the start of Rng(seed); the old subset came from there too.
    const chosen = pretrainSubset(1000, 50, 7);
    expect(Array.from(chosen)).not.toEqual(Array.from(new Rng(7).choice(1000, 50)));
    expect(Array.from(pretrainSubset(1000, 50, 7))).toEqual(Array.from(chosen));
    expect(new Set(chosen).size).toBe(50);
  });

  it("initial states from a forked generator do not reuse the parent's next fork (fitRuc's calibration stream)", () => {
    const model = smallMlp(8, 4).module;
    const root = new Rng(5);
    const initRng = root.fork();
    const [first, second] = initialStates(model, 2, initRng);
    const sibling = model.init(root.fork());
    for (const state of [first!, second!]) {
      const same = [...state.parameters].every(([name, t]) => Array.from(t.data).join() === Array.from(sibling.parameters.get(name)!.data).join());
      expect(same).toBe(false);
    }
    expect(Array.from(first!.parameters.values())[0]!.data).not.toEqual(Array.from(second!.parameters.values())[0]!.data);
  });
});

/**
 * Pretrains with `options` and seeds 3 and 4: checks the embedding's shape and values, that seed 3 repeats itself
 * to the bit and that seed 4 differs. Returns seed 3's encoder.
 */
async function pretrainSeeded(ds: ImageDataset, options: PretrainEncoderOptions, dim: number): Promise<PretrainedEncoder> {
  const a = await pretrainEncoder(ds, { ...options, seed: 3 });
  const fa = await a.embed();
  expect(fa.shape).toEqual([ds.length, dim]);
  expect(fa.data.every(Number.isFinite)).toBe(true);
  const b = await pretrainEncoder(ds, { ...options, seed: 3 });
  expect(Array.from((await b.embed()).data)).toEqual(Array.from(fa.data));
  const c = await pretrainEncoder(ds, { ...options, seed: 4 });
  expect(Array.from((await c.embed()).data)).not.toEqual(Array.from(fa.data));
  return a;
}

/**
 * Grey 16x16 images of three textures at a random phase: horizontal stripes, vertical stripes, and a checkerboard.
 * Crops and horizontal flips keep each texture what it is, so SimCLR's views of an image stay of its kind.
 */
function textures(n: number, seed: number): { ds: ImageDataset; kind: Int32Array } {
  const s = 16;
  const rng = new Rng(seed);
  const img = new Uint8Array(n * s * s);
  const kind = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    kind[i] = i % 3;
    const phase = rng.int(4);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const band = (v: number) => Math.floor((v + phase) / 2) % 2;
        const on = kind[i] === 0 ? band(y) : kind[i] === 1 ? band(x) : band(x) ^ band(y);
        img[i * s * s + y * s + x] = Math.max(0, Math.min(255, Math.round((on ? 200 : 50) + 15 * rng.normal())));
      }
    }
  }
  return { ds: new ImageDataset({ images: new Tensor('uint8', img, [n, 1, s, s]) }), kind };
}

const SIMCLR = { method: 'simclr' as const, latentDim: 8, baseChannels: 4, epochs: 6, batchSize: 32, lr: 1e-2, projectionDim: 8, threads: 1 };

describe('pretrainEncoder with SimCLR', () => {
  it('lowers NT-Xent, repeats itself for a seed, and keeps the encoder alone', async () => {
    const { ds } = textures(96, 4);
    const a = await pretrainSeeded(ds, SIMCLR, 8);
    expect(a.losses).toHaveLength(6);
    // NT-Xent over 2 x 32 views starts near log(63) = 4.14 for an untrained encoder.
    expect(a.losses[0]!).toBeGreaterThan(3.5);
    expect(a.losses.at(-1)!).toBeLessThan(a.losses[0]! - 0.5);
    // Only the encoder is kept: no projection-head weights, names relative to the encoder.
    for (const name of a.encoder.state.parameters.keys()) {
      expect(name.startsWith('backbone.') || name.startsWith('head.')).toBe(false);
    }
    expect(a.encoder.outputDim).toBe(8);
  }, 60_000);

  it('starts both RUC networks', async () => {
    const { ds, kind } = textures(48, 5);
    const pre = await pretrainEncoder(ds, { ...SIMCLR, epochs: 2, seed: 2 });
    const r = await fitRuc(ds, kind, { encoder: pre.encoder, embeddings: await pre.embed(), k: 5, epochs: 1, batchSize: 8, seed: 1, threads: 1 });
    expect(r.labels).toHaveLength(48);
    for (const name of pre.encoder.state.parameters.keys()) expect(r.states[0]!.parameters.has(`backbone.${name}`)).toBe(true);
  }, 60_000);
});

describe('pretrainEncoder', () => {
  it('rejects embeddings, unknown options and out-of-range values', async () => {
    const ds = squares(8, 1);
    await expect(pretrainEncoder(Tensor.zeros([10, 4]))).rejects.toThrow(InvalidInputError);
    await expect(pretrainEncoder(ds, { latentSize: 4 } as never)).rejects.toThrow(UnknownOptionError);
    await expect(pretrainEncoder(ds, { epochs: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { lr: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { subset: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { method: 'byol' as never })).rejects.toThrow(InvalidOptionError);
    // SimCLR's own options are refused with the autoencoder rather than ignored.
    await expect(pretrainEncoder(ds, { temperature: 0.5 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { method: 'autoencoder', cropScale: [0.5, 1] })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { projectionDim: 8 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { method: 'simclr', temperature: 0 })).rejects.toThrow(InvalidOptionError);
    for (const cropScale of [[0, 1], [0.6, 0.5], [0.5, 1.2], [0.5], [Number.NaN, 1]]) {
      await expect(pretrainEncoder(ds, { method: 'simclr', cropScale: cropScale as never })).rejects.toThrow(InvalidOptionError);
    }
    await expect(pretrainEncoder(ds, { method: 'simclr', projectionDim: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(ds, { method: 'simclr', batchSize: 1 })).rejects.toThrow(InvalidOptionError);
    await expect(pretrainEncoder(squares(1, 1), { method: 'simclr' })).rejects.toThrow(InvalidOptionError);
  });

  it('learns to reconstruct, repeats itself for a seed, and embeds the data or new images', async () => {
    const ds = squares(96, 2);
    const a = await pretrainSeeded(ds, SMALL, 6);
    expect(a.losses).toHaveLength(8);
    expect(a.losses[7]!).toBeLessThan(0.5 * a.losses[0]!);
    // New images of the same shape are encoded as the training images were; another shape is refused.
    expect((await a.embed(squares(10, 9))).shape).toEqual([10, 6]);
    await expect(a.embed(Tensor.zeros([3, 1, 8, 8]))).rejects.toThrow();
    // The weights are named as the encoder's own, ready for fitRuc.
    for (const name of a.encoder.state.parameters.keys()) expect(name.startsWith('encoder.')).toBe(false);
  }, 60_000);

  it('reconstructs normalised images (values outside [0, 1]) through a linear output', async () => {
    const ds = squares(96, 2, 0).withNormalization('data');
    const x = ds.batch();
    // An output in [0, 1] (a sigmoid) errs by at least |v| on every negative target v.
    const sigmoidFloor = x.data.reduce((s, v) => s + Math.min(v, 0) ** 2, 0) / x.size;
    expect(sigmoidFloor).toBeGreaterThan(0.01);
    const a = await pretrainEncoder(ds, { ...SMALL, epochs: 12, seed: 3 });
    expect(a.losses.at(-1)!).toBeLessThan(0.5 * sigmoidFloor);
  }, 60_000);

  it('trains on a seeded subset and still embeds every image', async () => {
    const ds = squares(96, 5);
    const sub = await pretrainEncoder(ds, { ...SMALL, epochs: 1, subset: 40, seed: 1 });
    expect((await sub.embed()).shape).toEqual([96, 6]);
    const whole = await pretrainEncoder(ds, { ...SMALL, epochs: 1, seed: 1 });
    expect(Array.from((await sub.embed()).data)).not.toEqual(Array.from((await whole.embed()).data));
  }, 60_000);

  it('starts both RUC networks, with its embeddings as the metric strategy\'s', async () => {
    const ds = squares(64, 7);
    const pre = await pretrainEncoder(ds, { ...SMALL, seed: 2 });
    const labels = Int32Array.from({ length: 64 }, (_, i) => i % 4);
    const r = await fitRuc(ds, labels, { encoder: pre.encoder, embeddings: await pre.embed(), k: 5, epochs: 1, batchSize: 8, seed: 1, threads: 1 });
    expect(r.labels).toHaveLength(64);
    // The backbone kept the encoder's architecture: its weights are the encoder's names under 'backbone.'.
    for (const name of pre.encoder.state.parameters.keys()) expect(r.states[0]!.parameters.has(`backbone.${name}`)).toBe(true);
  }, 60_000);
});
