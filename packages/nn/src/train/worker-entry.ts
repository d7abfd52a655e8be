/**
 * Entry of the training worker thread (see worker.ts). It imports the job module named by the host, builds the
 * Trainer from the job's definition, runs fit, posts progress events, and posts the final state back with its
 * buffers transferred. Built as its own file (dist/worker-entry.js) beside the package bundle; from sources it
 * runs under tsx.
 */
import { parentPort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';
import { Trainer, type FitOptions } from './trainer.js';
import { errorToWire, stateToWire, type HostMessage, type WorkerMessage, type WorkerStart } from './worker-protocol.js';
import type { WorkerJobDefinition } from './worker.js';

const port = parentPort;
if (!port) throw new Error('worker-entry must run in a worker thread');

const controller = new AbortController();

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function run(start: WorkerStart): Promise<void> {
  const url = start.module.startsWith('file:') || !isAbsolute(start.module) ? start.module : pathToFileURL(start.module).href;
  const mod = (await import(url)) as Record<string, unknown>;
  const factory = mod[start.exportName];
  if (typeof factory !== 'function') throw new Error(`the job module ${start.module} has no function export '${start.exportName}'`);
  const def = (await (factory as (args: unknown) => WorkerJobDefinition | Promise<WorkerJobDefinition>)(start.args)) as WorkerJobDefinition;
  const trainer = new Trainer(def.trainer);
  try {
    if (start.resume) await trainer.restore(start.resume);
    const fit = { ...def.fit, ...start.fit } as FitOptions;
    const result = await trainer.fit(def.data, {
      ...fit,
      signal: controller.signal,
      onProgress: (event) => post({ type: 'progress', event }),
    });
    const { wire, transfer } = stateToWire(trainer.state);
    post({ type: 'done', result, state: wire, progress: trainer.progress }, transfer);
  } finally {
    await trainer.dispose();
  }
}

port.on('message', (m: HostMessage) => {
  if (m.type === 'stop') {
    controller.abort();
    return;
  }
  run(m).catch((e: unknown) => post({ type: 'error', error: errorToWire(e) })).finally(() => port.close());
});
