/**
 * Training in a worker thread. Under jest the worker is a plain Node thread (jest's transform does not reach it),
 * so these tests also prove that the worker entry runs from sources through tsx.
 */
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DcError, InvalidOptionError } from '@dc/core';
import { Trainer, TrainingDivergedError, trainInWorker, workerEntry, type TrainProgress } from '@dc/nn';
import { blobs } from './data';
import { createJob, type MlpJobArgs } from './jobs/mlp-job';

const JOB = join(__dirname, 'jobs', 'mlp-job.ts');
const { x, labels } = blobs(3, 16, 4, 9);
const args: MlpJobArgs = { x: x.data, y: labels, d: 4, epochs: 3 };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dc-nn-worker-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bits(t: Float32Array): number[] {
  return Array.from(new Uint32Array(t.buffer, t.byteOffset, t.length));
}

describe('trainInWorker', () => {
  it('locates the worker entry from sources (TypeScript through tsx)', () => {
    const e = workerEntry();
    expect(e.url.pathname.endsWith('/src/train/worker-entry.ts')).toBe(true);
    expect(e.source).toBe(true);
  });

  it('trains off the main thread with progress events, the event loop stays free, and the result equals an in-process run', async () => {
    const events: TrainProgress[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const out = await trainInWorker({ module: JOB, args }, { onProgress: (e) => events.push(e) });
    clearInterval(timer);
    expect(out.result.epochs).toBe(3);
    expect(out.progress.globalStep).toBe(18);
    expect(events.filter((e) => e.type === 'step').length).toBe(18);
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(ticks).toBeGreaterThan(3);

    const def = createJob(args);
    const local = new Trainer(def.trainer);
    await local.fit(def.data, def.fit);
    for (const [name, t] of local.modelState.parameters) expect(bits(out.state.model.parameters.get(name)!.data)).toEqual(bits(t.data));
    expect(out.state.optimizer.step).toBe(18);
    await local.dispose();
  }, 60_000);

  it('stops on abort after writing a checkpoint, and a resumed worker run finishes identically', async () => {
    const path = join(dir, 'w.ckpt');
    const controller = new AbortController();
    const first = await trainInWorker({ module: JOB, args }, {
      signal: controller.signal,
      fit: { checkpoint: { path } },
      onProgress: (e) => {
        if (e.type === 'step' && e.step === 7) controller.abort();
      },
    });
    expect(first.result.stopped).toBe(true);
    expect(first.progress.globalStep).toBeGreaterThanOrEqual(7);
    expect(first.progress.globalStep).toBeLessThan(18);
    const resumed = await trainInWorker({ module: JOB, args }, { resume: path });
    expect(resumed.progress.globalStep).toBe(18);
    const full = await trainInWorker({ module: JOB, args });
    for (const [name, t] of full.state.model.parameters) expect(bits(resumed.state.model.parameters.get(name)!.data)).toEqual(bits(t.data));
  }, 90_000);

  it('rethrows training errors on the host with their type', async () => {
    const err = await trainInWorker({ module: JOB, args: { ...args, diverge: true } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as TrainingDivergedError).globalStep).toBe(2);
    expect((err as Error).message).toMatch(/Training diverged/);
  }, 60_000);

  it('reports a job module without the factory, and a missing module', async () => {
    await expect(trainInWorker({ module: JOB, exportName: 'notAFunction', args })).rejects.toThrow(/no function export 'notAFunction'/);
    await expect(trainInWorker({ module: JOB, exportName: 'notAFunction', args })).rejects.toBeInstanceOf(DcError);
    expect(() => trainInWorker({ module: join(dir, 'missing.ts') })).toThrow(InvalidOptionError);
  }, 60_000);

  it('rejects arguments that cannot reach the worker (and does not leave it waiting)', async () => {
    await expect(trainInWorker({ module: JOB, args: { ...args, callback: () => 1 } })).rejects.toThrow(/structured-cloneable/);
  }, 60_000);
});
