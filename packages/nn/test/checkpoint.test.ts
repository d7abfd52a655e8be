import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng, Tensor } from '@dc/core';
import { CheckpointError, MLP, decodeCheckpoint, encodeCheckpoint, loadCheckpoint, planBatches, saveCheckpoint, tensorDataset, type Checkpoint } from '@dc/nn';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dc-nn-ckpt-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(): Checkpoint {
  const model = new MLP({ inputDim: 3, hidden: [4], outputDim: 2, batchNorm: true });
  const state = model.init(1);
  const exp = new Map([...state.parameters].map(([k, t]) => [k, Tensor.full(t.shape, 0.25)]));
  const rng = new Rng(9);
  rng.uniform();
  return {
    state: { model: state, optimizer: { step: 17, slots: { exp_avg: exp } } },
    progress: { epoch: 2, stepInEpoch: 3, globalStep: 17 },
    rng: rng.getState(),
    epochRng: new Rng(4).getState(),
    optimizer: { kind: 'adam', config: { betas: [0.9, 0.999], eps: 1e-8 } },
    data: { size: 100, batchSize: 7, lastBatch: 'drop', shuffle: true },
    metadata: { note: 'test' },
    history: [
      { epoch: 1, loss: 0.5, metrics: { grad_norm: NaN }, seconds: 1.5 },
      { epoch: 2, loss: 0.25, metrics: { grad_norm: 2 }, evaluation: { acc: 0.75 }, seconds: 1.25 },
    ],
    epochSums: { loss: 1.25, count: 3, metrics: { grad_norm: 6 } },
  };
}

describe('checkpoint format', () => {
  it('round-trips every tensor bit for bit, with progress, RNG and optimizer state', () => {
    const a = sample();
    const bytes = encodeCheckpoint(a);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('DCNNCKPT');
    const b = decodeCheckpoint(bytes);
    expect(b.progress).toEqual(a.progress);
    expect(b.rng).toEqual(a.rng);
    expect(b.epochRng).toEqual(a.epochRng);
    expect(b.optimizer).toEqual(a.optimizer);
    expect(b.data).toEqual(a.data);
    expect(b.metadata).toEqual(a.metadata);
    // The epoch history and the sums of the epoch in progress, NaN included (JSON writes it as null).
    expect(b.history).toEqual(a.history);
    expect(Number.isNaN(b.history![0]!.metrics.grad_norm)).toBe(true);
    expect(b.epochSums).toEqual(a.epochSums);
    expect(b.state.optimizer.step).toBe(17);
    for (const [group, m] of [['parameters', a.state.model.parameters], ['buffers', a.state.model.buffers]] as const) {
      for (const [name, t] of m) {
        const u = b.state.model[group].get(name)!;
        expect(u.shape).toEqual(t.shape);
        expect(Array.from(u.data)).toEqual(Array.from(t.data));
      }
    }
    expect(b.state.optimizer.slots.exp_avg!.get('layers.0.weight')!.data[0]).toBe(0.25);
    // A restored RNG continues the same stream.
    expect(Rng.fromState(b.rng).uniform()).toBe(Rng.fromState(a.rng).uniform());
  });

  it('writes atomically: the final file is complete and no temporary file is left', async () => {
    const path = join(dir, 'run.ckpt');
    writeFileSync(path, 'old contents');
    await saveCheckpoint(path, sample());
    expect(readdirSync(dir)).toEqual(['run.ckpt']);
    const back = await loadCheckpoint(path);
    expect(back.progress.globalStep).toBe(17);
    expect(readFileSync(path).byteLength).toBe(encodeCheckpoint(sample()).byteLength);
  });

  it.each([
    ['bad magic bytes', (b: Uint8Array) => { b[0] = 0x41; return b; }, /bad magic/],
    ['an unsupported version', (b: Uint8Array) => { new DataView(b.buffer).setUint32(8, 99, true); return b; }, /version 99/],
    ['a truncated file', (b: Uint8Array) => b.subarray(0, b.byteLength - 10), /truncated/],
    ['a corrupted header', (b: Uint8Array) => { b[20] = 0x7b; b[21] = 0x7b; return b; }, /JSON|header/],
  ])('rejects %s with a CheckpointError', (_label, damage, message) => {
    const bytes = damage(encodeCheckpoint(sample()).slice());
    expect(() => decodeCheckpoint(bytes)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(bytes)).toThrow(message);
  });

  // Valid JSON that lacks what a restore reads: a CheckpointError at load time, not a TypeError later.
  it.each([
    ['no progress', (h: Record<string, unknown>) => delete h.progress, /progress/],
    ['a negative step count', (h: Record<string, unknown>) => ((h.progress as Record<string, unknown>).globalStep = -1), /progress/],
    ['no optimizer', (h: Record<string, unknown>) => delete h.optimizer, /optimizer/],
    ['no random generator state', (h: Record<string, unknown>) => delete h.rng, /random generator/],
    ['a damaged epoch generator state', (h: Record<string, unknown>) => (h.epochRng = { s: [1, 2] }), /epoch generator/],
    ['a damaged epoch history', (h: Record<string, unknown>) => (h.history = [{ epoch: 'one' }]), /epoch history/],
    ['damaged sums of the epoch in progress', (h: Record<string, unknown>) => (h.epochSums = { loss: 1, count: -1, metrics: {} }), /epoch in progress/],
  ])('rejects a header with %s', (_label, damage, message) => {
    const bytes = encodeCheckpoint(sample());
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const length = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length))) as Record<string, unknown>;
    damage(header);
    // Same length, so the tensor offsets stay valid: pad the JSON with spaces.
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(length, ' '));
    expect(json.byteLength).toBe(length);
    const damaged = bytes.slice();
    damaged.set(json, 16);
    expect(() => decodeCheckpoint(damaged)).toThrow(CheckpointError);
    expect(() => decodeCheckpoint(damaged)).toThrow(message);
  });

  it('reads a checkpoint written before the epoch history existed (empty history, no sums)', () => {
    const bytes = encodeCheckpoint(sample());
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const length = view.getUint32(12, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + length))) as Record<string, unknown>;
    delete header.history;
    delete header.epochSums;
    const older = bytes.slice();
    older.set(new TextEncoder().encode(JSON.stringify(header).padEnd(length, ' ')), 16);
    const b = decodeCheckpoint(older);
    expect(b.history).toEqual([]);
    expect(b.epochSums).toBeNull();
    expect(b.progress).toEqual(sample().progress);
  });

  it('a missing file is a CheckpointError naming the path', async () => {
    await expect(loadCheckpoint(join(dir, 'nope.ckpt'))).rejects.toThrow(/nope\.ckpt/);
  });
});

describe('batch planning', () => {
  const order = Int32Array.from([4, 2, 0, 1, 3]);

  it("'drop' leaves out the incomplete last batch", () => {
    const p = planBatches(5, 2, 'drop');
    expect(p.steps).toBe(2);
    expect(Array.from(p.indices(order, 1).indices)).toEqual([0, 1]);
  });

  it("'pad' fills the last batch from the start of the epoch and reports how many rows are real", () => {
    const p = planBatches(5, 2, 'pad');
    expect(p.steps).toBe(3);
    const last = p.indices(order, 2);
    expect(Array.from(last.indices)).toEqual([3, 4]);
    expect(last.valid).toBe(1);
  });

  it('a batch larger than the data with drop is an error', () => {
    expect(() => planBatches(3, 4, 'drop')).toThrow(/larger than the dataset/);
  });

  it('tensorDataset gathers rows and checks its tensors', () => {
    const ds = tensorDataset({ x: Tensor.fromArray([[1, 2], [3, 4], [5, 6]]), y: Tensor.fromArray([0, 1, 2], 'int64') });
    const b = ds.batch(Int32Array.from([2, 0]), new Rng(0)) as Record<string, Tensor>;
    expect(b.x!.toArray()).toEqual([[5, 6], [1, 2]]);
    expect(b.y!.toArray()).toEqual([2, 0]);
    expect(() => tensorDataset({ x: Tensor.zeros([3, 2]), y: Tensor.zeros([2]) })).toThrow(/same number of rows/);
    expect(() => tensorDataset({})).toThrow(/at least one tensor/);
  });
});
