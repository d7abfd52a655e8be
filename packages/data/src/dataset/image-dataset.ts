/**
 * ImageDataset: images stored compactly as one [N, C, H, W] tensor (uint8 when the source is 8-bit, float32 in
 * [0, 1] otherwise), turned into normalised float32 batches only when a batch is asked for.
 *
 * Ground-truth labels, when the source has them, live in `labels` for evaluation only: training and selection
 * code in deep-cluster never reads them (principle 1 of the architecture). Pass them to @dc/metrics, nowhere else.
 */
import { InvalidInputError, InvalidOptionError, ShapeError, Tensor, c, validateOptions } from '@dc/core';
import { checkIndices, checkRange, splitIndices, type SplitOptions } from './indices.js';
import { CHECKED_SEPARATELY, checkClassNames, checkLabels, gatherLabels } from './labels.js';

/** Per-channel mean and standard deviation on the [0, 1] pixel scale (the torchvision convention). */
export interface Normalization {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** What augmentation may assume about the images. */
export interface DatasetHints {
  /** Whether a horizontal flip keeps an image in its class (false for digits and text). */
  readonly horizontalFlip: boolean;
}

export type ImageStorage = Tensor<'uint8'> | Tensor<'float32'>;

export interface ImageDatasetInit {
  /** [N, C, H, W]; uint8 (0-255) or float32 (0-1). Not copied. */
  images: ImageStorage;
  /** Ground-truth class per image, for evaluation only. */
  labels?: ArrayLike<number> | null;
  classNames?: readonly string[] | null;
  name?: string;
  normalization?: Normalization | null;
  hints?: Partial<DatasetHints>;
  /** The files the images came from (informational). */
  sources?: readonly string[];
}

export interface BatchOptions {
  /** Apply the dataset's normalisation (default true); false gives pixel values in [0, 1]. */
  normalize?: boolean;
}

function checkImages(images: unknown): [number, number, number, number] {
  if (!(images instanceof Tensor)) throw new InvalidInputError('images', 'expected a Tensor of shape [N, C, H, W]');
  if (images.rank !== 4) throw new ShapeError('images', ['N', 'C', 'H', 'W'], images.shape);
  if (images.dtype !== 'uint8' && images.dtype !== 'float32') {
    throw new InvalidInputError('images', `dtype must be uint8 or float32, got ${images.dtype}`);
  }
  const [n, ch, h, w] = images.shape as [number, number, number, number];
  if (n < 1) throw new InvalidInputError('images', 'is empty');
  if (ch < 1 || h < 1 || w < 1) throw new ShapeError('images', 'non-zero C, H and W', images.shape);
  return [n, ch, h, w];
}

export function checkNormalization(value: unknown, channels: number, argument = 'normalization'): Normalization {
  const v = value as Normalization;
  const ok = (a: unknown): a is number[] => Array.isArray(a) && a.length === channels && a.every((x) => typeof x === 'number' && Number.isFinite(x));
  if (typeof value !== 'object' || value === null || !ok(v.mean) || !ok(v.std)) {
    throw new InvalidInputError(argument, `expected { mean, std }, each an array of ${channels} finite numbers (one per channel)`);
  }
  if (v.std.some((s) => !(s > 0))) throw new InvalidInputError(argument, 'every std must be > 0');
  return Object.freeze({ mean: Object.freeze([...v.mean]), std: Object.freeze([...v.std]) });
}

/**
 * Converts raw images (a dataset's storage, or an augmented batch of it) to float32: uint8 is divided by 255,
 * float32 is taken as already in [0, 1]; then (x - mean[c]) / std[c] when a normalisation is given.
 */
export function imagesToFloat(images: ImageStorage, normalization: Normalization | null = null): Tensor<'float32'> {
  const [n, ch, h, w] = checkImages(images);
  const norm = normalization === null ? null : checkNormalization(normalization, ch);
  const plane = h * w;
  const src = images.data;
  const out = new Float32Array(src.length);
  const base = images.dtype === 'uint8' ? 1 / 255 : 1;
  for (let k = 0; k < ch; k++) {
    const scale = norm ? base / norm.std[k]! : base;
    const shift = norm ? -norm.mean[k]! / norm.std[k]! : 0;
    for (let i = 0; i < n; i++) {
      const o = (i * ch + k) * plane;
      for (let p = o; p < o + plane; p++) out[p] = src[p]! * scale + shift;
    }
  }
  return new Tensor('float32', out, [n, ch, h, w]);
}

const INIT_SCHEMA = {
  images: CHECKED_SEPARATELY,
  labels: CHECKED_SEPARATELY,
  classNames: CHECKED_SEPARATELY,
  name: c.optional(c.string()),
  normalization: CHECKED_SEPARATELY,
  hints: c.optional(c.object<Partial<DatasetHints>>()),
  sources: c.optional(c.arrayOf(c.string())),
};

export class ImageDataset {
  /** The stored pixels, [N, C, H, W]: uint8 in 0-255 or float32 in 0-1. */
  readonly images: ImageStorage;
  /**
   * Ground-truth classes, or null. For evaluation only (@dc/metrics): no training or selection API may read
   * them, and none in deep-cluster does.
   */
  readonly labels: Int32Array | null;
  /** Class names indexed by label, when the source names its classes. */
  readonly classNames: readonly string[] | null;
  readonly name: string;
  /** The normalisation `batch()` applies; null gives pixel values in [0, 1]. */
  readonly normalization: Normalization | null;
  readonly hints: DatasetHints;
  readonly sources: readonly string[];

  constructor(init: ImageDatasetInit) {
    if (typeof init !== 'object' || init === null) throw new InvalidInputError('init', 'expected an object with an images tensor');
    // A misspelt key (e.g. `normalisation`) would otherwise be ignored silently. The data fields keep their own
    // checks below (InvalidInputError, ShapeError), so the schema lets them through.
    validateOptions('ImageDataset', init, INIT_SCHEMA, {});
    if (init.hints !== undefined) validateOptions('ImageDataset hints', init.hints, { horizontalFlip: c.optional(c.bool()) }, {});
    const [n, ch] = checkImages(init.images);
    this.images = init.images;
    this.labels = checkLabels(init.labels, n);
    this.classNames = checkClassNames(init.classNames, this.labels);
    this.name = init.name ?? 'images';
    this.normalization = init.normalization === null || init.normalization === undefined ? null : checkNormalization(init.normalization, ch);
    this.hints = Object.freeze({ horizontalFlip: init.hints?.horizontalFlip ?? true });
    this.sources = Object.freeze([...(init.sources ?? [])]);
  }

  /** Number of images. */
  get length(): number {
    return this.images.shape[0]!;
  }

  get channels(): number {
    return this.images.shape[1]!;
  }

  get height(): number {
    return this.images.shape[2]!;
  }

  get width(): number {
    return this.images.shape[3]!;
  }

  /** [C, H, W] of one image. */
  get imageShape(): [number, number, number] {
    return [this.channels, this.height, this.width];
  }

  private derive(images: ImageStorage, labels: Int32Array | null, overrides: Partial<ImageDatasetInit> = {}): ImageDataset {
    return new ImageDataset({
      images,
      labels,
      classNames: this.classNames,
      name: this.name,
      normalization: this.normalization,
      hints: this.hints,
      sources: this.sources,
      ...overrides,
    });
  }

  /** The stored pixels of the listed images (a copy), e.g. as input to augmentation. */
  raw(indices: ArrayLike<number>): ImageStorage {
    const idx = checkIndices('indices', indices, this.length);
    return this.images.gatherRows(idx) as ImageStorage;
  }

  /** A float32 batch [B, C, H, W] of the listed images (all images when omitted), normalised by default. */
  batch(indices?: ArrayLike<number>, options: BatchOptions = {}): Tensor<'float32'> {
    const opts = validateOptions('ImageDataset.batch', options, { normalize: c.bool() }, { normalize: true });
    const raw = indices === undefined ? this.images : this.raw(indices);
    return imagesToFloat(raw, opts.normalize ? this.normalization : null);
  }

  /** Converts a raw batch (for example the output of an augmentation) with this dataset's normalisation. */
  toFloat(images: ImageStorage, options: BatchOptions = {}): Tensor<'float32'> {
    const opts = validateOptions('ImageDataset.toFloat', options, { normalize: c.bool() }, { normalize: true });
    if (images instanceof Tensor && images.rank === 4 && images.shape[1] !== this.channels) {
      throw new ShapeError('images', ['B', this.channels, 'H', 'W'], images.shape);
    }
    return imagesToFloat(images, opts.normalize ? this.normalization : null);
  }

  /** All images as a [N, C*H*W] float32 matrix (normalised by default), e.g. for autoencoders. */
  toMatrix(options: BatchOptions = {}): Tensor<'float32'> {
    const x = this.batch(undefined, options);
    return x.reshape([this.length, this.channels * this.height * this.width]);
  }

  /** Per-channel mean and (population) standard deviation of the pixels, on the [0, 1] scale. */
  channelStats(): Normalization {
    const [n, ch, h, w] = this.images.shape as [number, number, number, number];
    const plane = h * w;
    const src = this.images.data;
    const scale = this.images.dtype === 'uint8' ? 1 / 255 : 1;
    const mean: number[] = [];
    const std: number[] = [];
    for (let k = 0; k < ch; k++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < n; i++) {
        const o = (i * ch + k) * plane;
        // Per-image partial sums keep float64 accumulation accurate over tens of millions of pixels.
        let ps = 0;
        let ps2 = 0;
        for (let p = o; p < o + plane; p++) {
          const v = src[p]!;
          ps += v;
          ps2 += v * v;
        }
        s += ps;
        s2 += ps2;
      }
      const count = n * plane;
      const m = s / count;
      const variance = Math.max(0, s2 / count - m * m);
      mean.push(m * scale);
      std.push(Math.sqrt(variance) * scale);
    }
    return { mean, std };
  }

  /**
   * The same images with another normalisation: 'data' computes per-channel mean/std from these images
   * (channels with zero spread get std 1), an object gives them explicitly, null removes normalisation.
   */
  withNormalization(normalization: Normalization | 'data' | null): ImageDataset {
    if (normalization === 'data') {
      const stats = this.channelStats();
      return this.derive(this.images, this.labels, { normalization: { mean: stats.mean, std: stats.std.map((s) => (s > 0 ? s : 1)) } });
    }
    if (normalization !== null && (typeof normalization !== 'object' || normalization === undefined)) {
      throw new InvalidOptionError('ImageDataset.withNormalization', 'normalization', "'data', null or { mean, std }", normalization);
    }
    return this.derive(this.images, this.labels, { normalization });
  }

  /** The listed images (copied), with their labels. */
  subset(indices: ArrayLike<number>): ImageDataset {
    const idx = checkIndices('indices', indices, this.length);
    return this.derive(this.images.gatherRows(idx) as ImageStorage, gatherLabels(this.labels, idx));
  }

  /** Images [start, end), sharing storage. */
  slice(start: number, end?: number): ImageDataset {
    const [s, e] = checkRange(start, end, this.length);
    if (e === s) throw new InvalidInputError('range', 'is empty');
    return this.derive(this.images.rows(s, e) as ImageStorage, this.labels ? this.labels.slice(s, e) : null);
  }

  /** Two disjoint parts; `first` is the first part's size as a fraction in (0, 1) or a count. */
  split(first: number, options: SplitOptions = {}): [ImageDataset, ImageDataset] {
    const [a, b] = splitIndices(this.length, first, options, 'ImageDataset.split');
    return [this.subset(a), this.subset(b)];
  }

  /** Several datasets of the same image shape and dtype, one after another. Labels are kept only if all have them. */
  static concat(parts: readonly ImageDataset[], name?: string): ImageDataset {
    if (!Array.isArray(parts) || parts.length === 0) throw new InvalidInputError('parts', 'expected a non-empty array of ImageDataset');
    const first = parts[0]!;
    for (const p of parts) {
      if (!(p instanceof ImageDataset)) throw new InvalidInputError('parts', 'every part must be an ImageDataset');
      if (p.images.dtype !== first.images.dtype || p.channels !== first.channels || p.height !== first.height || p.width !== first.width) {
        throw new ShapeError('parts', [first.images.dtype, first.channels, first.height, first.width].map(String), [p.images.dtype, p.channels, p.height, p.width].map(String), 'All parts must share dtype and image shape.');
      }
    }
    const total = parts.reduce((s, p) => s + p.length, 0);
    const rowSize = first.channels * first.height * first.width;
    const data = first.images.dtype === 'uint8' ? new Uint8Array(total * rowSize) : new Float32Array(total * rowSize);
    const withLabels = parts.every((p) => p.labels !== null);
    const labels = withLabels ? new Int32Array(total) : null;
    let offset = 0;
    for (const p of parts) {
      (data as Uint8Array).set(p.images.data as Uint8Array, offset * rowSize);
      if (labels) labels.set(p.labels!, offset);
      offset += p.length;
    }
    const images = new Tensor(first.images.dtype, data, [total, first.channels, first.height, first.width]) as ImageStorage;
    const sameNames = parts.every((p) => JSON.stringify(p.classNames) === JSON.stringify(first.classNames));
    return new ImageDataset({
      images,
      labels,
      classNames: sameNames ? first.classNames : null,
      name: name ?? first.name,
      normalization: first.normalization,
      hints: { horizontalFlip: parts.every((p) => p.hints.horizontalFlip) },
      sources: parts.flatMap((p) => p.sources),
    });
  }
}
