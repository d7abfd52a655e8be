import { Rng } from '@dc/core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type Average = 'arithmetic' | 'geometric' | 'min' | 'max';

export interface GoldenLabeling {
  name: string;
  n: number;
  truth: number[];
  pred: number[];
  expected: {
    mi: number;
    nmi: Record<Average, number>;
    ami: Record<Average, number>;
    ari: number;
    acc: number;
    purity: number;
    classes: number[];
    clusters: number[];
    contingency: number[][];
  };
}

export interface GoldenCalibration {
  name: string;
  bins: number;
  truth: number[];
  probabilities: number[][];
  clean: number[];
  expected: {
    ece: number;
    accuracy: number;
    bins: { count: number; accuracy: number; confidence: number }[];
    clean: { precision: number; recall: number; f1: number; selected: number; selectedCorrect: number; totalCorrect: number };
  };
}

export interface GoldenEmi {
  name: string;
  n: number;
  classSizes: number[];
  clusterSizes: number[];
  exact: string;
  sklearn: number;
}

export interface Golden {
  versions: Record<string, string>;
  labelings: GoldenLabeling[];
  calibration: GoldenCalibration[];
  emi: GoldenEmi[];
}

let cached: Golden | undefined;
export function golden(): Golden {
  cached ??= JSON.parse(readFileSync(join(__dirname, 'fixtures', 'sklearn-golden.json'), 'utf8')) as Golden;
  return cached;
}

/** Random labels 0..k-1 with optional imbalance (weights). */
export function randomLabels(rng: Rng, n: number, k: number, weights?: number[]): number[] {
  const out: number[] = [];
  if (!weights) {
    for (let i = 0; i < n; i++) out.push(rng.int(k));
    return out;
  }
  const total = weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < n; i++) {
    let u = rng.uniform() * total;
    let j = 0;
    while (j < k - 1 && u >= weights[j]!) u -= weights[j++]!;
    out.push(j);
  }
  return out;
}

/** Best one-to-one mapping by trying every injective map (small cases only). */
export function bruteForceAccuracy(pred: number[], truth: number[]): number {
  const clusters = [...new Set(pred)].sort((a, b) => a - b);
  const classes = [...new Set(truth)].sort((a, b) => a - b);
  const count = new Map<string, number>();
  for (let i = 0; i < pred.length; i++) {
    const key = `${pred[i]},${truth[i]}`;
    count.set(key, (count.get(key) ?? 0) + 1);
  }
  const swap = clusters.length > classes.length;
  const small = swap ? classes : clusters;
  const large = swap ? clusters : classes;
  let best = 0;
  const used = new Array<boolean>(large.length).fill(false);
  const walk = (i: number, total: number): void => {
    if (i === small.length) {
      if (total > best) best = total;
      return;
    }
    for (let j = 0; j < large.length; j++) {
      if (used[j]) continue;
      used[j] = true;
      const key = swap ? `${large[j]},${small[i]}` : `${small[i]},${large[j]}`;
      walk(i + 1, total + (count.get(key) ?? 0));
      used[j] = false;
    }
  };
  walk(0, 0);
  return best / pred.length;
}
