/**
 * Where SPC's clustering of one round could gain, read off the members' UMAP layouts that `run.ts` writes with
 * DC_SPC_LAYOUTS=<dir> (a tuning tool; ground truth is read only to score):
 *
 *   layouts.ts <mnist|fashion> <dir> [round] [minClusterSize]
 *
 * For each member's layout: the accuracy of SPC's cut (the highest level of the HDBSCAN hierarchy with exactly K
 * clusters) against every other exactly-K level; the accuracy of the K condensed-tree clusters of most excess of
 * mass (an alternative to a level); and how separable the classes are in the layout at all, as the purity of
 * k-means with K and 5K clusters (purity with 5K clusters well below 100% means the layout itself mixes classes,
 * which no choice of K clusters can undo).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '@dc/core';
import { fitHdbscan, fitKMeans, stabilities, type CondensedTree } from '@dc/consensus';
import { loadFashionMnist, loadMnist } from '@dc/data';
import { clusteringAccuracy, purity } from '@dc/metrics';
import { BENCH_OPTIONS } from './suite.js';

const [dataset, dir, roundArg, minClusterSizeArg] = process.argv.slice(2);
if ((dataset !== 'mnist' && dataset !== 'fashion') || !dir) throw new Error('usage: layouts.ts <mnist|fashion> <dir> [round] [minClusterSize]');
const round = Number(roundArg ?? 0);
const split = process.env.DC_SPC_SPLIT === 'test' ? { split: 'test' as const } : {};
const truth = (dataset === 'mnist' ? await loadMnist(split) : await loadFashionMnist(split)).labels!;
// The benchmark schedule's clustering settings, with fitSpc's defaults where it sets none.
const schedule = BENCH_OPTIONS[dataset];
const K = schedule.nClusters;
const MIN_PTS = schedule.hdbscan?.minPts ?? 10;
const minClusterSize = Number(minClusterSizeArg ?? schedule.hdbscan?.minClusterSize ?? Math.max(MIN_PTS, Math.round((500 * truth.length) / 70000)));
const pct = (v: number) => (100 * v).toFixed(2);
// Noise counts as one more cluster (its points are not matched to a class).
const accuracy = (labels: Int32Array) => clusteringAccuracy(Int32Array.from(labels, (l) => (l < 0 ? K : l)), truth).accuracy;

/** The k condensed-tree clusters, none nested in another and covering every leaf, of most excess of mass. */
function mostMassive(tree: CondensedTree, k: number): Int32Array {
  const c = tree.clusters;
  const mass = stabilities(tree);
  // best[x][j]: the most mass of j clusters covering x's subtree; children have larger ids than their parent.
  const best = Array.from({ length: c }, () => new Float64Array(k + 1).fill(-Infinity));
  const split: Int32Array[][] = new Array(c);
  // Whether x's best single cluster is x itself.
  const whole = new Uint8Array(c);
  for (let x = c - 1; x >= 0; x--) {
    const kids = tree.children[x]!;
    let acc = new Float64Array(k + 1).fill(-Infinity);
    acc[0] = 0;
    split[x] = [];
    for (const ch of kids) {
      const next = new Float64Array(k + 1).fill(-Infinity);
      const take = new Int32Array(k + 1);
      for (let a = 0; a <= k; a++) for (let b = 1; a + b <= k; b++) {
        const v = acc[a]! + best[ch]![b]!;
        if (v > next[a + b]!) {
          next[a + b] = v;
          take[a + b] = b;
        }
      }
      acc = next;
      split[x]!.push(take);
    }
    if (kids.length > 0) best[x]!.set(acc);
    if (x > 0 && (kids.length === 0 || mass[x]! >= best[x]![1]!)) {
      best[x]![1] = mass[x]!;
      whole[x] = 1;
    }
  }
  const selected = new Uint8Array(c);
  const pick = (x: number, j: number) => {
    const kids = tree.children[x]!;
    if (j === 1 && whole[x]) {
      selected[x] = 1;
      return;
    }
    for (let i = kids.length - 1; i >= 0; i--) {
      const b = split[x]![i]![j]!;
      pick(kids[i]!, b);
      j -= b;
    }
  };
  if (best[0]![k] === -Infinity) return new Int32Array(tree.n).fill(-1);
  pick(0, k);
  const labelOf = new Int32Array(c).fill(-1);
  let next = 0;
  for (let x = 1; x < c; x++) labelOf[x] = selected[x] ? next++ : labelOf[tree.parent[x]!]!;
  return Int32Array.from(tree.pointCluster, (x) => labelOf[x]!);
}

const files = readdirSync(dir).filter((f) => f.startsWith(`r${round}-m`) && f.endsWith('.layout.f32')).sort();
if (files.length === 0) throw new Error(`no r${round}-m*.layout.f32 in ${dir}`);
for (const file of files) {
  const data = new Float32Array(readFileSync(join(dir, file)).buffer.slice(0));
  const n = truth.length;
  const layout = new Tensor('float32', data, [n, data.length / n]);
  const h = fitHdbscan(layout, { minPts: MIN_PTS, minClusterSize });
  const levels = h.cuts(K);
  const noise = (l: Int32Array) => l.reduce((s, v) => s + (v < 0 ? 1 : 0), 0);
  console.log(`${file}: ${levels.length} cut level(s) with exactly ${K} clusters of >= ${minClusterSize} points`);
  levels.forEach((lv, i) => {
    const mark = i === levels.length - 1 ? " (SPC's cut)" : '';
    console.log(`  distances ${lv.lowestDistance.toFixed(4)}-${lv.nextDistance.toFixed(4)}: ACC ${pct(accuracy(lv.labels))}, noise ${noise(lv.labels)}${mark}`);
  });
  const massive = mostMassive(h.condensedTree, K);
  console.log(`  ${K} clusters of most excess of mass: ACC ${pct(accuracy(massive))}, noise ${noise(massive)}`);
  const pure = [K, 5 * K].map((k) => `${k} clusters ${pct(purity(fitKMeans(layout, { k, seed: 1, maxIterations: 50 }).labels, truth))}`);
  console.log(`  k-means purity: ${pure.join(', ')}`);
}
