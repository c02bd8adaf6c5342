// Cancellation from JS: the last argument { signal } (an AbortSignal) cancels the C++ task.
// Aborted before the call: rejects with signal.reason at once, the coroutine never starts.
// Aborted during: the task is cancelled (destructors run), the Promise rejects with
// signal.reason. Either way, no listener is left on the signal once the call settles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners, setMaxListeners } from 'node:events';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { load } from 'corio';

const demo = await load();
const mod = demo.$module;
const here = path.dirname(fileURLToPath(import.meta.url));
const tick = () => new Promise((r) => setImmediate(r));
const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// An AbortController whose signal counts the 'abort' listeners added and removed (spied on
// the instance, so the prototype's methods still do the work); getEventListeners is Node's
// own view of the same.
function spiedController() {
  const ac = new AbortController();
  const s = ac.signal;
  const live = new Set();
  const wrapped = new Map();  // the caller's listener -> the one registered
  const stats = { added: 0, removed: 0, live };
  const add = s.addEventListener.bind(s);
  const remove = s.removeEventListener.bind(s);
  s.addEventListener = (type, f, opts) => {
    if (type !== 'abort') return add(type, f, opts);
    stats.added++;
    live.add(f);
    // A { once: true } listener goes when it fires.
    const g = function (ev) { if (opts && opts.once) live.delete(f); return f.call(this, ev); };
    wrapped.set(f, g);
    add(type, g, opts);
  };
  s.removeEventListener = (type, f, opts) => {
    if (type !== 'abort') return remove(type, f, opts);
    stats.removed++;
    live.delete(f);
    remove(type, wrapped.get(f) ?? f, opts);
  };
  return { ac, signal: s, stats, listeners: () => getEventListeners(s, 'abort').length };
}

// How a promise stands one microtask after this is called (no macrotask has run).
async function state(p) {
  let st = ['pending'];
  p.then((v) => { st = ['fulfilled', v]; }, (e) => { st = ['rejected', e]; });
  await new Promise((r) => queueMicrotask(r));
  return st;
}

test('an already aborted signal rejects with signal.reason at once', async () => {
  const ac = new AbortController();
  const reason = new Error('aborted before the call');
  ac.abort(reason);
  const handles = mod.count_emval_handles();
  const p = demo.sleep(10000, { signal: ac.signal });
  // Settled before any macrotask: state() looks a microtask later.
  const [how, value] = await state(p);
  assert.equal(how, 'rejected');
  assert.equal(value, reason, 'the very signal.reason object');
  assert.equal(mod.__corio_pending(), 0, 'nothing started');
  assert.equal(mod.count_emval_handles(), handles);
});

test('an already aborted signal: the C++ coroutine never starts', async () => {
  const ac = new AbortController();
  ac.abort(new Error('no'));
  let called = 0;
  const p = demo.callJs(() => { called++; return 'ran'; }, { signal: ac.signal });
  await assert.rejects(p, /no/);
  await delay(30);
  assert.equal(called, 0, 'callJs never called fn: its coroutine did not run');
  // limited(1, 1, 1000): had it started, it would hold the pending count for a second.
  const t0 = performance.now();
  await assert.rejects(demo.limited(1, 1, 1000, { signal: ac.signal }), /no/);
  assert.ok(performance.now() - t0 < 100);
  assert.equal(mod.__corio_pending(), 0);
});

test('an already aborted signal is checked before the arguments', async () => {
  const ac = new AbortController();
  const reason = new Error('first');
  ac.abort(reason);
  await assert.rejects(demo.fetchData(42, 'not a number', { signal: ac.signal }), (e) => e === reason);
});

test('aborted without a reason: rejects with the signal\'s AbortError', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(demo.sleep(10, { signal: ac.signal }), (e) => {
    assert.equal(e, ac.signal.reason);
    assert.equal(e.name, 'AbortError');
    return true;
  });
  const ac2 = new AbortController();
  const p = demo.sleep(10000, { signal: ac2.signal });
  setTimeout(() => ac2.abort(), 10);
  await assert.rejects(p, (e) => e === ac2.signal.reason && e.name === 'AbortError');
});

test('abort during a call rejects with signal.reason, at once, and removes the listener', async () => {
  const { ac, signal, stats, listeners } = spiedController();
  const reason = new Error('too slow');
  const t0 = performance.now();
  const p = demo.sleep(10000, { signal });
  setTimeout(() => ac.abort(reason), 30);
  assert.equal(stats.added, 1, 'the call listens on the signal');
  assert.equal(listeners(), 1);
  await assert.rejects(p, (e) => e === reason);
  const took = performance.now() - t0;
  assert.ok(took >= 28 && took < 1000, `rejected after ${took} ms, aborted after 30`);
  assert.equal(listeners(), 0, 'no listener left on the signal');
  assert.equal(stats.live.size, 0);
  assert.equal(mod.__corio_pending(), 0);
});

test('a reason that is not an Error is passed through as it is', async () => {
  for (const reason of ['a string', 42, { code: 'E' }]) {
    const ac = new AbortController();
    const p = demo.fetchData('x', 10000, { signal: ac.signal });
    await tick();
    ac.abort(reason);
    await assert.rejects(p, (e) => e === reason);
  }
});

test('abort during a call cancels the C++ task: its frame (and what it holds) goes', async () => {
  // callJs's frame holds the JS function and awaits a promise that never settles. Aborting
  // destroys the frame: its emscripten::val handles are released, nothing stays pending.
  await delay(5);
  const handles = mod.count_emval_handles();
  const pending = [];
  for (let i = 0; i < 50; ++i) {
    const ac = new AbortController();
    pending.push([ac, demo.callJs(() => new Promise(() => {}), { signal: ac.signal })]);
  }
  try {
    await delay(10);
    assert.equal(mod.__corio_pending(), 50);
    assert.ok(mod.count_emval_handles() > handles, 'the calls in flight hold handles');
  } finally {
    for (const [ac] of pending) ac.abort(new Error('stop'));
  }
  for (const [, p] of pending) await assert.rejects(p, /stop/);
  await delay(5);
  assert.equal(mod.__corio_pending(), 0);
  assert.equal(mod.count_emval_handles(), handles, 'every handle the frames held is released');
});

test('abort during gatherData and limited rejects with the reason (every child cancelled)', async () => {
  for (const start of [
    (signal) => demo.gatherData(['a', 'b', 'c'], [5000, 10, 5000], { signal }),
    (signal) => demo.limited(10, 2, 5000, { signal }),
    (signal) => demo.waitFor(5000, 10000, { signal }),
  ]) {
    const { ac, signal, listeners } = spiedController();
    const reason = new Error('cancel');
    const t0 = performance.now();
    const p = start(signal);
    setTimeout(() => ac.abort(reason), 40);
    await assert.rejects(p, (e) => e === reason);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(listeners(), 0);
  }
  await delay(5);
  assert.equal(mod.__corio_pending(), 0);
});

test('a call that settles normally removes its listener; a later abort changes nothing', async () => {
  const { ac, signal, stats, listeners } = spiedController();
  assert.equal(await demo.fetchData('kept', 10, { signal }), 'Data from kept');
  assert.equal(stats.added, 1);
  assert.equal(stats.removed, 1, 'removed once the call settled');
  assert.equal(listeners(), 0);
  const p = demo.fetchData('settled', 1, { signal });
  assert.equal(await p, 'Data from settled');
  ac.abort(new Error('late'));
  await delay(5);
  assert.deepEqual(await state(p), ['fulfilled', 'Data from settled'], 'an abort after the call settled changes nothing');
  assert.equal(mod.__corio_pending(), 0);
});

test('a rejected call removes its listener too', async () => {
  const { signal, listeners, stats } = spiedController();
  await assert.rejects(demo.fail('boom', { signal }), /boom/);
  await assert.rejects(demo.waitFor(1000, 10, { signal }), (e) => e.name === 'TimeoutError');
  assert.equal(stats.added, 2);
  assert.equal(listeners(), 0);
});

test('one signal for 100 concurrent calls: one abort rejects all, no listener left', async () => {
  const { ac, signal, stats, listeners } = spiedController();
  setMaxListeners(200, signal);  // 100 listeners on one signal is what this test is about
  const reason = new Error('all of them');
  const calls = Array.from({ length: 100 }, (_, i) => demo.fetchData(`u${i}`, 10000, { signal }));
  assert.equal(listeners(), 100);
  await delay(10);
  ac.abort(reason);
  const results = await Promise.allSettled(calls);
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason === reason));
  assert.equal(listeners(), 0);
  assert.equal(stats.live.size, 0);
  // And 100 that finish normally on one signal.
  const { signal: s2, listeners: l2 } = spiedController();
  setMaxListeners(200, s2);
  const ok = await Promise.all(Array.from({ length: 100 }, (_, i) => demo.fetchData(`v${i}`, 5, { signal: s2 })));
  assert.deepEqual(ok, Array.from({ length: 100 }, (_, i) => `Data from v${i}`));
  assert.equal(l2(), 0);
});

test('abort from inside the C++ call (fn aborts its own signal)', async () => {
  const ac = new AbortController();
  const reason = new Error('self');
  await assert.rejects(demo.callJs(() => { ac.abort(reason); return new Promise(() => {}); }, { signal: ac.signal }), (e) => e === reason);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

// An abort that comes after the call returned but before the pump ran the task's first step
// (the same tick, or under load when the pump's batch ran over its budget) must reject as any
// abort during the call does. Today the task is cancelled before settle_call ever runs, so the
// Promise never settles, the pending count never drops and the keep-alive keeps Node up for
// ever; corio also prints "RuntimeWarning: coroutine ... was never awaited" twice per call.
test('abort in the same tick as the call (before its first step) rejects with signal.reason', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { load } from 'corio';
    const demo = await load();
    const ac = new AbortController();
    const reason = new Error('right away');
    const p = demo.sleep(1000, { signal: ac.signal });
    ac.abort(reason);
    const t0 = performance.now();
    const how = await Promise.race([
      p.then(() => 'resolved', (e) => e === reason ? 'rejected with the reason' : 'rejected with ' + e),
      new Promise((r) => setTimeout(r, 2000, 'still pending after 2 s').unref()),
    ]);
    console.log(how + (performance.now() - t0 < 500 ? '' : ' (late)'));
    console.log('pending ' + demo.$module.__corio_pending());
  `], { cwd: here, encoding: 'utf8', timeout: 5000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'rejected with the reason', r.stdout);
  assert.equal(lines[1], 'pending 0', r.stdout);
  assert.equal(r.signal, null, 'the child never exited by itself (killed after 5 s)');
  assert.equal(r.status, 0);
  assert.doesNotMatch(r.stderr, /never awaited/, 'a legitimate abort prints nothing');
});

// API.md: the options object is `{ signal }`, an AbortSignal. Something else there is a bad
// argument: the call must still return a Promise (and reject it), and leave nothing pending —
// today it throws synchronously after it has started the task and raised the pending count,
// without arming the pump, so the process never exits (the keep-alive interval stays on).
test('a signal that is not an AbortSignal rejects, leaves nothing pending, and Node exits', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { load } from 'corio';
    const demo = await load();
    let how;
    try {
      const p = demo.sleep(10, { signal: {} });
      how = 'returned ' + (p instanceof Promise ? 'a Promise' : typeof p);
      await p.then(() => { how += ', resolved'; }, (e) => { how += ', rejected ' + (e instanceof TypeError ? 'TypeError' : e); });
    } catch (e) { how = 'threw synchronously ' + e; }
    console.log(how);
    await new Promise((r) => setTimeout(r, 50));
    console.log('pending ' + demo.$module.__corio_pending());
  `], { cwd: here, encoding: 'utf8', timeout: 4000 });
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'returned a Promise, rejected TypeError', r.stdout);
  assert.equal(lines[1], 'pending 0', r.stdout);
  assert.equal(r.signal, null, 'the child never exited by itself (killed after 4 s)');
  assert.equal(r.status, 0);
});

test('nothing is left pending after the calls above', async () => {
  await delay(20);
  assert.equal(mod.__corio_pending(), 0);
});

// An aborted callJs stops waiting for its JS promise at once; the waiter it left in C++ goes
// too (a late settlement of that promise is ignored).
test('abort while C++ awaits a JS promise leaves no waiter behind', async () => {
  const before = mod.__corio_awaited();
  const ac = new AbortController();
  let settle;
  const p = demo.callJs(() => new Promise((r) => { settle = r; }), { signal: ac.signal });
  await tick();
  assert.equal(mod.__corio_awaited(), before + 1);
  ac.abort(new Error('enough'));
  await assert.rejects(p, /enough/);
  assert.equal(mod.__corio_awaited(), before);
  settle('late');
  await tick();
  assert.equal(mod.__corio_awaited(), before);
  assert.equal(await demo.callJs(() => Promise.resolve('still fine')), 'still fine');
});
