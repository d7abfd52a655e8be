import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError, NonFiniteError, ShapeError, Tensor, UnknownOptionError } from '@dc/core';
import { loadNpyEmbeddings, loadRawEmbeddings, readNpy, writeNpy } from '../src/index.js';
import { expectDataFileError, tempDir } from './helpers.js';

/** A .npy file built by hand the way NumPy writes one (header padded to a 64-byte boundary). */
function npy(descr: string, shape: string, body: Buffer, { fortran = false, version = 1 } = {}): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const head = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(head);
  if (version === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), body]);
}

function f32(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

function f64(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeDoubleLE(v, i * 8));
  return b;
}

describe('embedding loaders', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const values = [0.5, -1.25, 3, 1e-7, 2.5, -0.125];

  it('reads float32 .npy in C order exactly', async () => {
    const f = join(dir, 'a.npy');
    writeFileSync(f, npy('<f4', '(3, 2)', f32(values)));
    const ds = await loadNpyEmbeddings(f, { labels: [0, 1, 1], classNames: ['x', 'y'] });
    expect(ds.features.shape).toEqual([3, 2]);
    expect(Array.from(ds.features.data)).toEqual(values.map(Math.fround));
    expect(ds.features.get(1, 0)).toBe(3);
    expect(Array.from(ds.labels!)).toEqual([0, 1, 1]);
    expect(ds.sources).toEqual([f]);
  });

  it('reads float64 .npy (kept by readNpy, converted by the loader)', async () => {
    const f = join(dir, 'b.npy');
    writeFileSync(f, npy('<f8', '(2, 3)', f64(values)));
    const t = await readNpy(f);
    expect(t.dtype).toBe('float64');
    expect(Array.from(t.data)).toEqual(values);
    const ds = await loadNpyEmbeddings(f);
    expect(ds.features.dtype).toBe('float32');
    expect(Array.from(ds.features.data)).toEqual(values.map(Math.fround));
  });

  it('reads format version 2 and 1-D / 3-D shapes with readNpy', async () => {
    const f = join(dir, 'v2.npy');
    writeFileSync(f, npy('<f4', '(6,)', f32(values), { version: 2 }));
    const t = await readNpy(f);
    expect(t.shape).toEqual([6]);
    const g = join(dir, 'cube.npy');
    writeFileSync(g, npy('<f4', '(1, 2, 3)', f32(values)));
    expect((await readNpy(g)).shape).toEqual([1, 2, 3]);
  });

  it('writes .npy that reads back exactly, with NumPy header alignment', async () => {
    const f = join(dir, 'written.npy');
    const t = new Tensor('float32', Float32Array.from(values), [2, 3]);
    await writeNpy(f, t);
    const bytes = readFileSync(f);
    expect((10 + bytes.readUInt16LE(8)) % 64).toBe(0);
    expect(bytes.subarray(10, 10 + bytes.readUInt16LE(8)).toString('latin1')).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    const back = await readNpy(f);
    expect(back.shape).toEqual([2, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(t.data));
    const g = join(dir, 'written64.npy');
    await writeNpy(g, new Tensor('float64', Float64Array.from(values), [6]));
    expect(Array.from((await readNpy(g)).data)).toEqual(values);
  });

  it('rejects Fortran order clearly', async () => {
    const f = join(dir, 'fortran.npy');
    writeFileSync(f, npy('<f4', '(3, 2)', f32(values), { fortran: true }));
    const e = await expectDataFileError(loadNpyEmbeddings(f), 'unsupported', f);
    expect(e.message).toMatch(/Fortran/);
  });

  it.each(['<i4', '<f2', '>f4', '|u1', '<c8'])('rejects dtype %s clearly', async (descr) => {
    const f = join(dir, `dtype-${descr.replace(/[<>|]/g, '_')}.npy`);
    writeFileSync(f, npy(descr, '(6,)', Buffer.alloc(48)));
    const e = await expectDataFileError(readNpy(f), 'unsupported', f);
    expect(e.message).toContain(descr);
  });

  it('names a file with the wrong magic, a truncated file and extra bytes', async () => {
    const f = join(dir, 'magic.npy');
    writeFileSync(f, Buffer.from('PK\u0003\u0004 this is a zip (an .npz?)'));
    await expectDataFileError(loadNpyEmbeddings(f), 'bad-magic', f);
    const g = join(dir, 'short.npy');
    const full = npy('<f4', '(3, 2)', f32(values));
    writeFileSync(g, full.subarray(0, full.length - 5));
    const e = await expectDataFileError(loadNpyEmbeddings(g), 'truncated', g);
    expect(e.message).toMatch(/\(3, 2\)/);
    const h = join(dir, 'header-cut.npy');
    writeFileSync(h, npy('<f4', '(3, 2)', f32(values)).subarray(0, 30));
    await expectDataFileError(loadNpyEmbeddings(h), 'truncated', h);
    const k = join(dir, 'long.npy');
    writeFileSync(k, Buffer.concat([npy('<f4', '(3, 2)', f32(values)), Buffer.alloc(4)]));
    await expectDataFileError(loadNpyEmbeddings(k), 'size-mismatch', k);
    const m = join(dir, 'nohdr.npy');
    writeFileSync(m, npy('<f4', '(3, 2)', f32(values)).fill(0x20, 10, 40));
    await expectDataFileError(loadNpyEmbeddings(m), 'malformed', m);
    await expectDataFileError(loadNpyEmbeddings(join(dir, 'absent.npy')), 'missing', join(dir, 'absent.npy'));
  });

  it('requires 2-D finite embeddings', async () => {
    const f = join(dir, 'flat.npy');
    writeFileSync(f, npy('<f4', '(6,)', f32(values)));
    await expect(loadNpyEmbeddings(f)).rejects.toThrow(ShapeError);
    const g = join(dir, 'nan.npy');
    writeFileSync(g, npy('<f4', '(3, 2)', f32([1, 2, NaN, 4, 5, 6])));
    const e = await loadNpyEmbeddings(g).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NonFiniteError);
    expect((e as NonFiniteError).argument).toBe(g);
    expect((e as NonFiniteError).index).toBe(2);
    const h = join(dir, 'empty.npy');
    writeFileSync(h, npy('<f4', '(0, 4)', Buffer.alloc(0)));
    await expectDataFileError(loadNpyEmbeddings(h), 'malformed', h);
  });

  it('reads raw little-endian float32 with a given dimension', async () => {
    const f = join(dir, 'raw.f32');
    writeFileSync(f, f32(values));
    const ds = await loadRawEmbeddings(f, { dim: 3 });
    expect(ds.features.shape).toEqual([2, 3]);
    expect(Array.from(ds.features.data)).toEqual(values.map(Math.fround));
    expect((await loadRawEmbeddings(f, { dim: 2 })).length).toBe(3);
  });

  it('names a raw file that is not a whole number of rows', async () => {
    const f = join(dir, 'raw-odd.f32');
    writeFileSync(f, f32(values).subarray(0, 22));
    const e = await expectDataFileError(loadRawEmbeddings(f, { dim: 3 }), 'truncated', f);
    expect(e.message).toMatch(/12 bytes each/);
    await expectDataFileError(loadRawEmbeddings(join(dir, 'raw.f32'), { dim: 4 }), 'truncated', join(dir, 'raw.f32'));
    const empty = join(dir, 'raw-empty');
    writeFileSync(empty, Buffer.alloc(0));
    await expectDataFileError(loadRawEmbeddings(empty, { dim: 1 }), 'truncated', empty);
  });

  it('rejects bad options and labels one by one', async () => {
    const f = join(dir, 'raw.f32');
    await expect(loadRawEmbeddings(f, { dim: 0 })).rejects.toThrow(InvalidOptionError);
    await expect(loadRawEmbeddings(f, { dim: 1.5 })).rejects.toThrow(InvalidOptionError);
    await expect(loadRawEmbeddings(f, {} as { dim: number })).rejects.toThrow(InvalidOptionError);
    await expect(loadRawEmbeddings(f, undefined as unknown as { dim: number })).rejects.toThrow(InvalidOptionError);
    await expect(loadRawEmbeddings(f, { dim: 3, dims: 3 } as { dim: number })).rejects.toThrow(UnknownOptionError);
    await expect(loadRawEmbeddings(f, { dim: 3, labels: [0] })).rejects.toThrow(ShapeError);
    await expect(loadRawEmbeddings(f, { dim: 3, labels: [0, -1] })).rejects.toThrow(/>= 0/);
    await expect(loadRawEmbeddings(f, { dim: 3, labels: [0, 2], classNames: ['a', 'b'] })).rejects.toThrow(/labels go up to 2/);
    await expect(writeNpy(join(dir, 'x.npy'), new Tensor('int32', new Int32Array(2), [2]))).rejects.toThrow(/float32 or float64/);
  });
});
