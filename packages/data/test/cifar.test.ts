import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError, UnknownOptionError } from '@dc/core';
import { CIFAR10_CLASSES, loadCifar10, loadCifar100, loadCifarBatches, parseCifarBatch } from '../src/index.js';
import { expectDataFileError, randomBytes, tempDir } from './helpers.js';

/** A binary batch: per record the label byte(s), then 1024 red, 1024 green, 1024 blue bytes. */
function batch(labels: number[][], pixels: Uint8Array): Buffer {
  const record = labels[0]!.length + 3072;
  const out = Buffer.alloc(labels.length * record);
  labels.forEach((l, i) => {
    out.set(l, i * record);
    out.set(pixels.subarray(i * 3072, (i + 1) * 3072), i * record + l.length);
  });
  return out;
}

describe('CIFAR binary loader', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const pixels = randomBytes(4 * 3072, 5);
  const c10 = join(dir, 'c10.bin');
  writeFileSync(c10, batch([[3], [0], [9], [3]], pixels));

  it('reads a CIFAR-10 batch exactly: labels and planar RGB pixels', async () => {
    const ds = await loadCifarBatches([c10]);
    expect(ds.images.shape).toEqual([4, 3, 32, 32]);
    expect(Array.from(ds.labels!)).toEqual([3, 0, 9, 3]);
    expect(Buffer.from(ds.images.data).equals(Buffer.from(pixels))).toBe(true);
    // Pixel (channel 1 = green, row 2, column 5) of image 2 sits at 1024 + 2 * 32 + 5 of its record.
    expect(ds.images.get(2, 1, 2, 5)).toBe(pixels[2 * 3072 + 1024 + 2 * 32 + 5]);
    expect(ds.classNames).toEqual(CIFAR10_CLASSES);
    expect(ds.name).toBe('cifar10');
  });

  it('reads a CIFAR-100 batch with fine or coarse labels', async () => {
    const f = join(dir, 'c100.bin');
    writeFileSync(f, batch([[4, 30], [19, 99], [0, 0]], pixels));
    const fine = await loadCifarBatches([f], { variant: 'cifar100' });
    expect(Array.from(fine.labels!)).toEqual([30, 99, 0]);
    const coarse = await loadCifarBatches([f], { variant: 'cifar100', labels: 'coarse' });
    expect(Array.from(coarse.labels!)).toEqual([4, 19, 0]);
    expect(coarse.name).toBe('cifar100-20');
    expect(Buffer.from(coarse.images.data).equals(Buffer.from(pixels.subarray(0, 3 * 3072)))).toBe(true);
  });

  it('concatenates batches in order', async () => {
    const f = join(dir, 'c10b.bin');
    writeFileSync(f, batch([[7]], pixels.subarray(3072)));
    const ds = await loadCifarBatches([c10, f]);
    expect(Array.from(ds.labels!)).toEqual([3, 0, 9, 3, 7]);
    expect(ds.images.get(4, 0, 0, 0)).toBe(pixels[3072]);
  });

  it('loads the official CIFAR-10 folder layout with its class-name file', async () => {
    const root = join(dir, 'cifar-10-batches-bin');
    mkdirSync(root);
    for (let i = 1; i <= 5; i++) writeFileSync(join(root, `data_batch_${i}.bin`), batch([[i], [i + 1]], pixels));
    writeFileSync(join(root, 'test_batch.bin'), batch([[0]], pixels));
    writeFileSync(join(root, 'batches.meta.txt'), `${['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n')}\n\n`);
    const all = await loadCifar10(dir);
    expect(all.length).toBe(11);
    expect(Array.from(all.labels!)).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 0]);
    expect(all.classNames![9]).toBe('j');
    expect((await loadCifar10(root, { split: 'test' })).length).toBe(1);
    expect((await loadCifar10(dir, { split: 'train' })).length).toBe(10);
  });

  it('loads the official CIFAR-100 layout', async () => {
    const root = join(dir, 'cifar-100-binary');
    mkdirSync(root);
    writeFileSync(join(root, 'train.bin'), batch([[1, 11], [2, 22]], pixels));
    writeFileSync(join(root, 'test.bin'), batch([[3, 33]], pixels));
    writeFileSync(join(root, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'));
    const coarse = await loadCifar100(dir, { labels: 'coarse' });
    expect(Array.from(coarse.labels!)).toEqual([1, 2, 3]);
    expect(coarse.classNames![3]).toBe('super3');
    const fine = await loadCifar100(dir, { split: 'test' });
    expect(Array.from(fine.labels!)).toEqual([33]);
    expect(fine.classNames).toBeNull();
  });

  it('names a truncated batch', async () => {
    const f = join(dir, 'truncated.bin');
    writeFileSync(f, batch([[1], [2]], pixels).subarray(0, 3073 + 100));
    const e = await expectDataFileError(loadCifarBatches([f]), 'truncated', f);
    expect(e.message).toMatch(/3073-byte/);
    const empty = join(dir, 'empty.bin');
    writeFileSync(empty, Buffer.alloc(0));
    await expectDataFileError(loadCifarBatches([empty]), 'truncated', empty);
  });

  it('names a batch with impossible labels (e.g. another variant)', async () => {
    const f = join(dir, 'bad-label.bin');
    writeFileSync(f, batch([[1], [10]], pixels));
    const e = await expectDataFileError(loadCifarBatches([f]), 'malformed', f);
    expect(e.message).toMatch(/record 1 has label 10/);
    const g = join(dir, 'bad-coarse.bin');
    writeFileSync(g, batch([[25, 1]], pixels));
    await expectDataFileError(loadCifarBatches([g], { variant: 'cifar100' }), 'malformed', g);
    expect(() => parseCifarBatch(new Uint8Array(3074), 'mem', 'cifar10')).toThrow(/3073-byte/);
  });

  it('names a missing batch file and a bad names file', async () => {
    await expectDataFileError(loadCifarBatches([c10, join(dir, 'gone.bin')]), 'missing', join(dir, 'gone.bin'));
    const empty = join(dir, 'empty-folder');
    mkdirSync(empty);
    await expectDataFileError(loadCifar10(empty), 'missing', join(empty, 'data_batch_1.bin'));
    const root = join(dir, 'names');
    mkdirSync(root);
    writeFileSync(join(root, 'test_batch.bin'), batch([[0]], pixels));
    writeFileSync(join(root, 'batches.meta.txt'), 'a\nb\n');
    await expectDataFileError(loadCifar10(root, { split: 'test' }), 'malformed', join(root, 'batches.meta.txt'));
  });

  it("rejects coarse labels for CIFAR-10, which has none, instead of returning the fine labels", async () => {
    const e = await loadCifarBatches([c10], { labels: 'coarse' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidOptionError);
    expect((e as InvalidOptionError).option).toBe('labels');
    expect((e as Error).message).toMatch(/only CIFAR-100 has coarse labels/);
    await expect(loadCifarBatches([c10], { variant: 'cifar10', labels: 'coarse' })).rejects.toThrow(InvalidOptionError);
    expect(Array.from((await loadCifarBatches([c10], { labels: 'fine' })).labels!)).toEqual([3, 0, 9, 3]);
  });

  it('rejects bad options one by one', async () => {
    await expect(loadCifarBatches([])).rejects.toThrow(InvalidOptionError);
    await expect(loadCifarBatches([c10], { variant: 'cifar20' as 'cifar10' })).rejects.toThrow(InvalidOptionError);
    await expect(loadCifarBatches([c10], { labels: 'medium' as 'fine' })).rejects.toThrow(InvalidOptionError);
    await expect(loadCifarBatches([c10], { varient: 'cifar10' } as object)).rejects.toThrow(UnknownOptionError);
    await expect(loadCifarBatches([c10], { name: 'x', classnames: ['a'] } as object)).rejects.toThrow(UnknownOptionError);
    await expect(loadCifar10(dir, { split: 'val' as 'all' })).rejects.toThrow(InvalidOptionError);
    await expect(loadCifar100(dir, { labels: 'x' as 'fine' })).rejects.toThrow(InvalidOptionError);
  });
});
