// callJs(fn): C++ awaits fn()'s Promise (corio::js::await_promise) and returns String(value),
// or "caught: " + what() of the JsError for a rejection. Cases that may kill a process run in
// a child process, so that a failure is an assertion and not a dead test file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { load } from 'corio';

const demo = await load();
const here = path.dirname(fileURLToPath(import.meta.url));

// Runs an ES module body in a child node (cwd: this folder, where corio is installed).
function child(body, timeoutMs = 10000) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', body], { cwd: here, encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t0 };
}
// The error line of a child's stderr (Node prints the minified source line above it).
const errorLine = (stderr) => (stderr.split('\n').find((l) => /^\w*(Error|Exception)\b/.test(l)) ?? stderr.slice(-300)).trim();

test("a JS promise's value comes back as String(value)", async () => {
  assert.equal(await demo.callJs(() => Promise.resolve(42)), '42');
  assert.equal(await demo.callJs(() => Promise.resolve('text ✓')), 'text ✓');
  assert.equal(await demo.callJs(() => Promise.resolve(undefined)), 'undefined');
  assert.equal(await demo.callJs(() => Promise.resolve(null)), 'null');
  assert.equal(await demo.callJs(() => Promise.resolve([1, 2, 3])), '1,2,3');
  assert.equal(await demo.callJs(() => Promise.resolve({ toString: () => 'custom' })), 'custom');
  assert.equal(await demo.callJs(() => Promise.resolve(Symbol('s'))), 'Symbol(s)');
});

test('fn() may return a plain value or a thenable, as `await` takes them', async () => {
  assert.equal(await demo.callJs(() => 7), '7');
  assert.equal(await demo.callJs(() => ({ then(resolve) { resolve('thenable'); } })), 'thenable');
});

test('a promise that settles later: C++ waits for it', async () => {
  const t0 = performance.now();
  const v = await demo.callJs(() => new Promise((r) => setTimeout(r, 80, 'late')));
  assert.equal(v, 'late');
  assert.ok(performance.now() - t0 >= 78);
});

test('Promise.reject(new TypeError("nope")) gives "caught: TypeError: nope"', async () => {
  assert.equal(await demo.callJs(() => Promise.reject(new TypeError('nope'))), 'caught: TypeError: nope');
  assert.equal(await demo.callJs(() => Promise.reject(new Error('plain'))), 'caught: Error: plain');
  class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; } }
  assert.equal(await demo.callJs(() => Promise.reject(new MyError('mine'))), 'caught: MyError: mine');
});

test('a non-Error rejection gives "caught: " + String(reason)', async () => {
  assert.equal(await demo.callJs(() => Promise.reject('a string')), 'caught: a string');
  assert.equal(await demo.callJs(() => Promise.reject(404)), 'caught: 404');
  assert.equal(await demo.callJs(() => Promise.reject(undefined)), 'caught: undefined');
  assert.equal(await demo.callJs(() => Promise.reject({ toString: () => 'object reason' })), 'caught: object reason');
});

test('200 calls, each awaiting a JS Promise, settled in shuffled order, all come back right', async () => {
  const n = 200;
  const deferred = Array.from({ length: n }, () => {
    const d = {};
    d.promise = new Promise((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
    return d;
  });
  const calls = deferred.map((d) => demo.callJs(() => d.promise));
  const completion = [];
  calls.forEach((p, i) => p.then(() => completion.push(i)));
  // Let every call reach its co_await before anything settles.
  await new Promise((r) => setTimeout(r, 20));
  // A fixed shuffle (Fisher-Yates with a small LCG), settled over several macrotasks.
  const order = [...Array(n).keys()];
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = n - 1; i > 0; --i) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let k = 0; k < n; ++k) {
    const i = order[k];
    if (i % 3 === 0) deferred[i].reject(new RangeError(`no ${i}`));
    else deferred[i].resolve(`value ${i}`);
    if (k % 16 === 0) await new Promise((r) => setImmediate(r));
  }
  const results = await Promise.all(calls);
  for (let i = 0; i < n; ++i) {
    assert.equal(results[i], i % 3 === 0 ? `caught: RangeError: no ${i}` : `value ${i}`, `call ${i}`);
  }
  assert.deepEqual(completion, order, 'each call completes in the order its promise settled');
});

test('fn may call back into the module (reentrant calls)', async () => {
  assert.equal(await demo.callJs(() => demo.fetchData('inner', 10)), 'Data from inner');
  assert.equal(await demo.callJs(() => demo.callJs(() => Promise.resolve(3))), '3');
  assert.equal(await demo.callJs(() => demo.fail('inner boom')), 'caught: Error: inner boom');
  assert.equal(await demo.callJs(() => demo.waitFor(500, 5)).then((s) => s.startsWith('caught: TimeoutError: ')), true);
});

// API.md: a bad argument type rejects with a TypeError naming the function and the argument.
// callJs takes an emscripten::val and calls it; a value that is not a function must reject, not
// throw out of the pump (which kills the process, or leaves the loop dead for good).
test('callJs(non-function) rejects with a TypeError naming callJs and argument 1', () => {
  const r = child(`
    import { load } from 'corio';
    const demo = await load();
    let how;
    try { how = 'resolved ' + await demo.callJs(5); }
    catch (e) { how = 'rejected ' + (e instanceof TypeError) + ' ' + e.message; }
    console.log(how);
  `);
  assert.equal(r.code, 0, `the child died (exit ${r.code}, ${r.signal ?? 'no signal'}): uncaught ${errorLine(r.stderr)}`);
  assert.match(r.stdout, /^rejected true .*callJs.*argument 1/m, r.stdout);
});

// A JS exception thrown while C++ runs (fn() throws synchronously, or String(value) throws)
// must become a rejection or a JsError in C++: it must not escape from the pump, where it is an
// uncaught exception (process dies) and leaves corio's loop marked running (every later call
// hangs, and the keep-alive keeps Node up for ever).
for (const [what, fn, expected] of [
  ['fn() throws synchronously', '() => { throw new RangeError("sync"); }', /^(resolved caught: RangeError: sync|rejected RangeError: sync)$/],
  ['String(value) throws', '() => Promise.resolve({ toString() { throw new RangeError("bad toString"); } })', /^(resolved caught: RangeError: bad toString|rejected RangeError: bad toString)$/],
]) {
  test(`a JS exception inside C++ (${what}) settles the call and leaves the module working`, () => {
    const r = child(`
      import { load } from 'corio';
      const demo = await load();
      process.on('uncaughtException', (e) => { console.log('uncaught ' + e); });
      const timeout = (ms, label) => new Promise((r) => setTimeout(r, ms, label).unref());
      const first = await Promise.race([
        demo.callJs(${fn}).then((v) => 'resolved ' + v, (e) => 'rejected ' + e),
        timeout(1000, 'still pending after 1 s'),
      ]);
      console.log(first);
      console.log(await Promise.race([demo.fetchData('after', 1), timeout(1000, 'a later call hangs')]));
      console.log('pending ' + demo.$module.__corio_pending());
    `, 4000);
    const lines = r.stdout.trim().split('\n');
    assert.ok(!lines.some((l) => l.startsWith('uncaught')), `an uncaught exception escaped the pump:\n${r.stdout}`);
    assert.match(lines[0] ?? '', expected, r.stdout);
    assert.equal(lines[1], 'Data from after', r.stdout);
    assert.equal(lines[2], 'pending 0', r.stdout);
    assert.equal(r.signal, null, `the child never exited by itself (killed after 4 s)`);
    assert.equal(r.code, 0);
  });
}

test('nothing is left pending after the calls above', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(demo.$module.__corio_pending(), 0);
});
