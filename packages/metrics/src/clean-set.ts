/**
 * Quality of a selected "clean" subset of pseudo-labels (RUC, supplementary Table 6). The paper reports
 * precision, recall and F1 of the clean set without spelling them out; read as a detector of correct
 * pseudo-labels (its F1 is the harmonic mean of its precision and recall, as the table's numbers confirm):
 *
 *   correct_i  = the ACC-mapped pseudo-label of sample i equals its true label
 *   precision  = |clean and correct| / |clean|      (how many selected labels are right)
 *   recall     = |clean and correct| / |correct|    (how many right labels were selected)
 *
 * The mapping is the ACC mapping of the whole labeling, not of the clean subset alone, so the clean set is
 * judged against the classes its clusters stand for. An empty clean set (or no correct label) gives 0, as
 * scikit-learn's precision/recall do on a zero division.
 */
import { InvalidInputError, ShapeError, Tensor, c, validateOptions } from '@dc/core';
import { Contingency, buildContingency, type ContingencyOptions } from './contingency.js';
import type { LabelInput } from './labels.js';

/** A selection mask: booleans or 0/1 per sample (array, typed array or rank-1 Tensor). */
export type MaskInput = ArrayLike<boolean | number> | Tensor;

export interface CleanSetQuality {
  precision: number;
  recall: number;
  f1: number;
  /** Samples in the clean set. */
  selected: number;
  /** Clean samples whose mapped label is correct. */
  selectedCorrect: number;
  /** Samples whose mapped label is correct, selected or not. */
  totalCorrect: number;
  /** Samples evaluated (noise excluded). */
  n: number;
}

/** Reads a 0/1 or boolean mask of length n. */
export function readMask(argument: string, input: MaskInput, n: number): Uint8Array {
  let data: ArrayLike<unknown>;
  if (input instanceof Tensor) {
    if (input.rank !== 1) throw new ShapeError(argument, [n], input.shape, 'A selection mask has one entry per sample.');
    data = input.data as ArrayLike<unknown>;
  } else if (input !== null && typeof input === 'object' && typeof (input as ArrayLike<unknown>).length === 'number') {
    data = input as ArrayLike<unknown>;
  } else {
    throw new InvalidInputError(argument, 'expected a boolean or 0/1 array (or rank-1 Tensor) with one entry per sample');
  }
  if (data.length !== n) throw new ShapeError(argument, [n], [data.length], 'A selection mask has one entry per sample.');
  if (data instanceof Uint8Array) {
    // Already bytes (also bool tensors): only check they are 0/1; the mask is read, never written.
    let high = 0;
    for (let i = 0; i < n; i++) high |= data[i]!;
    if (high <= 1) return data;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[i];
    if (v === true || v === 1 || v === 1n) out[i] = 1;
    else if (!(v === false || v === 0 || v === 0n)) {
      throw new InvalidInputError(argument, `a selection mask holds booleans or 0/1; found ${String(v)} at index ${i}`);
    }
  }
  return out;
}

/** @internal Clean-set quality for the counted samples of `table`; `mask` is indexed by input sample. */
export function cleanSetOf(table: Contingency, mask: Uint8Array): CleanSetQuality {
  const { clusterToClass } = table.assignment();
  const kept = table.kept;
  const { clusterCodes, classCodes, n } = table;
  let selected = 0;
  let selectedCorrect = 0;
  let totalCorrect = 0;
  for (let i = 0, j = 0; j < n; i++) {
    if (kept && !kept[i]) continue;
    const right = clusterToClass[clusterCodes[j]!] === classCodes[j] ? 1 : 0;
    const pick = mask[i]!;
    selected += pick;
    totalCorrect += right;
    selectedCorrect += pick & right;
    j++;
  }
  const precision = selected > 0 ? selectedCorrect / selected : 0;
  const recall = totalCorrect > 0 ? selectedCorrect / totalCorrect : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, selected, selectedCorrect, totalCorrect, n };
}

const schema = { noise: c.oneOf(['cluster', 'exclude'] as const) };

/**
 * Precision, recall and F1 of a clean subset of pseudo-labels `pred` against `truth`, after mapping clusters
 * to classes with the ACC mapping of the whole labeling. `clean` marks the selected samples.
 */
export function cleanSetQuality(table: Contingency, clean: MaskInput): CleanSetQuality;
export function cleanSetQuality(pred: LabelInput, truth: LabelInput, clean: MaskInput, options?: ContingencyOptions): CleanSetQuality;
export function cleanSetQuality(a: Contingency | LabelInput, b: LabelInput | MaskInput, clean?: MaskInput, options?: ContingencyOptions): CleanSetQuality {
  if (a instanceof Contingency) {
    return cleanSetOf(a, readMask('clean', b as MaskInput, a.n + a.excluded));
  }
  const { noise } = validateOptions('cleanSetQuality', options, schema, { noise: 'cluster' as const });
  if (clean === undefined) throw new InvalidInputError('clean', 'is missing: pass a selection mask with one entry per sample');
  const table = buildContingency(a, b as LabelInput, noise);
  return cleanSetOf(table, readMask('clean', clean, table.n + table.excluded));
}
