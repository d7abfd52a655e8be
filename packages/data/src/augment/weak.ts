/**
 * Weak augmentation (RUC, SPICE, FixMatch): a random horizontal flip and a pad-and-random-crop, i.e. a random
 * shift of up to `padding` pixels in each direction. With constant padding this is random translation; with
 * 'reflect' it is torchvision's RandomCrop(padding_mode='reflect') as FixMatch uses it.
 */
import { InvalidOptionError, Tensor, c, validateOptions, type Rng } from '@dc/core';
import { RNG, SEED, checkBatch, resolveRng, type ImageBatch } from './common.js';

export interface WeakAugmentOptions {
  /** Random horizontal flip with probability 0.5 (default true). Turn it off for digits and text (see `ImageDataset.hints`). */
  flip?: boolean;
  /** Largest shift in pixels; the default is 12.5% of the shorter side, rounded down (4 for 32x32, 3 for 28x28). */
  padding?: number;
  /** How the shifted-in border is filled: 'constant' (default: `fill`), 'reflect' (mirror without the edge) or 'edge'. */
  padMode?: 'constant' | 'reflect' | 'edge';
  /** The constant fill value, in the images' own scale (0-255 for uint8, 0-1 for float32). */
  fill?: number;
  seed?: number;
  /** Draw from this generator instead of a new one seeded with `seed` (it advances). */
  rng?: Rng;
}

function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

/** A randomly flipped and shifted copy of every image, same shape and dtype. */
export function weakAugment(images: ImageBatch, options: WeakAugmentOptions = {}): ImageBatch {
  const [n, ch, h, w] = checkBatch('weakAugment', images);
  const maxFill = images.dtype === 'uint8' ? 255 : 1;
  const opts = validateOptions(
    'weakAugment',
    options,
    {
      flip: c.bool(),
      padding: c.optional(c.int({ min: 0, max: Math.max(h, w) })),
      padMode: c.oneOf(['constant', 'reflect', 'edge'] as const),
      fill: c.number({ min: 0, max: maxFill }),
      seed: SEED,
      rng: RNG,
    },
    { flip: true, padMode: 'constant' as const, fill: 0 },
  );
  const padding = opts.padding ?? Math.floor(0.125 * Math.min(h, w));
  if (opts.padMode === 'reflect' && padding >= Math.min(h, w)) {
    throw new InvalidOptionError('weakAugment', 'padding', `less than the image side (${Math.min(h, w)}) for padMode 'reflect'`, padding);
  }
  const rng = resolveRng('weakAugment', opts.seed, opts.rng);
  const src = images.data;
  const out = images.dtype === 'uint8' ? new Uint8Array(src.length) : new Float32Array(src.length);
  const fill = images.dtype === 'uint8' ? Math.round(opts.fill) : opts.fill;
  const plane = h * w;
  const xs = new Int32Array(w);
  const constant = opts.padMode === 'constant';
  for (let i = 0; i < n; i++) {
    const flip = opts.flip && rng.uniform() < 0.5;
    const dx = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
    const dy = padding > 0 ? rng.int(2 * padding + 1) - padding : 0;
    // Source column of each output column (-1: fill), flip applied before the shift.
    for (let x = 0; x < w; x++) {
      let sx = x + dx;
      if (sx < 0 || sx >= w) sx = constant ? -1 : opts.padMode === 'edge' ? Math.min(w - 1, Math.max(0, sx)) : reflect(sx, w);
      xs[x] = sx < 0 ? -1 : flip ? w - 1 - sx : sx;
    }
    for (let k = 0; k < ch; k++) {
      const base = (i * ch + k) * plane;
      for (let y = 0; y < h; y++) {
        let sy = y + dy;
        const o = base + y * w;
        if (sy < 0 || sy >= h) {
          if (constant) {
            out.fill(fill, o, o + w);
            continue;
          }
          sy = opts.padMode === 'edge' ? Math.min(h - 1, Math.max(0, sy)) : reflect(sy, h);
        }
        const s = base + sy * w;
        if (!flip && constant) {
          // Unflipped constant padding: one contiguous copy per row.
          const xa = Math.min(w, Math.max(0, -dx));
          const xb = Math.max(xa, Math.min(w, w - dx));
          if (xa > 0) out.fill(fill, o, o + xa);
          (out as Uint8Array).set((src as Uint8Array).subarray(s + xa + dx, s + xb + dx), o + xa);
          if (xb < w) out.fill(fill, o + xb, o + w);
          continue;
        }
        for (let x = 0; x < w; x++) {
          const sx = xs[x]!;
          out[o + x] = sx < 0 ? fill : src[s + sx]!;
        }
      }
    }
  }
  return new Tensor(images.dtype, out, images.shape) as ImageBatch;
}
