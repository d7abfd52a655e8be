/**
 * fitSpc rejects every bad input and option with a typed error before any training starts, and says which
 * members failed when no first clustering is usable.
 */
import { InvalidInputError, InvalidOptionError, NonFiniteError, Rng, ShapeError, Tensor, UnknownOptionError, disposeSharedRuntimes } from '@dc/core';
import { NoExactCutError, SpcNoClusteringError, fitSpc, type SpcOptions } from '@dc/consensus';
import { resolveOptions } from '../../src/spc/options';

afterAll(() => disposeSharedRuntimes());

const images = (n = 40, size = 8) => Tensor.zeros([n, 1, size, size]);
const ok: SpcOptions = { nClusters: 2, batchSize: 8, umap: { nNeighbors: 5 }, hdbscan: { minPts: 3 } };

async function rejects(input: unknown, options: unknown): Promise<unknown> {
  try {
    await fitSpc(input as Tensor, options as SpcOptions);
  } catch (e) {
    return e;
  }
  throw new Error('fitSpc accepted the input');
}

describe('fitSpc input checks', () => {
  it('rejects a non-tensor', async () => {
    const e = await rejects([[1, 2]], ok);
    expect(InvalidInputError.isInstance(e)).toBe(true);
    expect((e as InvalidInputError).argument).toBe('images');
  });

  it('accepts a dataset-like object but rejects one without an images tensor', async () => {
    const e = await rejects({ images: [1, 2, 3] }, ok);
    expect(InvalidInputError.isInstance(e)).toBe(true);
  });

  it('rejects a tensor that is not [N, C, H, W]', async () => {
    const e = await rejects(Tensor.zeros([40, 64]), ok);
    expect(ShapeError.isInstance(e)).toBe(true);
    expect((e as ShapeError).message).toContain("'images' must have shape [N, C, H, W]");
  });

  it('rejects images smaller than 2x2 pixels', async () => {
    expect(ShapeError.isInstance(await rejects(Tensor.zeros([40, 1, 1, 8]), ok))).toBe(true);
  });

  it('rejects an empty batch of images', async () => {
    expect(InvalidInputError.isInstance(await rejects(Tensor.zeros([0, 1, 8, 8]), ok))).toBe(true);
  });

  it('rejects integer dtypes other than uint8', async () => {
    const e = await rejects(Tensor.zeros([40, 1, 8, 8], 'int32'), ok);
    expect(InvalidInputError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('uint8 or float32');
  });

  it('rejects NaN and infinite pixels, naming the first one', async () => {
    const x = images();
    x.data[17] = NaN;
    const e = await rejects(x, ok);
    expect(NonFiniteError.isInstance(e)).toBe(true);
    expect((e as NonFiniteError).index).toBe(17);
    const y = images();
    y.data[3] = -Infinity;
    expect(NonFiniteError.isInstance(await rejects(y, ok))).toBe(true);
  });

  it('rejects float pixels outside [-1, 1] (the decoder ends in tanh)', async () => {
    const x = images();
    x.data[5] = 255;
    const e = await rejects(x, ok);
    expect(InvalidInputError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('[-1, 1]');
  });

  it('rejects too few images for nClusters clusters of the minimum size', async () => {
    const e = await rejects(images(40), { ...ok, nClusters: 4, hdbscan: { minPts: 3, minClusterSize: 11 } });
    expect(InvalidInputError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('cannot hold 4 clusters');
    // the Gaussian mixture has no minimum cluster size
    const gmm = resolveOptions({ nClusters: 4, clusterer: 'gmm', batchSize: 8, hdbscan: { minPts: 3, minClusterSize: 11 } }, 40, [28, 28]);
    expect(gmm.clusterer).toBe('gmm');
  });
});

describe('fitSpc without a usable first clustering', () => {
  it('throws SpcNoClusteringError with each member\'s reason', async () => {
    // 40 noise images: no level of the hierarchy holds exactly 2 clusters of at least 20 points each
    const rng = new Rng(5);
    const noise = Tensor.zeros([40, 1, 8, 8]);
    for (let i = 0; i < noise.data.length; i++) noise.data[i] = rng.uniform();
    const e = await rejects(noise, { ...ok, ensembleSize: 2, workers: 0, pretrainEpochs: 0, hdbscan: { minPts: 3, minClusterSize: 20 } });
    expect(SpcNoClusteringError.isInstance(e)).toBe(true);
    expect(NoExactCutError.isInstance(e)).toBe(false);
    const err = e as SpcNoClusteringError;
    expect(err.nClusters).toBe(2);
    expect(err.reasons).toHaveLength(2);
    expect(err.reasons.every((r) => r.length > 0)).toBe(true);
    expect(err.message).toContain('SPC cannot start');
  });
});

describe('fitSpc option checks', () => {
  it('needs an options object with nClusters', async () => {
    expect(InvalidOptionError.isInstance(await rejects(images(), undefined))).toBe(true);
    const e = await rejects(images(), {});
    expect(InvalidOptionError.isInstance(e)).toBe(true);
    expect((e as InvalidOptionError).option).toBe('nClusters');
  });

  it('rejects an unknown option with a suggestion', async () => {
    const e = await rejects(images(), { ...ok, ensembelSize: 3 });
    expect(UnknownOptionError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain("Did you mean 'ensembleSize'?");
  });

  const bad: [string, unknown][] = [
    ['nClusters', 1],
    ['nClusters', 2.5],
    ['nClusters', 21],
    ['ensembleSize', 0],
    ['ensembleSize', 65],
    ['latentDim', 1],
    ['latentNoise', -0.1],
    ['latentNoise', NaN],
    ['baseChannels', 0],
    ['headHidden', 0],
    ['clusterer', 'kmeans'],
    ['concatenatedMember', 'yes'],
    ['agreement', 'majority'],
    ['agreement', 0.5],
    ['agreement', 1.2],
    ['pseudoLabels', 'soft'],
    ['crossEntropyWeight', -1],
    ['crossEntropyWeight', Infinity],
    ['pretrainEpochs', -1],
    ['epochs', 0],
    ['maxRounds', 0],
    ['patience', 0],
    ['batchSize', 1],
    ['batchSize', 41],
    ['learningRate', 0],
    ['seed', -1],
    ['seed', 1.5],
    ['device', 'tpu'],
    ['threads', -1],
    ['workers', -1],
    ['workers', 65],
    ['onProgress', 'yes'],
    ['onRound', 42],
    ['checkpointDir', 7],
    ['umap', 'fast'],
    ['hdbscan', 3],
    ['augment', 'yes'],
    ['augment', 2],
  ];
  it.each(bad)('rejects %s = %p', async (option, value) => {
    const e = await rejects(images(), { ...ok, [option]: value });
    expect(InvalidOptionError.isInstance(e)).toBe(true);
    expect((e as InvalidOptionError).option).toBe(option);
    expect((e as Error).message).toMatch(new RegExp(`^The '${option}' parameter of fitSpc must be `));
  });

  // Nested option groups: each bad value names the option and the group; an unknown key is refused.
  // images() are 8x8, so a shift (augment.padding) must leave at least one pixel of the image.
  const nested: { group: 'umap' | 'hdbscan' | 'augment'; bad: [string, unknown][]; unknown: string }[] = [
    { group: 'umap', bad: [['nNeighbors', 1], ['nNeighbors', 40], ['minDist', -1], ['nComponents', 0], ['epochs', 0]], unknown: 'neighbours' },
    {
      group: 'hdbscan',
      bad: [['minPts', 1], ['minPts', 41], ['minClusterSize', 1], ['maxNoiseFraction', -0.1], ['maxNoiseFraction', 1.5], ['maxNoiseFraction', NaN]],
      unknown: 'min_samples',
    },
    { group: 'augment', bad: [['padding', -1], ['padding', 8], ['padding', 1.5], ['flip', 'yes'], ['pretrain', 1], ['rounds', 'no']], unknown: 'shift' },
  ];
  const badNested = nested.flatMap(({ group, bad }) => bad.map(([option, value]) => [group, option, value] as const));
  it.each(badNested)('rejects %s.%s = %p', async (group, option, value) => {
    const e = await rejects(images(), { ...ok, [group]: { [option]: value } });
    expect(InvalidOptionError.isInstance(e)).toBe(true);
    expect((e as InvalidOptionError).option).toBe(option);
    expect((e as InvalidOptionError).caller).toBe(`fitSpc ${group}`);
  });

  it.each(nested.map(({ group, unknown }) => [group, unknown] as const))('rejects an unknown %s option (%s)', async (group, key) => {
    expect(UnknownOptionError.isInstance(await rejects(images(), { ...ok, [group]: { [key]: 5 } }))).toBe(true);
  });
});
