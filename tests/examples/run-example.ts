/** Runs a TypeScript script the way a user does (node with tsx, `@dc/*` resolved to sources) and returns its output. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

export interface ScriptRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `file`: an absolute path; `cwd` defaults to the repository root. */
export function runScript(file: string, args: string[] = [], cwd = root, timeout = 240_000): ScriptRun {
  const r = spawnSync(process.execPath, ['--conditions=@dc/source', '--import', 'tsx', file, ...args], { cwd, encoding: 'utf8', timeout });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** An example script of `examples/`, run from the repository root. */
export function runExample(script: string, args: string[]): ScriptRun {
  return runScript(join(root, 'examples', script), args);
}
