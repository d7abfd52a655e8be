/**
 * Training in a worker_thread, so the caller's event loop stays free (ONNX Runtime's session.run blocks the
 * thread that calls it). Closures cannot cross threads, so the job is described by a module: its export
 * `createJob(args)` (or another name) returns the trainer options, the dataset and the fit options, and runs in
 * the worker. Progress events come back as they happen; the final state comes back with its buffers transferred.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DcError, InvalidInputError, InvalidOptionError, c, validateOptions } from '@dc/core';
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
 * from sources. A TypeScript entry needs tsx inside the worker, and `--import tsx` in a worker's execArgv does not
 * apply to the worker's own entry, so a small bootstrap (evaluated code) registers tsx's loader first and then
 * imports the entry; `--conditions=@dc/source` resolves the @dc packages to their sources as in the parent.
 */
export function workerEntry(): { url: URL; source: boolean } {
  const js = new URL('./worker-entry.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return { url: js, source: false };
  const ts = new URL('./worker-entry.ts', import.meta.url);
  if (existsSync(fileURLToPath(ts))) return { url: ts, source: true };
  throw new DcError(`cannot find the training worker script next to ${import.meta.url}`);
}

const SOURCE_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => api.register())
  .then(() => import(workerData.entry));
`;

/**
 * The parent's Node options for a worker that runs a script file. Workers inherit them by default, but options
 * that only apply to a string of code (`node --input-type=module -e '...'`) make the worker fail to start.
 */
export function workerExecArgv(parent: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const a = parent[i]!;
    if (a.startsWith('--input-type=')) continue;
    if (a === '--input-type') {
      i++;
      continue;
    }
    // -e/--eval/-p/--print carry the code as their value.
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') {
      i++;
      continue;
    }
    if (a.startsWith('--eval=') || a.startsWith('--print=')) continue;
    out.push(a);
  }
  return out;
}

function startWorker(): Worker {
  const entry = workerEntry();
  if (!entry.source) return new Worker(entry.url, { execArgv: workerExecArgv(process.execArgv) });
  let tsx: string;
  try {
    // The ESM build of tsx's API (its register() locates the loader relative to itself).
    const pkg = createRequire(fileURLToPath(import.meta.url)).resolve('tsx/package.json');
    const exported = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
    tsx = pathToFileURL(join(dirname(pkg), exported.import.default)).href;
  } catch {
    throw new DcError('running @dc/nn from its TypeScript sources in a worker needs the tsx package');
  }
  return new Worker(SOURCE_BOOTSTRAP, { eval: true, workerData: { tsx, entry: entry.url.href }, execArgv: ['--conditions=@dc/source'] });
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
  const moduleRef = j.module instanceof URL ? j.module.href : j.module;
  if (!moduleRef.startsWith('file:') && !existsSync(moduleRef)) throw new InvalidOptionError('trainInWorker', 'module', 'an existing file', moduleRef);
  const moduleUrl = moduleRef.startsWith('file:') ? moduleRef : pathToFileURL(moduleRef).href;
  const worker = startWorker();
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
