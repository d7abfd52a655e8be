/**
 * Bulk draws from an Rng. `Rng.nextUint32` is a method call that reads and writes four state fields per number
 * (measured ~26 ns per number under load); UMAP's layout loop draws about five numbers per edge update. This
 * runs the same xoshiro128** steps on local variables and writes the state back, so the numbers are exactly
 * those `rng.nextUint32()` would have returned, in the same order.
 */
import type { Rng } from '@dc/core';

// Math functions used in hot loops are module constants: under jest's VM context every `Math.x` in a loop is
// a slow global lookup (measured 10x slower layout loops in tests).
const { imul } = Math;

export function fillUint32(rng: Rng, out: Uint32Array): Uint32Array {
  const state = rng.getState();
  let [s0, s1, s2, s3] = state.s;
  for (let i = 0; i < out.length; i++) {
    const x = imul(s1, 5);
    const r = (x << 7) | (x >>> 25);
    out[i] = imul(r, 9);
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
  }
  rng.setState({ s: [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0], spareNormal: state.spareNormal });
  return out;
}

/**
 * A uniform [0, 1) source giving exactly the numbers `rng.uniform()` would (two 32-bit draws, 53 bits), drawn
 * in batches; for libraries that take a `random` function (umap-js).
 */
export function uniformSource(rng: Rng, batch = 1 << 14): () => number {
  const buf = new Uint32Array(batch + (batch & 1));
  let next = buf.length;
  return () => {
    if (next === buf.length) {
      fillUint32(rng, buf);
      next = 0;
    }
    const a = buf[next++]! >>> 5;
    const b = buf[next++]! >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  };
}
