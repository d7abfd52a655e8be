/**
 * The worker from the built package: @dc/nn is built with tsup (the package's own build tool, JS only) next to a
 * freshly built @dc/core installed under node_modules (so the test does not depend on core's dist being current),
 * then plain Node (no tsx) runs
 * trainInWorker from ESM and from CommonJS. This is the layout users get: dist/index.{js,cjs} + dist/worker-entry.js.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const pkg = join(__dirname, '..');
// Under the repository's node_modules so the bundle resolves onnxruntime-node and friends; ignored by git.
const out = join(pkg, '..', '..', 'node_modules', '.cache', `dc-nn-worker-test-${process.pid}`);

beforeAll(() => {
  mkdirSync(out, { recursive: true });
  // tsup runs in a child process: inside jest's vm context its module loading misbehaves.
  const core = join(pkg, '..', 'core');
  writeFileSync(join(out, 'build.mjs'), `
import { build } from 'tsup';
import { writeFileSync } from 'node:fs';
const common = { config: false, silent: true, format: ['esm', 'cjs'], platform: 'node', target: 'node20', dts: false, splitting: false, shims: true };
// @dc/core as an installed package of its own (its dependencies bundled in), shared by the bundle and the worker.
await build({
  ...common,
  entry: { index: ${JSON.stringify(join(core, 'src', 'index.ts'))} },
  outDir: ${JSON.stringify(join(out, 'node_modules', '@dc', 'core', 'dist'))},
  noExternal: [/^(?!onnxruntime-node)/],
  external: ['onnxruntime-node'],
  tsconfig: ${JSON.stringify(join(core, 'tsconfig.build.json'))},
});
writeFileSync(${JSON.stringify(join(out, 'node_modules', '@dc', 'core', 'package.json'))}, JSON.stringify({
  name: '@dc/core', type: 'module', exports: { '.': { import: './dist/index.js', require: './dist/index.cjs' } },
}));
// @dc/nn exactly as the package builds it: its own entries, dependencies external.
await build({
  ...common,
  entry: { index: ${JSON.stringify(join(pkg, 'src', 'index.ts'))}, 'worker-entry': ${JSON.stringify(join(pkg, 'src', 'train', 'worker-entry.ts'))} },
  outDir: ${JSON.stringify(join(out, 'dist'))},
  external: ['@dc/core', 'onnxruntime-node'],
  tsconfig: ${JSON.stringify(join(pkg, 'tsconfig.build.json'))},
});`);
  execFileSync(process.execPath, [join(out, 'build.mjs')], { cwd: pkg, stdio: 'pipe' });
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  writeFileSync(join(out, 'job.mjs'), `
import { MLP, adam, crossEntropy, tensorDataset } from './dist/index.js';
import { Tensor } from '@dc/core';
export function createJob({ n }) {
  const x = Tensor.zeros([n, 4]);
  for (let i = 0; i < x.size; i++) x.data[i] = Math.sin(i * 1.3);
  const y = Tensor.fromArray(Array.from({ length: n }, (_, i) => i % 3), 'int64');
  return {
    trainer: { model: new MLP({ inputDim: 4, hidden: [8], outputDim: 3 }), loss: (ctx) => crossEntropy(ctx.g, ctx.forward(ctx.input('x')), ctx.input('y')), optimizer: adam({ lr: 0.01 }), threads: 1 },
    data: tensorDataset({ x, y }),
    fit: { epochs: 2, batchSize: 8 },
  };
}`);
  writeFileSync(join(out, 'run.mjs'), `
import { trainInWorker, workerEntry } from './dist/index.js';
const r = await trainInWorker({ module: new URL('./job.mjs', import.meta.url), args: { n: 40 } });
console.log(JSON.stringify({ entry: workerEntry().url.pathname, steps: r.progress.globalStep, params: r.state.model.parameters.size }));`);
  writeFileSync(join(out, 'run.cjs'), `
const { trainInWorker, workerEntry } = require('./dist/index.cjs');
trainInWorker({ module: require('node:path').join(__dirname, 'job.mjs'), args: { n: 40 } })
  .then((r) => console.log(JSON.stringify({ entry: workerEntry().url.pathname, steps: r.progress.globalStep, params: r.state.model.parameters.size })));`);
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

function runPlainNode(script: string): { entry: string; steps: number; params: number } {
  const stdout = execFileSync(process.execPath, [join(out, script)], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { entry: string; steps: number; params: number };
}

describe('trainInWorker from the built package (plain Node, no tsx)', () => {
  it.each(['run.mjs', 'run.cjs'])('%s trains in dist/worker-entry.js', (script) => {
    const r = runPlainNode(script);
    expect(r.entry.endsWith('/dist/worker-entry.js')).toBe(true);
    expect(r.steps).toBe(10);
    expect(r.params).toBe(4);
  }, 120_000);
});
