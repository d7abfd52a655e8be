import { InvalidInputError, InvalidOptionError, Rng, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { MAX_MAGNITUDE, RANDAUGMENT_OPS, STRONG_PRESETS, applyOp, opParameter, strongAugment, type RandAugmentOp } from '../src/index.js';
import { randomBytes, randomImages } from './helpers.js';

const H = 12;
const W = 12;

/** A smooth, mid-contrast RGB image (values 60-180) with structure in both directions. */
function smoothRgb(): Uint8Array {
  const out = new Uint8Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      out[y * W + x] = 60 + 10 * x;
      out[H * W + y * W + x] = 60 + 10 * y;
      out[2 * H * W + y * W + x] = 120 + 5 * ((x + y) % 12);
    }
  }
  return out;
}

function run(op: RandAugmentOp, src: Uint8Array, ch: number, param: number): Uint8Array {
  const dst = new Uint8Array(src.length);
  applyOp(op, src, dst, ch, H, W, param);
  return dst;
}

const mean = (a: Uint8Array) => a.reduce((s, v) => s + v, 0) / a.length;
const std = (a: Uint8Array) => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};

describe('RandAugment operations change images in the expected direction', () => {
  const rgb = smoothRgb();
  const noise = randomBytes(3 * H * W, 7);

  it('Solarize inverts exactly the pixels at or above the threshold', () => {
    const out = run('Solarize', noise, 3, 128);
    noise.forEach((v, i) => expect(out[i]).toBe(v >= 128 ? 255 - v : v));
  });

  it('Posterize clears the low bits', () => {
    const out = run('Posterize', noise, 3, 3);
    noise.forEach((v, i) => {
      expect(out[i]! & 0x1f).toBe(0);
      expect(v - out[i]!).toBeGreaterThanOrEqual(0);
      expect(v - out[i]!).toBeLessThan(32);
    });
  });

  it('Brightness below 1 darkens every pixel in proportion', () => {
    const out = run('Brightness', noise, 3, 0.4);
    noise.forEach((v, i) => {
      expect(out[i]).toBeLessThanOrEqual(v);
      expect(Math.abs(out[i]! - 0.4 * v)).toBeLessThan(1);
    });
  });

  it('Contrast below 1 pulls pixels towards the mean grey', () => {
    const out = run('Contrast', noise, 3, 0.3);
    expect(std(out)).toBeLessThan(0.35 * std(noise));
    expect(Math.abs(mean(out) - mean(noise))).toBeLessThan(3);
  });

  it('Color below 1 desaturates colour images and leaves grey ones alone', () => {
    const spread = (img: Uint8Array) => {
      let s = 0;
      for (let p = 0; p < H * W; p++) s += Math.max(img[p]!, img[H * W + p]!, img[2 * H * W + p]!) - Math.min(img[p]!, img[H * W + p]!, img[2 * H * W + p]!);
      return s;
    };
    const out = run('Color', noise, 3, 0.2);
    expect(spread(out)).toBeLessThan(0.25 * spread(noise));
    const grey = noise.subarray(0, H * W);
    expect(Array.from(run('Color', grey, 1, 0.2))).toEqual(Array.from(grey));
  });

  it('Sharpness below 1 smooths, above 1 sharpens (interior Laplacian energy)', () => {
    const energy = (img: Uint8Array) => {
      let e = 0;
      for (let y = 1; y < H - 1; y++) for (let x = 1; x < W - 1; x++) {
        const p = y * W + x;
        e += Math.abs(4 * img[p]! - img[p - 1]! - img[p + 1]! - img[p - W]! - img[p + W]!);
      }
      return e;
    };
    const grey = noise.subarray(0, H * W);
    expect(energy(run('Sharpness', grey, 1, 0.1))).toBeLessThan(0.5 * energy(grey));
    const mid = run('Brightness', grey, 1, 0.5); // room to sharpen without clipping
    expect(energy(run('Sharpness', mid, 1, 1.8))).toBeGreaterThan(1.3 * energy(mid));
  });

  it('AutoContrast stretches each channel to [0, 255]', () => {
    const out = run('AutoContrast', rgb, 3, 0);
    for (let k = 0; k < 3; k++) {
      const ch = out.subarray(k * H * W, (k + 1) * H * W);
      expect(Math.min(...ch)).toBe(0);
      expect(Math.max(...ch)).toBe(255);
    }
  });

  it('Equalize spreads a narrow histogram over the full range', () => {
    // PIL leaves images of under 256 pixels unchanged (its histogram step is 0), so use 32x32.
    const low = new Uint8Array(32 * 32).map((_, i) => 100 + (i % 20));
    const out = new Uint8Array(low.length);
    applyOp('Equalize', low, out, 1, 32, 32, 0);
    expect(Math.max(...out) - Math.min(...out)).toBeGreaterThan(200);
    // Order preserving: a brighter input pixel never maps darker.
    for (let i = 1; i < low.length; i++) if (low[i]! > low[i - 1]!) expect(out[i]!).toBeGreaterThanOrEqual(out[i - 1]!);
  });

  it('Rotate by 90 degrees turns the image counter-clockwise; -90 turns it back', () => {
    const grey = noise.subarray(0, H * W);
    const out = run('Rotate', grey, 1, 90);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) expect(out[y * W + x]).toBe(grey[x * W + (W - 1 - y)]);
    expect(Array.from(run('Rotate', out, 1, -90))).toEqual(Array.from(grey));
    // A 30-degree rotation brings black in at the corners.
    const rot = run('Rotate', run('Brightness', grey, 1, 1.5).map((v) => v | 1), 1, 30);
    expect(rot[0]).toBe(0);
  });

  it('TranslateX/Y move content by the given fraction of the side, filling with black', () => {
    const grey = noise.subarray(0, H * W);
    const left = run('TranslateX', grey, 1, 3 / W);
    const up = run('TranslateY', grey, 1, -2 / H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        expect(left[y * W + x]).toBe(x + 3 < W ? grey[y * W + x + 3] : 0);
        expect(up[y * W + x]).toBe(y - 2 >= 0 ? grey[(y - 2) * W + x] : 0);
      }
    }
  });

  it('ShearX shifts each row by an amount growing with its height (rows stay intact)', () => {
    const grey = noise.subarray(0, H * W);
    const out = run('ShearX', grey, 1, 0.3);
    let previous = -Infinity;
    for (let y = 0; y < H; y++) {
      const shift = Math.floor(0.3 * (y + 0.5) + 0.5);
      expect(shift).toBeGreaterThanOrEqual(previous);
      previous = shift;
      for (let x = 0; x < W; x++) expect(out[y * W + x]).toBe(x + shift < W ? grey[y * W + x + shift] : 0);
    }
    const outY = run('ShearY', grey, 1, -0.2);
    for (let x = 0; x < W; x++) {
      const shift = Math.floor(-0.2 * (x + 0.5) + 0.5);
      for (let y = 0; y < H; y++) expect(outY[y * W + x]).toBe(y + shift >= 0 && y + shift < H ? grey[(y + shift) * W + x] : 0);
    }
  });

  it.each(RANDAUGMENT_OPS.filter((op) => !['AutoContrast', 'Equalize'].includes(op)))('%s at magnitude 0 is the identity exactly', (op) => {
    expect(Array.from(run(op, noise, 3, opParameter(op, 0)))).toEqual(Array.from(noise));
    expect(Array.from(run(op, noise, 3, opParameter(op, 0, -1)))).toEqual(Array.from(noise));
  });

  it('AutoContrast and Equalize ignore the magnitude and change images even at magnitude 0', () => {
    // A low-contrast 32x32 grey image (PIL's Equalize leaves images of under 256 pixels unchanged).
    const flat = Uint8Array.from({ length: 32 * 32 }, (_, p) => 100 + (p % 32));
    const apply = (op: RandAugmentOp, m: number) => {
      const dst = new Uint8Array(flat.length);
      applyOp(op, flat, dst, 1, 32, 32, opParameter(op, m));
      return Array.from(dst);
    };
    for (const op of ['AutoContrast', 'Equalize'] as const) {
      expect(apply(op, 0)).not.toEqual(Array.from(flat));
      expect(apply(op, MAX_MAGNITUDE)).toEqual(apply(op, 0));
    }
    const batch = new Tensor('uint8', flat, [1, 1, 32, 32]);
    expect(Array.from(strongAugment(batch, { ops: ['AutoContrast'], magnitude: 0, n: 1, seed: 0 }).data)).toEqual(apply('AutoContrast', 0));
  });

  it("maps magnitude 10 to the far end of RUC's Table 5 ranges", () => {
    expect(opParameter('Brightness', MAX_MAGNITUDE)).toBeCloseTo(0.01, 12);
    expect(opParameter('Sharpness', MAX_MAGNITUDE)).toBeCloseTo(0.01, 12);
    expect(opParameter('Posterize', MAX_MAGNITUDE)).toBe(1);
    expect(opParameter('Rotate', MAX_MAGNITUDE, -1)).toBe(-45);
    expect(opParameter('ShearY', MAX_MAGNITUDE)).toBeCloseTo(0.3, 12);
    expect(opParameter('TranslateX', MAX_MAGNITUDE, -1)).toBeCloseTo(-0.3, 12);
    expect(opParameter('Solarize', MAX_MAGNITUDE)).toBe(0);
    expect(opParameter('Posterize', 5)).toBe(4);
    expect(opParameter('Solarize', 5)).toBe(128);
  });
});

describe('strongAugment', () => {
  const colour = randomImages(16, 3, 10, 9, 3);
  const grey = randomImages(16, 1, 10, 9, 4);

  it('preserves shape and dtype of uint8 and float32 batches', () => {
    for (const x of [colour, grey]) {
      const y = strongAugment(x, { ...STRONG_PRESETS.scan, seed: 1 });
      expect(y.shape).toEqual(x.shape);
      expect(y.dtype).toBe('uint8');
    }
    const f = new Tensor('float32', Float32Array.from(colour.data, (v) => v / 255), colour.shape);
    const y = strongAugment(f, { seed: 1 });
    expect(y.dtype).toBe('float32');
    expect(y.shape).toEqual(f.shape);
    expect(Math.min(...y.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...y.data)).toBeLessThanOrEqual(1);
  });

  it('gives float32 images the same result as their uint8 originals, divided by 255', () => {
    const f = new Tensor('float32', Float32Array.from(colour.data, (v) => v / 255), colour.shape);
    const a = strongAugment(colour, { n: 3, magnitude: 7, cutout: 0.4, seed: 5 });
    const b = strongAugment(f, { n: 3, magnitude: 7, cutout: 0.4, seed: 5 });
    expect(Array.from(b.data, (v) => Math.round(v * 255))).toEqual(Array.from(a.data));
  });

  it('is reproducible: the same seed gives identical batches, another seed does not', () => {
    const a = strongAugment(colour, { seed: 42 });
    expect(Buffer.from(strongAugment(colour, { seed: 42 }).data).equals(Buffer.from(a.data))).toBe(true);
    expect(Buffer.from(strongAugment(colour, { seed: 43 }).data).equals(Buffer.from(a.data))).toBe(false);
  });

  it('advances a caller-owned generator, so successive calls differ but replay exactly', () => {
    const r1 = new Rng(9);
    const first = strongAugment(colour, { rng: r1 });
    const second = strongAugment(colour, { rng: r1 });
    expect(Buffer.from(first.data).equals(Buffer.from(second.data))).toBe(false);
    const r2 = new Rng(9);
    expect(Buffer.from(strongAugment(colour, { rng: r2 }).data).equals(Buffer.from(first.data))).toBe(true);
    expect(Buffer.from(strongAugment(colour, { rng: r2 }).data).equals(Buffer.from(second.data))).toBe(true);
  });

  it('is the identity with no operations, or only Identity, or magnitude 0 over parametrised ops', () => {
    const same = (y: Tensor) => Buffer.from(y.data as Uint8Array).equals(Buffer.from(colour.data));
    expect(same(strongAugment(colour, { n: 0 }))).toBe(true);
    expect(same(strongAugment(colour, { ops: ['Identity'], n: 5 }))).toBe(true);
    const parametrised = RANDAUGMENT_OPS.filter((op) => !['AutoContrast', 'Equalize'].includes(op));
    expect(same(strongAugment(colour, { ops: parametrised, magnitude: 0, n: 4 }))).toBe(true);
    expect(same(strongAugment(colour, { probability: 0, n: 4 }))).toBe(true);
  });

  it('changes images at full magnitude', () => {
    const y = strongAugment(colour, { n: 2, magnitude: 10, seed: 3 });
    let changed = 0;
    for (let i = 0; i < 16; i++) if (!Buffer.from(y.data.subarray(i * 270, (i + 1) * 270)).equals(Buffer.from(colour.data.subarray(i * 270, (i + 1) * 270)))) changed++;
    expect(changed).toBeGreaterThan(12);
  });

  it('Cutout fills one clipped square of the given side and nothing else', () => {
    const y = strongAugment(grey, { n: 0, cutout: 0.5, cutoutFill: 255, seed: 2 }) as Tensor<'uint8'>;
    for (let i = 0; i < 16; i++) {
      let x0 = 9, x1 = -1, y0 = 10, y1 = -1;
      for (let r = 0; r < 10; r++) for (let c = 0; c < 9; c++) {
        const p = i * 90 + r * 9 + c;
        if (y.data[p] !== grey.data[p]) {
          expect(y.data[p]).toBe(255);
          x0 = Math.min(x0, c); x1 = Math.max(x1, c); y0 = Math.min(y0, r); y1 = Math.max(y1, r);
        }
      }
      if (x1 < 0) continue;
      expect(x1 - x0 + 1).toBeLessThanOrEqual(5); // round(0.5 * 9) = 5
      expect(y1 - y0 + 1).toBeLessThanOrEqual(5);
      // Inside the box every pixel is the fill (some may have been 255 already).
      for (let r = y0; r <= y1; r++) for (let c = x0; c <= x1; c++) expect(y.data[i * 90 + r * 9 + c]).toBe(255);
    }
  });

  it('rejects invalid input and options one case at a time', () => {
    expect(() => strongAugment(randomImages(2, 2, 4, 4, 1))).toThrow(ShapeError);
    expect(() => strongAugment(new Tensor('uint8', new Uint8Array(16), [4, 4]) as unknown as Tensor<'uint8'>)).toThrow(ShapeError);
    expect(() => strongAugment(new Tensor('int32', new Int32Array(16), [1, 1, 4, 4]) as unknown as Tensor<'uint8'>)).toThrow(InvalidInputError);
    expect(() => strongAugment(new Tensor('uint8', new Uint8Array(0), [0, 3, 4, 4]))).toThrow(/empty/);
    expect(() => strongAugment(new Tensor('float32', Float32Array.from([0, 0.5, 2, 1]), [1, 1, 2, 2]))).toThrow(/\[0, 1\]; found 2/);
    expect(() => strongAugment(new Tensor('float32', Float32Array.from([0, NaN, 0, 1]), [1, 1, 2, 2]))).toThrow(InvalidInputError);
    const bad: [object, new (...a: never[]) => Error][] = [
      [{ n: -1 }, InvalidOptionError],
      [{ n: 1.5 }, InvalidOptionError],
      [{ magnitude: 11 }, InvalidOptionError],
      [{ magnitude: -0.5 }, InvalidOptionError],
      [{ magnitudeMode: 'random' }, InvalidOptionError],
      [{ probability: 1.2 }, InvalidOptionError],
      [{ ops: [] }, InvalidOptionError],
      [{ ops: ['Invert'] }, InvalidOptionError],
      [{ cutout: 2 }, InvalidOptionError],
      [{ cutoutFill: 256 }, InvalidOptionError],
      [{ fill: -1 }, InvalidOptionError],
      [{ seed: -3 }, InvalidOptionError],
      [{ seed: 1, rng: new Rng(1) }, InvalidOptionError],
      [{ rng: {} }, InvalidOptionError],
      [{ magnitute: 3 }, UnknownOptionError],
    ];
    for (const [options, type] of bad) expect(() => strongAugment(colour, options as never)).toThrow(type);
  });
});
