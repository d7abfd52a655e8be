// Child process: hdbscan-ts on the first n embedding-like points; prints seconds and its labels.
import { HDBSCAN } from 'hdbscan-ts';
import { reportPeak } from '../harness.js';
import { embeddingLike } from './data.js';

const [n = 2000, minPts = 5] = process.argv.slice(2).map(Number);
const x = embeddingLike(n);
const rows = Array.from({ length: n }, (_, i) => [x.data[2 * i]!, x.data[2 * i + 1]!]);
const t0 = performance.now();
const labels = new HDBSCAN({ minClusterSize: minPts, minSamples: minPts }).fit(rows);
reportPeak({ seconds: (performance.now() - t0) / 1000, labels });
