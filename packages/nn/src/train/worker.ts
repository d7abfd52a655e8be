/**
 * Training in a worker_thread, so the caller's event loop stays free (ONNX Runtime's session.run blocks the
 * thread that calls it). Closures cannot cross threads, so the job is described by a module: its export
 * `createJob(args)` (or another name) returns the trainer options, the dataset and the fit options, and runs in
 * the worker. Progress events come back as they happen; the final state comes back with its buffers transferred.
 */
import { DcError, InvalidInputError, c, moduleFileUrl, scriptBeside, startScriptWorker, validateOptions, type WorkerScript } from '@dc/core';
import type { Dataset } from './data.js';
import type { TrainState } from './state.js';
import type { FitOptions, FitResult, TrainerOptions, TrainProgress } from './trainer.js';
import { errorFromWire, stateFromWire, type HostMessage, type WorkerMessage } from './worker-protocol.js';

/** What a job module's factory returns (inside the worker). */
export interface WorkerJobDefinition {
  trainer: TrainerOptions;
  data: Dataset;
  fit: Omit<FitOptions, 'onProgress' | 'signal'>;
}

export interface WorkerJob {
  /** Path or file: URL of the job module. */
  module: string | URL;
  /** Name of the factory export (default 'createJob'). */
  exportName?: string;
  /** Passed to the factory (structured-cloneable). */
  args?: unknown;
}

export interface WorkerRunOptions {
  onProgress?: (event: TrainProgress) => void;
  /** Stops training after the current step (a checkpoint is written when the job configures one). */
  signal?: AbortSignal;
  /** Resume from this checkpoint file before training. */
  resume?: string;
  /** Overrides of the job's fit options that can cross threads (epochs, maxSteps, checkpoint, ...). */
  fit?: Partial<Pick<FitOptions, 'epochs' | 'batchSize' | 'maxSteps' | 'checkpoint' | 'progressEvery' | 'lastBatch' | 'shuffle'>>;
}

export interface WorkerResult {
  result: FitResult;
  state: TrainState;
  progress: { epoch: number; stepInEpoch: number; globalStep: number };
}

/**
 * The worker script: dist/worker-entry.js beside the bundle (plain Node runs it), or src/train/worker-entry.ts
 * from sources (under tsx).
 */
export function workerEntry(): WorkerScript {
  return scriptBeside(import.meta.url, 'worker-entry');
}

/** Runs the job in a worker thread and resolves with the final state and the fit result. */
export function trainInWorker(job: WorkerJob, options: WorkerRunOptions = {}): Promise<WorkerResult> {
  const j = validateOptions('trainInWorker', job, {
    module: c.custom<string | URL>('a path or a file: URL', (v) => typeof v === 'string' || v instanceof URL),
    exportName: c.string(),
    args: c.custom<unknown>('structured-cloneable data', () => true),
  }, { exportName: 'createJob' });
  const o = validateOptions('trainInWorker', options, {
    onProgress: c.optional(c.func<(e: TrainProgress) => void>()),
    signal: c.optional(c.object<AbortSignal>()),
    resume: c.optional(c.string()),
    fit: c.optional(c.object()),
  }, {});
  const moduleUrl = moduleFileUrl('trainInWorker', j.module);
  const worker = startScriptWorker(workerEntry());
  return new Promise<WorkerResult>((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => worker.postMessage({ type: 'stop' } satisfies HostMessage);
    if (o.signal) {
      if (o.signal.aborted) onAbort();
      else o.signal.addEventListener('abort', onAbort);
    }
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') o.onProgress?.(m.event);
      else if (m.type === 'done') finish(() => resolve({ result: m.result, state: stateFromWire(m.state), progress: m.progress }));
      else finish(() => reject(errorFromWire(m.error)));
    });
    worker.on('error', (e) => finish(() => reject(e)));
    worker.on('exit', (code) => finish(() => reject(new DcError(`the training worker exited with code ${code} before finishing`))));
    try {
      worker.postMessage({
        type: 'start',
        module: moduleUrl,
        exportName: j.exportName,
        args: j.args,
        resume: o.resume ?? null,
        fit: (o.fit ?? {}) as Record<string, unknown>,
      } satisfies HostMessage);
    } catch (e) {
      // args or fit that cannot be cloned (a function, say): the worker would wait for a start forever.
      finish(() => reject(new InvalidInputError('job.args', `must be structured-cloneable to reach the worker: ${(e as Error).message}`)));
      void worker.terminate();
    }
  });
}
