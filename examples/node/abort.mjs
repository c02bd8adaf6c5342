// Cancelling a C++ coroutine from JS: an AbortSignal passed as { signal } cancels the C++ task
// (CancelledError at its co_await, destructors run) and rejects the Promise with signal.reason.
//   node abort.mjs
import { load } from 'corio';

const demo = await load();

// Aborted while it sleeps: after 50 ms of a 10 s sleep.
const ac = new AbortController();
setTimeout(() => ac.abort(new Error('took too long')), 50);
const t0 = performance.now();
try {
  await demo.sleep(10000, { signal: ac.signal });
  console.log('slept 10 s (not expected)');
} catch (e) {
  console.log(`sleep aborted: ${e.message}`);
  console.log('after the abort, not the 10 s:', performance.now() - t0 < 5000);
}

// AbortSignal.timeout: the reason is a DOMException named TimeoutError.
try {
  await demo.fetchData('slow', 10000, { signal: AbortSignal.timeout(30) });
} catch (e) {
  console.log(`fetchData aborted by AbortSignal.timeout(30): ${e.name}`);
}

// A signal that is already aborted: the call rejects at once and the coroutine never starts.
try {
  await demo.sleep(10000, { signal: AbortSignal.abort(new Error('aborted before the call')) });
} catch (e) {
  console.log(`not started: ${e.message}`);
}
