/**
 * The READMEs' TypeScript examples, run as a user runs them (node with tsx, from a folder inside the repository so
 * `@dc/*` resolves), so the documentation cannot drift from the code: every complete example must run, and where
 * the README shows what it prints, the output must have the same words and numbers within 5% (or 0.02): the
 * examples that train networks round their last digits differently on other CPUs' kernels, a changed algorithm or
 * default moves them further.
 *
 * A block is an example when it starts with an import; an HTML comment `<!-- readme-examples: skip (why) -->`
 * just before it leaves it out (whole-dataset training, a program in two files). Its output is the next fenced
 * block when only blank lines or one short line ("prints") stand between.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root, runScript } from './examples/run-example';

const work = join(root, 'node_modules', '.cache', 'dc-readme-examples');

interface Example {
  readme: string;
  line: number;
  code: string;
  expected: string | null;
}

const SKIP = /<!--\s*readme-examples:\s*skip\b/;

function readmeExamples(readme: string, text: string): Example[] {
  const lines = text.split('\n');
  const examples: Example[] = [];
  const skipWhile = (from: number, step: 1 | -1, test: (line: string) => boolean) => {
    let j = from;
    while (j >= 0 && j < lines.length && test(lines[j]!)) j += step;
    return j;
  };
  const fenceEnd = (from: number) => skipWhile(from, 1, (l) => l !== '```');
  const blank = (l: string) => l.trim() === '';
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== '```ts') continue;
    const end = fenceEnd(i + 1);
    const code = lines.slice(i + 1, end).join('\n');
    const before = skipWhile(i - 1, -1, blank);
    const skipped = before >= 0 && SKIP.test(lines[before]!);
    if (!skipped && /^import /.test(code)) {
      let k = skipWhile(end + 1, 1, blank);
      if (k < lines.length && !lines[k]!.startsWith('```') && lines[k]!.length < 120) k = skipWhile(k + 1, 1, blank);
      const expected = k < lines.length && (lines[k] === '```' || lines[k] === '```text') ? lines.slice(k + 1, fenceEnd(k + 1)).join('\n') : null;
      examples.push({ readme, line: i + 1, code, expected });
    }
    i = end;
  }
  return examples;
}

const NUMBER = /-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?/g;

/** The output with its numbers taken out, and the numbers. */
function split(output: string): { words: string; numbers: number[] } {
  const numbers = (output.match(NUMBER) ?? []).map((s) => Number(s.replace(/,/g, '')));
  return { words: output.replace(NUMBER, '#').trim(), numbers };
}

function close(actual: number, expected: number): boolean {
  return Math.abs(actual - expected) <= Math.max(0.05 * Math.abs(expected), 0.02);
}

const readmes = ['README.md', ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'README.md'))].filter((f) => existsSync(join(root, f)));
const examples = readmes.flatMap((f) => readmeExamples(f, readFileSync(join(root, f), 'utf8')));

describe('README examples', () => {
  beforeAll(() => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
    expect(examples.filter((e) => e.expected !== null).length).toBeGreaterThanOrEqual(3);
  });

  it.each(examples.map((e) => [`${e.readme}:${e.line}`, e] as const))('%s runs and prints what the README shows', (name, e) => {
    const file = join(work, `${name.replace(/[^\w]+/g, '-')}.mts`);
    writeFileSync(file, e.code + '\n');
    const r = runScript(file, [], work, 120_000);
    if (r.status !== 0) throw new Error(`${name} exited with ${r.status ?? r.signal}:\n${r.stderr}`);
    if (e.expected === null) return;
    const got = split(r.stdout);
    const want = split(e.expected);
    expect(got.words).toBe(want.words);
    const far = want.numbers.map((w, i) => ({ want: w, got: got.numbers[i]! })).filter((p) => !close(p.got, p.want));
    if (far.length > 0) throw new Error(`${name} printed\n${r.stdout}\nthe README shows\n${e.expected}\n(numbers off by more than 5%: ${JSON.stringify(far)})`);
  }, 150_000);
});
