// corio and the Node process: loading adds no process.on(...) listener; with nothing pending
// nothing of corio keeps Node alive; a pending call keeps it alive as a setTimeout would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

// Runs an ES module body in a child node (cwd: this folder, where corio is installed); resolves
// with its exit code, output and the time it took, or kills it after timeoutMs.
function child(body, timeoutMs = 10000) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, ['--input-type=module', '-e', body], { cwd: here });
    let stdout = '';
    let stderr = '';
    const lines = [];  // [ms since start, line]
    c.stdout.setEncoding('utf8');
    c.stdout.on('data', (d) => {
      stdout += d;
      for (const l of d.split('\n').filter(Boolean)) lines.push([performance.now() - t0, l]);
    });
    c.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, lines, ms: performance.now() - t0 });
    });
  });
}

test('loading the package adds no process.on(...) listener of any kind', async () => {
  const snapshot = () => Object.fromEntries(process.eventNames().map((n) => [String(n), process.listenerCount(n)]));
  const before = snapshot();
  const names = new Set(process.eventNames());
  // Also catch a listener added and removed while loading, or added by once/prepend.
  const added = [];
  const spy = (n) => { added.push(String(n)); };
  process.on('newListener', spy);
  const { load } = await import('corio');
  const demo = await load();
  const user = await load(new URL('./examples/user_module.js', import.meta.resolve('corio/package.json')));
  await demo.fetchData('x', 1);
  await user.add(1, 2);
  process.off('newListener', spy);
  const after = snapshot();
  assert.deepEqual(after, before, 'the same events, with the same number of listeners each');
  assert.deepEqual(new Set(process.eventNames()), names);
  assert.deepEqual(added, [], `process listeners added while loading: ${added.join(', ')}`);
});

test('a fresh process that loads corio adds no process listener (no uncaughtException, exit, unhandledRejection ...)', async () => {
  const r = await child(`
    const names = () => process.eventNames().map((n) => String(n) + ':' + process.listenerCount(n)).sort().join(' ');
    const before = names();
    const { load } = await import('corio');
    const demo = await load();
    await demo.sleep(1);
    console.log(before === names() ? 'same' : 'before [' + before + '] after [' + names() + ']');
  `);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'same\n');
});

test('the process exits by itself when nothing is pending (one call, then nothing)', async () => {
  const r = await child(`
    import { load } from 'corio';
    const demo = await load();
    console.log(await demo.fetchData('x', 10));
  `, 10000);
  assert.equal(r.signal, null, 'killed: it did not exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'Data from x\n');
  assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
});

test('... also after calls of every kind, aborts, rejections and an abandoned iterator', async () => {
  const r = await child(`
    import { load } from 'corio';
    const demo = await load();
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop')), 20);
    const r = await Promise.allSettled([
      demo.sleep(60000, { signal: ac.signal }),
      demo.fail('x'),
      demo.waitFor(60000, 10),
      demo.callJs(() => new Promise((r) => setTimeout(r, 30, 'js'))),
      demo.gatherData(['a'], [5]),
    ]);
    const it = demo.counter(1000);
    await it.next();  // left open: a paused generator is not pending
    console.log(r.map((x) => x.status).join(' '));
  `, 10000);
  assert.equal(r.signal, null, 'killed: it did not exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'rejected rejected rejected fulfilled fulfilled\n');
  assert.ok(r.ms < 5000, `exited after ${r.ms} ms`);
});

test('a pending sleep keeps Node alive: a child that starts demo.sleep(300) and does nothing else prints after ~300 ms', async () => {
  const r = await child(`
    import { load } from 'corio';
    const demo = await load();
    const t0 = performance.now();
    demo.sleep(300).then((v) => console.log('slept ' + v + ' ' + (performance.now() - t0 >= 298)));
  `, 10000);
  assert.equal(r.signal, null, 'killed: it did not exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'slept undefined true\n', 'it must not exit before the sleep is over');
  const printedAt = r.lines[0][0];
  assert.ok(printedAt >= 300, `printed ${printedAt} ms after the start`);
  assert.ok(r.ms - printedAt < 2000, `exited ${r.ms - printedAt} ms after printing`);
});

test('a call awaiting a JS promise keeps Node alive while it is pending (as a setTimeout would)', async () => {
  // The only timer is unref'd: without corio's keep-alive Node would exit at once.
  const r = await child(`
    import { load } from 'corio';
    const demo = await load();
    demo.callJs(() => new Promise((r) => setTimeout(r, 200, 'resolved late').unref())).then(console.log);
  `, 10000);
  assert.equal(r.signal, null, 'killed: it did not exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'resolved late\n');
});

test('an iterator step keeps Node alive while it runs', async () => {
  const r = await child(`
    import { load } from 'corio';
    const demo = await load();
    const it = demo.counter(2);
    it.next().then((r) => console.log(JSON.stringify(r)));
  `, 10000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '{"value":0,"done":false}\n');
});

test('loading alone keeps nothing alive', async () => {
  const r = await child(`
    import { load } from 'corio';
    await load();
    await load(new URL('./examples/user_module.js', import.meta.resolve('corio/package.json')));
  `, 10000);
  assert.equal(r.signal, null, 'killed: it did not exit by itself');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.ms < 5000);
});
