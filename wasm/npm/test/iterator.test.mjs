// An AsyncGenerator<T> exported with export_async is a JS async iterator: `for await` gives its
// values; return() (what `for await ... break` calls) closes the C++ generator (aclose()), and
// every later next() resolves { value: undefined, done: true }.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { load } from 'corio';

const demo = await load();
const mod = demo.$module;
const delay = (ms) => new Promise((r) => setTimeout(r, ms));
const DONE = { value: undefined, done: true };
const here = path.dirname(fileURLToPath(import.meta.url));

test('for await over counter(n) gives the Numbers 0 … n-1', async () => {
  for (const n of [0, 1, 5, 100]) {
    const got = [];
    for await (const v of demo.counter(n)) {
      assert.equal(typeof v, 'number');
      got.push(v);
    }
    assert.deepEqual(got, [...Array(n).keys()]);
  }
});

test('counter(n) is an async iterator: [Symbol.asyncIterator]() is itself; next() gives {value, done}', async () => {
  const it = demo.counter(2);
  assert.equal(typeof it.next, 'function');
  assert.equal(typeof it.return, 'function');
  assert.equal(it[Symbol.asyncIterator](), it);
  const first = it.next();
  assert.ok(first instanceof Promise);
  assert.deepEqual(await first, { value: 0, done: false });
  assert.deepEqual(await it.next(), { value: 1, done: false });
  assert.deepEqual(await it.next(), DONE);
  assert.deepEqual(await it.next(), DONE, 'a finished iterator stays finished');
});

test('break closes it: later next() on the same iterator resolves { value: undefined, done: true }', async () => {
  const it = demo.counter(10);
  const got = [];
  for await (const v of it) {
    got.push(v);
    if (v === 2) break;
  }
  assert.deepEqual(got, [0, 1, 2]);
  assert.deepEqual(await it.next(), DONE);
  assert.deepEqual(await it.next(), DONE);
  await delay(5);
  assert.equal(mod.__corio_pending(), 0);
});

test('return() resolves done and closes the generator; return() again is harmless', async () => {
  const it = demo.counter(10);
  assert.deepEqual(await it.next(), { value: 0, done: false });
  const r = await it.return();
  assert.equal(r.done, true);
  assert.deepEqual(await it.next(), DONE);
  assert.equal((await it.return()).done, true);
  // return() before the first next() closes it too.
  const fresh = demo.counter(3);
  assert.equal((await fresh.return()).done, true);
  assert.deepEqual(await fresh.next(), DONE);
});

test('an exception thrown in the loop body closes the iterator too', async () => {
  const it = demo.counter(10);
  await assert.rejects((async () => {
    for await (const v of it) if (v === 1) throw new Error('body');
  })(), /body/);
  assert.deepEqual(await it.next(), DONE);
});

test('two iterators run independently and interleaved', async () => {
  const a = demo.counter(3);
  const b = demo.counter(3);
  const got = [];
  for (let i = 0; i < 3; ++i) {
    got.push((await a.next()).value, (await b.next()).value);
  }
  assert.deepEqual(got, [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(await a.next(), DONE);
  assert.deepEqual(await b.next(), DONE);
});

test('bad arguments: the TypeError comes with the first next(), then the iterator is done', async () => {
  let it;
  assert.doesNotThrow(() => { it = demo.counter('x'); }, 'like a JS async generator function, the call itself does not throw');
  await assert.rejects(it.next(), (e) => e instanceof TypeError && /counter/.test(e.message) && /argument 1/.test(e.message));
  assert.deepEqual(await it.next(), DONE);
});

test('stepping an iterator keeps nothing pending between steps', async () => {
  const it = demo.counter(3);
  await it.next();
  await delay(5);
  assert.equal(mod.__corio_pending(), 0, 'a paused generator is not an operation in flight');
  await it.return();
});

// A JS async generator queues next() calls made before the previous one settled
// (Promise.all([it.next(), it.next()]) is ordinary JS); so does the bridge.
test('next() called again before the previous one settled queues, as a JS async generator does', async () => {
  const it = demo.counter(3);
  const r = await Promise.allSettled([it.next(), it.next(), it.next(), it.next()]);
  assert.deepEqual(r.map((x) => x.status === 'fulfilled' ? x.value : String(x.reason)),
    [{ value: 0, done: false }, { value: 1, done: false }, { value: 2, done: false }, DONE]);
});

test('return(v) resolves { value: v, done: true }, as a JS async generator does', async () => {
  const it = demo.counter(3);
  assert.deepEqual(await it.next(), { value: 0, done: false });
  assert.deepEqual(await it.return('bye'), { value: 'bye', done: true });
  assert.deepEqual(await it.next(), DONE);
});

// An iterator dropped half-way (no return(), no break) is garbage: its C++ generator goes with
// it (FinalizationRegistry), instead of staying in the module for ever.
test('an abandoned iterator is collected, and its C++ generator with it', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', `
    import { load } from 'corio';
    const demo = await load();
    const mod = demo.$module;
    const abandon = async () => { for (let i = 0; i < 50; ++i) { const it = demo.counter(10); await it.next(); } };
    await abandon();
    await new Promise((r) => setTimeout(r, 1));
    const before = mod.__corio_generators();
    for (let round = 0; round < 20 && mod.__corio_generators() > 0; ++round) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(before + ' ' + mod.__corio_generators());
  `], { cwd: here, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '50 0');
});
