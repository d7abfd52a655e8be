/**
 * WorkerPool: calls to module exports in worker threads (under jest the threads are plain Node threads that run
 * the TypeScript sources through tsx, as they do for a package used from its sources).
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { DcError, InvalidInputError, InvalidOptionError, WorkerPool } from '@dc/core';

const JOB = join(__dirname, 'jobs', 'pool-job.ts');

describe('WorkerPool', () => {
  let pool: WorkerPool;
  afterEach(async () => {
    await pool?.close();
  });

  it('runs an export in another thread, with its progress events and typed arrays in the result', async () => {
    pool = new WorkerPool(1);
    const events: unknown[] = [];
    const out = await pool.call<{ squares: Float64Array; thread: number }>(JOB, 'squares', { values: [1, 2, 3] }, { onProgress: (e) => events.push(e) });
    expect(Array.from(out.squares)).toEqual([1, 4, 9]);
    expect(out.squares).toBeInstanceOf(Float64Array);
    expect(out.thread).not.toBe(threadId);
    expect(events).toEqual([{ done: 1, total: 3 }, { done: 2, total: 3 }, { done: 3, total: 3 }]);
  });

  it("returns results whose memory cannot move (Node's pooled Buffer memory) as copies", async () => {
    pool = new WorkerPool(1);
    const out = await pool.call<{ bytes: Uint8Array }>(JOB, 'pooled', {});
    expect(Array.from(out.bytes)).toEqual([97, 98, 99]);
    // The thread's Buffer pool is intact: later calls still work.
    await expect(pool.call(JOB, 'pooled', {})).resolves.toMatchObject({ bytes: new Uint8Array([97, 98, 99]) });
  });

  it('runs at most `size` calls at a time, on reused threads', async () => {
    pool = new WorkerPool(2);
    const counters = new Int32Array(new SharedArrayBuffer(12));
    // The first two wait for each other; the next two only count themselves.
    const runs = await Promise.all([10_000, 10_000, 0, 0].map((ms) => pool.call<{ thread: number }>(JOB, 'gate', { counters, ms })));
    // Two calls ran side by side, never three; four calls used the same two threads.
    expect(Atomics.load(counters, 1)).toBe(2);
    expect(new Set(runs.map((r) => r.thread)).size).toBe(2);
  });

  it("rebuilds the export's typed error on this side", async () => {
    pool = new WorkerPool(1);
    const err = await pool.call(JOB, 'reject', { size: -1 }).catch((e: unknown) => e);
    expect(DcError.isInstance(err)).toBe(true);
    expect(InvalidInputError.isInstance(err)).toBe(true);
    expect((err as DcError).message).toBe("Invalid 'size': is -1; it must be positive");
    // The thread survives a failed call.
    await expect(pool.call(JOB, 'squares', { values: [2] })).resolves.toMatchObject({ squares: new Float64Array([4]) });
  });

  it('says when the module has no such export, or is no file', async () => {
    pool = new WorkerPool(1);
    await expect(pool.call(JOB, 'missing', {})).rejects.toThrow(/no function export 'missing'/);
    const missing = await pool.call(join(__dirname, 'jobs', 'nothing-here.ts'), 'squares', {}).catch((e: unknown) => e);
    expect(InvalidOptionError.isInstance(missing)).toBe(true);
    expect((missing as InvalidOptionError).option).toBe('module');
    const unnamed = await pool.call(JOB, '', {}).catch((e: unknown) => e);
    expect(InvalidOptionError.isInstance(unnamed)).toBe(true);
  });

  it('rejects arguments that cannot cross threads', async () => {
    pool = new WorkerPool(1);
    const err = await pool.call(JOB, 'squares', { values: [1], f: () => 1 }).catch((e: unknown) => e);
    expect(InvalidOptionError.isInstance(err)).toBe(true);
    await expect(pool.call(JOB, 'squares', { values: [3] })).resolves.toMatchObject({ squares: new Float64Array([9]) });
  });

  it('fails the call of a thread that dies, and starts a new thread for the next', async () => {
    pool = new WorkerPool(1);
    await expect(pool.call(JOB, 'crash', {})).rejects.toThrow(/exited with code 3/);
    await expect(pool.call(JOB, 'squares', { values: [5] })).resolves.toMatchObject({ squares: new Float64Array([25]) });
  });

  it('close() rejects queued and running calls, and later calls', async () => {
    pool = new WorkerPool(1);
    await pool.call(JOB, 'pause', { ms: 1 }); // the thread is up and the module loaded
    const t0 = Date.now();
    const running = pool.call(JOB, 'pause', { ms: 5000 }).catch((e: unknown) => e);
    const queued = pool.call(JOB, 'pause', { ms: 1 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await pool.close();
    expect(String(await running)).toMatch(/closed before the call finished/);
    expect(String(await queued)).toMatch(/closed before the call finished/);
    expect(Date.now() - t0).toBeLessThan(4000); // the running call was ended, not awaited
    await expect(pool.call(JOB, 'pause', { ms: 1 })).rejects.toThrow(/closed/);
  });

  it('rejects a size that is not a whole number >= 1', () => {
    for (const size of [0, -1, 1.5, NaN]) expect(() => new WorkerPool(size)).toThrow(InvalidOptionError);
  });
});
