import { Tensor, assertMatrix } from '@dc/core';

/** A validated [n, d] float tensor as a row-major Float64Array (copied), with its shape. */
export function toFloat64Rows(argument: string, x: unknown, minRows = 1): { data: Float64Array; n: number; d: number } {
  const [n, d] = assertMatrix(argument, x, { minRows });
  const t = x as Tensor;
  return { data: Float64Array.from(t.data as Float32Array), n, d };
}
