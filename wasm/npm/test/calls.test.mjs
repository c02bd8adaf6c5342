// corio's npm package, as installed: the demo module's calls resolve and reject as API.md
// ("JavaScript: the Node.js package and the Promise bridge") says. Run by scripts/test_node.sh
// in a folder where the tarball is installed: `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from 'corio';

const demo = await load();
const now = () => performance.now();
// Timers in Node may fire a little early against performance.now(); allow 2 ms.
const EARLY = 2;

test('fetchData resolves with "Data from " + url after ms', async () => {
  const t0 = now();
  const p = demo.fetchData('api1', 60);
  assert.ok(p instanceof Promise, 'an exported function returns a Promise');
  assert.equal(await p, 'Data from api1');
  const took = now() - t0;
  assert.ok(took >= 60 - EARLY, `took ${took} ms, expected >= 60`);
  assert.ok(took < 1000, `took ${took} ms`);
});

test('strings cross as UTF-8 both ways', async () => {
  for (const s of ['', 'héllo', 'Операция ✓', '😀 emoji', 'a\u0000b']) {
    assert.equal(await demo.fetchData(s, 0), 'Data from ' + s);
  }
});

test('calls in flight settle in the order of their delays, not of their starts', async () => {
  const order = [];
  await Promise.all([
    demo.fetchData('slow', 120).then((v) => order.push(v)),
    demo.fetchData('fast', 10).then((v) => order.push(v)),
    demo.fetchData('middle', 60).then((v) => order.push(v)),
  ]);
  assert.deepEqual(order, ['Data from fast', 'Data from middle', 'Data from slow']);
});

test('gatherData: an Array in argument order, after the longest delay (not the sum)', async () => {
  const t0 = now();
  const r = await demo.gatherData(['api1', 'api2', 'api3'], [200, 100, 300]);
  const took = now() - t0;
  assert.ok(Array.isArray(r), 'std::vector comes back as a JS Array');
  assert.deepEqual(r, ['Data from api1', 'Data from api2', 'Data from api3']);
  assert.ok(took >= 300 - EARLY, `took ${took} ms, the longest delay is 300`);
  assert.ok(took < 550, `took ${took} ms: that is the sum (600), not the longest delay`);
  assert.deepEqual(await demo.gatherData([], []), []);
});

test('gatherData: a C++ ValueError rejects with an Error carrying its message', async () => {
  await assert.rejects(demo.gatherData(['a'], [1, 2]), (e) => {
    assert.ok(e instanceof Error);
    assert.equal(e.message, 'gatherData(): urls and delaysMs differ in length');
    return true;
  });
});

test('fail(message) rejects with an Error whose message is the C++ what()', async () => {
  const p = demo.fail('boom: ünïcode');
  assert.ok(p instanceof Promise);
  await assert.rejects(p, (e) => {
    assert.ok(e instanceof Error, 'an Error instance');
    assert.ok(!(e instanceof TypeError));
    assert.equal(e.name, 'Error');
    assert.equal(e.message, 'boom: ünïcode');
    return true;
  });
});

test('sleep(ms) resolves with undefined after ms', async () => {
  const t0 = now();
  assert.equal(await demo.sleep(50), undefined);
  const took = now() - t0;
  assert.ok(took >= 50 - EARLY && took < 1000, `took ${took} ms`);
  assert.equal(await demo.sleep(0), undefined);
});

test('waitFor(ms, timeoutMs) resolves "done" when ms < timeoutMs', async () => {
  assert.equal(await demo.waitFor(10, 500), 'done');
});

test('waitFor rejects with an Error named "TimeoutError" after timeoutMs', async () => {
  const t0 = now();
  await assert.rejects(demo.waitFor(2000, 50), (e) => {
    assert.ok(e instanceof Error, 'an Error instance');
    assert.equal(e.name, 'TimeoutError');
    assert.equal(typeof e.message, 'string');
    return true;
  });
  const took = now() - t0;
  assert.ok(took >= 50 - EARLY, `rejected after ${took} ms, before the timeout`);
  assert.ok(took < 1000, `rejected after ${took} ms: the timeout is 50`);
});

test('limited(n, limit, ms): the highest number that ran at once is the limit', async () => {
  assert.equal(await demo.limited(10, 3, 20), 3);
  assert.equal(await demo.limited(5, 10, 10), 5);
  assert.equal(await demo.limited(1, 1, 0), 1);
});

test('limited runs in waves: 9 operations of 50 ms under Semaphore(3) take ~150 ms', async () => {
  const t0 = now();
  assert.equal(await demo.limited(9, 3, 50), 3);
  const took = now() - t0;
  assert.ok(took >= 150 - 3 * EARLY, `took ${took} ms, three waves of 50`);
  assert.ok(took < 400, `took ${took} ms (one wave of 9 would be 50, nine in a row 450)`);
});

test('a bad argument type rejects with a TypeError naming the function and the argument', async () => {
  const cases = [
    [() => demo.fetchData(1, 10), 'fetchData', 1],
    [() => demo.fetchData('a', 'x'), 'fetchData', 2],
    [() => demo.fetchData('a', 1.5), 'fetchData', 2],
    [() => demo.fetchData('a'), 'fetchData', 2],
    [() => demo.sleep('10'), 'sleep', 1],
    [() => demo.sleep(NaN), 'sleep', 1],
    [() => demo.gatherData('a', [1]), 'gatherData', 1],
    [() => demo.gatherData(['a', 3], [1, 2]), 'gatherData', 1],
    [() => demo.gatherData(['a'], ['1']), 'gatherData', 2],
    [() => demo.limited(1, 1, {}), 'limited', 3],
    [() => demo.waitFor(1, null), 'waitFor', 2],
    [() => demo.fail(42), 'fail', 1],
  ];
  for (const [call, fn, arg] of cases) {
    let p;
    assert.doesNotThrow(() => { p = call(); }, `${fn}: must return a rejected Promise, not throw`);
    assert.ok(p instanceof Promise);
    await assert.rejects(p, (e) => {
      assert.ok(e instanceof TypeError, `${fn}: ${e} is a TypeError`);
      assert.match(e.message, new RegExp(`\\b${fn}\\b`), `the message names ${fn}: ${e.message}`);
      assert.match(e.message, new RegExp(`argument ${arg}\\b`), `the message names argument ${arg}: ${e.message}`);
      return true;
    });
  }
});

test('too many arguments reject with a TypeError naming the function', async () => {
  await assert.rejects(demo.sleep(1, {}, 'extra'), (e) => e instanceof TypeError && /sleep/.test(e.message));
});

test('the options object may be left out, undefined, null, or have no signal', async () => {
  assert.equal(await demo.fetchData('o', 1, undefined), 'Data from o');
  assert.equal(await demo.fetchData('o', 1, null), 'Data from o');
  assert.equal(await demo.fetchData('o', 1, {}), 'Data from o');
  assert.equal(await demo.fetchData('o', 1, { signal: undefined }), 'Data from o');
});

test('every exported function carries its name', () => {
  for (const name of ['fetchData', 'gatherData', 'fail', 'sleep', 'waitFor', 'callJs', 'limited', 'cancelSleepers', 'fetchJson', 'httpRequest', 'sessionGets', 'counter']) {
    assert.equal(typeof demo[name], 'function', name);
    assert.equal(demo[name].name, name);
  }
});

test('load() twice gives the same module', async () => {
  assert.equal(await load(), demo);
});

test('nothing is left pending after the calls above', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(demo.$module.__corio_pending(), 0);
});

// try { co_await t; } catch (CancelledError) in a loop, in C++: with -fwasm-exceptions clang 14
// at -O2 never resumed that coroutine (wasm/README.md); this call then hung.
test('C++ cancels and awaits 100 sleeping tasks, catching each CancelledError', async () => {
  const timeout = new Promise((r) => setTimeout(r, 5000, 'hung').unref());
  assert.equal(await Promise.race([demo.cancelSleepers(100), timeout]), 100);
  assert.equal(await demo.cancelSleepers(0), 0);
});
