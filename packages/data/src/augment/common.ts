/** Input checks and helpers shared by the augmentations. */
import { InvalidInputError, InvalidOptionError, Rng, ShapeError, Tensor, c } from '@dc/core';

export type ImageBatch = Tensor<'uint8'> | Tensor<'float32'>;

/** Checks a batch [N, C, H, W] of uint8 or float32 images; returns its dimensions. */
export function checkBatch(caller: string, images: unknown, channels?: readonly number[]): [number, number, number, number] {
  if (!(images instanceof Tensor)) throw new InvalidInputError('images', `${caller} expects a Tensor of shape [N, C, H, W]`);
  if (images.rank !== 4) throw new ShapeError('images', ['N', 'C', 'H', 'W'], images.shape);
  if (images.dtype !== 'uint8' && images.dtype !== 'float32') {
    throw new InvalidInputError('images', `${caller} takes uint8 (0-255) or float32 (0-1) images, got ${images.dtype}`);
  }
  const [n, ch, h, w] = images.shape as [number, number, number, number];
  if (n < 1) throw new InvalidInputError('images', 'is an empty batch');
  if (h < 1 || w < 1) throw new ShapeError('images', 'non-zero H and W', images.shape);
  if (channels && !channels.includes(ch)) {
    throw new ShapeError('images', `[N, ${channels.join(' or ')}, H, W]`, images.shape, `${caller} needs grey (1) or RGB (3) images.`);
  }
  return [n, ch, h, w];
}

export const SEED = c.optional(c.int({ min: 0 }));

/** An option's constraint: a [low, high] pair of finite numbers with 0 < low <= high <= max (a crop's area share: max 1). */
export function rangePair(max: number) {
  return c.custom<[number, number]>(
    `a [low, high] pair with 0 < low <= high${Number.isFinite(max) ? ` <= ${max}` : ''}`,
    (v) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && 0 < v[0] && v[0] <= v[1] && v[1] <= max,
  );
}
export const RNG = c.optional(c.instanceOf(Rng, 'Rng'));

/** The generator an augmentation draws from: the caller's `rng` (advanced, for training loops) or a new one from `seed`. */
export function resolveRng(caller: string, seed: number | undefined, rng: Rng | undefined): Rng {
  if (seed !== undefined && rng !== undefined) throw new InvalidOptionError(caller, 'seed', "undefined when 'rng' is given (pass one of them)", seed);
  return rng ?? new Rng(seed ?? 0);
}

/**
 * 8-bit copy of one float image (values in [0, 1]) for the PIL-defined operations; values outside [0, 1] or
 * non-finite are rejected, naming the first.
 */
export function quantize(src: Float32Array, offset: number, size: number, dst: Uint8Array): void {
  for (let i = 0; i < size; i++) {
    const v = src[offset + i]!;
    if (!(v >= 0 && v <= 1)) {
      throw new InvalidInputError('images', `float32 images must hold values in [0, 1]; found ${v} at flat index ${offset + i}`);
    }
    dst[i] = Math.round(v * 255);
  }
}
