/** A printable summary of an `Evaluation`. */
import { c, validateOptions } from '@dc/core';
import type { Evaluation } from './evaluate.js';

export interface FormatOptions {
  /** Decimal places of scores (default 4). */
  digits?: number;
  /** Print the confusion matrix: true, false, or 'auto' (default: when it has at most 12 columns). */
  confusion?: boolean | 'auto';
  /** Print the per-bin reliability table when calibration is present (default true). */
  reliability?: boolean;
}

function table(rows: string[][], alignRight: boolean[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

function label(v: number): string {
  return String(v);
}

// toFixed accepts 0..100 digits, but beyond 20 it only prints float64 noise (and a typo like `digit` would be
// ignored without the schema).
const schema = {
  digits: c.int({ min: 0, max: 20 }),
  confusion: c.anyOf(c.bool(), c.oneOf(['auto'] as const)),
  reliability: c.bool(),
};
const defaults = { digits: 4, confusion: 'auto' as boolean | 'auto', reliability: true };

/** Renders the evaluation as plain-text tables. */
export function formatEvaluation(result: Evaluation, options: FormatOptions = {}): string {
  const o = validateOptions('formatEvaluation', options, schema, defaults);
  const digits = o.digits;
  const f = (v: number) => v.toFixed(digits);
  const lines: string[] = [];
  const noise = result.excluded > 0 ? `, ${result.excluded} noise excluded` : '';
  lines.push(`${result.n} samples, ${result.numClusters} clusters, ${result.numClasses} classes${noise}`);
  lines.push(
    ...table(
      [
        ['metric', 'value'],
        ['ACC', f(result.accuracy)],
        [`NMI (${result.average})`, f(result.nmi)],
        [`AMI (${result.average})`, f(result.ami)],
        ['ARI', f(result.ari)],
        ['purity', f(result.purity)],
      ],
      [false, true],
    ),
  );
  if (result.unmatchedClusters.length > 0) lines.push(`unmatched clusters (counted as errors): ${result.unmatchedClusters.map(label).join(', ')}`);
  if (result.unmatchedClasses.length > 0) lines.push(`classes without a cluster: ${result.unmatchedClasses.map(label).join(', ')}`);

  const cal = result.calibration;
  if (cal) {
    lines.push('', `calibration (${cal.bins.length} bins): ECE ${f(cal.ece)}, MCE ${f(cal.mce)}, mean confidence ${f(cal.meanConfidence)}, accuracy ${f(cal.accuracy)}`);
    if (o.reliability) {
      const rows = [['bin', 'count', 'accuracy', 'confidence']];
      for (const b of cal.bins) {
        if (b.count === 0) continue;
        rows.push([`(${b.lower.toFixed(2)}, ${b.upper.toFixed(2)}]`, String(b.count), f(b.accuracy), f(b.confidence)]);
      }
      lines.push(...table(rows, [false, true, true, true]));
    }
  }
  const clean = result.cleanSet;
  if (clean) {
    lines.push(
      '',
      `clean set: ${clean.selected} of ${clean.n} selected; precision ${f(clean.precision)}, recall ${f(clean.recall)}, F1 ${f(clean.f1)}`,
    );
  }
  const m = result.confusion;
  const show = o.confusion;
  if (m && (show === true || (show === 'auto' && m.clusters.length <= 12))) {
    lines.push('', 'confusion matrix (rows: true classes, columns: clusters, ACC mapping on the diagonal)');
    const rows = [['', ...m.clusters.map(label)], ...m.counts.map((r, i) => [label(m.classes[i]!), ...r.map(String)])];
    lines.push(...table(rows, rows[0]!.map((_, i) => i > 0)));
  }
  return lines.join('\n');
}
