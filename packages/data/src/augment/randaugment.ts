/**
 * Strong augmentation: RandAugment (Cubuk et al., 2020) over the 14 operations of RUC's Table 5, each defined
 * as in PIL (see pil-ops.ts), followed by an optional Cutout (DeVries and Taylor, 2017). Every image draws its
 * own N operations (with replacement, as RandAugment and SCAN do) and their random signs.
 *
 * Magnitude M runs from 0 to 10 (the far end of Table 5's range) and maps linearly into each parameter's range:
 *   Brightness, Color, Contrast, Sharpness  factor 1 - 0.099 M       (Table 5: [0.01, 0.99])
 *   Posterize                               bits   8 - round(0.7 M)  (Table 5: [1, 8])
 *   Rotate                                  +-4.5 M degrees          (Table 5: [-45, 45])
 *   ShearX/Y                                +-0.03 M                 (Table 5: [-0.3, 0.3])
 *   Solarize                                threshold 256 - round(25.6 M) (Table 5: [0, 256])
 *   TranslateX/Y                            +-0.03 M of the image side (Table 5: [-0.3, 0.3])
 * AutoContrast and Equalize have no parameter and ignore M, as in the reference RandAugment, so they change images
 * even at M = 0; Identity never does.
 * Deviations: the enhancement factors start at 1 (M = 0) rather than Table 5's 0.99, so that M = 0 makes every
 * operation with a parameter the identity; and RUC's released code maps its magnitude the other way for those
 * ops (a larger value gives a factor nearer 1, a weaker change), whereas here a larger M is always a stronger
 * change, as RandAugment's magnitude means. Like Table 5 (and unlike torchvision's RandAugment) the enhancement
 * ops only weaken brightness, colour, contrast and sharpness.
 */
import { InvalidOptionError, Rng, Tensor, c, validateOptions } from '@dc/core';
import { RNG, SEED, checkBatch, quantize, resolveRng, type ImageBatch } from './common.js';
import * as ops from './pil-ops.js';

export const RANDAUGMENT_OPS = [
  'AutoContrast',
  'Equalize',
  'Identity',
  'Brightness',
  'Color',
  'Contrast',
  'Posterize',
  'Rotate',
  'Sharpness',
  'ShearX',
  'ShearY',
  'Solarize',
  'TranslateX',
  'TranslateY',
] as const;
export type RandAugmentOp = (typeof RANDAUGMENT_OPS)[number];

export const MAX_MAGNITUDE = 10;

/** The parameter an operation gets at magnitude m (0-10) with the given sign (+1 or -1; ignored where unsigned). */
export function opParameter(op: RandAugmentOp, m: number, sign = 1): number {
  const t = m / MAX_MAGNITUDE;
  switch (op) {
    case 'AutoContrast':
    case 'Equalize':
    case 'Identity':
      return 0;
    case 'Brightness':
    case 'Color':
    case 'Contrast':
    case 'Sharpness':
      return 1 - 0.99 * t;
    case 'Posterize':
      return 8 - Math.round(7 * t);
    case 'Rotate':
      return sign * 45 * t;
    case 'ShearX':
    case 'ShearY':
    case 'TranslateX':
    case 'TranslateY':
      return sign * 0.3 * t;
    case 'Solarize':
      return 256 - Math.round(256 * t);
  }
}

/**
 * Applies one operation with an explicit parameter (factor, bits, degrees, shear, translation as a fraction of
 * the side, or threshold) to a planar uint8 image. Exposed for tests and custom policies.
 */
export function applyOp(op: RandAugmentOp, src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, param: number, fill = 0): void {
  const plane = h * w;
  switch (op) {
    case 'Identity':
      return ops.identity(src, dst);
    case 'AutoContrast':
      return ops.autoContrast(src, dst, ch, plane);
    case 'Equalize':
      return ops.equalize(src, dst, ch, plane);
    case 'Brightness':
      return ops.brightness(src, dst, param);
    case 'Color':
      return ops.color(src, dst, ch, plane, param);
    case 'Contrast':
      return ops.contrast(src, dst, ch, plane, param);
    case 'Sharpness':
      return ops.sharpness(src, dst, ch, h, w, param);
    case 'Posterize':
      return ops.posterize(src, dst, param);
    case 'Solarize':
      return ops.solarize(src, dst, param);
    case 'Rotate':
      return ops.rotate(src, dst, ch, h, w, param, fill);
    case 'ShearX':
      return ops.shearX(src, dst, ch, h, w, param, fill);
    case 'ShearY':
      return ops.shearY(src, dst, ch, h, w, param, fill);
    case 'TranslateX':
      return ops.translateX(src, dst, ch, h, w, param * w, fill);
    case 'TranslateY':
      return ops.translateY(src, dst, ch, h, w, param * h, fill);
  }
}

export interface StrongAugmentOptions {
  /** Operations per image (N). */
  n?: number;
  /** Magnitude M in [0, 10]. */
  magnitude?: number;
  /** 'fixed': every operation uses M; 'uniform': each draws its magnitude uniformly from [0, M] (SCAN, SPICE). */
  magnitudeMode?: 'fixed' | 'uniform';
  /** Each drawn operation is applied with this probability (RUC's code uses 0.5). */
  probability?: number;
  /** The operations to draw from (default: all 14 of Table 5). */
  ops?: readonly RandAugmentOp[];
  /** Side of the Cutout square as a fraction of the shorter image side; 0 turns Cutout off. */
  cutout?: number;
  /** Cutout fill in the images' scale (0-255 uint8, 0-1 float32); default mid-grey. */
  cutoutFill?: number;
  /** Fill for pixels that rotate, shear or translate in from outside, in the images' scale (default 0, black, as PIL). */
  fill?: number;
  seed?: number;
  /** Draw from this generator instead of a new one seeded with `seed` (it advances). */
  rng?: Rng;
}

/**
 * Settings of published methods. 'scan' (SPICE and SCAN): 4 operations with uniform random magnitudes and a
 * Cutout of half the side (16 px on 32x32). 'ruc': 2 operations, each applied with probability 0.5, and a
 * Cutout of half the side, as RUC's RandAugmentMC(2, 2); its magnitudes are given in our scale (see above).
 */
export const STRONG_PRESETS = Object.freeze({
  scan: Object.freeze({ n: 4, magnitude: 10, magnitudeMode: 'uniform', probability: 1, cutout: 0.5 } as const),
  ruc: Object.freeze({ n: 2, magnitude: 10, magnitudeMode: 'uniform', probability: 0.5, cutout: 0.5 } as const),
});

const DEFAULTS = { n: 2, magnitude: 9, magnitudeMode: 'fixed' as const, probability: 1, ops: [...RANDAUGMENT_OPS], cutout: 0 };

/**
 * Cutout: a square of side `side` centred on a uniformly drawn pixel, clipped at the borders, set to `fill`
 * (DeVries and Taylor's definition; the centre may lie anywhere, so part of the square may fall outside).
 */
export function cutoutInPlace(img: Uint8Array | Float32Array, ch: number, h: number, w: number, side: number, fill: number, rng: Rng): void {
  const cy = rng.int(h);
  const cx = rng.int(w);
  const half = Math.floor(side / 2);
  const y0 = Math.max(0, cy - half);
  const y1 = Math.min(h, cy - half + side);
  const x0 = Math.max(0, cx - half);
  const x1 = Math.min(w, cx - half + side);
  const plane = h * w;
  for (let k = 0; k < ch; k++) {
    for (let y = y0; y < y1; y++) img.fill(fill, k * plane + y * w + x0, k * plane + y * w + x1);
  }
}

/**
 * RandAugment: every image gets `n` operations drawn from `ops`, then Cutout when `cutout` > 0. uint8 images are
 * transformed exactly as PIL would; float32 images (values in [0, 1]) are quantised to 8 bits for the
 * operations, as PIL-based pipelines do, and returned as float32 multiples of 1/255.
 */
export function strongAugment(images: ImageBatch, options: StrongAugmentOptions = {}): ImageBatch {
  const [n, ch, h, w] = checkBatch('strongAugment', images, [1, 3]);
  const maxValue = images.dtype === 'uint8' ? 255 : 1;
  const opts = validateOptions(
    'strongAugment',
    options,
    {
      n: c.int({ min: 0, max: 64 }),
      magnitude: c.number({ min: 0, max: MAX_MAGNITUDE }),
      magnitudeMode: c.oneOf(['fixed', 'uniform'] as const),
      probability: c.number({ min: 0, max: 1 }),
      ops: c.arrayOf(c.oneOf(RANDAUGMENT_OPS), { min: 1 }),
      cutout: c.number({ min: 0, max: 1 }),
      cutoutFill: c.optional(c.number({ min: 0, max: maxValue })),
      fill: c.number({ min: 0, max: maxValue }),
      seed: SEED,
      rng: RNG,
    },
    { ...DEFAULTS, fill: 0 },
  );
  const rng = resolveRng('strongAugment', opts.seed, opts.rng);
  const size = ch * h * w;
  const toByte = (v: number) => (images.dtype === 'uint8' ? Math.round(v) : Math.round(v * 255));
  const fill = toByte(opts.fill);
  const cutoutFill = opts.cutoutFill === undefined ? 127 : toByte(opts.cutoutFill);
  const side = Math.round(opts.cutout * Math.min(h, w));
  const pool = opts.ops;
  if (pool.length === 0) throw new InvalidOptionError('strongAugment', 'ops', 'a non-empty array', pool);

  const out = images.dtype === 'uint8' ? new Uint8Array(n * size) : new Float32Array(n * size);
  // Two scratch images, swapped after every operation.
  let a = new Uint8Array(size);
  let b = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    if (images.dtype === 'uint8') a.set((images.data as Uint8Array).subarray(i * size, (i + 1) * size));
    else quantize(images.data as Float32Array, i * size, size, a);
    for (let j = 0; j < opts.n; j++) {
      const op = pool[rng.int(pool.length)]!;
      const m = opts.magnitudeMode === 'fixed' ? opts.magnitude : rng.uniform(0, opts.magnitude);
      const sign = rng.uniform() < 0.5 ? -1 : 1;
      if (opts.probability < 1 && rng.uniform() >= opts.probability) continue;
      if (op === 'Identity') continue;
      applyOp(op, a, b, ch, h, w, opParameter(op, m, sign), fill);
      const t = a;
      a = b;
      b = t;
    }
    if (side > 0) cutoutInPlace(a, ch, h, w, side, cutoutFill, rng);
    if (images.dtype === 'uint8') (out as Uint8Array).set(a, i * size);
    else for (let p = 0; p < size; p++) (out as Float32Array)[i * size + p] = a[p]! / 255;
  }
  return new Tensor(images.dtype, out, images.shape) as ImageBatch;
}
