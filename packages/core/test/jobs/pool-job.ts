/** Exports the worker-pool tests call in worker threads (see worker-pool.test.ts). */
import { threadId } from 'node:worker_threads';
import { InvalidInputError } from '../../src/errors';

/** Squares each value; reports each index as progress. */
export function squares(args: { values: number[] }, report: (event: unknown) => void): { squares: Float64Array; thread: number } {
  const out = new Float64Array(args.values.length);
  args.values.forEach((v, i) => {
    out[i] = v * v;
    report({ done: i + 1, total: args.values.length });
  });
  return { squares: out, thread: threadId };
}

/** Waits, then says which thread ran it and when it started and ended. */
export async function pause(args: { ms: number }): Promise<{ thread: number; start: number; end: number }> {
  const start = Date.now();
  await new Promise((r) => setTimeout(r, args.ms));
  return { thread: threadId, start, end: Date.now() };
}

export function reject(args: { size: number }): never {
  throw new InvalidInputError('size', `is ${args.size}; it must be positive`);
}

/** Ends its thread mid-call. */
export function crash(): never {
  process.exit(3);
}

/** A result over Node's shared Buffer pool, whose memory cannot be moved to another thread. */
export function pooled(): { bytes: Uint8Array } {
  return { bytes: Buffer.from('abc') };
}
