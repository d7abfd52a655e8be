/**
 * What fitSpc trains on: images as one float32 [N, C, H, W] tensor, from a Tensor (uint8 0-255 or float32) or an
 * image dataset object (anything with an `images` tensor, e.g. @dc/data's ImageDataset). Ground-truth labels a
 * dataset may carry are never read.
 */
import { InvalidInputError, NonFiniteError, ShapeError, Tensor } from '@dc/core';
import { weakAugment } from '@dc/data';
import type { Dataset } from '@dc/nn';

export interface ImagesLike {
  images: Tensor;
}

export type SpcInput = Tensor | ImagesLike;

/** Float32 [N, C, H, W] images: uint8 scaled by 1/255, float32 used as given (finite, within [-1, 1]). */
export function readImages(input: unknown, argument = 'images'): Tensor<'float32'> {
  const t = input instanceof Tensor ? input : isImagesLike(input) ? input.images : null;
  if (!(t instanceof Tensor)) throw new InvalidInputError(argument, 'expected a Tensor [N, C, H, W] or a dataset with an `images` tensor');
  if (t.rank !== 4) throw new ShapeError(argument, ['N', 'C', 'H', 'W'], t.shape);
  const [n, ch, h, w] = t.shape as [number, number, number, number];
  if (n < 1) throw new InvalidInputError(argument, 'is empty');
  if (ch < 1 || h < 2 || w < 2) throw new ShapeError(argument, 'at least one channel and 2x2 pixels', t.shape);
  if (t.dtype === 'uint8') {
    const src = t.data as Uint8Array;
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i]! / 255;
    return new Tensor('float32', out, t.shape);
  }
  if (t.dtype !== 'float32') throw new InvalidInputError(argument, `dtype must be uint8 or float32, got ${t.dtype}`);
  const d = t.data as Float32Array;
  for (let i = 0; i < d.length; i++) {
    const v = d[i]!;
    if (v - v !== 0) throw new NonFiniteError(argument, i, v);
    // The decoder ends in tanh, so it can only reconstruct values in [-1, 1].
    if (v < -1 || v > 1) throw new InvalidInputError(argument, `float pixel values must lie in [-1, 1] (e.g. [0, 1]); found ${v} at flat index ${i}`);
  }
  return t as Tensor<'float32'>;
}

function isImagesLike(v: unknown): v is ImagesLike {
  return typeof v === 'object' && v !== null && 'images' in v && (v as ImagesLike).images instanceof Tensor;
}

/** A random shift of up to `padding` pixels (zero fill) and, with `flip`, a random horizontal mirror. */
export interface BatchAugment {
  padding: number;
  flip: boolean;
}

/**
 * The training data of one member: image rows with, per image, the target distribution and its confidence
 * (targets.ts). The target buffers are shared and rewritten between rounds. With `augment`, each batch's images
 * are shifted (and flipped) with the trainer's batch generator, which its checkpoints carry, so a resumed run
 * draws the same shifts.
 */
export function trainingData(images: Tensor<'float32'>, votes: Float32Array, confidence: Float32Array, augment: BatchAugment | null = null): Dataset {
  const n = images.shape[0]!;
  const k = votes.length / n;
  return {
    size: n,
    batch(indices, rng) {
      const v = Tensor.zeros([indices.length, k]);
      const c = Tensor.zeros([indices.length]);
      for (let i = 0; i < indices.length; i++) {
        const row = indices[i]!;
        v.data.set(votes.subarray(row * k, row * k + k), i * k);
        c.data[i] = confidence[row]!;
      }
      const rows = images.gatherRows(indices);
      const x = augment ? (weakAugment(rows, { padding: augment.padding, flip: augment.flip, rng }) as Tensor<'float32'>) : rows;
      return { x, votes: v, confidence: c };
    },
  };
}
