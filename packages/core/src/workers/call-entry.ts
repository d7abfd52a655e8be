/**
 * Entry of a WorkerPool's threads (see pool.ts): for each call it imports the named module (once), calls the
 * export with the arguments and a progress callback, and posts the result back, moving its typed arrays'
 * buffers instead of copying them. Built as its own file (dist/call-entry.js) beside the package bundle; from
 * sources it runs under tsx.
 */
import { parentPort } from 'node:worker_threads';
import { errorToWire } from './wire.js';
import type { PoolReply, PoolRequest } from './pool.js';

const port = parentPort;
if (!port) throw new Error('call-entry must run in a worker thread');

const modules = new Map<string, Promise<Record<string, unknown>>>();

/** The buffers of the typed arrays in a result (top level, arrays and plain objects), each once. */
function buffersOf(value: unknown, out: Set<ArrayBuffer> = new Set(), depth = 0): Set<ArrayBuffer> {
  if (depth > 4 || value === null || typeof value !== 'object') return out;
  if (ArrayBuffer.isView(value)) {
    if (value.buffer instanceof ArrayBuffer) out.add(value.buffer);
    return out;
  }
  for (const v of Array.isArray(value) ? value : Object.values(value)) buffersOf(v, out, depth + 1);
  return out;
}

port.on('message', (m: PoolRequest) => {
  void (async () => {
    try {
      if (!modules.has(m.module)) modules.set(m.module, import(m.module) as Promise<Record<string, unknown>>);
      const fn = (await modules.get(m.module)!)[m.exportName];
      if (typeof fn !== 'function') throw new Error(`the module ${m.module} has no function export '${m.exportName}'`);
      const report = (event: unknown) => port.postMessage({ id: m.id, type: 'progress', event } satisfies PoolReply);
      const value = await (fn as (args: unknown, report: (event: unknown) => void) => unknown)(m.args, report);
      const reply: PoolReply = { id: m.id, type: 'done', value };
      try {
        port.postMessage(reply, [...buffersOf(value)]);
      } catch {
        // A buffer that cannot move (Node's pooled Buffer memory is marked untransferable): copy instead.
        port.postMessage(reply);
      }
    } catch (e) {
      port.postMessage({ id: m.id, type: 'error', error: errorToWire(e) } satisfies PoolReply);
    }
  })();
});
