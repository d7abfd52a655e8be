/**
 * The benchmark convention: every benchmark measures our figure and, where one exists, a reference figure in the
 * same run, prints a table (ours, reference, ratio, unit, target) and writes benchmarks/results/<name>.json.
 * Nothing here is hard-coded: a row whose reference could not be measured says so (reference null).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_ROOT = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(BENCH_ROOT, '..');

export interface Row {
  case: string;
  metric: string;
  ours: number | null;
  reference: number | null;
  /** ours / reference, computed from the two. */
  ratio: number | null;
  unit: string;
  /** The target as text, e.g. "< 20", "<= 1.0 ratio", ">= 65.58". */
  target: string | null;
  met: boolean | null;
  /** Free-form: what the reference is, or why it is missing. */
  note?: string;
}

export interface RowInput {
  case: string;
  metric: string;
  ours: number | null;
  reference?: number | null;
  unit: string;
  /** Target on `ours` (or on the ratio when `on` is 'ratio'). */
  target?: { op: '<' | '<=' | '>' | '>='; value: number; on?: 'ours' | 'ratio' };
  note?: string;
}

export function machineDescription(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} x ${cpu.trim()}${cpuDetail()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}-${process.arch}`;
}

/**
 * On Linux, the CPU family and widest vector instructions: machines sold under one model name ("AMD EPYC") have
 * differed here, and with them PyTorch's speed on the same case (its autoencoder step measured 277 ms on one 2-core
 * EPYC and 41 ms on a family-26 one with AVX-512).
 */
function cpuDetail(): string {
  let info: string;
  try {
    info = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
  const family = /^cpu family\s*:\s*(\d+)/m.exec(info)?.[1];
  const flags = new Set(/^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/) ?? []);
  const simd = flags.has('avx512f') ? 'AVX-512' : flags.has('avx2') ? 'AVX2' : flags.has('sse4_2') ? 'SSE4.2' : null;
  const parts = [family && `family ${family}`, simd].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function compare(op: '<' | '<=' | '>' | '>=', a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}

export class Report {
  readonly rows: Row[] = [];

  constructor(readonly name: string) {}

  add(input: RowInput): Row {
    const reference = input.reference ?? null;
    const ratio = input.ours !== null && reference !== null && reference !== 0 ? input.ours / reference : null;
    let met: boolean | null = null;
    let target: string | null = null;
    if (input.target) {
      const on = input.target.on ?? 'ours';
      target = `${input.target.op} ${+input.target.value.toPrecision(6)}${on === 'ratio' ? ' (ratio)' : ''}`;
      const value = on === 'ratio' ? ratio : input.ours;
      met = value === null ? null : compare(input.target.op, value, input.target.value);
    }
    const row: Row = { case: input.case, metric: input.metric, ours: input.ours, reference, ratio, unit: input.unit, target, met };
    if (input.note) row.note = input.note;
    this.rows.push(row);
    return row;
  }

  /** Prints the table and writes benchmarks/results/<name>.json. */
  finish(): void {
    const fmt = (v: number | null) => (v === null ? '-' : Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(3) : v.toPrecision(3));
    const header = ['case', 'metric', 'ours', 'reference', 'ratio', 'unit', 'target', 'met'];
    const lines = this.rows.map((r) => [r.case, r.metric, fmt(r.ours), fmt(r.reference), fmt(r.ratio), r.unit, r.target ?? '-', r.met === null ? '-' : r.met ? 'yes' : 'NO']);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    console.log(`\n${this.name} on ${machineDescription()}`);
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const l of lines) console.log(line(l));
    for (const r of this.rows) if (r.note) console.log(`  note (${r.case} / ${r.metric}): ${r.note}`);
    const dir = join(BENCH_ROOT, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${this.name}.json`);
    writeFileSync(file, `${JSON.stringify({ name: this.name, machine: machineDescription(), date: new Date().toISOString(), rows: this.rows }, null, 2)}\n`);
    console.log(`\nwrote ${file}`);
  }
}

/** Wall time of an async function in seconds. */
export async function timeIt<T>(fn: () => Promise<T> | T): Promise<{ seconds: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { seconds: (performance.now() - t0) / 1000, result };
}

export interface ChildResult<T> {
  /** What the child printed as JSON on its last stdout line. */
  value: T;
  /** Peak resident memory of the child process in MiB (from /usr/bin/time-free getrusage via Node). */
  peakMiB: number;
  seconds: number;
}

/**
 * Runs a TypeScript worker script in a fresh Node process, so its peak memory is its own. The script must print
 * one JSON line last; `reportPeak()` in the child appends the peak RSS.
 */
export async function runIsolated<T>(script: string, args: readonly string[] = [], options: { nodeArgs?: string[]; env?: Record<string, string> } = {}): Promise<ChildResult<T>> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ['--conditions=@dc/source', '--import', 'tsx', ...(options.nodeArgs ?? []), script, ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...options.env } },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${script} exited with code ${code}`);
  const last = out.trim().split('\n').pop() ?? '{}';
  const parsed = JSON.parse(last) as T & { __peakMiB?: number };
  const peakMiB = parsed.__peakMiB ?? NaN;
  delete parsed.__peakMiB;
  return { value: parsed, peakMiB, seconds };
}

/** For isolated child scripts: prints the result with this process's peak RSS as the final JSON line. */
export function reportPeak(value: Record<string, unknown>): void {
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`\n${JSON.stringify({ ...value, __peakMiB: peakMiB })}\n`);
}

/** Peak RSS of this process so far, MiB. */
export function peakMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

export interface PythonResult<T> {
  available: boolean;
  value?: T;
  reason?: string;
  seconds?: number;
}

/**
 * Runs a Python reference script with Debian's interpreter (where python3-torch, python3-sklearn live). The
 * script prints one JSON line last. When the interpreter or a module is missing, `available` is false and the
 * benchmark reports ours alone.
 */
export async function runPython<T>(script: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<PythonResult<T>> {
  const python = process.env.DC_PYTHON ?? '/usr/bin/python3';
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(python, [script, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ available: false, reason: `${python}: ${e.message}` }));
    child.on('close', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code !== 0) {
        const missing = /ModuleNotFoundError: No module named '([^']+)'/.exec(err);
        resolve({ available: false, reason: missing ? `Python module '${missing[1]}' is not installed` : err.trim().split('\n').slice(-3).join(' | ') });
        return;
      }
      try {
        resolve({ available: true, value: JSON.parse(out.trim().split('\n').pop() ?? '') as T, seconds });
      } catch {
        resolve({ available: false, reason: `could not parse output of ${script}` });
      }
    });
  });
}

/** Runs an R reference script with Rscript (Debian r-cran-*), same contract as runPython. */
export async function runR<T>(script: string, args: readonly string[] = []): Promise<PythonResult<T>> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('Rscript', ['--vanilla', script, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve({ available: false, reason: `Rscript: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) {
        resolve({ available: false, reason: err.trim().split('\n').slice(-3).join(' | ') });
        return;
      }
      try {
        resolve({ available: true, value: JSON.parse(out.trim().split('\n').pop() ?? '') as T, seconds: (performance.now() - t0) / 1000 });
      } catch {
        resolve({ available: false, reason: `could not parse output of ${script}` });
      }
    });
  });
}
