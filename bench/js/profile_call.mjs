// The profiled loop of bench/js/run (BENCH_JS_PROFILE=1): (a)'s call, N times, on a module
// built with --profiling-funcs (so that the wasm functions have names in the profile).
//   node --cpu-prof profile_call.mjs MODULE.js [N]
import { load } from 'corio';

const demo = await load(process.argv[2]);
const n = Number(process.argv[3] ?? 200000);
const fn = () => Promise.resolve(1);
for (let i = 0; i < 20000; i++) await demo.callJs(fn);
const t0 = performance.now();
for (let i = 0; i < n; i++) await demo.callJs(fn);
console.log(((performance.now() - t0) * 1000 / n).toFixed(3));
