#!/usr/bin/env node
// Prints the committed benchmark results (benchmarks/results/*.json) as one markdown table, so the README can
// quote measured figures without retyping them: the rows with a target, or with --all every row that has a target
// or a reference.
//   node scripts/results-table.mjs [--all] [name ...]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'benchmarks', 'results');
const all = process.argv.includes('--all');
const wanted = new Set(process.argv.slice(2).filter((a) => a !== '--all'));
const fmt = (v) => (v === null || v === undefined ? '—' : typeof v !== 'number' ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));
// Targets derived from a measured reference (e.g. "base + 3") are stored with full float precision; 4 significant digits read better.
const short = (text) => text.replace(/\d+\.\d{5,}/g, (m) => String(+Number(m).toPrecision(4)));
const target = (t) => (t === null || t === undefined ? '' : short(typeof t === 'string' ? t : `${t.op ?? ''} ${t.value ?? ''}`.trim()));

console.log('| benchmark | case | metric | ours | reference | ratio | target | met |');
console.log('|---|---|---|---|---|---|---|---|');
for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
  const result = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  if (!Array.isArray(result.rows) || (wanted.size > 0 && !wanted.has(result.name))) continue;
  for (const row of result.rows) {
    if (row.target == null && (!all || row.reference == null)) continue;
    const met = row.met === true ? 'yes' : row.met === false ? '**no**' : '';
    console.log(`| ${result.name} | ${row.case} | ${row.metric} | ${fmt(row.ours)} ${row.unit} | ${fmt(row.reference)} | ${fmt(row.ratio)} | ${target(row.target)} | ${met} |`);
  }
}
