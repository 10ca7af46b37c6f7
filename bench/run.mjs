// `make bench`: runs every bench/*.bench.mjs in turn and prints medians and comparisons.
//
// A bench module's default export is `async (ctx) => report`, with
//   ctx    = { sourceDir, buildDir, proxyBin, iterations }
//   report = { name, results: [{ label, samplesMs: number[] } | { label, samples: number[], unit: 'MB' }],
//              comparisons?: [{ label, a, b }] }   // a and b are result labels: prints a - b and a / b
//          or { skipped: 'why' } when what it needs is not there (e.g. ../shared/traces beside a CI clone)
// Benches are run one at a time (the machine has 2 cores). `node bench/run.mjs <filter>` runs only the
// benches whose file name contains <filter>; BENCH_ITERATIONS overrides the default of 20 samples.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const benchDir = import.meta.dirname;
const sourceDir = path.resolve(benchDir, '..');
const buildDir = process.env.BUILD_DIR || path.join(sourceDir, 'build');
const proxyBin = process.env.PROXY_BIN || path.join(buildDir, 'claude-ws-proxy');
process.env.SOURCE_DIR ??= sourceDir;
process.env.BUILD_DIR ??= buildDir;
process.env.PROXY_BIN ??= proxyBin;
const iterations = Math.max(1, Number(process.env.BENCH_ITERATIONS) || 20);

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const ms = (x) => `${x.toFixed(1)} ms`;

function print(report) {
  console.log(`\n== ${report.name}`);
  const medians = new Map();
  for (const r of report.results) {
    // r.unit (optional, default ms): for figures that are not times, e.g. { label, samples, unit: 'MB' }
    const fmt = r.unit ? (x) => `${x.toFixed(1)} ${r.unit}` : ms;
    const samples = r.samplesMs ?? r.samples;
    const m = median(samples);
    medians.set(r.label, m);
    const sorted = [...samples].sort((a, b) => a - b);
    console.log(`  ${r.label.padEnd(36)} median ${fmt(m).padStart(10)}   min ${fmt(sorted[0])}   max ${fmt(sorted.at(-1))}   n=${sorted.length}`);
  }
  for (const c of report.comparisons || []) {
    const a = medians.get(c.a), b = medians.get(c.b);
    console.log(`  ${c.label.padEnd(36)} ${c.a} - ${c.b} = ${ms(a - b)}   ratio ${(a / b).toFixed(2)}x`);
  }
}

if (!fs.existsSync(proxyBin)) {
  console.error(`no proxy binary at ${proxyBin}: build first (make build), or set BUILD_DIR / PROXY_BIN`);
  process.exit(1);
}

const filter = process.argv[2] || '';
const files = fs.readdirSync(benchDir).filter((f) => f.endsWith('.bench.mjs') && f.includes(filter)).sort();
if (!files.length) console.log('no benchmarks found');
let failed = 0;
for (const file of files) {
  try {
    const mod = await import(pathToFileURL(path.join(benchDir, file)).href);
    const report = await mod.default({ sourceDir, buildDir, proxyBin, iterations });
    if (report.skipped) console.log(`\n== ${file} skipped: ${report.skipped}`);
    else print(report);
  } catch (err) {
    failed++;
    console.error(`\n== ${file} FAILED: ${err?.stack || err}`);
  }
}
process.exit(failed ? 1 : 0);
