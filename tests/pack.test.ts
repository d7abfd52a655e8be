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
  it('train and cluster in worker threads from the installed packages (SPC finds its job modules, the pool its entry, in dist)', () => {
    // Four classes of 8x8 images (a bright quadrant each, plus noise): enough for two members, one epoch and a
    // Gaussian mixture; what matters here is that the training workers and the clustering pool's threads start
    // from the published files, under CJS and ESM (with shifted batches, so the job module also loads @dc/data).
    const script = (load: string) => `
      ${load}
      const { Tensor, Rng } = core;
      const rng = new Rng(1);
      const n = 96, data = new Float32Array(n * 64);
      for (let i = 0; i < n; i++) for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
        const q = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1);
        data[i * 64 + y * 8 + x] = Math.min(1, Math.max(0, (q === i % 4 ? 0.9 : 0.1) + rng.normal(0, 0.05)));
      }
      consensus.fitSpc(new Tensor('float32', data, [n, 1, 8, 8]), {
        nClusters: 4, ensembleSize: 2, pretrainEpochs: 1, epochs: 1, maxRounds: 1, baseChannels: 4, latentDim: 4,
        batchSize: 16, clusterer: 'gmm', workers: 2, threads: 1, seed: 3, augment: { padding: 1 },
        umap: { nNeighbors: 10, epochs: 50 },
      }).then((r) => console.log(JSON.stringify({ n: r.labels.length, inRange: r.labels.every((l) => l >= 0 && l < 4) })));`;
    const want = JSON.stringify({ n: 96, inRange: true });
    const cjs = "const core = require('@dc/core'); const consensus = require('@dc/consensus');";
    const esm = "const core = await import('@dc/core'); const consensus = await import('@dc/consensus');";
    expect(sh('node', ['-e', script(cjs)], project).trim()).toBe(want);
    expect(sh('node', ['--input-type=module', '-e', script(esm)], project).trim()).toBe(want);
  }, 120_000);
});
