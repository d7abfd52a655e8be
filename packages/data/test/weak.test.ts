import { InvalidOptionError, Rng, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { weakAugment } from '../src/index.js';
import { randomImages } from './helpers.js';

const N = 24;
const C = 3;
const H = 8;
const W = 10;
const plane = H * W;

/** Pixel (k, y, x) of image i. */
const at = (t: Tensor, i: number, k: number, y: number, x: number) => Number(t.data[((i * C + k) * H + y) * W + x]);

/** The (flip, dx, dy) that explains image i of `out` as a flipped, shifted copy of `src`, if any. */
function explain(src: Tensor, out: Tensor, i: number, p: number, fill: number, pad: 'constant' | 'reflect' | 'edge'): { flip: boolean; dx: number; dy: number } | null {
  const index = (v: number, n: number) => {
    if (v >= 0 && v < n) return v;
    if (pad === 'constant') return -1;
    if (pad === 'edge') return Math.min(n - 1, Math.max(0, v));
    return v < 0 ? -v : 2 * (n - 1) - v;
  };
  for (const flip of [false, true]) {
    for (let dy = -p; dy <= p; dy++) {
      for (let dx = -p; dx <= p; dx++) {
        let ok = true;
        for (let k = 0; k < C && ok; k++) for (let y = 0; y < H && ok; y++) for (let x = 0; x < W && ok; x++) {
          const sy = index(y + dy, H);
          let sx = index(x + dx, W);
          if (sx >= 0 && flip) sx = W - 1 - sx;
          const want = sy < 0 || sx < 0 ? fill : at(src, i, k, sy, sx);
          ok = at(out, i, k, y, x) === want;
        }
        if (ok) return { flip, dx, dy };
      }
    }
  }
  return null;
}

describe('weakAugment', () => {
  const x = randomImages(N, C, H, W, 21);

  it('keeps shape and dtype', () => {
    const y = weakAugment(x, { seed: 1 });
    expect(y.shape).toEqual(x.shape);
    expect(y.dtype).toBe('uint8');
  });

  it('is the identity without flip and padding', () => {
    expect(Buffer.from(weakAugment(x, { flip: false, padding: 0 }).data).equals(Buffer.from(x.data))).toBe(true);
  });

  it('flips about half of the images exactly, and never with flip off', () => {
    const y = weakAugment(x, { padding: 0, seed: 3 });
    let flipped = 0;
    for (let i = 0; i < N; i++) {
      const e = explain(x, y, i, 0, 0, 'constant');
      expect(e).not.toBeNull();
      if (e!.flip) flipped++;
    }
    expect(flipped).toBeGreaterThan(4);
    expect(flipped).toBeLessThan(20);
  });

  it.each(['constant', 'reflect', 'edge'] as const)('shifts each image by at most the padding (%s fill)', (padMode) => {
    const y = weakAugment(x, { flip: false, padding: 2, padMode, fill: 7, seed: 5 });
    const shifts = new Set<string>();
    for (let i = 0; i < N; i++) {
      const e = explain(x, y, i, 2, 7, padMode);
      expect(e).not.toBeNull();
      expect(e!.flip).toBe(false);
      shifts.add(`${e!.dx},${e!.dy}`);
    }
    expect(shifts.size).toBeGreaterThan(5);
  });

  it('combines flip and shift, with the default padding of 12.5% of the side', () => {
    const y = weakAugment(x, { seed: 8 });
    for (let i = 0; i < N; i++) expect(explain(x, y, i, 1, 0, 'constant')).not.toBeNull();
  });

  it('moves float32 images exactly like uint8 ones', () => {
    const f = new Tensor('float32', Float32Array.from(x.data, (v) => v / 255), x.shape);
    const a = weakAugment(x, { seed: 11, padMode: 'reflect' });
    const b = weakAugment(f, { seed: 11, padMode: 'reflect' });
    expect(b.dtype).toBe('float32');
    expect(Array.from(b.data)).toEqual(Array.from(a.data, (v) => Math.fround(v / 255)));
    const c = weakAugment(f, { seed: 11, fill: 0.5 });
    expect(Math.max(...c.data)).toBeLessThanOrEqual(1);
  });

  it('is reproducible from a seed and advances a caller-owned generator', () => {
    const a = weakAugment(x, { seed: 4 });
    expect(Buffer.from(weakAugment(x, { seed: 4 }).data).equals(Buffer.from(a.data))).toBe(true);
    expect(Buffer.from(weakAugment(x, { seed: 5 }).data).equals(Buffer.from(a.data))).toBe(false);
    const rng = new Rng(4);
    const first = weakAugment(x, { rng });
    const second = weakAugment(x, { rng });
    expect(Buffer.from(first.data).equals(Buffer.from(second.data))).toBe(false);
  });

  it('handles single-pixel-wide images', () => {
    const thin = randomImages(3, 1, 5, 1, 2);
    expect(weakAugment(thin, { padMode: 'edge', padding: 1, seed: 1 }).shape).toEqual([3, 1, 5, 1]);
  });

  it('rejects invalid input and options one case at a time', () => {
    expect(() => weakAugment(new Tensor('uint8', new Uint8Array(8), [2, 4]) as unknown as Tensor<'uint8'>)).toThrow(ShapeError);
    const bad: [object, new (...a: never[]) => Error][] = [
      [{ flip: 1 }, InvalidOptionError],
      [{ padding: -1 }, InvalidOptionError],
      [{ padding: 1.5 }, InvalidOptionError],
      [{ padding: 11 }, InvalidOptionError],
      [{ padMode: 'wrap' }, InvalidOptionError],
      [{ padMode: 'reflect', padding: 8 }, InvalidOptionError],
      [{ fill: 300 }, InvalidOptionError],
      [{ seed: 0.5 }, InvalidOptionError],
      [{ flips: true }, UnknownOptionError],
    ];
    for (const [options, type] of bad) expect(() => weakAugment(x, options as never)).toThrow(type);
    const f = new Tensor('float32', new Float32Array(x.size), x.shape);
    expect(() => weakAugment(f, { fill: 2 })).toThrow(InvalidOptionError);
  });
});
