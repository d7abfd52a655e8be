/**
 * Optimal assignment (the Hungarian / Kuhn-Munkres algorithm) through the maintained `munkres` package.
 * Rectangular matrices are allowed: every row or every column (whichever is fewer) is assigned.
 */
import { munkres } from 'munkres';
import { assertFinite } from '../checks.js';
import { InvalidInputError } from '../errors.js';

export interface Assignment {
  /** Pairs [row, column], one per assigned row, in row order. */
  pairs: [number, number][];
  /** Total cost (or gain when maximising) of the assignment. */
  total: number;
}

/** Minimum-cost (or, with `maximize`, maximum-gain) one-to-one assignment of rows to columns. */
export function linearSumAssignment(matrix: readonly (readonly number[])[], options: { maximize?: boolean } = {}): Assignment {
  const rows = matrix.length;
  if (rows === 0) return { pairs: [], total: 0 };
  const cols = matrix[0]!.length;
  if (cols === 0) return { pairs: [], total: 0 };
  for (const [i, row] of matrix.entries()) {
    if (row.length !== cols) throw new InvalidInputError('matrix', `row ${i} has ${row.length} columns, row 0 has ${cols}`);
    assertFinite(`matrix[${i}]`, row);
  }
  let max = -Infinity;
  for (const row of matrix) for (const v of row) if (v > max) max = v;
  const cost = options.maximize ? matrix.map((row) => row.map((v) => max - v)) : matrix.map((row) => [...row]);
  const pairs = (munkres(cost) as [number, number][]).sort((a, b) => a[0] - b[0]);
  const total = pairs.reduce((s, [r, c]) => s + matrix[r]![c]!, 0);
  return { pairs, total };
}
