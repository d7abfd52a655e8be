/**
 * EmbeddingDataset: precomputed features, one float32 row per sample ([N, D]), for users who already have
 * embeddings from another model. Labels, when present, are for evaluation only, as in ImageDataset.
 */
import { InvalidInputError, Tensor, assertMatrix, c, validateOptions } from '@dc/core';
import { checkIndices, checkRange, splitIndices, type SplitOptions } from './indices.js';
import { CHECKED_SEPARATELY, checkClassNames, checkLabels, gatherLabels } from './labels.js';

export interface EmbeddingDatasetInit {
  /** [N, D] float32 (float64 is converted and must fit in float32), finite. Not copied when float32. */
  features: Tensor;
  /** Ground-truth class per row, for evaluation only. */
  labels?: ArrayLike<number> | null;
  classNames?: readonly string[] | null;
  name?: string;
  sources?: readonly string[];
}

const INIT_SCHEMA = { features: CHECKED_SEPARATELY, labels: CHECKED_SEPARATELY, classNames: CHECKED_SEPARATELY, name: c.optional(c.string()), sources: c.optional(c.arrayOf(c.string())) };

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Converts finite float64 features to float32, refusing values that would overflow to ±Infinity there: the
 * finiteness check ran on the float64 values, so it cannot catch them.
 */
function toFloat32(features: Tensor): Tensor<'float32'> {
  const out = features.astype('float32');
  const data = out.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      const original = (features.data as Float64Array)[i]!;
      throw new InvalidInputError('features', `${original} at flat index ${i} is outside the float32 range (magnitude at most ${FLOAT32_MAX}); features are stored as float32`);
    }
  }
  return out;
}

export class EmbeddingDataset {
  /** [N, D] float32. */
  readonly features: Tensor<'float32'>;
  /** Ground-truth classes or null: for evaluation only (@dc/metrics); training APIs never read them. */
  readonly labels: Int32Array | null;
  readonly classNames: readonly string[] | null;
  readonly name: string;
  readonly sources: readonly string[];

  constructor(init: EmbeddingDatasetInit) {
    if (typeof init !== 'object' || init === null) throw new InvalidInputError('init', 'expected an object with a features tensor');
    // Unknown keys are typos; the data fields keep their own checks below (InvalidInputError, ShapeError).
    validateOptions('EmbeddingDataset', init, INIT_SCHEMA, {});
    const [n] = assertMatrix('features', init.features);
    this.features = init.features.dtype === 'float32' ? (init.features as Tensor<'float32'>) : toFloat32(init.features);
    this.labels = checkLabels(init.labels, n);
    this.classNames = checkClassNames(init.classNames, this.labels);
    this.name = init.name ?? 'embeddings';
    this.sources = Object.freeze([...(init.sources ?? [])]);
  }

  get length(): number {
    return this.features.shape[0]!;
  }

  /** Feature dimension D. */
  get dim(): number {
    return this.features.shape[1]!;
  }

  private derive(features: Tensor<'float32'>, labels: Int32Array | null): EmbeddingDataset {
    return new EmbeddingDataset({ features, labels, classNames: this.classNames, name: this.name, sources: this.sources });
  }

  /** Rows of the listed samples as a new [B, D] tensor. */
  batch(indices: ArrayLike<number>): Tensor<'float32'> {
    return this.features.gatherRows(checkIndices('indices', indices, this.length));
  }

  subset(indices: ArrayLike<number>): EmbeddingDataset {
    const idx = checkIndices('indices', indices, this.length);
    return this.derive(this.features.gatherRows(idx), gatherLabels(this.labels, idx));
  }

  /** Rows [start, end), sharing storage. */
  slice(start: number, end?: number): EmbeddingDataset {
    const [s, e] = checkRange(start, end, this.length);
    if (e === s) throw new InvalidInputError('range', 'is empty');
    return this.derive(this.features.rows(s, e), this.labels ? this.labels.slice(s, e) : null);
  }

  split(first: number, options: SplitOptions = {}): [EmbeddingDataset, EmbeddingDataset] {
    const [a, b] = splitIndices(this.length, first, options, 'EmbeddingDataset.split');
    return [this.subset(a), this.subset(b)];
  }
}
