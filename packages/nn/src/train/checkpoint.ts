/**
 * Checkpoints: one binary file holding the training state (parameters, buffers, optimizer slots and step), the
 * RNG state and the position in the run, written atomically (temporary file, fsync, rename) so a crash never
 * leaves a half-written checkpoint under the final name.
 *
 * Layout (all integers little-endian):
 *   bytes 0-7    magic "DCNNCKPT"
 *   bytes 8-11   uint32 format version (1)
 *   bytes 12-15  uint32 byte length H of the JSON header
 *   bytes 16..   H bytes of UTF-8 JSON (CheckpointHeader), then zero padding to a multiple of 8
 *   data         each tensor's raw little-endian values at header.tensors[i].offset (from the start of the data
 *                section, 8-byte aligned)
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { Tensor, type RngState } from '@dc/core';
import type { NamedTensors } from '../modules/module.js';
import { CheckpointError } from './errors.js';
import type { TrainState } from './state.js';
import type { EpochRecord } from './trainer.js';

const MAGIC = 'DCNNCKPT';
const VERSION = 1;

export interface CheckpointProgress {
  /** Completed epochs. */
  epoch: number;
  /** Steps done in the current (incomplete) epoch. */
  stepInEpoch: number;
  /** Optimizer steps done in the whole run. */
  globalStep: number;
}

export interface Checkpoint {
  state: TrainState;
  progress: CheckpointProgress;
  /** The trainer's generator after the last step. */
  rng: RngState;
  /** The generator at the start of the current epoch (regenerates its shuffle); null at an epoch boundary. */
  epochRng: RngState | null;
  optimizer: { kind: string; config: Readonly<Record<string, unknown>> };
  /** How batches were drawn (resume refuses a different dataset size or batch size). */
  data: { size: number; batchSize: number; lastBatch: 'drop' | 'pad'; shuffle: boolean } | null;
  metadata: Record<string, unknown>;
  /** The run's completed epochs (empty when read from a checkpoint written before this field existed). */
  history?: EpochRecord[];
  /** Loss and metric sums of the epoch in progress; null at an epoch boundary. */
  epochSums?: EpochSums | null;
}

export interface EpochSums {
  loss: number;
  /** Steps summed. */
  count: number;
  metrics: Record<string, number>;
}

export interface CheckpointTensorEntry {
  name: string;
  /** 'parameter', 'buffer' or 'slot:<slot name>'. */
  group: string;
  dtype: 'float32';
  shape: number[];
  offset: number;
  byteLength: number;
}

export interface CheckpointHeader {
  format: 'dc-nn-checkpoint';
  version: number;
  createdAt: string;
  progress: CheckpointProgress;
  optimizer: { kind: string; step: number; config: Readonly<Record<string, unknown>>; slots: string[] };
  rng: RngState;
  epochRng: RngState | null;
  data: Checkpoint['data'];
  metadata: Record<string, unknown>;
  /** Optional (absent in earlier files); a NaN loss or metric is written as null. */
  history?: EpochRecord[];
  /** Optional (absent in earlier files). */
  epochSums?: EpochSums | null;
  tensors: CheckpointTensorEntry[];
}

const align8 = (n: number) => (n + 7) & ~7;

/** The checkpoint as bytes (see the layout above). */
export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const groups: [string, NamedTensors][] = [
    ['parameter', ckpt.state.model.parameters],
    ['buffer', ckpt.state.model.buffers],
    ...Object.entries(ckpt.state.optimizer.slots).map(([slot, m]): [string, NamedTensors] => [`slot:${slot}`, m]),
  ];
  const tensors: CheckpointTensorEntry[] = [];
  const data: Tensor<'float32'>[] = [];
  let offset = 0;
  for (const [group, m] of groups) {
    for (const [name, t] of m) {
      tensors.push({ name, group, dtype: 'float32', shape: [...t.shape], offset, byteLength: t.data.byteLength });
      data.push(t);
      offset = align8(offset + t.data.byteLength);
    }
  }
  const header: CheckpointHeader = {
    format: 'dc-nn-checkpoint',
    version: VERSION,
    createdAt: new Date().toISOString(),
    progress: ckpt.progress,
    optimizer: { kind: ckpt.optimizer.kind, step: ckpt.state.optimizer.step, config: ckpt.optimizer.config, slots: Object.keys(ckpt.state.optimizer.slots) },
    rng: ckpt.rng,
    epochRng: ckpt.epochRng,
    data: ckpt.data,
    metadata: ckpt.metadata,
    history: ckpt.history,
    epochSums: ckpt.epochSums ?? null,
    tensors,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = align8(16 + json.byteLength);
  const out = new Uint8Array(dataStart + offset);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, json.byteLength, true);
  out.set(json, 16);
  tensors.forEach((e, i) => {
    const t = data[i]!;
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), dataStart + e.offset);
  });
  return out;
}

function fail(path: string | null, reason: string): never {
  throw new CheckpointError(path, reason);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isRngState = (v: unknown): boolean => {
  const r = v as RngState | null;
  return typeof r === 'object' && r !== null && Array.isArray(r.s) && r.s.length === 4 && r.s.every((w) => isCount(w) && w <= 0xffffffff) &&
    (r.spareNormal === null || typeof r.spareNormal === 'number');
};

/** The header fields a restore reads, checked so a damaged header is a CheckpointError, not a TypeError later. */
function checkHeader(h: CheckpointHeader, path: string | null): void {
  const p = h.progress as Partial<CheckpointProgress> | undefined;
  if (typeof p !== 'object' || p === null || !isCount(p.epoch) || !isCount(p.stepInEpoch) || !isCount(p.globalStep)) {
    fail(path, "the header's progress is missing or damaged");
  }
  const o = h.optimizer as Partial<CheckpointHeader['optimizer']> | undefined;
  if (typeof o !== 'object' || o === null || typeof o.kind !== 'string' || !isCount(o.step) || typeof o.config !== 'object' || o.config === null ||
    !Array.isArray(o.slots) || !o.slots.every((x) => typeof x === 'string')) {
    fail(path, "the header's optimizer is missing or damaged");
  }
  if (!isRngState(h.rng)) fail(path, "the header's random generator state is missing or damaged");
  if (h.epochRng !== null && !isRngState(h.epochRng)) fail(path, "the header's epoch generator state is damaged");
  const numberOrNull = (v: unknown) => v === null || typeof v === 'number';
  const numbers = (v: unknown) => typeof v === 'object' && v !== null && Object.values(v).every(numberOrNull);
  if (h.history !== undefined && !(Array.isArray(h.history) && h.history.every((r) => typeof r === 'object' && r !== null && isCount(r.epoch) &&
    numberOrNull(r.loss) && numbers(r.metrics) && (r.evaluation === undefined || numbers(r.evaluation)) && typeof r.seconds === 'number'))) {
    fail(path, "the header's epoch history is damaged");
  }
  const sums = h.epochSums;
  if (sums !== undefined && sums !== null && !(typeof sums === 'object' && numberOrNull(sums.loss) && isCount(sums.count) && numbers(sums.metrics))) {
    fail(path, "the header's sums of the epoch in progress are damaged");
  }
  for (const e of h.tensors) {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.group !== 'string' || !Array.isArray(e.shape) ||
      !e.shape.every(isCount) || !isCount(e.offset) || !isCount(e.byteLength)) {
      fail(path, 'a tensor entry of the header is damaged');
    }
  }
}

/** Parses checkpoint bytes; every tensor is copied into its own aligned array. */
export function decodeCheckpoint(bytes: Uint8Array, path: string | null = null): Checkpoint {
  if (bytes.byteLength < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail(path, 'not a deep-cluster checkpoint (bad magic bytes)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) fail(path, `format version ${version} is not supported (expected ${VERSION})`);
  const h = view.getUint32(12, true);
  if (16 + h > bytes.byteLength) fail(path, 'truncated header');
  let header: CheckpointHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + h))) as CheckpointHeader;
  } catch {
    return fail(path, 'the header is not valid JSON');
  }
  if (header.format !== 'dc-nn-checkpoint' || !Array.isArray(header.tensors)) fail(path, 'unexpected header');
  checkHeader(header, path);
  const dataStart = align8(16 + h);
  const parameters: NamedTensors = new Map();
  const buffers: NamedTensors = new Map();
  const slots: Record<string, NamedTensors> = {};
  for (const slot of header.optimizer.slots) slots[slot] = new Map();
  for (const e of header.tensors) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (e.dtype !== 'float32' || e.byteLength !== size * 4) fail(path, `tensor '${e.name}' has inconsistent size`);
    const start = dataStart + e.offset;
    if (start + e.byteLength > bytes.byteLength) fail(path, `tensor '${e.name}' runs past the end of the file (truncated?)`);
    const copy = new Uint8Array(e.byteLength);
    copy.set(bytes.subarray(start, start + e.byteLength));
    const t = new Tensor('float32', new Float32Array(copy.buffer), e.shape);
    if (e.group === 'parameter') parameters.set(e.name, t);
    else if (e.group === 'buffer') buffers.set(e.name, t);
    else if (e.group.startsWith('slot:') && slots[e.group.slice(5)]) slots[e.group.slice(5)]!.set(e.name, t);
    else fail(path, `tensor '${e.name}' has unknown group '${e.group}'`);
  }
  return {
    state: { model: { parameters, buffers }, optimizer: { step: header.optimizer.step, slots } },
    progress: header.progress,
    rng: header.rng,
    epochRng: header.epochRng,
    optimizer: { kind: header.optimizer.kind, config: header.optimizer.config },
    data: header.data,
    metadata: header.metadata ?? {},
    history: (header.history ?? []).map(revive),
    epochSums: header.epochSums ? reviveSums(header.epochSums) : null,
  };
}

// JSON writes NaN as null: numbers read back have NaN there again.
const nan = (v: number | null) => (v === null ? NaN : v);
const reviveAll = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, nan(v)]));

function reviveSums(s: EpochSums): EpochSums {
  return { loss: nan(s.loss), count: s.count, metrics: reviveAll(s.metrics) };
}

function revive(r: EpochRecord): EpochRecord {
  return { ...r, loss: nan(r.loss), metrics: reviveAll(r.metrics), ...(r.evaluation ? { evaluation: reviveAll(r.evaluation) } : {}) };
}

/** Writes a checkpoint atomically: a temporary file in the same directory, fsync, then rename over `path`. */
export async function saveCheckpoint(path: string, ckpt: Checkpoint): Promise<void> {
  const bytes = encodeCheckpoint(ckpt);
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message})`);
  }
  return decodeCheckpoint(bytes, path);
}
