// Child process: exact cosine kNN on n x d blobs; prints seconds and peak memory.
import { knn } from '@dc/core';
import { reportPeak } from '../harness.js';
import { blobs } from './data.js';

const [n, d, k] = process.argv.slice(2).map(Number) as [number, number, number];
const x = blobs(n, d);
const t0 = performance.now();
await knn(x, { k, metric: 'cosine' });
reportPeak({ seconds: (performance.now() - t0) / 1000 });
