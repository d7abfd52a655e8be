#!/usr/bin/env node
// Runs the README's test command (jest over every package) with a JSON report, then prints the one summary line
// CI reads, from jest's own results: `tests: N passed, M failed`. Exits non-zero when anything failed, including
// a test file that could not run at all.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const resultsFile = join(root, 'jest-results.json');
rmSync(resultsFile, { force: true });
const run = spawnSync('npm', ['test', '--', '--json', `--outputFile=${resultsFile}`, ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
if (!existsSync(resultsFile)) {
  // The summary must be the log's last line, so the explanation goes first.
  console.error('jest produced no results file');
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}
const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
// A test file that fails to load has no test results; count it as one failure so it cannot pass silently.
const brokenFiles = results.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
const passed = results.numPassedTests;
const failed = results.numFailedTests + brokenFiles;
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || run.status !== 0 || !results.success ? 1 : 0);
