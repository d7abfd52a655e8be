/**
 * The cluster-folder example as a user runs it: a child process on a folder of PNG files (MNIST zeros, ones and
 * sevens, one sub-folder per digit so the script can score itself), then its CSV, contact sheets and summary.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { loadMnist } from '@dc/data';
import { runExample } from './run-example';

const run = (args: string[]) => runExample('cluster-folder.ts', args);
const DIGITS = [0, 1, 7];
const PER_DIGIT = 150;

describe('examples/cluster-folder.ts', () => {
  let work: string;
  let images: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'dc-cluster-folder-'));
    images = join(work, 'digits');
    const mnist = await loadMnist({ split: 'test' });
    const taken = new Map<number, number>();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < mnist.length; i++) {
      const digit = mnist.labels![i]!;
      if (!DIGITS.includes(digit) || (taken.get(digit) ?? 0) >= PER_DIGIT) continue;
      taken.set(digit, (taken.get(digit) ?? 0) + 1);
      const dir = join(images, `digit-${digit}`);
      mkdirSync(dir, { recursive: true });
      const pixels = Buffer.from(mnist.raw([i]).data as Uint8Array);
      writes.push(sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(dir, `${i}.png`)));
    }
    await Promise.all(writes);
  }, 120_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('clusters a folder of images and writes the CSV, one contact sheet per cluster and a summary', async () => {
    const out = join(work, 'out');
    const r = run([images, '--clusters', '3', '--pretrain-epochs', '6', '--epochs', '3', '--rounds', '2', '--sheet', '20', '--out', out]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/450 images from/);

    const rows = readFileSync(join(out, 'clusters.csv'), 'utf8').trim().split('\n');
    expect(rows[0]).toBe('file,cluster,confidence,agreed');
    expect(rows).toHaveLength(1 + DIGITS.length * PER_DIGIT);
    const files = new Set<string>();
    for (const row of rows.slice(1)) {
      const [file, cluster, confidence, agreed] = row.split(',');
      expect(file).toMatch(/^digit-[017]\/\d+\.png$/);
      files.add(file!);
      expect([0, 1, 2]).toContain(Number(cluster));
      expect(Number(confidence)).toBeGreaterThanOrEqual(0);
      expect(Number(confidence)).toBeLessThanOrEqual(1);
      expect(['0', '1']).toContain(agreed);
    }
    expect(files.size).toBe(DIGITS.length * PER_DIGIT);

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.images).toBe(450);
    expect(summary.clusterSizes.reduce((a: number, b: number) => a + b, 0)).toBe(450);
    expect(summary.evaluation.classNames).toEqual(['digit-0', 'digit-1', 'digit-7']);
    // Three easily told digits: chance is about 0.33, the SPC demo's schedule reaches the mid-90s on 600 of them.
    expect(summary.evaluation.accuracy).toBeGreaterThan(0.8);

    for (let k = 0; k < 3; k++) {
      const sheet = join(out, `cluster-${k}.png`);
      expect(existsSync(sheet)).toBe(true);
      const meta = await sharp(sheet).metadata();
      // Rows of 8 tiles of 28 x 2 = 56 pixels with 2-pixel gaps; at most 20 images, so at most 3 rows.
      expect(meta.width).toBe(8 * 58 + 2);
      const shown = Math.min(20, summary.clusterSizes[k]);
      expect(meta.height).toBe(Math.max(1, Math.ceil(shown / 8)) * 58 + 2);
    }
  }, 240_000);

  it('says what is wrong with the command line and exits with status 1', () => {
    const noClusters = run([images]);
    expect(noClusters.status).toBe(1);
    expect(noClusters.stderr).toMatch(/--clusters must be an integer >= 2/);

    const unknown = run([images, '--clusters', '3', '--colours']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--colours/);

    const badNumber = run([images, '--clusters', 'three']);
    expect(badNumber.status).toBe(1);
    expect(badNumber.stderr).toMatch(/--clusters must be an integer >= 2, got three/);

    const missing = run([join(work, 'no-such-folder'), '--clusters', '3']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/no-such-folder/);

    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: cluster-folder.ts <folder> --clusters K/);
  }, 120_000);
});
