#!/usr/bin/env node
// npm run bench -- <name> [args...]: runs benchmarks/<name>/index.ts against the TypeScript sources.
// npm run bench -- quick: runs every benchmark that takes minutes, not hours (turbo's `bench` task runs this).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const QUICK = ['knn', 'metrics', 'augment', 'hdbscan', 'umap', 'train-step'];
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'benchmarks'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(root, 'benchmarks', e.name, 'index.ts')))
  .map((e) => e.name)
  .sort();
const run = (bench, benchArgs) =>
  spawnSync(
    process.execPath,
    ['--conditions=@dc/source', '--import', 'tsx', '--expose-gc', join(root, 'benchmarks', bench, 'index.ts'), ...benchArgs],
    { stdio: 'inherit', cwd: root },
  ).status ?? 1;

if (name === 'quick') {
  let failed = 0;
  for (const bench of QUICK.filter((b) => available.includes(b))) failed += run(bench, []) === 0 ? 0 : 1;
  process.exit(failed === 0 ? 0 : 1);
}
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name> | quick\navailable: ${available.join(', ')}`);
  process.exit(name ? 1 : 0);
}
process.exit(run(name, args));
