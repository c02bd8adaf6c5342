// bench/ workloads in corio's JavaScript library build against the same workloads native:
//   node workloads.mjs MODULE.js NATIVE_CORIO_BENCH [--quick] [--md FILE]
// MODULE.js is bench/corio_bench.cpp linked as a library module (-DCORIO_BENCH_JS_MODULE,
// bench/js/run does it); each export runs one workload on the loop JS drives and resolves
// with ns per operation. The native figures come from corio_bench --json with the same N, run
// here too, so both sides are one run on the same machine. Ratio: wasm ÷ native (lower is
// better; the goal is ≤ 2.5×).
import { load } from 'corio';
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const [modulePath, nativeBench, ...rest] = process.argv.slice(2);
const quick = rest.includes('--quick');
const md = rest.includes('--md') ? rest[rest.indexOf('--md') + 1] : null;
const runs = quick ? 1 : 5;
const scale = quick ? 0.05 : 1;
const N = {
  spawn: 200000, yields: 2000000, pingpong: 200000, lock: 200000, timers: 200000, cancel: 20000, memstream: 200000,
};
for (const k of Object.keys(N)) N[k] = Math.max(1000, Math.round(N[k] * scale));
const nativeKey = {
  spawn: 'spawn_ns_per_task', yields: 'yield_ns', pingpong: 'pingpong_ns', lock: 'lock_ns_per_acquire',
  timers: 'timer_overhead_ns', cancel: 'cancel_await_ns_per_task', memstream: 'memstream_ns',
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

const mod = await load(modulePath);
const wasm = {};
for (const name of Object.keys(N)) {
  await mod[name](N[name]);  // warm-up: the engine tiers up hot code
  const xs = [];
  for (let r = 0; r < runs; ++r) xs.push(await mod[name](N[name]));
  wasm[name] = median(xs);
}

const args = ['--json', '--runs', String(runs), '--only', Object.keys(N).join(','),
  '--n-spawn', N.spawn, '--n-yield', N.yields, '--n-pingpong', N.pingpong, '--n-lock', N.lock,
  '--n-timers', N.timers, '--n-cancel', N.cancel, '--n-memstream', N.memstream].map(String);
const native = JSON.parse(execFileSync(nativeBench, args, { encoding: 'utf8' }));

const rows = [];
for (const name of Object.keys(N)) {
  const n = native[nativeKey[name]];
  if (typeof n !== 'number') throw new Error(`corio_bench --json has no ${nativeKey[name]}`);
  const ratio = wasm[name] / n;
  rows.push({ name, n: N[name], wasm: wasm[name], native: n, ratio });
  console.log(`${name.padEnd(10)} N=${String(N[name]).padStart(8)}  library wasm ${wasm[name].toFixed(1).padStart(8)} ns  native ${Number(n).toFixed(1).padStart(8)} ns  ${ratio.toFixed(2)}× ${ratio <= 2.5 ? 'met' : 'NOT met'}`);
}
if (md) {
  const lines = ['', '## bench/ workloads in the library build', '',
    `bench/corio_bench.cpp linked as a library module (\`-DCORIO_BENCH_JS_MODULE\`, the README's em++ line), each export awaited from JS on the loop JS drives, against the native \`corio_bench --json\` with the same N in the same run; medians of ${runs} runs after a warm-up. Goal: within 2.5× of native.`, '',
    '| workload | N | library wasm, ns/op | native, ns/op | wasm ÷ native | ≤ 2.5× |', '|---|---:|---:|---:|---:|:---:|'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.n.toLocaleString('en-US')} | ${r.wasm.toFixed(1)} | ${Number(r.native).toFixed(1)} | ${r.ratio.toFixed(2)}× | ${r.ratio <= 2.5 ? 'yes' : '**no**'} |`);
  appendFileSync(md, lines.join('\n') + '\n');
}
