// Child process: our HDBSCAN on n 2-D embedding-like points; prints seconds, clusters and peak memory.
// An optional third argument is a file to write the labels to (int32).
import { Tensor } from '@dc/core';
import { fitHdbscan } from '@dc/consensus';
import { writeFileSync } from 'node:fs';
import { reportPeak } from '../harness.js';
import { embeddingLike } from './data.js';

const [nArg, minPtsArg, labelsOut] = process.argv.slice(2);
const n = Number(nArg);
const minPts = Number(minPtsArg ?? 5);
const x: Tensor = embeddingLike(n);
const t0 = performance.now();
const res = fitHdbscan(x, { minPts });
const seconds = (performance.now() - t0) / 1000;
if (labelsOut) writeFileSync(labelsOut, Buffer.from(res.labels.buffer));
reportPeak({ seconds, clusters: res.nClusters, noise: res.labels.filter((l) => l < 0).length });
