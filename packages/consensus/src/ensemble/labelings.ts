/** Shared checks and statistics for sets of labelings (noise is -1 and never counts as a cluster). */
import { InvalidInputError, Tensor, assertLabels } from '@dc/core';

export type Labeling = ArrayLike<number> | Tensor;

/** Validates 1+ labelings of one common length; returns them as Int32Arrays. */
export function checkLabelings(argument: string, labelings: unknown, minMembers = 1): Int32Array[] {
  if (!Array.isArray(labelings)) throw new InvalidInputError(argument, 'expected an array of labelings (one label array per ensemble member)');
  if (labelings.length < minMembers) throw new InvalidInputError(argument, `needs at least ${minMembers} labeling(s), got ${labelings.length}`);
  const first = labelings[0] as Labeling;
  const n = first instanceof Tensor ? first.size : (first as ArrayLike<number>)?.length;
  if (typeof n !== 'number') throw new InvalidInputError(`${argument}[0]`, 'expected an array of integer labels');
  return labelings.map((l, i) => {
    if (!(l instanceof Tensor) && (typeof l !== 'object' || l === null || typeof (l as ArrayLike<number>).length !== 'number')) {
      throw new InvalidInputError(`${argument}[${i}]`, 'expected an array of integer labels');
    }
    return assertLabels(`${argument}[${i}]`, l as Labeling, n, { allowNoise: true });
  });
}

/** Sorted distinct non-noise labels. */
export function clusterIds(labels: Int32Array): Int32Array {
  const seen = new Set<number>();
  for (const l of labels) if (l >= 0) seen.add(l);
  return Int32Array.from([...seen].sort((a, b) => a - b));
}

/** Contingency counts [rows of a's clusters][columns of b's clusters] over points that are noise in neither. */
export function contingency(a: Int32Array, b: Int32Array): { rowIds: Int32Array; colIds: Int32Array; table: number[][] } {
  const rowIds = clusterIds(a);
  const colIds = clusterIds(b);
  const rowOf = new Map<number, number>();
  rowIds.forEach((id, i) => rowOf.set(id, i));
  const colOf = new Map<number, number>();
  colIds.forEach((id, i) => colOf.set(id, i));
  const table = Array.from({ length: rowIds.length }, () => new Array<number>(colIds.length).fill(0));
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < 0 || b[i]! < 0) continue;
    table[rowOf.get(a[i]!)!]![colOf.get(b[i]!)!]! += 1;
  }
  return { rowIds, colIds, table };
}

/**
 * Normalised mutual information (arithmetic-mean normalisation, scikit-learn's default) over the points that
 * are noise in neither labeling; 1 when both put them all in one cluster.
 */
export function normalizedMutualInformation(a: Int32Array, b: Int32Array): number {
  const { table } = contingency(a, b);
  let total = 0;
  const rows = table.map((r) => r.reduce((s, v) => s + v, 0));
  const cols = table.length ? table[0]!.map((_, j) => table.reduce((s, r) => s + r[j]!, 0)) : [];
  for (const r of rows) total += r;
  if (total === 0) return 0;
  const entropy = (counts: number[]) => counts.reduce((h, v) => (v > 0 ? h - (v / total) * Math.log(v / total) : h), 0);
  const ha = entropy(rows);
  const hb = entropy(cols);
  if (ha === 0 && hb === 0) return 1;
  let mi = 0;
  table.forEach((r, i) =>
    r.forEach((v, j) => {
      if (v > 0) mi += (v / total) * Math.log((v * total) / (rows[i]! * cols[j]!));
    }),
  );
  const denom = (ha + hb) / 2;
  return denom > 0 ? Math.max(0, Math.min(1, mi / denom)) : 0;
}
