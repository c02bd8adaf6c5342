// gather from JS: demo.gatherData runs three fetches concurrently in C++ (corio::gather) and
// resolves with their results in argument order, after the longest delay (300 ms), not the
// sum (600 ms). The JS side of examples/gather.cpp. Run where the corio package is installed:
//   node gather.mjs
import { load } from 'corio';

const demo = await load();
const delays = [200, 100, 300];
const t0 = performance.now();
const results = await demo.gatherData(['api1', 'api2', 'api3'], delays);
const took = performance.now() - t0;
console.log(results);
const longest = Math.max(...delays);
const sum = delays.reduce((a, b) => a + b, 0);
console.log(`longest delay ${longest} ms, sum ${sum} ms`);
console.log('finished after the longest delay:', took >= longest - 2 && took < (longest + sum) / 2);
