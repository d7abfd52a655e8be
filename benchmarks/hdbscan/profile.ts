/**
 * Time per HDBSCAN phase on n points in d dimensions, both spanning-tree algorithms.
 *   node --conditions=@dc/source --import tsx benchmarks/hdbscan/profile.ts 70000 2 5
 */
import { KdTree } from '../../packages/consensus/src/internal/kdtree.js';
import { boruvkaMst, primMst } from '../../packages/consensus/src/hdbscan/mst.js';
import { condenseTree, singleLinkage } from '../../packages/consensus/src/hdbscan/tree.js';
import { embeddingLike } from './data.js';

const [n = 70_000, d = 2, minPts = 5, withPrim = 0] = process.argv.slice(2).map(Number);
const x = embeddingLike(n, 10, 0.03, 5, d);
const data = Float64Array.from(x.data);
let t = performance.now();
const lap = (what: string) => {
  const now = performance.now();
  console.log(`${what.padEnd(22)} ${(now - t).toFixed(0)} ms`);
  t = now;
};
const tree = new KdTree(data, n, d, 16);
lap('kd-tree build');
const k = minPts - 1;
const nn = tree.knnAll(k);
const core = new Float64Array(n);
for (let i = 0; i < n; i++) core[i] = nn.distances[i * k + k - 1]!;
lap('kNN core distances');
const mst = boruvkaMst(tree, core, nn.indices, nn.distances, k);
lap('Boruvka MST');
if (withPrim) {
  primMst(data, n, d, core);
  lap('Prim MST');
}
const sl = singleLinkage(mst, n);
lap('single linkage');
condenseTree(sl, minPts);
lap('condensed tree');
