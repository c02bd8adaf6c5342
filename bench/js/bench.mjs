// corio's npm package under Node: what a JS → C++ → JS call costs, 10,000 concurrent calls,
// and the size of the .wasm. Runs where the package is installed (bench/js/run does that):
//   node bench.mjs [--quick] [--json] [--md results/js.md] [--command "bench/js/run"]
//                  [--module other/corio.js] [--profile-md profile.md]
// --module measures another build of the demo module (bench/js/run's profile variants);
// --profile-md appends that file to the markdown.
//
// (a) call: `await demo.callJs(fn)` with fn = () => Promise.resolve(1), one at a time: C++
//     is entered, awaits the JS promise (corio::js::await_promise), returns String(1) to JS.
//     Against the same in plain JS: `async (fn) => String(await fn())`.
//     Goals: ≤ 2 µs per call and ≤ 3× the plain JS function.
// (b) 10,000 calls of demo.sleep(10) at once (and fetchData(x, 10)): from the first call to the
//     last settlement. Goal: ≤ 50 ms (the 10 ms sleep included).
// (c) the package's corio.wasm, raw and gzipped.
import { load } from 'corio';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const quick = flag('--quick');

const modulePath = option('--module');
const demo = await load(modulePath);
const pkgDir = path.dirname(fileURLToPath(import.meta.resolve('corio/package.json')));
const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const gc = globalThis.gc ?? (() => {});

// --- (a) the cost of one call -------------------------------------------------------------
const fn = () => Promise.resolve(1);
const plain = async (f) => String(await f());

async function perCall(call, n) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call(fn);
  return ((performance.now() - t0) * 1000) / n;  // µs
}

const nCalls = quick ? 20000 : 200000;
const runs = quick ? 3 : 7;
// Warm-up: both JITs (V8's for the JS, Liftoff → TurboFan for the wasm), the heap.
if ((await demo.callJs(fn)) !== '1' || (await plain(fn)) !== '1') throw new Error('wrong result');
await perCall(demo.callJs, nCalls / 2);
await perCall(plain, nCalls / 2);
const corioRuns = [];
const plainRuns = [];
for (let r = 0; r < runs; r++) {  // interleaved, so that a change of load hits both
  gc();
  corioRuns.push(await perCall(demo.callJs, nCalls));
  gc();
  plainRuns.push(await perCall(plain, nCalls));
}
const callUs = median(corioRuns);
const plainUs = median(plainRuns);

// Where a call's time goes, by parts: a call that settles without awaiting JS (sleep(0):
// enter C++, one pump hop, resolve), and a bare setImmediate round trip (what one hop costs).
const hop = () => new Promise((r) => setImmediate(r));
const sleep0Us = median(await (async () => {
  const xs = [];
  for (let r = 0; r < runs; r++) xs.push(await perCall(() => demo.sleep(0), nCalls / 2));
  return xs;
})());
const hopUs = median(await (async () => {
  const xs = [];
  for (let r = 0; r < runs; r++) xs.push(await perCall(hop, nCalls / 2));
  return xs;
})());

// --- (b) 10,000 concurrent calls ----------------------------------------------------------
const nConc = 10000;
async function concurrent(start) {
  gc();
  await new Promise((r) => setTimeout(r, 20));
  const t0 = performance.now();
  const calls = new Array(nConc);
  for (let i = 0; i < nConc; i++) calls[i] = start(i);
  const issued = performance.now() - t0;
  await Promise.all(calls);
  return { total: performance.now() - t0, issued };
}
const concRuns = quick ? 3 : 10;
// Warm-up rounds (the first round is the JIT's; it is reported apart as "cold").
const cold = await concurrent(() => demo.sleep(10));
for (let r = 0; r < (quick ? 1 : 4); r++) {
  await concurrent(() => demo.sleep(10));
  await concurrent((i) => demo.fetchData(`url${i}`, 10));
}
const sleepRuns = [];
const fetchRuns = [];
for (let r = 0; r < concRuns; r++) {
  sleepRuns.push(await concurrent(() => demo.sleep(10)));
  fetchRuns.push(await concurrent((i) => demo.fetchData(`url${i}`, 10)));
}
const sleepMs = median(sleepRuns.map((x) => x.total));
const sleepIssuedMs = median(sleepRuns.map((x) => x.issued));
const fetchMs = median(fetchRuns.map((x) => x.total));
// The same in plain JS: 10,000 promises of a 10 ms setTimeout.
const jsRuns = [];
for (let r = 0; r < concRuns; r++) jsRuns.push(await concurrent(() => new Promise((res) => setTimeout(res, 10))));
const jsSleepMs = median(jsRuns.map((x) => x.total));

// --- (c) size -----------------------------------------------------------------------------
const wasmPath = modulePath ? path.resolve(modulePath).replace(/\.c?js$/, '.wasm') : path.join(pkgDir, 'corio.wasm');
const wasmBytes = statSync(wasmPath).size;
const wasmGzip = gzipSync(readFileSync(wasmPath), { level: 9 }).length;
const jsBytes = statSync(path.join(pkgDir, 'corio.js')).size;
const userWasmBytes = statSync(path.join(pkgDir, 'examples', 'user_module.wasm')).size;

// --- report -------------------------------------------------------------------------------
const goals = [
  ['call: µs per JS → C++ → JS call (callJs, one awaited resolved Promise)', '≤ 2 µs', callUs, callUs <= 2],
  ['call: × a plain JS async function doing the same', '≤ 3×', callUs / plainUs, callUs / plainUs <= 3],
  ['10,000 concurrent sleep(10) calls: total ms', '≤ 50 ms', sleepMs, sleepMs <= 50],
];
const fmt = (x, d = 2) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const figures = {
  call_us: callUs, plain_js_us: plainUs, ratio: callUs / plainUs, call_runs_us: corioRuns, plain_runs_us: plainRuns,
  sleep0_call_us: sleep0Us, set_immediate_hop_us: hopUs,
  concurrent_sleep10_ms: sleepMs, concurrent_sleep10_cold_ms: cold.total, concurrent_sleep10_issue_ms: sleepIssuedMs, concurrent_fetch10_ms: fetchMs,
  plain_js_settimeout10_ms: jsSleepMs, concurrent_runs_ms: sleepRuns.map((x) => x.total),
  wasm_bytes: wasmBytes, wasm_gzip_bytes: wasmGzip, js_bytes: jsBytes, user_module_wasm_bytes: userWasmBytes,
  n_calls: nCalls, runs, n_concurrent: nConc, quick,
};

if (flag('--json')) {
  console.log(JSON.stringify(figures, null, 2));
} else {
  console.log(`corio ${pkg.version} (npm package${modulePath ? `, module ${modulePath}` : ''}), node ${process.version}${quick ? ', --quick' : ''}`);
  console.log(`(a) callJs(() => Promise.resolve(1)), awaited one at a time: ${fmt(callUs, 3)} µs/call (median of ${runs} × ${nCalls.toLocaleString('en-US')})`);
  console.log(`    plain JS async (fn) => String(await fn()):             ${fmt(plainUs, 3)} µs/call → ${fmt(callUs / plainUs, 1)}×`);
  console.log(`    for scale: sleep(0) call ${fmt(sleep0Us, 3)} µs, one setImmediate round trip ${fmt(hopUs, 3)} µs`);
  console.log(`(b) 10,000 concurrent sleep(10): ${fmt(sleepMs, 1)} ms (issuing the calls: ${fmt(sleepIssuedMs, 1)} ms; the first, cold round: ${fmt(cold.total, 1)} ms); fetchData(x, 10): ${fmt(fetchMs, 1)} ms; plain JS setTimeout(10) promises: ${fmt(jsSleepMs, 1)} ms`);
  console.log(`(c) corio.wasm ${wasmBytes.toLocaleString('en-US')} B (gzip -9: ${wasmGzip.toLocaleString('en-US')} B), corio.js ${jsBytes.toLocaleString('en-US')} B; examples/user_module.wasm ${userWasmBytes.toLocaleString('en-US')} B`);
  for (const [what, goal, value, met] of goals) console.log(`  goal ${goal.padEnd(8)} ${met ? 'met    ' : 'NOT met'}  ${what}: ${fmt(value, value < 10 ? 3 : 1)}`);
}

const mdPath = option('--md');
if (mdPath) {
  const command = option('--command', 'node bench/js/bench.mjs');
  const cpu = os.cpus()[0]?.model?.trim() ?? 'an unknown CPU';
  const profile = option('--profile-md');
  const md = `# corio's npm package under Node.js

Command: \`${command}\`${quick ? ' (quick: fewer iterations)' : ''}. Run ${new Date().toISOString().slice(0, 10)} on ${cpu}, ${os.availableParallelism?.() ?? os.cpus().length} cores, ${os.type()} ${os.release()}; node ${process.version}; corio ${pkg.version} (the installed tarball of \`scripts/npm_pack\`); load average ${os.loadavg()[0].toFixed(2)} at the end.

| figure | measured | goal | met |
|---|---:|---:|:---:|
| (a) JS → C++ → JS call: \`await demo.callJs(() => Promise.resolve(1))\`, one at a time | ${fmt(callUs, 3)} µs | ≤ 2 µs | ${callUs <= 2 ? 'yes' : '**no**'} |
| (a) the same in plain JS, \`async (fn) => String(await fn())\` | ${fmt(plainUs, 3)} µs | | |
| (a) corio ÷ plain JS | ${fmt(callUs / plainUs, 1)}× | ≤ 3× | ${callUs / plainUs <= 3 ? 'yes' : '**no**'} |
| (b) 10,000 concurrent \`demo.sleep(10)\`: first call to last settlement | ${fmt(sleepMs, 1)} ms | ≤ 50 ms | ${sleepMs <= 50 ? 'yes' : '**no**'} |
| (b) of which issuing the 10,000 calls (synchronous JS) | ${fmt(sleepIssuedMs, 1)} ms | | |
| (b) the first round, before the warm-up (cold JIT) | ${fmt(cold.total, 1)} ms | | |
| (b) 10,000 concurrent \`demo.fetchData(url, 10)\` | ${fmt(fetchMs, 1)} ms | | |
| (b) 10,000 plain JS promises of \`setTimeout(10)\` | ${fmt(jsSleepMs, 1)} ms | | |
| (c) corio.wasm (the demo module) | ${wasmBytes.toLocaleString('en-US')} B (gzip -9 ${wasmGzip.toLocaleString('en-US')} B) | | |
| (c) corio.js (Emscripten's loader) | ${jsBytes.toLocaleString('en-US')} B | | |
| (c) examples/user_module.wasm | ${userWasmBytes.toLocaleString('en-US')} B | | |
| for scale: \`await demo.sleep(0)\`, one at a time (enter C++, one pump hop, resolve) | ${fmt(sleep0Us, 3)} µs | | |
| for scale: \`await new Promise(r => setImmediate(r))\` | ${fmt(hopUs, 3)} µs | | |

(a) is the median of ${runs} runs of ${nCalls.toLocaleString('en-US')} calls after a warm-up, corio and plain JS interleaved (every run, µs: corio ${corioRuns.map((x) => fmt(x, 2)).join(', ')}; plain ${plainRuns.map((x) => fmt(x, 3)).join(', ')}). (b) is the median of ${concRuns} runs after ${quick ? 1 : 4} warm-up rounds (every run: ${sleepRuns.map((x) => fmt(x.total, 1)).join(', ')} ms).
${profile ? '\n' + readFileSync(profile, 'utf8') : ''}`;
  writeFileSync(mdPath, md);
  console.log(`wrote ${mdPath}`);
}
