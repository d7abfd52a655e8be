import { InvalidOptionError, Rng, Tensor, UnknownOptionError } from '@dc/core';
import { simclrAugment, simclrViews } from '../src/index.js';
import { randomImages } from './helpers.js';

const same = (a: Tensor, b: Tensor) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength));
const plain = { scale: [1, 1] as [number, number], ratio: [1, 1] as [number, number], flip: false, jitterProbability: 0, greyscaleProbability: 0 };

describe('SimCLR views', () => {
  const colour = randomImages(12, 3, 8, 8, 31);
  const grey = randomImages(12, 1, 8, 8, 32);

  it('returns two views of the batch with the input shape and dtype, values in range', () => {
    const [a, b] = simclrViews(colour, { seed: 1 });
    for (const v of [a, b]) {
      expect(v.shape).toEqual([12, 3, 8, 8]);
      expect(v.dtype).toBe('uint8');
    }
    expect(same(a, b)).toBe(false);
    const f = new Tensor('float32', Float32Array.from(colour.data, (v) => v / 255), colour.shape);
    const [fa] = simclrViews(f, { seed: 1 });
    expect(fa.dtype).toBe('float32');
    expect(Math.min(...fa.data)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...fa.data)).toBeLessThanOrEqual(1);
  });

  it('resizes to a requested output size', () => {
    expect(simclrAugment(colour, { size: 5, seed: 2 }).shape).toEqual([12, 3, 5, 5]);
    expect(simclrAugment(grey, { size: [6, 10], seed: 2 }).shape).toEqual([12, 1, 6, 10]);
  });

  it('is the identity when the crop is the whole image and nothing else is applied', () => {
    expect(same(simclrAugment(colour, { ...plain, seed: 3 }), colour)).toBe(true);
  });

  it('mirrors exactly when only flipping', () => {
    const y = simclrAugment(colour, { ...plain, flip: true, seed: 4 });
    let flipped = 0;
    for (let i = 0; i < 12; i++) {
      let isSame = true;
      let isMirror = true;
      for (let k = 0; k < 3; k++) for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) {
        const o = y.data[((i * 3 + k) * 8 + r) * 8 + c];
        if (o !== colour.data[((i * 3 + k) * 8 + r) * 8 + c]) isSame = false;
        if (o !== colour.data[((i * 3 + k) * 8 + r) * 8 + 7 - c]) isMirror = false;
      }
      expect(isSame || isMirror).toBe(true);
      if (isMirror) flipped++;
    }
    expect(flipped).toBeGreaterThan(1);
    expect(flipped).toBeLessThan(11);
  });

  it('crops a region and scales it up (a constant image stays constant)', () => {
    const flat = new Tensor('uint8', new Uint8Array(2 * 3 * 16 * 16).fill(90), [2, 3, 16, 16]);
    const y = simclrAugment(flat, { scale: [0.1, 0.3], flip: false, jitterProbability: 0, greyscaleProbability: 0, seed: 5 });
    expect(new Set(y.data)).toEqual(new Set([90]));
    // A horizontal ramp stays non-decreasing left to right after any crop and bilinear resize.
    const ramp = new Tensor('uint8', Uint8Array.from({ length: 16 * 16 }, (_, p) => (p % 16) * 16), [1, 1, 16, 16]);
    const r = simclrAugment(ramp, { scale: [0.2, 0.5], flip: false, jitterProbability: 0, seed: 6 });
    for (let row = 0; row < 16; row++) for (let c = 1; c < 16; c++) expect(r.data[row * 16 + c]!).toBeGreaterThanOrEqual(r.data[row * 16 + c - 1]!);
  });

  it('random greyscale makes the three channels equal; grey images skip it', () => {
    const y = simclrAugment(colour, { ...plain, greyscaleProbability: 1, seed: 7 });
    for (let i = 0; i < 12; i++) for (let p = 0; p < 64; p++) {
      const r = y.data[i * 192 + p]!;
      expect(y.data[i * 192 + 64 + p]).toBe(r);
      expect(y.data[i * 192 + 128 + p]).toBe(r);
    }
    expect(same(simclrAugment(grey, { ...plain, greyscaleProbability: 1, seed: 7 }), grey)).toBe(true);
  });

  it('colour jitter: brightness alone scales intensities; saturation and hue leave grey images unchanged', () => {
    const bright = simclrAugment(grey, { ...plain, jitterProbability: 1, jitter: { brightness: 0.5, contrast: 0, saturation: 0, hue: 0 }, seed: 8 });
    for (let i = 0; i < 12; i++) {
      // One factor per image: the output is proportional to the input (up to rounding and clipping at 255).
      const pairs: [number, number][] = [];
      for (let p = 0; p < 64; p++) if (bright.data[i * 64 + p]! < 255) pairs.push([grey.data[i * 64 + p]!, bright.data[i * 64 + p]!]);
      const ratio = pairs.reduce((s, [v, o]) => s + v * o, 0) / pairs.reduce((s, [v]) => s + v * v, 0);
      for (const [v, o] of pairs) expect(Math.abs(o - ratio * v)).toBeLessThanOrEqual(0.75);
      expect(ratio).toBeGreaterThan(0.45);
      expect(ratio).toBeLessThan(1.55);
    }
    const colourOnly = { ...plain, jitterProbability: 1, jitter: { brightness: 0, contrast: 0, saturation: 0.9, hue: 0.5 } };
    expect(same(simclrAugment(grey, { ...colourOnly, seed: 9 }), grey)).toBe(true);
    expect(same(simclrAugment(colour, { ...colourOnly, seed: 9 }), colour)).toBe(false);
  });

  it('hue rotation keeps each pixel value (max channel) and chroma', () => {
    const y = simclrAugment(colour, { ...plain, jitterProbability: 1, jitter: { brightness: 0, contrast: 0, saturation: 0, hue: 0.5 }, seed: 10 });
    for (let i = 0; i < 12; i++) for (let p = 0; p < 64; p++) {
      const px = (t: Tensor) => [0, 1, 2].map((k) => Number(t.data[i * 192 + k * 64 + p]));
      const a = px(colour);
      const b = px(y);
      expect(Math.abs(Math.max(...a) - Math.max(...b))).toBeLessThanOrEqual(1);
      expect(Math.abs(Math.max(...a) - Math.min(...a) - (Math.max(...b) - Math.min(...b)))).toBeLessThanOrEqual(2);
    }
  });

  it('is reproducible from a seed and advances a caller-owned generator', () => {
    const [a1, b1] = simclrViews(colour, { seed: 12 });
    const [a2, b2] = simclrViews(colour, { seed: 12 });
    expect(same(a1, a2) && same(b1, b2)).toBe(true);
    const rng = new Rng(12);
    expect(same(simclrAugment(colour, { rng }), a1)).toBe(true);
    expect(same(simclrAugment(colour, { rng }), b1)).toBe(true);
  });

  it('rejects invalid options one case at a time', () => {
    const bad: [object, new (...a: never[]) => Error][] = [
      [{ size: 0 }, InvalidOptionError],
      [{ scale: [0, 1] }, InvalidOptionError],
      [{ scale: [0.5, 0.2] }, InvalidOptionError],
      [{ scale: [0.5, 1.5] }, InvalidOptionError],
      [{ ratio: [2] }, InvalidOptionError],
      [{ flip: 'yes' }, InvalidOptionError],
      [{ jitterProbability: 2 }, InvalidOptionError],
      [{ greyscaleProbability: -0.1 }, InvalidOptionError],
      [{ jitter: { hue: 0.7 } }, InvalidOptionError],
      [{ jitter: { brightness: -1 } }, InvalidOptionError],
      [{ jitter: { gamma: 1 } }, UnknownOptionError],
      [{ colour: true }, UnknownOptionError],
    ];
    for (const [options, type] of bad) expect(() => simclrAugment(colour, options as never)).toThrow(type);
  });
});
