/** Test helpers: temporary folders, hand-built binary files, and a check for DataFileError. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, Tensor } from '@dc/core';
import { DataFileError, type DataFileProblem } from '../src/index.js';

export function tempDir(prefix = 'dc-data-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An IDX file: 00 00 <type> <ndim>, big-endian dims, big-endian data. */
export function idxBytes(shape: number[], data: ArrayLike<number>, type: 'uint8' | 'int16' | 'float32' = 'uint8'): Buffer {
  const code = { uint8: 0x08, int16: 0x0b, float32: 0x0d }[type];
  const width = { uint8: 1, int16: 2, float32: 4 }[type];
  const buf = Buffer.alloc(4 + 4 * shape.length + data.length * width);
  buf[2] = code;
  buf[3] = shape.length;
  shape.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  const o = 4 + 4 * shape.length;
  for (let i = 0; i < data.length; i++) {
    if (type === 'uint8') buf[o + i] = data[i]!;
    else if (type === 'int16') buf.writeInt16BE(data[i]!, o + 2 * i);
    else buf.writeFloatBE(data[i]!, o + 4 * i);
  }
  return buf;
}

export function randomBytes(n: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

export function randomImages(n: number, c: number, h: number, w: number, seed: number): Tensor<'uint8'> {
  return new Tensor('uint8', randomBytes(n * c * h * w, seed), [n, c, h, w]);
}

/** Awaits `promise` and checks it rejects with a DataFileError of `problem` that names `file`. */
export async function expectDataFileError(promise: Promise<unknown>, problem: DataFileProblem, file: string): Promise<DataFileError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(DataFileError.isInstance(caught)).toBe(true);
  const e = caught as DataFileError;
  expect({ problem: e.problem, file: e.file }).toEqual({ problem, file });
  expect(e.message).toContain(file);
  return e;
}
