// A Semaphore-limited batch: demo.limited(10, 3, 20) runs ten 20 ms operations in C++ under
// corio::Semaphore(3) and resolves with the most that ever ran at once. Ten operations in waves
// of three take four waves (~80 ms), not one (20 ms) nor ten (200 ms). The JS side of
// examples/semaphore.cpp.   node semaphore.mjs
import { load } from 'corio';

const demo = await load();
const t0 = performance.now();
const most = await demo.limited(10, 3, 20);
const took = performance.now() - t0;
console.log(`10 operations of 20 ms under Semaphore(3): at most ${most} ran at once`);
console.log('in four waves of at most three:', took >= 4 * 20 - 8 && took < 10 * 20);
