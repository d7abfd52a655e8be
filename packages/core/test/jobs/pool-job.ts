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

/**
 * Counts the calls running at once in shared memory (counters[0]: running now, counters[1]: the most seen,
 * counters[2]: calls arrived so far), and waits up to `ms` for a second call to arrive while it runs, so that two
 * threads meet without relying on timing.
 */
export function gate(args: { counters: Int32Array; ms: number }): { thread: number } {
  const c = args.counters;
  const running = Atomics.add(c, 0, 1) + 1;
  for (let most = Atomics.load(c, 1); running > most; most = Atomics.load(c, 1)) {
    if (Atomics.compareExchange(c, 1, most, running) === most) break;
  }
  Atomics.add(c, 2, 1);
  Atomics.notify(c, 2);
  const deadline = Date.now() + args.ms;
  for (let arrived = Atomics.load(c, 2); arrived < 2 && Date.now() < deadline; arrived = Atomics.load(c, 2)) {
    Atomics.wait(c, 2, arrived, Math.max(1, deadline - Date.now()));
  }
  Atomics.sub(c, 0, 1);
  return { thread: threadId };
}

/** Waits `ms`, then says which thread ran it. */
export async function pause(args: { ms: number }): Promise<{ thread: number }> {
  await new Promise((r) => setTimeout(r, args.ms));
  return { thread: threadId };
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
