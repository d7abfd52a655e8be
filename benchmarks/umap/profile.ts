/**
 * Where does umap-js spend its time and memory? Runs each phase of a fit separately on n x d points with our
 * exact kNN fed through setPrecomputedKNN, printing seconds and RSS after each phase.
 *   node --conditions=@dc/source --import tsx benchmarks/umap/profile.ts 70000 32
 */
import { knn, Rng } from '@dc/core';
import { UMAP } from 'umap-js';
import { latentBlobs } from './data.js';

const [n = 70_000, d = 32, epochLimit = 200] = process.argv.slice(2).map(Number);
const mib = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const peak = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);
let t = performance.now();
const lap = (what: string) => {
  const now = performance.now();
  console.log(`${what.padEnd(28)} ${((now - t) / 1000).toFixed(2)} s   rss ${mib()} MiB   peak ${peak()} MiB`);
  t = now;
};
const { x } = latentBlobs(n, d);
lap('data');
const nn = await knn(x, { k: 15, metric: 'euclidean', includeSelf: true });
lap('exact kNN (@dc/core)');
const indices: number[][] = [];
const distances: number[][] = [];
for (let i = 0; i < n; i++) {
  indices.push(Array.from(nn.indices.data.subarray(i * 15, (i + 1) * 15)));
  distances.push(Array.from(nn.values.data.subarray(i * 15, (i + 1) * 15)));
}
const rows: number[][] = [];
for (let i = 0; i < n; i++) rows.push(Array.from(x.data.subarray(i * d, (i + 1) * d)));
lap('to nested arrays');
const rng = new Rng(1);
const umap = new UMAP({ nNeighbors: 15, nComponents: 2, minDist: 0.1, random: () => rng.uniform() });
umap.setPrecomputedKNN(indices, distances);
const epochs = umap.initializeFit(rows);
lap(`initializeFit (${epochs} epochs)`);
const limit = Math.min(epochs, epochLimit);
for (let e = 0; e < limit; e++) umap.step();
lap(`${limit} optimisation epochs`);
