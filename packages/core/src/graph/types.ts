import type { DType, Tensor } from '../tensor.js';

/** A dimension: a size, or a symbol for sizes fixed only at run time (e.g. a variable batch). */
export type Dim = number | string;

export interface ValueType {
  dtype: DType;
  shape: readonly Dim[];
}

export type AttributeValue =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'strings'; value: readonly string[] }
  | { type: 'tensor'; value: Tensor };

/** What a caller may pass as an attribute; plain numbers become ints or floats by the op's declaration. */
export type AttributeInput = number | string | readonly number[] | readonly string[] | Tensor | AttributeValue;

export function isStatic(shape: readonly Dim[]): shape is readonly number[] {
  return shape.every((d) => typeof d === 'number');
}

export function formatShape(shape: readonly Dim[]): string {
  return `[${shape.join(', ')}]`;
}
