import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { InvalidOptionError, UnknownOptionError } from '@dc/core';
import { loadIdx, readIdx } from '../src/index.js';
import { expectDataFileError, idxBytes, randomBytes, tempDir } from './helpers.js';

describe('IDX loader', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const pixels = randomBytes(5 * 4 * 3, 1);
  const labels = [3, 0, 9, 9, 1];
  const imagesFile = join(dir, 'images-idx3-ubyte');
  const labelsFile = join(dir, 'labels-idx1-ubyte');
  writeFileSync(imagesFile, idxBytes([5, 4, 3], pixels));
  writeFileSync(labelsFile, idxBytes([5], labels));
  writeFileSync(`${imagesFile}.gz`, gzipSync(idxBytes([5, 4, 3], pixels)));
  writeFileSync(`${labelsFile}.gz`, gzipSync(idxBytes([5], labels)));

  it('reads raw IDX images and labels exactly', async () => {
    const ds = await loadIdx(imagesFile, labelsFile, { name: 'tiny' });
    expect(ds.images.shape).toEqual([5, 1, 4, 3]);
    expect(ds.images.dtype).toBe('uint8');
    expect(Array.from(ds.images.data)).toEqual(Array.from(pixels));
    expect(Array.from(ds.labels!)).toEqual(labels);
    expect(ds.name).toBe('tiny');
    expect(ds.sources).toEqual([imagesFile, labelsFile]);
  });

  it('reads gzip-compressed IDX identically (recognised by content, not name)', async () => {
    const ds = await loadIdx(`${imagesFile}.gz`, `${labelsFile}.gz`);
    expect(Array.from(ds.images.data)).toEqual(Array.from(pixels));
    expect(Array.from(ds.labels!)).toEqual(labels);
    const renamed = join(dir, 'compressed-without-suffix');
    writeFileSync(renamed, gzipSync(idxBytes([5, 4, 3], pixels)));
    expect(Array.from((await readIdx(renamed)).data)).toEqual(Array.from(pixels));
  });

  it('loads images without labels', async () => {
    const ds = await loadIdx(imagesFile);
    expect(ds.labels).toBeNull();
    expect(ds.length).toBe(5);
  });

  it('decodes big-endian multi-byte types', async () => {
    const f16 = join(dir, 'int16.idx');
    writeFileSync(f16, idxBytes([2, 2], [-300, 7, 32767, -32768], 'int16'));
    const a = await readIdx(f16);
    expect(a.dtype).toBe('int16');
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([-300, 7, 32767, -32768]);
    const f32 = join(dir, 'float.idx');
    writeFileSync(f32, idxBytes([3], [1.5, -2.25, 1e-3], 'float32'));
    const b = await readIdx(f32);
    expect(b.dtype).toBe('float32');
    expect(Array.from(b.data)).toEqual([1.5, -2.25, Math.fround(1e-3)]);
  });

  it('names a missing file', async () => {
    await expectDataFileError(loadIdx(join(dir, 'nope')), 'missing', join(dir, 'nope'));
  });

  it('names a file truncated in the data', async () => {
    const f = join(dir, 'truncated-data');
    writeFileSync(f, idxBytes([5, 4, 3], pixels).subarray(0, 40));
    const e = await expectDataFileError(loadIdx(f), 'truncated', f);
    expect(e.message).toMatch(/\[5, 4, 3\]/);
  });

  it('names a file truncated in the header', async () => {
    const f = join(dir, 'truncated-header');
    writeFileSync(f, idxBytes([5, 4, 3], pixels).subarray(0, 9));
    await expectDataFileError(loadIdx(f), 'truncated', f);
    const g = join(dir, 'tiny-header');
    writeFileSync(g, Buffer.from([0, 0]));
    await expectDataFileError(readIdx(g), 'truncated', g);
  });

  it('names a truncated gzip stream', async () => {
    const f = join(dir, 'truncated.gz');
    const gz = gzipSync(idxBytes([5, 4, 3], pixels));
    writeFileSync(f, gz.subarray(0, gz.length - 12));
    await expectDataFileError(loadIdx(f), 'truncated', f);
  });

  it('names a corrupt gzip stream', async () => {
    const f = join(dir, 'corrupt.gz');
    const gz = Buffer.from(gzipSync(idxBytes([5, 4, 3], pixels)));
    gz.fill(0xff, 10, 30);
    writeFileSync(f, gz);
    await expectDataFileError(loadIdx(f), 'malformed', f);
  });

  it('names a file with the wrong magic number', async () => {
    const f = join(dir, 'wrong-magic');
    const bytes = idxBytes([5, 4, 3], pixels);
    bytes[0] = 0x89; // e.g. a PNG signature
    writeFileSync(f, bytes);
    const e = await expectDataFileError(loadIdx(f), 'bad-magic', f);
    expect(e.message).toMatch(/89 00 08 03/);
    const g = join(dir, 'bad-type');
    const t = idxBytes([5, 4, 3], pixels);
    t[2] = 0x0a;
    writeFileSync(g, t);
    await expectDataFileError(readIdx(g), 'bad-magic', g);
  });

  it('names a file with bytes beyond the declared data', async () => {
    const f = join(dir, 'too-long');
    writeFileSync(f, Buffer.concat([idxBytes([5, 4, 3], pixels), Buffer.from([1, 2])]));
    await expectDataFileError(loadIdx(f), 'size-mismatch', f);
  });

  it('names a label file whose count differs from the images', async () => {
    const f = join(dir, 'four-labels');
    writeFileSync(f, idxBytes([4], [1, 2, 3, 4]));
    const e = await expectDataFileError(loadIdx(imagesFile, f), 'size-mismatch', f);
    expect(e.message).toContain(imagesFile);
  });

  it('names a label file with a label outside the given class names', async () => {
    const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    expect(Array.from((await loadIdx(imagesFile, labelsFile, { classNames: names })).labels!)).toEqual(labels);
    // Label 9 has no name among 9 classes: the label file, not the classNames option, is at fault.
    const e = await expectDataFileError(loadIdx(imagesFile, labelsFile, { classNames: names.slice(0, 9) }), 'malformed', labelsFile);
    expect(e.message).toMatch(/label 9 at index 2 \(>= 9\)/);
    // Without class names the number of classes is unknown and every uint8 label is kept.
    const f = join(dir, 'label-200');
    writeFileSync(f, idxBytes([5], [3, 0, 200, 9, 1]));
    expect((await loadIdx(imagesFile, f)).labels![2]).toBe(200);
  });

  it('rejects unknown or meaningless options before reading the files', async () => {
    await expect(loadIdx(imagesFile, labelsFile, { nmae: 'x' } as object)).rejects.toThrow(UnknownOptionError);
    await expect(loadIdx(imagesFile, labelsFile, { classnames: ['a'] } as object)).rejects.toThrow(/Did you mean 'classNames'/);
    await expect(loadIdx(imagesFile, labelsFile, { name: 5 } as unknown as object)).rejects.toThrow(InvalidOptionError);
    await expect(loadIdx(imagesFile, labelsFile, { classNames: [] })).rejects.toThrow(InvalidOptionError);
    await expect(loadIdx(imagesFile, labelsFile, { classNames: [1, 2] } as unknown as object)).rejects.toThrow(InvalidOptionError);
    await expect(loadIdx(imagesFile, labelsFile, { hints: { horizontalflip: false } } as object)).rejects.toThrow(UnknownOptionError);
    await expect(loadIdx(join(dir, 'nope'), undefined, { nmae: 'x' } as object)).rejects.toThrow(UnknownOptionError);
  });

  it('rejects image and label files of the wrong rank or type', async () => {
    await expectDataFileError(loadIdx(labelsFile), 'unsupported', labelsFile);
    await expectDataFileError(loadIdx(imagesFile, imagesFile), 'unsupported', imagesFile);
    const f = join(dir, 'float-images');
    writeFileSync(f, idxBytes([1, 2, 2], [0, 1, 2, 3], 'float32'));
    await expectDataFileError(loadIdx(f), 'unsupported', f);
  });

  it('names a directory passed as a file', async () => {
    await expectDataFileError(loadIdx(dir), 'unreadable', dir);
  });

  it('rejects a non-string path', async () => {
    await expect(loadIdx(42 as unknown as string)).rejects.toThrow(InvalidOptionError);
    await expect(readIdx('')).rejects.toThrow(InvalidOptionError);
  });
});
