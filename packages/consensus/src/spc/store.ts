/**
 * SPC's checkpoint directory. Every file is written atomically (temporary name, then rename), and `spc.json`,
 * written last after each completed round, says which files are current, so a crash at any moment leaves a
 * resumable directory:
 *   spc.json                    fingerprint of the run, last completed round, history, best round
 *   member<m>.ckpt              member m's training state (parameters, optimizer, RNG, epoch), rewritten during
 *                               every phase; a phase resumes from it up to that phase's total epoch count
 *   r<r>-consensus.i32, r<r>-agreed.u8          round r's consensus labels and agreed points
 *   best<g>-labels.i32, best<g>-agreed.u8, best<g>-member<m>.ckpt   the best round's result (generation g)
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, type Tensor } from '@dc/core';
import { decodeCheckpoint, encodeCheckpoint, type ModelState } from '@dc/nn';
import type { ResolvedSpcOptions } from './options.js';
import type { SpcRoundRecord } from './result.js';

export interface RunStatus {
  format: 'dc-spc-run';
  version: 1;
  fingerprint: string;
  /** Last round whose clustering is done (its files are current). */
  round: number;
  history: SpcRoundRecord[];
  bestRound: number;
  /** Generation of the best-round files; 0 when none is written yet. */
  bestGeneration: number;
  /** Whether the best snapshot still waits for the training that follows the best round. */
  snapshotPending: boolean;
}

/** Identifies a run: the data (shape and a pixel checksum) and every option that changes the result. */
export function fingerprint(images: Tensor<'float32'>, o: ResolvedSpcOptions): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify(images.shape));
  hash.update(new Uint8Array(images.data.buffer, images.data.byteOffset, images.data.byteLength));
  const { onProgress: _p, onRound: _r, checkpointDir: _c, device: _d, threads: _t, workers: _w, workerThreads: _wt, maxRounds: _m, patience: _q, ...rest } = o;
  hash.update(JSON.stringify(rest));
  return hash.digest('hex');
}

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

export class RunStore {
  constructor(readonly dir: string) {}

  static async open(dir: string): Promise<RunStore> {
    await mkdir(dir, { recursive: true });
    return new RunStore(dir);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  async readStatus(expected: string): Promise<RunStatus | null> {
    let text: string;
    try {
      text = await readFile(this.path('spc.json'), 'utf8');
    } catch {
      return null;
    }
    let status: RunStatus;
    try {
      status = JSON.parse(text) as RunStatus;
    } catch {
      throw new InvalidInputError('checkpointDir', `'${this.path('spc.json')}' is not valid JSON`);
    }
    if (status.format !== 'dc-spc-run' || status.version !== 1) throw new InvalidInputError('checkpointDir', `'${this.path('spc.json')}' is not an SPC run file`);
    if (status.fingerprint !== expected) {
      throw new InvalidInputError('checkpointDir', `'${this.dir}' holds a run on other images or with other options; use another directory`);
    }
    return status;
  }

  async writeStatus(status: RunStatus): Promise<void> {
    await writeAtomic(this.path('spc.json'), `${JSON.stringify(status)}\n`);
  }

  async writeInt32(name: string, data: Int32Array): Promise<void> {
    await writeAtomic(this.path(name), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async writeUint8(name: string, data: Uint8Array): Promise<void> {
    await writeAtomic(this.path(name), data);
  }

  async readInt32(name: string, length: number): Promise<Int32Array> {
    const bytes = await this.readBytes(name, length * 4);
    return new Int32Array(bytes.buffer, bytes.byteOffset, length).slice();
  }

  async readUint8(name: string, length: number): Promise<Uint8Array> {
    return (await this.readBytes(name, length)).slice();
  }

  private async readBytes(name: string, byteLength: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.path(name));
    } catch {
      throw new InvalidInputError('checkpointDir', `'${this.path(name)}' is missing; the directory is incomplete`);
    }
    if (bytes.byteLength !== byteLength) throw new InvalidInputError('checkpointDir', `'${this.path(name)}' has ${bytes.byteLength} bytes, expected ${byteLength}`);
    // Copy into an aligned buffer (a Buffer may sit at any offset of Node's pool).
    const out = new Uint8Array(byteLength);
    out.set(bytes);
    return out;
  }

  async exists(name: string): Promise<boolean> {
    return (await readdir(this.dir)).includes(name);
  }

  /** A model state as a checkpoint file (no optimizer state). */
  async writeModel(name: string, state: ModelState): Promise<void> {
    const bytes = encodeCheckpoint({
      state: { model: state, optimizer: { step: 0, slots: {} } },
      progress: { epoch: 0, stepInEpoch: 0, globalStep: 0 },
      rng: { s: [1, 0, 0, 0], spareNormal: null },
      epochRng: null,
      optimizer: { kind: 'adam', config: {} },
      data: null,
      metadata: { producer: '@dc/consensus SPC snapshot' },
    });
    await writeAtomic(this.path(name), bytes);
  }

  async readModel(name: string): Promise<ModelState> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(this.path(name));
    } catch {
      throw new InvalidInputError('checkpointDir', `'${this.path(name)}' is missing; the directory is incomplete`);
    }
    return decodeCheckpoint(bytes, this.path(name)).state.model;
  }

  /** Deletes the files whose names `stale` accepts (ignoring ones already gone). */
  async remove(stale: (name: string) => boolean): Promise<void> {
    for (const name of await readdir(this.dir)) if (stale(name)) await unlink(this.path(name)).catch(() => undefined);
  }
}
