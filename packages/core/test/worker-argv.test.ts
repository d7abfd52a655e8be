/**
 * Node options a worker thread inherits: options that only apply to a string of code (`node --input-type=module
 * -e '...'`) stop a worker running a script file from starting, so they are left out; the others are kept.
 */
import { workerExecArgv } from '../src/workers/start';

describe('workerExecArgv', () => {
  it('drops --input-type and the code of -e/--eval/-p/--print', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'await 1'])).toEqual([]);
    expect(workerExecArgv(['--input-type', 'module', '--eval', 'x'])).toEqual([]);
    expect(workerExecArgv(['-p', '1 + 1'])).toEqual([]);
    expect(workerExecArgv(['--print=1', '--eval=2'])).toEqual([]);
  });

  it('keeps every other option, in order', () => {
    expect(workerExecArgv(['--max-old-space-size=4096', '--input-type=module', '-e', 'x', '--conditions=@dc/source', '--enable-source-maps']))
      .toEqual(['--max-old-space-size=4096', '--conditions=@dc/source', '--enable-source-maps']);
    expect(workerExecArgv([])).toEqual([]);
  });
});
