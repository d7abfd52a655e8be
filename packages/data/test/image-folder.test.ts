import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { InvalidInputError, InvalidOptionError, UnknownOptionError } from '@dc/core';
import { loadImageFolder, type ImageFolderProgress } from '../src/index.js';
import { expectDataFileError, randomBytes, tempDir } from './helpers.js';

const W = 7;
const H = 5;

/** Interleaved HWC bytes -> planar CHW. */
function planar(hwc: Uint8Array, c: number, h: number, w: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) out.push(hwc[p * c + k]!);
  return out;
}

async function write(file: string, hwc: Uint8Array, channels: 1 | 3 | 4, format: 'png' | 'jpeg' | 'webp', w = W, h = H): Promise<void> {
  const img = sharp(Buffer.from(hwc), { raw: { width: w, height: h, channels } });
  if (format === 'png') await img.png().toFile(file);
  else if (format === 'jpeg') await img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toFile(file);
  else await img.webp({ lossless: true }).toFile(file);
}

function image(dsData: Uint8Array, i: number, c: number, h = H, w = W): number[] {
  return Array.from(dsData.subarray(i * c * h * w, (i + 1) * c * h * w));
}

describe('image folder loader', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const rgbA = randomBytes(H * W * 3, 1);
  const rgbB = randomBytes(H * W * 3, 2);
  const rgbC = randomBytes(H * W * 3, 3);
  const grey = randomBytes(H * W, 4);
  const rgba = randomBytes(H * W * 4, 5);
  const classes = join(dir, 'classes');

  beforeAll(async () => {
    mkdirSync(join(classes, 'cat'), { recursive: true });
    mkdirSync(join(classes, 'dog'));
    await write(join(classes, 'cat', 'a.png'), rgbA, 3, 'png');
    await write(join(classes, 'cat', 'b.jpg'), rgbB, 3, 'jpeg');
    await write(join(classes, 'dog', 'c.PNG'), grey, 1, 'png');
    await write(join(classes, 'dog', 'd.webp'), rgbC, 3, 'webp');
    await write(join(classes, 'dog', 'e.png'), rgba, 4, 'png');
    writeFileSync(join(classes, 'dog', 'notes.txt'), 'not an image');
    writeFileSync(join(classes, 'dog', '.hidden.png'), 'ignored');
  });

  it('reads one sub-folder per class exactly (PNG, JPEG, WebP; grey expanded, alpha dropped)', async () => {
    const ds = await loadImageFolder(classes);
    expect(ds.images.shape).toEqual([5, 3, H, W]);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1, 1]);
    expect(ds.sources.map((s) => s.slice(classes.length + 1))).toEqual(['cat/a.png', 'cat/b.jpg', 'dog/c.PNG', 'dog/d.webp', 'dog/e.png']);
    const data = ds.images.data as Uint8Array;
    expect(image(data, 0, 3)).toEqual(planar(rgbA, 3, H, W));
    // JPEG is lossy: the loader must return exactly what the decoder gives, close to what was written.
    const decoded = await sharp(join(classes, 'cat', 'b.jpg')).raw().toBuffer();
    expect(image(data, 1, 3)).toEqual(planar(decoded, 3, H, W));
    const err = image(data, 1, 3).map((v, i) => Math.abs(v - planar(rgbB, 3, H, W)[i]!));
    expect(err.reduce((a, b) => a + b, 0) / err.length).toBeLessThan(6);
    expect(image(data, 2, 3)).toEqual([...grey, ...grey, ...grey]);
    expect(image(data, 3, 3)).toEqual(planar(rgbC, 3, H, W));
    const rgbOfRgba = new Uint8Array(H * W * 3);
    for (let p = 0; p < H * W; p++) for (let k = 0; k < 3; k++) rgbOfRgba[p * 3 + k] = rgba[p * 4 + k]!;
    expect(image(data, 4, 3)).toEqual(planar(rgbOfRgba, 3, H, W));
  });

  it('converts to grey with the ITU-R 601-2 luma of PIL', async () => {
    const ds = await loadImageFolder(classes, { channels: 1, extensions: ['.png'] });
    expect(ds.images.shape).toEqual([3, 1, H, W]);
    const data = ds.images.data as Uint8Array;
    const luma = Array.from({ length: H * W }, (_, p) => (rgbA[p * 3]! * 19595 + rgbA[p * 3 + 1]! * 38470 + rgbA[p * 3 + 2]! * 7471 + 0x8000) >> 16);
    expect(image(data, 0, 1)).toEqual(luma);
    expect(image(data, 1, 1)).toEqual(Array.from(grey));
  });

  it('reads a flat folder without labels', async () => {
    const flat = join(dir, 'flat');
    mkdirSync(flat);
    await write(join(flat, '2.png'), rgbB, 3, 'png');
    await write(join(flat, '1.png'), rgbA, 3, 'png');
    const ds = await loadImageFolder(flat, { name: 'mine' });
    expect(ds.labels).toBeNull();
    expect(ds.classNames).toBeNull();
    expect(ds.name).toBe('mine');
    expect(image(ds.images.data as Uint8Array, 0, 3)).toEqual(planar(rgbA, 3, H, W));
    expect(image(ds.images.data as Uint8Array, 1, 3)).toEqual(planar(rgbB, 3, H, W));
  });

  it('resizes to a given size and reports progress', async () => {
    const progress: ImageFolderProgress[] = [];
    const ds = await loadImageFolder(classes, { size: [4, 6], fit: 'fill', concurrency: 2, onProgress: (p) => progress.push(p) });
    expect(ds.images.shape).toEqual([5, 3, 4, 6]);
    expect(progress.map((p) => p.done)).toEqual([1, 2, 3, 4, 5]);
    expect(progress.every((p) => p.total === 5)).toBe(true);
    expect(new Set(progress.map((p) => p.file))).toEqual(new Set(ds.sources));
    const square = await loadImageFolder(join(classes, 'dog'), { size: 3, extensions: ['.webp'] });
    expect(square.images.shape).toEqual([1, 3, 3, 3]);
  });

  it('keeps a flat colour flat when resizing', async () => {
    const flat = join(dir, 'constant');
    mkdirSync(flat);
    const pixels = new Uint8Array(H * W * 3);
    for (let p = 0; p < H * W; p++) pixels.set([200, 10, 77], p * 3);
    await write(join(flat, 'x.png'), pixels, 3, 'png');
    const ds = await loadImageFolder(flat, { size: [10, 3] });
    const data = Array.from(ds.images.data);
    expect(new Set(data.slice(0, 30))).toEqual(new Set([200]));
    expect(new Set(data.slice(30, 60))).toEqual(new Set([10]));
    expect(new Set(data.slice(60, 90))).toEqual(new Set([77]));
  });

  it('names the image whose size differs when no size is given', async () => {
    const mixed = join(dir, 'mixed-sizes');
    mkdirSync(mixed);
    await write(join(mixed, 'a.png'), rgbA, 3, 'png');
    await write(join(mixed, 'b.png'), randomBytes(4 * 4 * 3, 9), 3, 'png', 4, 4);
    const e = await expectDataFileError(loadImageFolder(mixed), 'size-mismatch', join(mixed, 'b.png'));
    expect(e.message).toMatch(/4x4/);
    expect((await loadImageFolder(mixed, { size: 4 })).length).toBe(2);
  });

  it('names an unreadable image: garbage bytes and a truncated file', async () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    await write(join(bad, 'a.png'), rgbA, 3, 'png');
    writeFileSync(join(bad, 'b.png'), 'this is not a PNG');
    await expectDataFileError(loadImageFolder(bad), 'unreadable', join(bad, 'b.png'));
    const cut = join(dir, 'cut');
    mkdirSync(cut);
    const full = readFileSync(join(classes, 'cat', 'b.jpg'));
    writeFileSync(join(cut, 'a.jpg'), full.subarray(0, Math.floor(full.length / 2)));
    await expectDataFileError(loadImageFolder(cut), 'unreadable', join(cut, 'a.jpg'));
  });

  it('names a missing folder or a file given as the folder', async () => {
    await expectDataFileError(loadImageFolder(join(dir, 'absent')), 'missing', join(dir, 'absent'));
    const file = join(classes, 'cat', 'a.png');
    await expectDataFileError(loadImageFolder(file), 'unreadable', file);
  });

  it('rejects ambiguous or empty folders', async () => {
    const both = join(dir, 'both');
    mkdirSync(join(both, 'sub'), { recursive: true });
    await write(join(both, 'a.png'), rgbA, 3, 'png');
    await write(join(both, 'sub', 'b.png'), rgbB, 3, 'png');
    await expect(loadImageFolder(both)).rejects.toThrow(InvalidInputError);
    expect((await loadImageFolder(both, { layout: 'flat' })).length).toBe(1);
    expect((await loadImageFolder(both, { layout: 'classes' })).classNames).toEqual(['sub']);
    const emptyClass = join(dir, 'empty-class');
    mkdirSync(join(emptyClass, 'a'), { recursive: true });
    await expect(loadImageFolder(emptyClass)).rejects.toThrow(/holds no/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(loadImageFolder(empty)).rejects.toThrow(InvalidInputError);
  });

  it.each([
    [{ size: 0 }, InvalidOptionError],
    [{ size: [4] }, InvalidOptionError],
    [{ channels: 2 }, InvalidOptionError],
    [{ layout: 'nested' }, InvalidOptionError],
    [{ fit: 'crop' }, InvalidOptionError],
    [{ concurrency: 0 }, InvalidOptionError],
    [{ extensions: [] }, InvalidOptionError],
    [{ onProgress: 'yes' }, InvalidOptionError],
    [{ sise: 4 }, UnknownOptionError],
  ])('rejects option %j', async (options, type) => {
    await expect(loadImageFolder(classes, options as object)).rejects.toThrow(type);
  });
});
