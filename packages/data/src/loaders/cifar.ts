/**
 * The CIFAR-10 / CIFAR-100 binary batch format: fixed-size records with no header. CIFAR-10 records are
 * <1 label byte><3072 pixel bytes>; CIFAR-100 records are <coarse label><fine label><3072 pixel bytes>. The pixels
 * are the 1024 red values, then green, then blue, each 32x32 row-major: exactly one [3, 32, 32] image.
 */
import { join } from 'node:path';
import { InvalidOptionError, Tensor, c, validateOptions } from '@dc/core';
import { ImageDataset } from '../dataset/image-dataset.js';
import { DataFileError } from '../errors.js';
import { checkPath, exists, readDataFile } from './files.js';
import { readFile } from 'node:fs/promises';

const PIXELS = 3 * 32 * 32;

export type CifarVariant = 'cifar10' | 'cifar100';
/** CIFAR-100 has 100 fine classes and 20 coarse superclasses ("CIFAR-100-20" in clustering papers). */
export type CifarLabels = 'fine' | 'coarse';

export const CIFAR10_CLASSES: readonly string[] = Object.freeze(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);

export interface CifarBatch {
  /** [N, 3, 32, 32] uint8. */
  images: Tensor<'uint8'>;
  labels: Int32Array;
}

/** Parses one binary batch; labels outside the variant's range make the file malformed. */
export function parseCifarBatch(bytes: Uint8Array, file: string, variant: CifarVariant, labels: CifarLabels = 'fine'): CifarBatch {
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const record = labelBytes + PIXELS;
  if (bytes.length === 0) throw new DataFileError(file, 'truncated', 'is empty.');
  if (bytes.length % record !== 0) {
    throw new DataFileError(file, 'truncated', `has ${bytes.length} bytes, not a whole number of ${record}-byte ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} records (${Math.floor(bytes.length / record)} records and ${bytes.length % record} bytes over).`);
  }
  const n = bytes.length / record;
  const pixels = new Uint8Array(n * PIXELS);
  const out = new Int32Array(n);
  const labelOffset = variant === 'cifar10' || labels === 'coarse' ? 0 : 1;
  for (let i = 0; i < n; i++) {
    const o = i * record;
    // Check both label bytes of CIFAR-100 so a CIFAR-10 file read as CIFAR-100 (or the reverse) is caught.
    for (let b = 0; b < labelBytes; b++) {
      const limit = variant === 'cifar10' ? 10 : b === 0 ? 20 : 100;
      if (bytes[o + b]! >= limit) {
        throw new DataFileError(file, 'malformed', `record ${i} has label ${bytes[o + b]} (>= ${limit}); is this really a ${variant === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'} binary batch?`);
      }
    }
    out[i] = bytes[o + labelOffset]!;
    pixels.set(bytes.subarray(o + labelBytes, o + record), i * PIXELS);
  }
  return { images: new Tensor('uint8', pixels, [n, 3, 32, 32]), labels: out };
}

export interface CifarBatchOptions {
  variant?: CifarVariant;
  /** CIFAR-100 only: 'fine' (100 classes, default) or 'coarse' (20 superclasses). */
  labels?: CifarLabels;
  classNames?: readonly string[];
  name?: string;
}

/** An ImageDataset from one or more binary batch files (raw or gzip), concatenated in order. */
export async function loadCifarBatches(files: readonly string[], options: CifarBatchOptions = {}): Promise<ImageDataset> {
  const opts = validateOptions(
    'loadCifarBatches',
    options,
    { variant: c.oneOf(['cifar10', 'cifar100'] as const), labels: c.oneOf(['fine', 'coarse'] as const), classNames: c.optional(c.arrayOf(c.string())), name: c.optional(c.string()) },
    { variant: 'cifar10' as const, labels: 'fine' as const },
  );
  // CIFAR-10 records carry one label, so 'coarse' would silently give the fine (only) labels.
  if (opts.variant === 'cifar10' && opts.labels === 'coarse') {
    throw new InvalidOptionError('loadCifarBatches', 'labels', "'fine' with variant 'cifar10' (only CIFAR-100 has coarse labels)", opts.labels);
  }
  if (!Array.isArray(files) || files.length === 0) throw new InvalidOptionError('loadCifarBatches', 'files', 'a non-empty array of file paths', files);
  const batches: CifarBatch[] = [];
  for (const file of files) {
    checkPath('loadCifarBatches', 'files', file);
    batches.push(parseCifarBatch(await readDataFile(file), file, opts.variant, opts.labels));
  }
  const total = batches.reduce((s, b) => s + b.labels.length, 0);
  const pixels = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let offset = 0;
  for (const b of batches) {
    pixels.set(b.images.data, offset * PIXELS);
    labels.set(b.labels, offset);
    offset += b.labels.length;
  }
  const defaultNames = opts.variant === 'cifar10' ? CIFAR10_CLASSES : null;
  return new ImageDataset({
    images: new Tensor('uint8', pixels, [total, 3, 32, 32]),
    labels,
    classNames: opts.classNames ?? defaultNames,
    name: opts.name ?? (opts.variant === 'cifar10' ? 'cifar10' : opts.labels === 'coarse' ? 'cifar100-20' : 'cifar100'),
    sources: [...files],
  });
}

export type CifarSplit = 'all' | 'train' | 'test';

/** Class names from a label-names text file (one per line), or null when the file is absent. */
async function readNames(file: string, count: number): Promise<string[] | null> {
  if (!(await exists(file))) return null;
  const names = (await readFile(file, 'utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== count) throw new DataFileError(file, 'malformed', `lists ${names.length} class names, expected ${count}.`);
  return names;
}

/** The folder holding the batches: `dir` itself or its standard sub-folder. */
async function batchDir(dir: string, sub: string, probe: string): Promise<string> {
  if (await exists(join(dir, probe))) return dir;
  if (await exists(join(dir, sub, probe))) return join(dir, sub);
  return dir;
}

/**
 * CIFAR-10 from the folder of the official binary version (`cifar-10-batches-bin`, or its parent):
 * data_batch_1..5.bin (50,000 train) and test_batch.bin (10,000 test).
 */
export async function loadCifar10(dir: string, options: { split?: CifarSplit } = {}): Promise<ImageDataset> {
  checkPath('loadCifar10', 'dir', dir);
  const opts = validateOptions('loadCifar10', options, { split: c.oneOf(['all', 'train', 'test'] as const) }, { split: 'all' as const });
  const root = await batchDir(dir, 'cifar-10-batches-bin', 'test_batch.bin');
  const train = [1, 2, 3, 4, 5].map((i) => join(root, `data_batch_${i}.bin`));
  const test = [join(root, 'test_batch.bin')];
  const files = opts.split === 'train' ? train : opts.split === 'test' ? test : [...train, ...test];
  const names = (await readNames(join(root, 'batches.meta.txt'), 10)) ?? CIFAR10_CLASSES;
  return loadCifarBatches(files, { variant: 'cifar10', classNames: names, name: 'cifar10' });
}

/**
 * CIFAR-100 from the folder of the official binary version (`cifar-100-binary`, or its parent): train.bin
 * (50,000) and test.bin (10,000); `labels: 'coarse'` gives the 20 superclasses (CIFAR-100-20).
 */
export async function loadCifar100(dir: string, options: { split?: CifarSplit; labels?: CifarLabels } = {}): Promise<ImageDataset> {
  checkPath('loadCifar100', 'dir', dir);
  const opts = validateOptions(
    'loadCifar100',
    options,
    { split: c.oneOf(['all', 'train', 'test'] as const), labels: c.oneOf(['fine', 'coarse'] as const) },
    { split: 'all' as const, labels: 'fine' as const },
  );
  const root = await batchDir(dir, 'cifar-100-binary', 'test.bin');
  const files = opts.split === 'train' ? [join(root, 'train.bin')] : opts.split === 'test' ? [join(root, 'test.bin')] : [join(root, 'train.bin'), join(root, 'test.bin')];
  const namesFile = join(root, opts.labels === 'coarse' ? 'coarse_label_names.txt' : 'fine_label_names.txt');
  const names = await readNames(namesFile, opts.labels === 'coarse' ? 20 : 100);
  return loadCifarBatches(files, { variant: 'cifar100', labels: opts.labels, ...(names ? { classNames: names } : {}) });
}
