#!/usr/bin/env node
// npm run bench -- <name> [args...]: runs benchmarks/<name>/index.ts against the TypeScript sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name, ...args] = process.argv.slice(2);
const available = readdirSync(join(root, 'benchmarks'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(root, 'benchmarks', e.name, 'index.ts')))
  .map((e) => e.name)
  .sort();
if (!name || !available.includes(name)) {
  console.error(`usage: npm run bench -- <name>\navailable: ${available.join(', ')}`);
  process.exit(name ? 1 : 0);
}
const result = spawnSync(
  process.execPath,
  ['--conditions=@dc/source', '--import', 'tsx', '--expose-gc', join(root, 'benchmarks', name, 'index.ts'), ...args],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
