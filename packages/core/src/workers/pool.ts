/**
 * A fixed number of worker threads that run calls to module exports: `pool.call(module, 'name', args)` imports
 * the module in a free thread and resolves with what `name(args, report)` returns. Closures cannot cross
 * threads, hence the module: its export runs in the worker, its arguments and result are structured-cloned (the
 * result's typed arrays are moved, not copied), and what it passes to `report` reaches `onProgress` as it
 * happens. Calls beyond the pool's size wait in order for a free thread. Idle threads do not keep the process
 * alive; `close()` ends them.
 */
import type { Worker } from 'node:worker_threads';
import { DcError, InvalidOptionError } from '../errors.js';
import { moduleFileUrl, scriptBeside, startScriptWorker } from './start.js';
import { errorFromWire, type WireError } from './wire.js';

/** Host to worker: one call. */
export interface PoolRequest {
  id: number;
  module: string;
  exportName: string;
  args: unknown;
}

/** Worker to host. */
export type PoolReply =
  | { id: number; type: 'progress'; event: unknown }
  | { id: number; type: 'done'; value: unknown }
  | { id: number; type: 'error'; error: WireError };

export interface PoolCallOptions {
  /** Receives what the export passes to its `report` callback. */
  onProgress?: (event: unknown) => void;
}

interface Pending {
  request: PoolRequest;
  onProgress: ((event: unknown) => void) | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

interface Slot {
  worker: Worker;
  current: Pending | null;
}

export class WorkerPool {
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new InvalidOptionError('WorkerPool', 'size', 'an integer >= 1', size);
    this.size = size;
  }

  /** Runs `exportName(args, report)` of `module` (a path or file: URL) in a worker thread. */
  call<T>(module: string | URL, exportName: string, args: unknown, options: PoolCallOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new DcError('the worker pool is closed'));
    let url: string;
    try {
      url = moduleFileUrl('WorkerPool.call', module);
    } catch (e) {
      return Promise.reject(e);
    }
    if (typeof exportName !== 'string' || exportName === '') return Promise.reject(new InvalidOptionError('WorkerPool.call', 'exportName', 'a non-empty string', exportName));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, module: url, exportName, args }, onProgress: options.onProgress, resolve: resolve as (v: unknown) => void, reject });
      this.dispatch();
    });
  }

  /** Ends every thread; calls still queued or running reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const error = new DcError('the worker pool was closed before the call finished');
    for (const p of this.queue.splice(0)) p.reject(error);
    const slots = this.slots.splice(0);
    for (const s of slots) s.current?.reject(error);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.find((s) => s.current === null);
      if (!slot && this.slots.length < this.size) slot = this.startSlot();
      if (!slot) return;
      const pending = this.queue.shift()!;
      slot.current = pending;
      slot.worker.ref();
      try {
        slot.worker.postMessage(pending.request);
      } catch (e) {
        // Arguments that cannot be cloned (a function, say).
        slot.current = null;
        slot.worker.unref();
        pending.reject(new InvalidOptionError('WorkerPool.call', 'args', `structured-cloneable data (${(e as Error).message})`, typeof pending.request.args));
      }
    }
  }

  private startSlot(): Slot {
    const slot: Slot = { worker: startScriptWorker(scriptBeside(import.meta.url, 'call-entry')), current: null };
    this.slots.push(slot);
    const settle = () => {
      const p = slot.current!;
      slot.current = null;
      slot.worker.unref();
      queueMicrotask(() => this.dispatch());
      return p;
    };
    slot.worker.on('message', (m: PoolReply) => {
      if (!slot.current || m.id !== slot.current.request.id) return;
      if (m.type === 'progress') slot.current.onProgress?.(m.event);
      else if (m.type === 'done') settle().resolve(m.value);
      else settle().reject(errorFromWire(m.error));
    });
    // A thread that dies takes its call with it; the next call starts a new thread.
    const lost = (error: Error) => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      const p = slot.current;
      slot.current = null;
      p?.reject(error);
      if (!this.closed) queueMicrotask(() => this.dispatch());
    };
    slot.worker.on('error', (e) => lost(e));
    slot.worker.on('exit', (code) => lost(new DcError(`a worker thread of the pool exited with code ${code}`)));
    return slot;
  }
}
