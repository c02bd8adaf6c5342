// JS Promises awaited in C++: demo.callJs(fn) calls fn, co_awaits its Promise in C++
// (corio::js::await_promise) and returns String(value); a rejection is a corio::js::JsError
// in C++, caught there.   node call_js.mjs
import { load } from 'corio';

const demo = await load();
const later = (ms, v) => new Promise((resolve) => setTimeout(resolve, ms, v));
console.log(await demo.callJs(() => later(20, 42)));
console.log(await demo.callJs(() => Promise.reject(new TypeError('nope'))));
console.log(await demo.callJs(() => Promise.reject('just a string')));
// Many at once, settled in another order than they started: each gets its own value.
const all = await Promise.all([30, 10, 20].map((ms) => demo.callJs(() => later(ms, `after ${ms} ms`))));
console.log(all.join(', '));
