import type { Tensor } from '@dc/core';

/** Largest absolute difference of two float32 tensors over the largest magnitude of `want`. */
export function relMaxError(got: Tensor, want: Tensor): number {
  const g = got.data as Float32Array;
  const w = want.data as Float32Array;
  let err = 0;
  let scale = 0;
  for (let i = 0; i < w.length; i++) {
    err = Math.max(err, Math.abs(g[i]! - w[i]!));
    scale = Math.max(scale, Math.abs(w[i]!));
  }
  return err / scale;
}
