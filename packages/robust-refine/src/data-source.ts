/**
 * What RUC trains on: images (an ImageDataset or an [N, C, H, W] tensor) or embeddings (an EmbeddingDataset or an
 * [N, D] tensor), with the plain, weakly augmented and strongly augmented views the retraining needs, as
 * normalised float32 batches.
 *
 * Images use @dc/data's augmentations: weak = random flip (when the dataset allows it) and random shift;
 * strong = RandAugment with RUC's settings. Embeddings have no image operations, so their views are made in
 * feature space: weak = small Gaussian noise, strong = larger noise plus random features reset to their mean
 * (our addition; the paper only treats images).
 */
import { InvalidInputError, NonFiniteError, Rng, ShapeError, Tensor, assertMatrix } from '@dc/core';
import { EmbeddingDataset, ImageDataset, STRONG_PRESETS, imagesToFloat, simclrAugment, strongAugment, weakAugment, type ImageStorage, type Normalization } from '@dc/data';

/** Input data of fitRuc: images or embeddings. Ground-truth labels they may carry are never read. */
export type RucData = ImageDataset | EmbeddingDataset | Tensor;

/**
 * A custom augmentation: receives rows in their stored form ([B, C, H, W] uint8 or float32 in [0, 1] for images,
 * [B, D] float32 for embeddings) and returns augmented rows of the same shape and dtype. Must draw only from `rng`.
 */
export type Augmenter = (rows: Tensor, rng: Rng) => Tensor;

export interface AugmentOptions {
  weak?: Augmenter;
  strong?: Augmenter;
}

/** How inputs are turned into network inputs; kept with a fitted model so `predict` treats new data alike. */
export type InputTransform =
  | { kind: 'images'; imageShape: [number, number, number]; normalization: Normalization | null }
  | { kind: 'embeddings'; dim: number };

export interface DataSource {
  readonly kind: 'images' | 'embeddings';
  readonly n: number;
  /** Shape of one network input row. */
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  readonly transform: InputTransform;
  /** Normalised rows without augmentation. */
  plain(indices: ArrayLike<number>): Tensor<'float32'>;
  weak(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'>;
  strong(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'>;
  /**
   * Images only: one SimCLR view of each row (random resized crop of `cropScale` of the area, brightness and
   * contrast jitter, and a horizontal flip where the dataset allows one), for contrastive pretraining.
   */
  contrastive?(indices: ArrayLike<number>, rng: Rng, cropScale: readonly [number, number]): Tensor<'float32'>;
}

function checkAugmented(name: string, out: unknown, like: Tensor): Tensor {
  if (!(out instanceof Tensor)) throw new InvalidInputError(`augment.${name}`, 'must return a Tensor');
  if (out.dtype !== like.dtype || out.shape.length !== like.shape.length || out.shape.some((d, i) => d !== like.shape[i])) {
    throw new ShapeError(`augment.${name}`, like.shape, out.shape, `An augmentation must return rows of the input's shape and dtype (${like.dtype}).`);
  }
  // A NaN here would surface far from its cause (as an invalid label guess, or a diverged loss).
  if (out.dtype === 'float32' || out.dtype === 'float64') {
    const data = out.data as Float32Array | Float64Array;
    for (let i = 0; i < data.length; i++) if (data[i]! - data[i]! !== 0) throw new NonFiniteError(`augment.${name}`, i, data[i]!);
  }
  return out;
}

class ImageSource implements DataSource {
  readonly kind = 'images' as const;
  readonly n: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  readonly transform: InputTransform;

  constructor(private readonly ds: ImageDataset, private readonly augment: AugmentOptions) {
    this.n = ds.length;
    this.rowShape = ds.imageShape;
    this.rowSize = ds.channels * ds.height * ds.width;
    // Networks see images as the dataset's batch() gives them: its normalisation, or [0, 1] pixels without one
    // (what a pretrained encoder was trained on decides which; `withNormalization('data')` centres them).
    this.transform = { kind: 'images', imageShape: ds.imageShape, normalization: ds.normalization };
  }

  private toFloat(raw: ImageStorage): Tensor<'float32'> {
    return imagesToFloat(raw, (this.transform as { normalization: Normalization | null }).normalization);
  }

  plain(indices: ArrayLike<number>): Tensor<'float32'> {
    return this.toFloat(this.ds.raw(indices));
  }

  weak(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'> {
    const raw = this.ds.raw(indices);
    const out = this.augment.weak ? checkAugmented('weak', this.augment.weak(raw, rng), raw) : weakAugment(raw, { flip: this.ds.hints.horizontalFlip, rng });
    return this.toFloat(out as ImageStorage);
  }

  strong(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'> {
    const raw = this.ds.raw(indices);
    const out = this.augment.strong ? checkAugmented('strong', this.augment.strong(raw, rng), raw) : strongAugment(raw, { ...STRONG_PRESETS.ruc, rng });
    return this.toFloat(out as ImageStorage);
  }

  contrastive(indices: ArrayLike<number>, rng: Rng, cropScale: readonly [number, number]): Tensor<'float32'> {
    const raw = this.ds.raw(indices);
    const view = simclrAugment(raw, { scale: [cropScale[0], cropScale[1]], flip: this.ds.hints.horizontalFlip, rng });
    return this.toFloat(view as ImageStorage);
  }
}

/** Feature-space views for embeddings: noise scaled by each feature's spread. */
class EmbeddingSource implements DataSource {
  readonly kind = 'embeddings' as const;
  readonly n: number;
  readonly rowShape: readonly number[];
  readonly rowSize: number;
  readonly transform: InputTransform;
  private readonly mean: Float32Array;
  private readonly std: Float32Array;

  constructor(private readonly x: Tensor<'float32'>, private readonly augment: AugmentOptions) {
    const [n, d] = x.shape as [number, number];
    this.n = n;
    this.rowShape = [d];
    this.rowSize = d;
    this.transform = { kind: 'embeddings', dim: d };
    this.mean = new Float32Array(d);
    this.std = new Float32Array(d);
    const sum = new Float64Array(d);
    const sq = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const v = x.data[i * d + j]!;
        sum[j]! += v;
        sq[j]! += v * v;
      }
    }
    for (let j = 0; j < d; j++) {
      const m = sum[j]! / n;
      this.mean[j] = m;
      this.std[j] = Math.sqrt(Math.max(0, sq[j]! / n - m * m));
    }
  }

  plain(indices: ArrayLike<number>): Tensor<'float32'> {
    return this.x.gatherRows(indices);
  }

  private noisy(indices: ArrayLike<number>, rng: Rng, scale: number, resetP: number): Tensor<'float32'> {
    const out = this.x.gatherRows(indices);
    const d = this.rowSize;
    for (let i = 0; i < out.data.length; i++) {
      const j = i % d;
      out.data[i] = resetP > 0 && rng.uniform() < resetP ? this.mean[j]! : out.data[i]! + scale * this.std[j]! * rng.normal();
    }
    return out;
  }

  weak(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'> {
    if (this.augment.weak) return checkAugmented('weak', this.augment.weak(this.plain(indices), rng), this.plain(indices)) as Tensor<'float32'>;
    return this.noisy(indices, rng, 0.1, 0);
  }

  strong(indices: ArrayLike<number>, rng: Rng): Tensor<'float32'> {
    if (this.augment.strong) return checkAugmented('strong', this.augment.strong(this.plain(indices), rng), this.plain(indices)) as Tensor<'float32'>;
    return this.noisy(indices, rng, 0.3, 0.2);
  }
}

/** Wraps the caller's data; a plain tensor of rank 4 is images, of rank 2 embeddings. */
export function dataSource(data: RucData, augment: AugmentOptions = {}): DataSource {
  if (data instanceof ImageDataset) return new ImageSource(data, augment);
  if (data instanceof EmbeddingDataset) return new EmbeddingSource(data.features, augment);
  if (data instanceof Tensor) {
    if (data.rank === 4) return new ImageSource(new ImageDataset({ images: data as ImageStorage }), augment);
    if (data.rank === 2) {
      assertMatrix('data', data, { minRows: 2 });
      return new EmbeddingSource(data.dtype === 'float32' ? (data as Tensor<'float32'>) : data.astype('float32'), augment);
    }
    throw new ShapeError('data', '[N, C, H, W] (images) or [N, D] (embeddings)', data.shape);
  }
  throw new InvalidInputError('data', 'expected an ImageDataset, an EmbeddingDataset or a Tensor of images [N, C, H, W] or embeddings [N, D]');
}

/** Applies a fitted model's input transform to new data (no augmentation). */
export function transformInputs(data: RucData, transform: InputTransform): Tensor<'float32'> {
  if (transform.kind === 'images') {
    const images = data instanceof ImageDataset ? data.images : data instanceof Tensor && data.rank === 4 ? (data as ImageStorage) : null;
    if (!images) throw new InvalidInputError('data', 'this model was fitted on images: pass an ImageDataset or an [N, C, H, W] tensor');
    const [, ch, h, w] = images.shape as [number, number, number, number];
    const [ec, eh, ew] = transform.imageShape;
    if (ch !== ec || h !== eh || w !== ew) throw new ShapeError('data', ['N', ec, eh, ew], images.shape, 'Images must have the shape the model was fitted on.');
    return imagesToFloat(images, transform.normalization);
  }
  const x = data instanceof EmbeddingDataset ? data.features : data instanceof Tensor && data.rank === 2 ? data : null;
  if (!x) throw new InvalidInputError('data', 'this model was fitted on embeddings: pass an EmbeddingDataset or an [N, D] tensor');
  const [, d] = assertMatrix('data', x);
  if (d !== transform.dim) throw new ShapeError('data', ['N', transform.dim], x.shape, 'Embeddings must have the dimension the model was fitted on.');
  return x.dtype === 'float32' ? (x as Tensor<'float32'>) : x.astype('float32');
}

