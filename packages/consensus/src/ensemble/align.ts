/**
 * Aligning the cluster labels of several labelings of the same points (the "direct" consensus method that SPC
 * uses): one member is the pivot, chosen without ground truth as the member that agrees most with the others,
 * and every other member's clusters are matched to the pivot's by the Hungarian algorithm on their overlap.
 */
import { InvalidOptionError, c, linearSumAssignment, validateOptions } from '@dc/core';
import { checkLabelings, contingency, normalizedMutualInformation, type Labeling } from './labelings.js';

export type PivotCriterion = 'nmi' | 'matched';

/** Points sharing a label after the best one-to-one matching of clusters, over all points. */
export function matchedAgreement(a: Int32Array, b: Int32Array): number {
  const { table } = contingency(a, b);
  if (table.length === 0 || table[0]!.length === 0) return 0;
  const { total } = linearSumAssignment(table, { maximize: true });
  return total / a.length;
}

export interface PivotChoice {
  pivot: number;
  /** Each member's mean similarity to the others. */
  scores: Float64Array;
}

/**
 * The member with the highest mean similarity to the others: 'nmi' (default) or 'matched' (matched
 * agreement). Ties go to the lower index; a single member is its own pivot.
 */
export function choosePivot(labelings: readonly Labeling[], options: { criterion?: PivotCriterion } = {}): PivotChoice {
  const members = checkLabelings('labelings', labelings);
  const o = validateOptions('choosePivot', options, { criterion: c.oneOf(['nmi', 'matched'] as const) }, { criterion: 'nmi' });
  return pivotOf(members, o.criterion);
}

function pivotOf(members: Int32Array[], criterion: PivotCriterion): PivotChoice {
  const m = members.length;
  const scores = new Float64Array(m);
  const sim = criterion === 'nmi' ? normalizedMutualInformation : matchedAgreement;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) {
      const s = sim(members[i]!, members[j]!);
      scores[i] = scores[i]! + s;
      scores[j] = scores[j]! + s;
    }
  }
  if (m > 1) for (let i = 0; i < m; i++) scores[i] = scores[i]! / (m - 1);
  let pivot = 0;
  for (let i = 1; i < m; i++) if (scores[i]! > scores[pivot]!) pivot = i;
  return { pivot, scores };
}

export interface Alignment {
  /** Every member relabelled into the pivot's label space (noise stays -1). */
  labelings: Int32Array[];
  pivot: number;
  /** Per member: original cluster label -> aligned label. */
  mappings: Map<number, number>[];
  /** Pivot-choice scores (empty when the pivot was given). */
  scores: Float64Array;
}

export interface AlignOptions {
  /** A member index, or the criterion for choosing one (default 'nmi'). */
  pivot?: number | PivotCriterion;
}

/**
 * Relabels every member so that its clusters carry the label of the pivot cluster they overlap most under a
 * one-to-one (Hungarian) matching. Members may have different cluster counts: a cluster left unmatched, or
 * matched to a pivot cluster it shares no point with, gets a new label above all the pivot's labels (new labels
 * are numbered in member order, then by original label). The pivot keeps its labels.
 */
export function alignLabelings(labelings: readonly Labeling[], options: AlignOptions = {}): Alignment {
  const members = checkLabelings('labelings', labelings);
  const o = validateOptions('alignLabelings', options, {
    pivot: c.anyOf(c.oneOf(['nmi', 'matched'] as const), c.int({ min: 0 })),
  }, { pivot: 'nmi' });
  let pivot: number;
  let scores: Float64Array = new Float64Array(0);
  if (typeof o.pivot === 'number') {
    if (o.pivot >= members.length) {
      throw new InvalidOptionError('alignLabelings', 'pivot', `a member index in [0, ${members.length - 1}] or 'nmi' or 'matched'`, o.pivot);
    }
    pivot = o.pivot;
  } else {
    ({ pivot, scores } = pivotOf(members, o.pivot));
  }
  const reference = members[pivot]!;
  let nextLabel = 0;
  for (const l of reference) if (l + 1 > nextLabel) nextLabel = l + 1;
  const aligned: Int32Array[] = [];
  const mappings: Map<number, number>[] = [];
  members.forEach((member, index) => {
    const map = new Map<number, number>();
    if (index === pivot) {
      for (const l of member) if (l >= 0) map.set(l, l);
    } else {
      const { rowIds, colIds, table } = contingency(member, reference);
      if (rowIds.length > 0 && colIds.length > 0) {
        for (const [r, col] of linearSumAssignment(table, { maximize: true }).pairs) {
          if (table[r]![col]! > 0) map.set(rowIds[r]!, colIds[col]!);
        }
      }
      for (const id of rowIds) if (!map.has(id)) map.set(id, nextLabel++);
      // Clusters with no point outside noise in the pivot still need labels.
      for (const l of member) if (l >= 0 && !map.has(l)) map.set(l, nextLabel++);
    }
    mappings.push(map);
    aligned.push(Int32Array.from(member, (l) => (l < 0 ? -1 : map.get(l)!)));
  });
  return { labelings: aligned, pivot, mappings, scores };
}
