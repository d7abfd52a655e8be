/** File access shared by the loaders: typed errors that name the file, transparent gzip. */
import { readFile, readdir, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { InvalidOptionError } from '@dc/core';
import { DataFileError } from '../errors.js';

const gunzipAsync = promisify(gunzip);

function fsError(file: string, error: unknown): DataFileError {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new DataFileError(file, 'missing', 'does not exist.', { cause: error });
  if (code === 'EISDIR') return new DataFileError(file, 'unreadable', 'is a directory, not a file.', { cause: error });
  const reason = error instanceof Error ? error.message : String(error);
  return new DataFileError(file, 'unreadable', `cannot be read: ${reason}`, { cause: error });
}

export function checkPath(caller: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidOptionError(caller, name, 'a non-empty path string', value);
  return value;
}

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Reads a whole file; gzip content (recognised by its magic bytes, not the name) is decompressed. */
export async function readDataFile(file: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw fsError(file, error);
  }
  if (!isGzip(bytes)) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw new DataFileError(file, 'truncated', 'is a truncated gzip stream (unexpected end of file).', { cause: error });
    throw new DataFileError(file, 'malformed', `is not a valid gzip stream: ${(error as Error).message}`, { cause: error });
  }
}

/** Entries of a directory, with a typed error when it is missing or not a directory. */
export async function listDirectory(dir: string): Promise<{ name: string; isDirectory: boolean; isFile: boolean }[]> {
  let info;
  try {
    info = await stat(dir);
  } catch (error) {
    throw fsError(dir, error);
  }
  if (!info.isDirectory()) throw new DataFileError(dir, 'unreadable', 'is not a directory.');
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.map((e) => ({ name: e.name, isDirectory: e.isDirectory(), isFile: e.isFile() }));
  } catch (error) {
    throw fsError(dir, error);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A little-endian copy of `length` elements at byte `offset` (the source may be unaligned). */
export function copyFloat32LE(bytes: Uint8Array, offset: number, length: number): Float32Array {
  const out = new Float32Array(length);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + length * 4));
  if (!LITTLE_ENDIAN) swapBytes(new Uint8Array(out.buffer), 4);
  return out;
}

export function copyFloat64LE(bytes: Uint8Array, offset: number, length: number): Float64Array {
  const out = new Float64Array(length);
  new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + length * 8));
  if (!LITTLE_ENDIAN) swapBytes(new Uint8Array(out.buffer), 8);
  return out;
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Reverses the byte order of each `width`-byte element in place. */
export function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}
