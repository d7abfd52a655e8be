/**
 * SimCLR views (Chen et al., 2020), as torchvision composes them: RandomResizedCrop, RandomHorizontalFlip,
 * ColorJitter applied with probability 0.8 (brightness, contrast, saturation, hue in random order) and
 * RandomGrayscale. Saturation, hue and greyscale are colour operations and skip grey images; brightness and
 * contrast apply to both.
 *
 * Deviations: the crop is resized with bilinear interpolation without antialiasing (torchvision's PIL path
 * antialiases; this only differs when the output is smaller than the crop), and the Gaussian blur SimCLR adds
 * for ImageNet is not included (the CIFAR recipes of SimCLR, SCAN and SPICE leave it out).
 */
import { Tensor, c, validateOptions, type Rng } from '@dc/core';
import { RNG, SEED, checkBatch, rangePair, resolveRng, type ImageBatch } from './common.js';

export interface ColorJitter {
  /** Factor drawn from [max(0, 1 - b), 1 + b]. */
  brightness?: number;
  contrast?: number;
  saturation?: number;
  /** Shift drawn from [-h, h] (fraction of the hue circle, at most 0.5). */
  hue?: number;
}

export interface SimclrAugmentOptions {
  /** Output size, one number or [height, width] (default: the input size). */
  size?: number | [number, number];
  /** Range of the crop's area as a fraction of the image (default [0.08, 1]; SCAN uses [0.2, 1] for CIFAR). */
  scale?: [number, number];
  /** Range of the crop's aspect ratio width / height (default [3/4, 4/3]). */
  ratio?: [number, number];
  /** Random horizontal flip with probability 0.5 (default true). */
  flip?: boolean;
  /** Colour jitter strengths (default 0.4, 0.4, 0.4, 0.1). */
  jitter?: ColorJitter;
  jitterProbability?: number;
  greyscaleProbability?: number;
  seed?: number;
  /** Draw from this generator instead of a new one seeded with `seed` (it advances). */
  rng?: Rng;
}

interface Resolved {
  oh: number;
  ow: number;
  scale: [number, number];
  logRatio: [number, number];
  flip: boolean;
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  jitterProbability: number;
  greyscaleProbability: number;
}

function resolve(caller: string, options: SimclrAugmentOptions, h: number, w: number): { r: Resolved; rng: Rng } {
  const opts = validateOptions(
    caller,
    options,
    {
      size: c.optional(c.anyOf(c.int({ min: 1 }), c.custom<[number, number]>('a [height, width] pair of integers >= 1', (v) => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1)))),
      scale: rangePair(1),
      ratio: rangePair(Infinity),
      flip: c.bool(),
      jitter: c.object<ColorJitter>(),
      jitterProbability: c.number({ min: 0, max: 1 }),
      greyscaleProbability: c.number({ min: 0, max: 1 }),
      seed: SEED,
      rng: RNG,
    },
    { scale: [0.08, 1] as [number, number], ratio: [3 / 4, 4 / 3] as [number, number], flip: true, jitter: {}, jitterProbability: 0.8, greyscaleProbability: 0.2 },
  );
  const jitter = validateOptions(
    `${caller} jitter`,
    opts.jitter,
    { brightness: c.number({ min: 0 }), contrast: c.number({ min: 0 }), saturation: c.number({ min: 0 }), hue: c.number({ min: 0, max: 0.5 }) },
    { brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
  );
  const size = opts.size === undefined ? [h, w] : typeof opts.size === 'number' ? [opts.size, opts.size] : (opts.size as [number, number]);
  return {
    r: {
      oh: size[0]!,
      ow: size[1]!,
      scale: opts.scale,
      logRatio: [Math.log(opts.ratio[0]), Math.log(opts.ratio[1])],
      flip: opts.flip,
      brightness: jitter.brightness,
      contrast: jitter.contrast,
      saturation: jitter.saturation,
      hue: jitter.hue,
      jitterProbability: opts.jitterProbability,
      greyscaleProbability: opts.greyscaleProbability,
    },
    rng: resolveRng(caller, opts.seed, opts.rng),
  };
}

const crop = { top: 0, left: 0, height: 0, width: 0 };

/** torchvision's RandomResizedCrop.get_params: ten tries at a random area and ratio, then a centred fallback. */
function drawCrop(rng: Rng, h: number, w: number, r: Resolved): void {
  const area = h * w;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * rng.uniform(r.scale[0], r.scale[1]);
    const aspect = Math.exp(rng.uniform(r.logRatio[0], r.logRatio[1]));
    const cw = Math.round(Math.sqrt(target * aspect));
    const chh = Math.round(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && chh > 0 && chh <= h) {
      crop.top = rng.int(h - chh + 1);
      crop.left = rng.int(w - cw + 1);
      crop.height = chh;
      crop.width = cw;
      return;
    }
  }
  const inRatio = w / h;
  const lo = Math.exp(r.logRatio[0]);
  const hi = Math.exp(r.logRatio[1]);
  if (inRatio < lo) {
    crop.width = w;
    crop.height = Math.round(w / lo);
  } else if (inRatio > hi) {
    crop.height = h;
    crop.width = Math.round(h * hi);
  } else {
    crop.width = w;
    crop.height = h;
  }
  crop.top = Math.floor((h - crop.height) / 2);
  crop.left = Math.floor((w - crop.width) / 2);
}

/** Bilinear sampling positions along one axis (align_corners = false), clamped to the crop. */
function axisTable(start: number, length: number, outLength: number, i0: Int32Array, i1: Int32Array, frac: Float32Array, mirror: boolean): void {
  const step = length / outLength;
  for (let o = 0; o < outLength; o++) {
    const oo = mirror ? outLength - 1 - o : o;
    let s = (oo + 0.5) * step - 0.5;
    if (s < 0) s = 0;
    if (s > length - 1) s = length - 1;
    const f = Math.floor(s);
    i0[o] = start + f;
    i1[o] = start + Math.min(f + 1, length - 1);
    frac[o] = s - f;
  }
}

/** Hue rotation through HSV, in place; `max` is the value scale (255 or 1). */
function shiftHue(work: Float32Array, plane: number, shift: number, max: number): void {
  for (let p = 0; p < plane; p++) {
    const r = work[p]! / max;
    const g = work[plane + p]! / max;
    const b = work[2 * plane + p]! / max;
    const v = r > g ? (r > b ? r : b) : g > b ? g : b;
    const mn = r < g ? (r < b ? r : b) : g < b ? g : b;
    const d = v - mn;
    if (d <= 0) continue; // grey pixel: hue is undefined and a shift changes nothing
    let hh: number;
    if (v === r) hh = (g - b) / d;
    else if (v === g) hh = 2 + (b - r) / d;
    else hh = 4 + (r - g) / d;
    hh = hh / 6 + shift;
    hh -= Math.floor(hh);
    const s = d / v;
    const h6 = hh * 6;
    const i = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const pp = v * (1 - s);
    const q = v * (1 - s * f);
    const t = v * (1 - s * (1 - f));
    let rr = v;
    let gg = t;
    let bb = pp;
    switch (i) {
      case 1:
        rr = q; gg = v; bb = pp;
        break;
      case 2:
        rr = pp; gg = v; bb = t;
        break;
      case 3:
        rr = pp; gg = q; bb = v;
        break;
      case 4:
        rr = t; gg = pp; bb = v;
        break;
      case 5:
        rr = v; gg = pp; bb = q;
        break;
    }
    work[p] = rr * max;
    work[plane + p] = gg * max;
    work[2 * plane + p] = bb * max;
  }
}

const order = new Int32Array(4);

/** One SimCLR view of every image (same dtype; shape [N, C, size...]). */
export function simclrAugment(images: ImageBatch, options: SimclrAugmentOptions = {}): ImageBatch {
  const [n, ch, h, w] = checkBatch('simclrAugment', images);
  const { r, rng } = resolve('simclrAugment', options, h, w);
  return augmentWith(images, n, ch, h, w, r, rng);
}

/** Two independent SimCLR views of every image: the positive pairs of contrastive learning. */
export function simclrViews(images: ImageBatch, options: SimclrAugmentOptions = {}): [ImageBatch, ImageBatch] {
  const [n, ch, h, w] = checkBatch('simclrViews', images);
  const { r, rng } = resolve('simclrViews', options, h, w);
  return [augmentWith(images, n, ch, h, w, r, rng), augmentWith(images, n, ch, h, w, r, rng)];
}

/** Bilinear resampling of the current crop of image i into `work` ([C, oh, ow]). */
function resample(src: Uint8Array | Float32Array, s0: number, ch: number, inPlane: number, w: number, work: Float32Array, oh: number, ow: number, t: Tables): void {
  const plane = oh * ow;
  const { y0, y1, fy, x0, x1, fx } = t;
  for (let k = 0; k < ch; k++) {
    const s = s0 + k * inPlane;
    const o = k * plane;
    for (let y = 0; y < oh; y++) {
      const r0 = s + y0[y]! * w;
      const r1 = s + y1[y]! * w;
      const wy = fy[y]!;
      const row = o + y * ow;
      for (let x = 0; x < ow; x++) {
        const a = x0[x]!;
        const b = x1[x]!;
        const wx = fx[x]!;
        const p00 = src[r0 + a]!;
        const p10 = src[r1 + a]!;
        const top = p00 + (src[r0 + b]! - p00) * wx;
        const bottom = p10 + (src[r1 + b]! - p10) * wx;
        work[row + x] = top + (bottom - top) * wy;
      }
    }
  }
}

function scaleValues(work: Float32Array, size: number, factor: number, max: number): void {
  for (let p = 0; p < size; p++) {
    const v = work[p]! * factor;
    work[p] = v > max ? max : v;
  }
}

function blendWithMean(work: Float32Array, size: number, mean: number, factor: number, max: number): void {
  for (let p = 0; p < size; p++) {
    const v = mean + (work[p]! - mean) * factor;
    work[p] = v < 0 ? 0 : v > max ? max : v;
  }
}

function meanGrey(work: Float32Array, plane: number, colour: boolean): number {
  let sum = 0;
  if (colour) for (let p = 0; p < plane; p++) sum += 0.299 * work[p]! + 0.587 * work[plane + p]! + 0.114 * work[2 * plane + p]!;
  else for (let p = 0; p < plane; p++) sum += work[p]!;
  return sum / plane;
}

function saturate(work: Float32Array, plane: number, factor: number, max: number): void {
  for (let p = 0; p < plane; p++) {
    const r = work[p]!;
    const g = work[plane + p]!;
    const b = work[2 * plane + p]!;
    const l = 0.299 * r + 0.587 * g + 0.114 * b;
    const r2 = l + (r - l) * factor;
    const g2 = l + (g - l) * factor;
    const b2 = l + (b - l) * factor;
    work[p] = r2 < 0 ? 0 : r2 > max ? max : r2;
    work[plane + p] = g2 < 0 ? 0 : g2 > max ? max : g2;
    work[2 * plane + p] = b2 < 0 ? 0 : b2 > max ? max : b2;
  }
}

function greyscale(work: Float32Array, plane: number): void {
  for (let p = 0; p < plane; p++) {
    work[p] = work[plane + p] = work[2 * plane + p] = 0.299 * work[p]! + 0.587 * work[plane + p]! + 0.114 * work[2 * plane + p]!;
  }
}

function writeBytes(work: Float32Array, out: Uint8Array, offset: number, size: number): void {
  // Values are already in [0, 255]; + 0.5 and truncation round them.
  for (let p = 0; p < size; p++) out[offset + p] = work[p]! + 0.5;
}

interface Tables {
  y0: Int32Array;
  y1: Int32Array;
  fy: Float32Array;
  x0: Int32Array;
  x1: Int32Array;
  fx: Float32Array;
}

function augmentWith(images: ImageBatch, n: number, ch: number, h: number, w: number, r: Resolved, rng: Rng): ImageBatch {
  const { oh, ow } = r;
  const max = images.dtype === 'uint8' ? 255 : 1;
  const inPlane = h * w;
  const plane = oh * ow;
  const outSize = ch * plane;
  const out = images.dtype === 'uint8' ? new Uint8Array(n * outSize) : new Float32Array(n * outSize);
  const work = new Float32Array(outSize);
  const t: Tables = { y0: new Int32Array(oh), y1: new Int32Array(oh), fy: new Float32Array(oh), x0: new Int32Array(ow), x1: new Int32Array(ow), fx: new Float32Array(ow) };
  const colour = ch === 3;
  for (let i = 0; i < n; i++) {
    drawCrop(rng, h, w, r);
    const flip = r.flip && rng.uniform() < 0.5;
    axisTable(crop.top, crop.height, oh, t.y0, t.y1, t.fy, false);
    axisTable(crop.left, crop.width, ow, t.x0, t.x1, t.fx, flip);
    resample(images.data, i * ch * inPlane, ch, inPlane, w, work, oh, ow, t);
    if (rng.uniform() < r.jitterProbability) {
      const bf = rng.uniform(Math.max(0, 1 - r.brightness), 1 + r.brightness);
      const cf = rng.uniform(Math.max(0, 1 - r.contrast), 1 + r.contrast);
      const sf = rng.uniform(Math.max(0, 1 - r.saturation), 1 + r.saturation);
      const hf = rng.uniform(-r.hue, r.hue);
      for (let j = 0; j < 4; j++) order[j] = j;
      rng.shuffle(order);
      for (let j = 0; j < 4; j++) {
        const step = order[j];
        if (step === 0 && r.brightness > 0) scaleValues(work, outSize, bf, max);
        else if (step === 1 && r.contrast > 0) blendWithMean(work, outSize, meanGrey(work, plane, colour), cf, max);
        else if (step === 2 && colour && r.saturation > 0) saturate(work, plane, sf, max);
        else if (step === 3 && colour && r.hue > 0) shiftHue(work, plane, hf, max);
      }
    }
    if (rng.uniform() < r.greyscaleProbability && colour) greyscale(work, plane);
    if (images.dtype === 'uint8') writeBytes(work, out as Uint8Array, i * outSize, outSize);
    else (out as Float32Array).set(work, i * outSize);
  }
  return new Tensor(images.dtype, out, [n, ch, oh, ow]) as ImageBatch;
}
