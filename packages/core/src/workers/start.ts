/**
 * Starting worker threads on a script that ships beside a package's bundle (dist/<name>.js, plain Node runs it)
 * or, when the package runs from its TypeScript sources, on src/.../<name>.ts under tsx. `--import tsx` in a
 * worker's execArgv does not apply to the worker's own entry, so a source worker starts from a small bootstrap
 * (evaluated code) that registers tsx's loader first and then imports the entry; `--conditions=@dc/source`
 * resolves the @dc packages to their sources as in the parent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DcError, InvalidOptionError } from '../errors.js';

/** A worker script: its file URL, and whether it is TypeScript source (run under tsx). */
export interface WorkerScript {
  url: URL;
  source: boolean;
}

/**
 * The script `<name>.js` next to the module at `base` (an `import.meta.url`), else `<name>.ts` (sources); throws
 * when neither exists.
 */
export function scriptBeside(base: string | URL, name: string): WorkerScript {
  const js = new URL(`./${name}.js`, base);
  if (existsSync(fileURLToPath(js))) return { url: js, source: false };
  const ts = new URL(`./${name}.ts`, base);
  if (existsSync(fileURLToPath(ts))) return { url: ts, source: true };
  throw new DcError(`cannot find the worker script ${name} next to ${String(base)}`);
}

/** The file: URL of a module a worker thread will import (a path or file: URL); throws when a path is no file. */
export function moduleFileUrl(caller: string, module: string | URL): string {
  const ref = module instanceof URL ? module.href : module;
  if (typeof ref !== 'string' || (!ref.startsWith('file:') && !existsSync(ref))) {
    throw new InvalidOptionError(caller, 'module', 'an existing file (a path or a file: URL)', module);
  }
  return ref.startsWith('file:') ? ref : pathToFileURL(ref).href;
}

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

const SOURCE_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx)
  .then((api) => api.register())
  .then(() => import(workerData.entry));
`;

/** A worker thread running `script`. */
export function startScriptWorker(script: WorkerScript): Worker {
  if (!script.source) return new Worker(script.url, { execArgv: workerExecArgv(process.execArgv) });
  let tsx: string;
  try {
    // The ESM build of tsx's API (its register() locates the loader relative to itself).
    const pkg = createRequire(fileURLToPath(import.meta.url)).resolve('tsx/package.json');
    const exported = (JSON.parse(readFileSync(pkg, 'utf8')) as { exports: Record<string, { import: { default: string } }> }).exports['./esm/api']!;
    tsx = pathToFileURL(join(dirname(pkg), exported.import.default)).href;
  } catch {
    throw new DcError('running @dc packages from their TypeScript sources in a worker needs the tsx package');
  }
  return new Worker(SOURCE_BOOTSTRAP, { eval: true, workerData: { tsx, entry: script.url.href }, execArgv: ['--conditions=@dc/source'] });
}
