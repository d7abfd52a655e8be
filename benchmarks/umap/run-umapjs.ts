// Child process: plain umap-js (its own NN-descent neighbour search) on n x d latent-like blobs to 2-D, seeded
// through our Rng; prints seconds and the subset trustworthiness.
import { Rng, Tensor } from '@dc/core';
import { UMAP } from 'umap-js';
import { reportPeak } from '../harness.js';
import { latentBlobs } from './data.js';
import { subsetTrustworthiness } from './quality.js';

const [n = 10_000, d = 32] = process.argv.slice(2).map(Number);
const { x } = latentBlobs(n, d);
const rows = Array.from({ length: n }, (_, i) => Array.from(x.data.subarray(i * d, (i + 1) * d)));
const rng = new Rng(1);
const t0 = performance.now();
const y = new UMAP({ nNeighbors: 15, minDist: 0.1, nComponents: 2, random: () => rng.uniform() }).fit(rows);
const seconds = (performance.now() - t0) / 1000;
const embedding = new Tensor('float32', Float32Array.from(y.flat()), [n, 2]);
reportPeak({ seconds, trust: subsetTrustworthiness(x, embedding) });
