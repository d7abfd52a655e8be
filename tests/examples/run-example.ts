/** Runs an example script the way a user does (node with tsx, from the repository root) and returns its output. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

export function runExample(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=@dc/source', '--import', 'tsx', join(root, 'examples', script), ...args], { cwd: root, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
