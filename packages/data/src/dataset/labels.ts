/** Checks shared by the dataset types: their evaluation-only labels and class names, and their init objects. */
import { InvalidInputError, assertLabels, c } from '@dc/core';

/** Schema entry for an init field that has its own check (data tensors, labels): the schema only rejects unknown keys. */
export const CHECKED_SEPARATELY = c.custom<unknown>('checked separately', () => true);

export function checkLabels(labels: ArrayLike<number> | null | undefined, n: number): Int32Array | null {
  if (labels === null || labels === undefined) return null;
  return assertLabels('labels', labels, n);
}

export function checkClassNames(classNames: readonly string[] | null | undefined, labels: Int32Array | null): readonly string[] | null {
  if (classNames === null || classNames === undefined) return null;
  if (!Array.isArray(classNames) || classNames.some((s) => typeof s !== 'string')) {
    throw new InvalidInputError('classNames', 'expected an array of strings');
  }
  if (labels) {
    let max = -1;
    for (let i = 0; i < labels.length; i++) if (labels[i]! > max) max = labels[i]!;
    if (max >= classNames.length) {
      throw new InvalidInputError('classNames', `has ${classNames.length} names but the labels go up to ${max}`);
    }
  }
  return Object.freeze([...classNames]);
}

export function gatherLabels(labels: Int32Array | null, indices: Int32Array): Int32Array | null {
  if (!labels) return null;
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = labels[indices[i]!]!;
  return out;
}
