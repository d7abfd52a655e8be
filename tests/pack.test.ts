/**
 * The truest test of the published artifact: build, `npm pack` every @dc package, install the tarballs into a fresh
 * project outside the repository, and use each package from CommonJS (`require`) and ESM (`import`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..');
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: 'skip' };

interface PackageInfo {
  dir: string;
  name: string;
}

function publishablePackages(): PackageInfo[] {
  return readdirSync(join(root, 'packages'))
    .filter((d) => existsSync(join(root, 'packages', d, 'src', 'index.ts')))
    .map((d) => ({ dir: join(root, 'packages', d), name: JSON.parse(readFileSync(join(root, 'packages', d, 'package.json'), 'utf8')).name as string }));
}

function sh(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

describe('packed packages', () => {
  const packages = publishablePackages();
  let project: string;

  beforeAll(() => {
    if (packages.some((p) => !existsSync(join(p.dir, 'dist', 'index.cjs')))) sh('npm', ['run', 'build'], root);
    project = mkdtempSync(join(tmpdir(), 'dc-pack-'));
    const tarballs = packages.map((p) => join(project, sh('npm', ['pack', '--silent', '--pack-destination', project], p.dir).trim().split('\n').pop()!));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'dc-pack-consumer', private: true, version: '1.0.0' }));
    sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tarballs], project);
  }, 600_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('ship dist, sources and types, and no tests', () => {
    for (const p of packages) {
      const installed = join(project, 'node_modules', ...p.name.split('/'));
      expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(installed, 'dist', 'index.cjs'))).toBe(true);
      expect(existsSync(join(installed, 'dist', 'index.d.ts'))).toBe(true);
      expect(existsSync(join(installed, 'dist', 'index.d.cts'))).toBe(true);
      expect(existsSync(join(installed, 'test'))).toBe(false);
    }
  });

  it('load with require() and import() for every package', () => {
    for (const p of packages) {
      const cjs = sh('node', ['-e', `const m = require('${p.name}'); console.log(Object.keys(m).length)`], project);
      const esm = sh('node', ['--input-type=module', '-e', `const m = await import('${p.name}'); console.log(Object.keys(m).length)`], project);
      expect(Number(cjs.trim())).toBeGreaterThan(0);
      expect(Number(esm.trim())).toBe(Number(cjs.trim()));
    }
  });

  it('run real work from the installed @dc/core (CJS and ESM)', () => {
    const script = (load: string) => `
      ${load}
      const { Tensor, knn, DcError, Rng } = core;
      const x = Tensor.fromArray([[0, 0], [0, 1], [5, 5], [5, 6]]);
      knn(x, { k: 1, metric: 'euclidean' }).then((r) => {
        let typed = false;
        try { new Rng(-1); } catch (e) { typed = DcError.isInstance(e); }
        console.log(JSON.stringify({ idx: Array.from(r.indices.data), typed }));
      });`;
    const want = JSON.stringify({ idx: [1, 0, 3, 2], typed: true });
    expect(sh('node', ['-e', script("const core = require('@dc/core');")], project).trim()).toBe(want);
    expect(sh('node', ['--input-type=module', '-e', script("const core = await import('@dc/core');")], project).trim()).toBe(want);
  });
});
