/**
 * Image folders: a flat folder of images, or one sub-folder per class (the torchvision ImageFolder layout, whose
 * folder names become evaluation-only labels and class names). JPEG, PNG and WebP are decoded (and resized
 * when asked) by sharp, then stored as uint8 [N, C, H, W].
 */
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { InvalidInputError, Tensor, c, validateOptions } from '@dc/core';
import { ImageDataset } from '../dataset/image-dataset.js';
import { DataFileError } from '../errors.js';
import { checkPath, listDirectory } from './files.js';

export interface ImageFolderProgress {
  /** Images decoded so far. */
  done: number;
  total: number;
  /** The image just decoded. */
  file: string;
}

export interface ImageFolderOptions {
  /**
   * Output size, one number for square images or [height, width]. Without it every image must have the size
   * of the first.
   */
  size?: number | [number, number];
  /** 3 for RGB (default), 1 for grey (ITU-R 601-2 luma, as PIL's convert('L')). Alpha is dropped. */
  channels?: 1 | 3;
  /** 'auto' (default): one sub-folder per class when the folder holds only sub-folders, else flat. */
  layout?: 'auto' | 'flat' | 'classes';
  /** How a resize treats another aspect ratio: 'cover' (default: scale, then crop the centre), 'contain' (pad with black) or 'fill' (stretch). */
  fit?: 'cover' | 'contain' | 'fill';
  /** File extensions to read (lower case, with the dot); others are ignored. */
  extensions?: string[];
  /** Images decoded at the same time (sharp decodes on libuv's thread pool). */
  concurrency?: number;
  onProgress?: (progress: ImageFolderProgress) => void;
  name?: string;
}

const DEFAULT_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

interface Entry {
  file: string;
  label: number;
}

async function imagesIn(dir: string, extensions: readonly string[]): Promise<{ files: string[]; folders: string[] }> {
  const entries = await listDirectory(dir);
  const files: string[] = [];
  const folders: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory) folders.push(e.name);
    else if (e.isFile && extensions.includes(extname(e.name).toLowerCase())) files.push(e.name);
  }
  // Plain code-unit order, as Python's sorted(): the same on every platform and locale.
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return { files: files.sort(order), folders: folders.sort(order) };
}

async function decode(file: string, size: [number, number] | null, fit: 'cover' | 'contain' | 'fill'): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  try {
    let pipeline = sharp(file, { failOn: 'warning' }).removeAlpha().toColourspace('srgb');
    if (size) pipeline = pipeline.resize({ height: size[0], width: size[1], fit, position: 'centre', background: { r: 0, g: 0, b: 0 } });
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    if (code === 'ENOENT' || /no such file|does not exist/i.test(message)) throw new DataFileError(file, 'missing', 'does not exist.', { cause: error });
    throw new DataFileError(file, 'unreadable', `cannot be decoded as an image: ${message}`, { cause: error });
  }
}

/** Writes one decoded interleaved image into the planar output at slot i. */
function store(out: Uint8Array, i: number, channels: 1 | 3, h: number, w: number, src: Buffer, srcChannels: number): void {
  const plane = h * w;
  const base = i * channels * plane;
  if (channels === 3) {
    if (srcChannels === 1) {
      for (let p = 0; p < plane; p++) out[base + p] = out[base + plane + p] = out[base + 2 * plane + p] = src[p]!;
    } else {
      for (let p = 0, q = 0; p < plane; p++, q += srcChannels) {
        out[base + p] = src[q]!;
        out[base + plane + p] = src[q + 1]!;
        out[base + 2 * plane + p] = src[q + 2]!;
      }
    }
  } else if (srcChannels === 1) {
    out.set(src.subarray(0, plane), base);
  } else {
    for (let p = 0, q = 0; p < plane; p++, q += srcChannels) {
      out[base + p] = (src[q]! * 19595 + src[q + 1]! * 38470 + src[q + 2]! * 7471 + 0x8000) >> 16;
    }
  }
}

/** Loads every image of a folder (flat or one sub-folder per class) into an ImageDataset. */
export async function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<ImageDataset> {
  checkPath('loadImageFolder', 'dir', dir);
  const sizeRule = c.anyOf(c.int({ min: 1 }), c.custom<[number, number]>('a [height, width] pair of integers >= 1', (v) => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x) && x >= 1)));
  const opts = validateOptions(
    'loadImageFolder',
    options,
    {
      size: c.optional(sizeRule),
      channels: c.oneOf([1, 3] as const),
      layout: c.oneOf(['auto', 'flat', 'classes'] as const),
      fit: c.oneOf(['cover', 'contain', 'fill'] as const),
      extensions: c.arrayOf(c.string(), { min: 1 }),
      concurrency: c.int({ min: 1, max: 64 }),
      onProgress: c.optional(c.func<(p: ImageFolderProgress) => void>()),
      name: c.optional(c.string()),
    },
    { channels: 3 as const, layout: 'auto' as const, fit: 'cover' as const, extensions: DEFAULT_EXTENSIONS, concurrency: 4 },
  );
  const size: [number, number] | null = opts.size === undefined ? null : typeof opts.size === 'number' ? [opts.size, opts.size] : (opts.size as [number, number]);
  const extensions = opts.extensions.map((e) => e.toLowerCase());
  const top = await imagesIn(dir, extensions);

  let layout = opts.layout;
  if (layout === 'auto') {
    if (top.files.length > 0 && top.folders.length > 0) {
      throw new InvalidInputError('dir', `'${dir}' holds both images and sub-folders; pass layout 'flat' (top-level images only) or 'classes' (one sub-folder per class)`);
    }
    layout = top.folders.length > 0 ? 'classes' : 'flat';
  }
  const entries: Entry[] = [];
  let classNames: string[] | null = null;
  if (layout === 'classes') {
    classNames = top.folders;
    for (let k = 0; k < classNames.length; k++) {
      const sub = join(dir, classNames[k]!);
      const inner = await imagesIn(sub, extensions);
      if (inner.files.length === 0) throw new InvalidInputError('dir', `class folder '${sub}' holds no ${extensions.join('/')} images`);
      for (const f of inner.files) entries.push({ file: join(sub, f), label: k });
    }
  } else {
    for (const f of top.files) entries.push({ file: join(dir, f), label: -1 });
  }
  if (entries.length === 0) throw new InvalidInputError('dir', `'${dir}' holds no ${extensions.join('/')} images`);

  const total = entries.length;
  const ch = opts.channels;
  let done = 0;
  const report = (file: string) => {
    done++;
    opts.onProgress?.({ done, total, file });
  };
  // Without a target size, the first image fixes it.
  const first = await decode(entries[0]!.file, size, opts.fit);
  const [h, w] = size ?? [first.height, first.width];
  const out = new Uint8Array(total * ch * h * w);
  store(out, 0, ch, h, w, first.data, first.channels);
  report(entries[0]!.file);

  let next = 1;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < total) {
      const i = next++;
      const file = entries[i]!.file;
      try {
        const img = await decode(file, size, opts.fit);
        if (img.height !== h || img.width !== w) {
          throw new DataFileError(file, 'size-mismatch', `is ${img.width}x${img.height} (width x height) but '${entries[0]!.file}' is ${w}x${h}; pass { size } to resize every image.`);
        }
        store(out, i, ch, h, w, img.data, img.channels);
        report(file);
      } catch (error) {
        if (failure === null) failure = error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, total) }, worker));
  if (failure !== null) throw failure;

  return new ImageDataset({
    images: new Tensor('uint8', out, [total, ch, h, w]),
    labels: layout === 'classes' ? Int32Array.from(entries, (e) => e.label) : null,
    classNames,
    name: opts.name ?? 'image-folder',
    sources: entries.map((e) => e.file),
  });
}
