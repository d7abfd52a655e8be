/**
 * The image operations of RandAugment (RUC's Table 5), each matching the definition in PIL (ImageOps,
 * ImageEnhance, Image.transform with nearest resampling) bit for bit on 8-bit images: the reference
 * implementations of RUC, SCAN and SPICE run these PIL functions. Checked against PIL-generated fixtures in
 * test/fixtures.
 *
 * Every function reads one planar image `src` ([C, H, W], uint8) and writes `dst` (same size, not aliased).
 * Lookup tables and histograms live in module scratch buffers, so nothing is allocated per image or pixel.
 */

const lut = new Uint8Array(256);
const hist = new Int32Array(256);
/**
 * round(s / 13) for every possible SMOOTH kernel sum s (0 to 13 * 255). PIL sums in float with 0.5 added and
 * truncates; s / 13 is never within float error of a half, so this integer table matches it.
 */
const smoothed = Uint8Array.from({ length: 13 * 255 + 1 }, (_, s) => Math.floor((2 * s + 13) / 26));
/** Vertical 3-pixel sums of one row, for `sharpness`. */
let columnSums = new Int32Array(64);
/** fround(alpha * d) for d in [-255, 255], indexed by d + 255. */
const products = new Float32Array(511);

function applyLut(src: Uint8Array, dst: Uint8Array, start: number, end: number): void {
  for (let p = start; p < end; p++) dst[p] = lut[src[p]!]!;
}

/**
 * PIL's Image.blend on 8-bit values: in1 + alpha * (in2 - in1) evaluated in C float (single precision, alpha a
 * float), clipped to [0, 255] and truncated.
 */
function blend8(in1: number, product: number): number {
  const v = Math.fround(in1 + product);
  return v <= 0 ? 0 : v >= 255 ? 255 : v | 0;
}

function fillProducts(alpha: number): void {
  const a = Math.fround(alpha);
  for (let d = -255; d <= 255; d++) products[d + 255] = Math.fround(a * d);
}

/** ITU-R 601-2 luma as PIL's convert('L') computes it from 8-bit RGB. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}

export function identity(src: Uint8Array, dst: Uint8Array): void {
  dst.set(src);
}

/** ImageOps.autocontrast (cutoff 0): per channel, stretch [min, max] to [0, 255]. */
export function autoContrast(src: Uint8Array, dst: Uint8Array, ch: number, plane: number): void {
  for (let k = 0; k < ch; k++) {
    const start = k * plane;
    const end = start + plane;
    let lo = 255;
    let hi = 0;
    for (let p = start; p < end; p++) {
      const v = src[p]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi <= lo) {
      dst.set(src.subarray(start, end), start);
      continue;
    }
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    for (let i = 0; i < 256; i++) {
      const v = Math.trunc(i * scale + offset);
      lut[i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    applyLut(src, dst, start, end);
  }
}

/** ImageOps.equalize: per channel, map the cumulative histogram to a uniform one. */
export function equalize(src: Uint8Array, dst: Uint8Array, ch: number, plane: number): void {
  for (let k = 0; k < ch; k++) {
    const start = k * plane;
    const end = start + plane;
    hist.fill(0);
    for (let p = start; p < end; p++) hist[src[p]!]!++;
    let nonZero = 0;
    let last = 0;
    for (let i = 0; i < 256; i++) {
      if (hist[i]! > 0) {
        nonZero++;
        last = hist[i]!;
      }
    }
    const step = nonZero <= 1 ? 0 : Math.floor((plane - last) / 255);
    if (step === 0) {
      dst.set(src.subarray(start, end), start);
      continue;
    }
    let n = Math.floor(step / 2);
    for (let i = 0; i < 256; i++) {
      const v = Math.floor(n / step);
      lut[i] = v > 255 ? 255 : v;
      n += hist[i]!;
    }
    applyLut(src, dst, start, end);
  }
}

/** ImageOps.posterize: keep the top `bits` bits of every value. */
export function posterize(src: Uint8Array, dst: Uint8Array, bits: number): void {
  const mask = ~((1 << (8 - bits)) - 1) & 0xff;
  for (let p = 0; p < src.length; p++) dst[p] = src[p]! & mask;
}

/** ImageOps.solarize: invert every value >= threshold. */
export function solarize(src: Uint8Array, dst: Uint8Array, threshold: number): void {
  for (let i = 0; i < 256; i++) lut[i] = i < threshold ? i : 255 - i;
  applyLut(src, dst, 0, src.length);
}

/** ImageEnhance.Brightness: blend with black. */
export function brightness(src: Uint8Array, dst: Uint8Array, factor: number): void {
  fillProducts(factor);
  for (let i = 0; i < 256; i++) lut[i] = blend8(0, products[i + 255]!);
  applyLut(src, dst, 0, src.length);
}

/** ImageEnhance.Contrast: blend with a flat image of the rounded mean luma. */
export function contrast(src: Uint8Array, dst: Uint8Array, ch: number, plane: number, factor: number): void {
  let sum = 0;
  if (ch === 3) {
    for (let p = 0; p < plane; p++) sum += luma(src[p]!, src[plane + p]!, src[2 * plane + p]!);
  } else {
    for (let p = 0; p < plane; p++) sum += src[p]!;
  }
  const mean = Math.floor(sum / plane + 0.5);
  fillProducts(factor);
  for (let i = 0; i < 256; i++) lut[i] = blend8(mean, products[i - mean + 255]!);
  applyLut(src, dst, 0, ch * plane);
}

/** ImageEnhance.Color: blend with the image's own greyscale; a grey image is left unchanged. */
export function color(src: Uint8Array, dst: Uint8Array, ch: number, plane: number, factor: number): void {
  if (ch !== 3) {
    dst.set(src);
    return;
  }
  fillProducts(factor);
  for (let p = 0; p < plane; p++) {
    const r = src[p]!;
    const g = src[plane + p]!;
    const b = src[2 * plane + p]!;
    const l = luma(r, g, b);
    dst[p] = blend8(l, products[r - l + 255]!);
    dst[plane + p] = blend8(l, products[g - l + 255]!);
    dst[2 * plane + p] = blend8(l, products[b - l + 255]!);
  }
}

/**
 * ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3x3 kernel [1 1 1; 1 5 1; 1 1 1] / 13, rounded; the
 * one-pixel border is left as is, and images under 3x3 are not filtered).
 */
export function sharpness(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, factor: number): void {
  const plane = h * w;
  if (h < 3 || w < 3) {
    dst.set(src);
    return;
  }
  fillProducts(factor);
  if (columnSums.length < w) columnSums = new Int32Array(w);
  const cols = columnSums;
  for (let k = 0; k < ch; k++) {
    const o = k * plane;
    // Borders: the smoothed value equals the original, and blending a value with itself returns it.
    for (let x = 0; x < w; x++) {
      dst[o + x] = src[o + x]!;
      dst[o + (h - 1) * w + x] = src[o + (h - 1) * w + x]!;
    }
    for (let y = 1; y < h - 1; y++) {
      const row = o + y * w;
      dst[row] = src[row]!;
      dst[row + w - 1] = src[row + w - 1]!;
      for (let x = 0; x < w; x++) cols[x] = src[row - w + x]! + src[row + x]! + src[row + w + x]!;
      for (let x = 1; x < w - 1; x++) {
        const p = row + x;
        const centre = src[p]!;
        // The kernel is the 3x3 box plus 4 more times the centre.
        const s = cols[x - 1]! + cols[x]! + cols[x + 1]! + 4 * centre;
        const smooth = smoothed[s]!;
        dst[p] = blend8(smooth, products[centre - smooth + 255]!);
      }
    }
  }
}

/** Scratch index tables for `affine`, grown on demand. */
let pixelMap = new Int32Array(1024);
let columnMap = new Int32Array(64);
let rowMap = new Int32Array(64);

/** Copies the mapped pixels channel by channel: map[q] is a source offset in the plane, or -1 for `fill`. */
function gather(src: Uint8Array, dst: Uint8Array, ch: number, plane: number, map: Int32Array, fill: number): void {
  for (let k = 0; k < ch; k++) {
    const o = k * plane;
    for (let q = 0; q < plane; q++) {
      const s = map[q]!;
      dst[o + q] = s < 0 ? fill : src[o + s]!;
    }
  }
}

/**
 * Image.transform(AFFINE, (a, b, c, d, e, f), NEAREST): output pixel (x, y) takes the input pixel at
 * (a x + b y + c, d x + e y + f), measured at pixel centres; outside the image it gets `fill`. PIL computes this
 * in 16.16 fixed point (or, for pure scale/translation, in doubles); both paths are reproduced exactly.
 */
export function affine(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, m: readonly number[], fill: number): void {
  const plane = h * w;
  const [a, b, c, d, e, f] = m as [number, number, number, number, number, number];
  if (b === 0 && d === 0) {
    // PIL's ImagingScaleAffine: separable; positions accumulated in doubles and truncated (negative: outside).
    if (columnMap.length < w) columnMap = new Int32Array(w);
    if (rowMap.length < h) rowMap = new Int32Array(h);
    let xo = c + a * 0.5;
    for (let x = 0; x < w; x++, xo += a) {
      const xi = xo < 0 ? -1 : Math.trunc(xo);
      columnMap[x] = xi < w ? xi : -1;
    }
    let yo = f + e * 0.5;
    for (let y = 0; y < h; y++, yo += e) {
      const yi = yo < 0 ? -1 : Math.trunc(yo);
      rowMap[y] = yi < h ? yi : -1;
    }
    for (let k = 0; k < ch; k++) {
      const o = k * plane;
      for (let y = 0; y < h; y++) {
        const row = o + y * w;
        const yi = rowMap[y]!;
        if (yi < 0) {
          dst.fill(fill, row, row + w);
          continue;
        }
        const srow = o + yi * w;
        for (let x = 0; x < w; x++) {
          const xi = columnMap[x]!;
          dst[row + x] = xi < 0 ? fill : src[srow + xi]!;
        }
      }
    }
    return;
  }
  // PIL's affine_fixed: FIX(v) = floor(v * 65536 + 0.5), positions stepped in integers, floor by >> 16.
  const fix = (v: number) => Math.floor(v * 65536 + 0.5);
  const a0 = fix(a);
  const a1 = fix(b);
  const a3 = fix(d);
  const a4 = fix(e);
  let rowX = fix(c + a * 0.5 + b * 0.5);
  let rowY = fix(f + d * 0.5 + e * 0.5);
  if (pixelMap.length < plane) pixelMap = new Int32Array(plane);
  const map = pixelMap;
  for (let y = 0, q = 0; y < h; y++, rowX += a1, rowY += a4) {
    let xx = rowX;
    let yy = rowY;
    for (let x = 0; x < w; x++, q++, xx += a0, yy += a3) {
      const xi = xx >> 16;
      const yi = yy >> 16;
      map[q] = xi >= 0 && xi < w && yi >= 0 && yi < h ? yi * w + xi : -1;
    }
  }
  gather(src, dst, ch, plane, map, fill);
}

const matrix = [0, 0, 0, 0, 0, 0];

/** Image.rotate(angle) (degrees, counter-clockwise, about the centre, nearest, same size). */
export function rotate(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, degrees: number, fill: number): void {
  const t = (-degrees * Math.PI) / 180;
  // PIL rounds the rotation matrix to 15 decimals, which makes 90-degree steps exact.
  const round15 = (v: number) => Math.round(v * 1e15) / 1e15;
  const cos = round15(Math.cos(t));
  const sin = round15(Math.sin(t));
  const cx = w / 2;
  const cy = h / 2;
  matrix[0] = cos;
  matrix[1] = sin;
  matrix[2] = cos * -cx + sin * -cy + cx;
  matrix[3] = -sin;
  matrix[4] = cos;
  matrix[5] = -sin * -cx + cos * -cy + cy;
  affine(src, dst, ch, h, w, matrix, fill);
}

/** transform(AFFINE, (1, v, 0, 0, 1, 0)): shear along x. */
export function shearX(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, v: number, fill: number): void {
  matrix[0] = 1;
  matrix[1] = v;
  matrix[2] = 0;
  matrix[3] = 0;
  matrix[4] = 1;
  matrix[5] = 0;
  affine(src, dst, ch, h, w, matrix, fill);
}

/** transform(AFFINE, (1, 0, 0, v, 1, 0)): shear along y. */
export function shearY(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, v: number, fill: number): void {
  matrix[0] = 1;
  matrix[1] = 0;
  matrix[2] = 0;
  matrix[3] = v;
  matrix[4] = 1;
  matrix[5] = 0;
  affine(src, dst, ch, h, w, matrix, fill);
}

/** transform(AFFINE, (1, 0, px, 0, 1, 0)): content moves left by px pixels (px may be fractional). */
export function translateX(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, px: number, fill: number): void {
  matrix[0] = 1;
  matrix[1] = 0;
  matrix[2] = px;
  matrix[3] = 0;
  matrix[4] = 1;
  matrix[5] = 0;
  affine(src, dst, ch, h, w, matrix, fill);
}

/** transform(AFFINE, (1, 0, 0, 0, 1, py)): content moves up by py pixels. */
export function translateY(src: Uint8Array, dst: Uint8Array, ch: number, h: number, w: number, py: number, fill: number): void {
  matrix[0] = 1;
  matrix[1] = 0;
  matrix[2] = 0;
  matrix[3] = 0;
  matrix[4] = 1;
  matrix[5] = py;
  affine(src, dst, ch, h, w, matrix, fill);
}
