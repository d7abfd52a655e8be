// Child process: our UMAP on n x d latent-like blobs to 2-D; prints seconds (per stage, and CPU seconds of all
// threads), peak memory and,
// with a third argument 'quality', the subset trustworthiness of the embedding.
import { fitUmap } from '@dc/consensus';
import { reportPeak } from '../harness.js';
import { latentBlobs } from './data.js';
import { subsetTrustworthiness } from './quality.js';

const [nArg = '70000', dArg = '32', quality] = process.argv.slice(2);
const { x } = latentBlobs(Number(nArg), Number(dArg));
const stages: Record<string, number> = {};
let current = 'knn';
let last = performance.now();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await fitUmap(x, {
  seed: 1,
  onProgress: ({ stage }) => {
    if (stage === current) return;
    const now = performance.now();
    stages[current] = (stages[current] ?? 0) + (now - last) / 1000;
    last = now;
    current = stage;
  },
});
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
stages[current] = (stages[current] ?? 0) + (performance.now() - last) / 1000;
const trust = quality === 'quality' ? subsetTrustworthiness(x, result.embedding) : null;
reportPeak({ seconds, cpuSeconds, stages, edges: result.graph.weights.length, trust });
