/**
 * Embeddings from other tools: NumPy's .npy format (float32 or float64, C order, format versions 1-3) and raw
 * little-endian float32 with a given dimension. Both load into an EmbeddingDataset.
 */
import { writeFile } from 'node:fs/promises';
import { InvalidInputError, ShapeError, Tensor, assertFinite, c, checkParameter, validateOptions } from '@dc/core';
import { EmbeddingDataset } from '../dataset/embedding-dataset.js';
import { DataFileError } from '../errors.js';
import { checkPath, copyFloat32LE, copyFloat64LE, LITTLE_ENDIAN, readDataFile, swapBytes } from './files.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export interface NpyArray {
  dtype: 'float32' | 'float64';
  shape: number[];
  data: Float32Array | Float64Array;
}

/** Parses .npy bytes; `file` names the source in errors. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) {
    throw new DataFileError(file, 'bad-magic', 'is not a .npy file (it does not start with \\x93NUMPY).');
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new DataFileError(file, 'unsupported', `uses .npy format version ${major}.${bytes[7]}; versions 1-3 are supported.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new DataFileError(file, 'truncated', 'ends inside its header.');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataOffset = 8 + lengthBytes + headerLength;
  if (bytes.length < dataOffset) throw new DataFileError(file, 'truncated', `ends inside its header (${bytes.length} of ${dataOffset} bytes).`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthBytes, dataOffset));
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new DataFileError(file, 'malformed', `has an unreadable header: ${header.trim()}`);
  }
  if (fortran === 'True') {
    throw new DataFileError(file, 'unsupported', 'is stored in Fortran (column-major) order; save it in C order, e.g. np.save(f, np.ascontiguousarray(x)).');
  }
  let dtype: 'float32' | 'float64';
  if (descr === '<f4') dtype = 'float32';
  else if (descr === '<f8') dtype = 'float64';
  else {
    throw new DataFileError(file, 'unsupported', `has dtype '${descr}'; only little-endian float32 ('<f4') and float64 ('<f8') are supported (convert with x.astype(np.float32)).`);
  }
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const shape = dims.map((d) => Number(d.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new DataFileError(file, 'malformed', `has an invalid shape (${shapeText}).`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width = dtype === 'float32' ? 4 : 8;
  const expected = dataOffset + count * width;
  if (bytes.length < expected) {
    throw new DataFileError(file, 'truncated', `is truncated: its header declares shape (${shape.join(', ')}) of ${dtype} (${expected} bytes) but it has ${bytes.length} bytes.`);
  }
  if (bytes.length > expected) {
    throw new DataFileError(file, 'size-mismatch', `has ${bytes.length - expected} bytes after the data its header declares (shape (${shape.join(', ')}) of ${dtype}).`);
  }
  const data = dtype === 'float32' ? copyFloat32LE(bytes, dataOffset, count) : copyFloat64LE(bytes, dataOffset, count);
  return { dtype, shape, data };
}

/** Reads a .npy file (raw or gzip-compressed) into a tensor of its own dtype and shape. */
export async function readNpy(file: string): Promise<Tensor<'float32'> | Tensor<'float64'>> {
  checkPath('readNpy', 'file', file);
  const a = parseNpy(await readDataFile(file), file);
  return a.dtype === 'float32' ? new Tensor('float32', a.data as Float32Array, a.shape) : new Tensor('float64', a.data as Float64Array, a.shape);
}

/** Writes a float32 or float64 tensor as a version 1.0 .npy file in C order. */
export async function writeNpy(file: string, tensor: Tensor): Promise<void> {
  checkPath('writeNpy', 'file', file);
  if (!(tensor instanceof Tensor)) throw new InvalidInputError('tensor', 'expected a Tensor');
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'float64') throw new InvalidInputError('tensor', `dtype must be float32 or float64, got ${tensor.dtype}`);
  const shape = tensor.shape.length === 1 ? `(${tensor.shape[0]},)` : `(${tensor.shape.join(', ')})`;
  let header = `{'descr': '<${tensor.dtype === 'float32' ? 'f4' : 'f8'}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad with spaces so that magic + length + header + newline is a multiple of 64 bytes, as NumPy does.
  const total = 10 + header.length + 1;
  header = header + ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = new Uint8Array(10 + header.length);
  head.set(MAGIC, 0);
  head[6] = 1;
  head[7] = 0;
  new DataView(head.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) head[10 + i] = header.charCodeAt(i);
  const body = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength).slice();
  if (!LITTLE_ENDIAN) swapBytes(body, tensor.dtype === 'float32' ? 4 : 8);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  await writeFile(file, out);
}

export interface EmbeddingLoadOptions {
  /** Ground-truth classes, one per row, for evaluation only. */
  labels?: ArrayLike<number>;
  classNames?: readonly string[];
  name?: string;
}

function toDataset(file: string, features: Tensor<'float32'>, options: EmbeddingLoadOptions): EmbeddingDataset {
  // NonFiniteError names the file as its argument.
  assertFinite(file, features.data);
  return new EmbeddingDataset({ features, labels: options.labels ?? null, classNames: options.classNames ?? null, name: options.name ?? 'embeddings', sources: [file] });
}

const LOAD_SCHEMA = { labels: c.optional(c.custom<ArrayLike<number>>('an array of labels', (v) => Array.isArray(v) || ArrayBuffer.isView(v))), classNames: c.optional(c.arrayOf(c.string())), name: c.optional(c.string()) };

/** An EmbeddingDataset from a 2-D .npy file [N, D] (float64 is converted to float32). NaN or Inf is rejected. */
export async function loadNpyEmbeddings(file: string, options: EmbeddingLoadOptions = {}): Promise<EmbeddingDataset> {
  const opts = validateOptions('loadNpyEmbeddings', options, LOAD_SCHEMA, {});
  const t = await readNpy(file);
  if (t.rank !== 2) throw new ShapeError(file, ['N', 'D'], t.shape, 'Embeddings must be a 2-D array.');
  if (t.shape[0] === 0 || t.shape[1] === 0) throw new DataFileError(file, 'malformed', `holds an empty array of shape (${t.shape.join(', ')}).`);
  const features = t.dtype === 'float32' ? (t as Tensor<'float32'>) : t.astype('float32');
  return toDataset(file, features, opts);
}

/** An EmbeddingDataset from a headerless file of little-endian float32 values, `dim` per row. */
export async function loadRawEmbeddings(file: string, options: EmbeddingLoadOptions & { dim: number }): Promise<EmbeddingDataset> {
  checkPath('loadRawEmbeddings', 'file', file);
  checkParameter('loadRawEmbeddings', 'options', options, c.object());
  const opts = validateOptions('loadRawEmbeddings', options, { ...LOAD_SCHEMA, dim: c.int({ min: 1 }) }, {});
  const bytes = await readDataFile(file);
  const row = opts.dim * 4;
  if (bytes.length === 0) throw new DataFileError(file, 'truncated', 'is empty.');
  if (bytes.length % row !== 0) {
    throw new DataFileError(file, 'truncated', `has ${bytes.length} bytes, not a whole number of rows of ${opts.dim} float32 values (${row} bytes each): ${Math.floor(bytes.length / row)} rows and ${bytes.length % row} bytes over.`);
  }
  const n = bytes.length / row;
  const features = new Tensor('float32', copyFloat32LE(bytes, 0, n * opts.dim), [n, opts.dim]);
  return toDataset(file, features, opts);
}
