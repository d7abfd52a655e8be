/**
 * The IDX format of MNIST and its relatives: two zero bytes, a type code, the number of dimensions, one
 * big-endian uint32 per dimension, then the data in big-endian C order. Files may be gzip-compressed.
 */
import { Tensor, c, validateOptions } from '@dc/core';
import { ImageDataset, type DatasetHints } from '../dataset/image-dataset.js';
import { DataFileError } from '../errors.js';
import { checkPath, readDataFile, swapBytes, LITTLE_ENDIAN } from './files.js';

export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

export interface IdxArray {
  dtype: IdxDType;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { dtype: IdxDType; bytes: number }> = {
  0x08: { dtype: 'uint8', bytes: 1 },
  0x09: { dtype: 'int8', bytes: 1 },
  0x0b: { dtype: 'int16', bytes: 2 },
  0x0c: { dtype: 'int32', bytes: 4 },
  0x0d: { dtype: 'float32', bytes: 4 },
  0x0e: { dtype: 'float64', bytes: 8 },
};

/** Parses IDX bytes (already decompressed); `file` names the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataFileError(file, 'truncated', `is too short for an IDX header (${bytes.length} bytes).`);
  const type = TYPES[bytes[2]!];
  const ndim = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !type || ndim === 0) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataFileError(file, 'bad-magic', `is not an IDX file: its magic number is ${magic}, expected 00 00 <type 08|09|0b|0c|0d|0e> <ndim>.`);
  }
  const headerSize = 4 + 4 * ndim;
  if (bytes.length < headerSize) throw new DataFileError(file, 'truncated', `ends inside its IDX header (${bytes.length} of ${headerSize} bytes).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    shape.push(size);
    count *= size;
  }
  const expected = headerSize + count * type.bytes;
  if (bytes.length < expected) {
    throw new DataFileError(file, 'truncated', `is truncated: its header declares shape [${shape.join(', ')}] (${expected} bytes) but it has ${bytes.length} bytes.`);
  }
  if (bytes.length > expected) {
    throw new DataFileError(file, 'size-mismatch', `has ${bytes.length - expected} bytes after the data its header declares (shape [${shape.join(', ')}]).`);
  }
  // A copy (Buffer#slice would be a view into a possibly shared pool).
  const body = new Uint8Array(expected - headerSize);
  body.set(bytes.subarray(headerSize, expected));
  // IDX is big-endian; swap multi-byte elements on little-endian hosts.
  if (type.bytes > 1 && LITTLE_ENDIAN) swapBytes(body, type.bytes);
  const buffer = body.buffer;
  let data: IdxArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = new Uint8Array(buffer);
      break;
    case 'int8':
      data = new Int8Array(buffer);
      break;
    case 'int16':
      data = new Int16Array(buffer);
      break;
    case 'int32':
      data = new Int32Array(buffer);
      break;
    case 'float32':
      data = new Float32Array(buffer);
      break;
    case 'float64':
      data = new Float64Array(buffer);
      break;
  }
  return { dtype: type.dtype, shape, data };
}

/** Reads an IDX file, raw or gzip-compressed. */
export async function readIdx(file: string): Promise<IdxArray> {
  checkPath('readIdx', 'file', file);
  return parseIdx(await readDataFile(file), file);
}

/** Checks an IDX array holds uint8 images [N, H, W] and returns them as a [N, 1, H, W] tensor. */
export function idxImages(array: IdxArray, file: string): Tensor<'uint8'> {
  if (array.dtype !== 'uint8' || array.shape.length !== 3) {
    throw new DataFileError(file, 'unsupported', `holds ${array.dtype} data of shape [${array.shape.join(', ')}]; images must be uint8 [N, H, W].`);
  }
  const [n, h, w] = array.shape as [number, number, number];
  if (n === 0 || h === 0 || w === 0) throw new DataFileError(file, 'malformed', `declares an empty image array [${n}, ${h}, ${w}].`);
  return new Tensor('uint8', array.data as Uint8Array, [n, 1, h, w]);
}

/**
 * Checks an IDX array holds one uint8 label per image, each below `numClasses` when the number of classes is
 * known (a label out of range makes the file malformed, as in the CIFAR loader).
 */
export function idxLabels(array: IdxArray, file: string, count: number, countFile: string, numClasses?: number): Int32Array {
  if (array.dtype !== 'uint8' || array.shape.length !== 1) {
    throw new DataFileError(file, 'unsupported', `holds ${array.dtype} data of shape [${array.shape.join(', ')}]; labels must be uint8 [N].`);
  }
  if (array.shape[0] !== count) {
    throw new DataFileError(file, 'size-mismatch', `has ${array.shape[0]} labels but '${countFile}' has ${count} images.`);
  }
  const labels = Int32Array.from(array.data as Uint8Array);
  if (numClasses !== undefined) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i]! >= numClasses) {
        throw new DataFileError(file, 'malformed', `has label ${labels[i]} at index ${i} (>= ${numClasses}); there are ${numClasses} classes (0-${numClasses - 1}).`);
      }
    }
  }
  return labels;
}

export interface IdxDatasetOptions {
  name?: string;
  classNames?: readonly string[];
  hints?: Partial<DatasetHints>;
}

/**
 * An ImageDataset from an IDX image file and, optionally, its IDX label file (raw or gzip). With `classNames`,
 * a label without a name makes the label file malformed.
 */
export async function loadIdx(imagesFile: string, labelsFile?: string, options: IdxDatasetOptions = {}): Promise<ImageDataset> {
  // Options first: a typo should not cost reading the files.
  const opts = validateOptions(
    'loadIdx',
    options,
    { name: c.optional(c.string()), classNames: c.optional(c.arrayOf(c.string(), { min: 1 })), hints: c.optional(c.object<Partial<DatasetHints>>()) },
    {},
  );
  checkPath('loadIdx', 'imagesFile', imagesFile);
  if (labelsFile !== undefined) checkPath('loadIdx', 'labelsFile', labelsFile);
  const images = idxImages(await readIdx(imagesFile), imagesFile);
  const labels = labelsFile === undefined ? null : idxLabels(await readIdx(labelsFile), labelsFile, images.shape[0]!, imagesFile, opts.classNames?.length);
  return new ImageDataset({
    images,
    labels,
    classNames: opts.classNames ?? null,
    name: opts.name ?? 'idx',
    hints: opts.hints ?? {},
    sources: labelsFile === undefined ? [imagesFile] : [imagesFile, labelsFile],
  });
}
