// wait_for from JS: demo.waitFor(ms, timeoutMs) awaits a ms sleep under corio::wait_for in C++;
// a timeout rejects with an Error whose name is "TimeoutError". The JS side of
// examples/wait_for.cpp.   node wait_for.mjs
import { load } from 'corio';

const demo = await load();
console.log(await demo.waitFor(10, 1000));
try {
  await demo.waitFor(10000, 50);
} catch (e) {
  console.log(`${e.name}: the operation took longer than its timeout`, e instanceof Error);
}
