// The installed package itself: package.json's "exports" and "types", the .d.ts naming every
// export, require('corio') from CommonJS, and load(pathOrUrl) of a module a user built with
// corio (examples/user_module.js, shipped in the package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync, existsSync, mkdtempSync, copyFileSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import * as corio from 'corio';
import { load } from 'corio';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const pkgJsonPath = fileURLToPath(import.meta.resolve('corio/package.json'));
const pkgDir = path.dirname(pkgJsonPath);
const pkg = JSON.parse(readFileSync(pkgJsonPath, 'utf8'));
const userModulePath = fileURLToPath(new URL('./examples/user_module.js', import.meta.resolve('corio/package.json')));

test('it is the installed package (node_modules), not the source tree', () => {
  assert.equal(path.basename(pkgDir), 'corio');
  assert.equal(path.basename(path.dirname(pkgDir)), 'node_modules');
  assert.equal(pkg.name, 'corio');
});

test('"exports" has a "." entry: import and require, each with its "types" first', () => {
  assert.equal(typeof pkg.exports, 'object');
  const dot = pkg.exports['.'];
  assert.equal(typeof dot, 'object', 'exports["."] is a conditions object');
  assert.deepEqual(Object.keys(dot), ['import', 'require']);
  for (const side of ['import', 'require']) {
    assert.deepEqual(Object.keys(dot[side]), ['types', 'default'], `exports["."].${side}`);
    for (const f of Object.values(dot[side])) assert.ok(existsSync(path.join(pkgDir, f)), `${side}: ${f} is in the package`);
  }
  assert.match(dot.import.types, /\.d\.mts$/, 'the ES module entry is typed as an ES module');
  assert.match(dot.require.types, /\.d\.cts$/, 'the CommonJS entry is typed as CommonJS');
  assert.equal(typeof pkg.types, 'string', 'a top-level "types" (for resolvers without "exports")');
  assert.equal(path.resolve(pkgDir, pkg.types), path.resolve(pkgDir, dot.require.types));
});

test('the exports resolve: import → the "import" target, require → index.cjs', () => {
  const dot = pkg.exports['.'];
  assert.equal(fileURLToPath(import.meta.resolve('corio')), path.resolve(pkgDir, dot.import.default));
  const required = require.resolve('corio');
  assert.equal(required, path.resolve(pkgDir, dot.require.default));
});

test('the package holds what load() needs: the demo module and the example user module', () => {
  for (const f of ['corio.js', 'corio.wasm', 'examples/user_module.js', 'examples/user_module.wasm', 'index.d.mts', 'index.d.cts', 'README.md']) {
    assert.ok(existsSync(path.join(pkgDir, f)), f);
  }
  const wasm = readFileSync(path.join(pkgDir, 'corio.wasm'));
  assert.deepEqual([...wasm.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d], 'corio.wasm is WebAssembly');
});

test('the .d.ts names every export of the module, and every function of the demo module', async () => {
  const dts = readFileSync(path.join(pkgDir, pkg.exports['.'].import.types), 'utf8');
  for (const name of Object.keys(corio)) {
    if (name === 'default') {
      assert.match(dts, /export default\b/, 'the default export');
    } else {
      assert.match(dts, new RegExp(`export (declare )?(function|const|let|class) ${name}\\b`), `export ${name}`);
    }
  }
  const demo = await load();
  const iface = dts.match(/interface DemoModule\s*{([\s\S]*?)\n}/);
  assert.ok(iface, 'an interface DemoModule');
  for (const name of Object.keys(demo)) assert.match(iface[1], new RegExp(`\\b${name}\\(`), `DemoModule.${name}`);
  assert.match(dts, /interface CallOptions/);
});

test('the default export has load() as well', async () => {
  assert.equal(corio.default.load, load);
});

test('require("corio") (CommonJS) works: load() gives the same demo module', async () => {
  const cjs = require('corio');
  assert.equal(typeof cjs.load, 'function');
  const demo = await cjs.load();
  assert.equal(await demo.fetchData('cjs', 1), 'Data from cjs');
  assert.equal(demo, await load(), 'one module per process, whichever entry loaded it');
});

// The declarations are the "types" of both conditions: what they name must be there for
// require() too.
test('require("corio") has the named exports that import gives and the .d.ts names', () => {
  const esm = Object.keys(corio).filter((k) => k !== 'default').sort();
  const cjs = Object.keys(require('corio')).sort();
  assert.deepEqual(cjs, esm, `require('corio') gives [${cjs}], import gives [${esm}]`);
  assert.equal(require('corio').packageDir, corio.packageDir);
});

test('a CommonJS program (node -e, no flags) uses the package with require()', () => {
  const r = spawnSync(process.execPath, ['-e', `
    const { load } = require('corio');
    load().then(async (demo) => {
      console.log(await demo.gatherData(['a', 'b'], [20, 10]));
      const mine = await load(require.resolve('corio/package.json').replace(/package\\.json$/, 'examples/user_module.js'));
      console.log(await mine.add(2, 3));
    });
  `], { cwd: here, encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "[ 'Data from a', 'Data from b' ]\n5\n");
});

test('load(path) of examples/user_module.js: add(2, 3) === 5', async () => {
  const mine = await load(userModulePath);
  assert.deepEqual(Object.keys(mine), ['add']);
  const p = mine.add(2, 3);
  assert.ok(p instanceof Promise);
  assert.equal(await p, 5);
  assert.equal(await mine.add(0.5, 0.25), 0.75);
  assert.equal(await mine.add(-1, 1), 0);
  await assert.rejects(mine.add('2', 3), (e) => e instanceof TypeError && /add/.test(e.message) && /argument 1/.test(e.message));
});

// A module built with the README's `-o my_module.js` is Emscripten's CommonJS factory. In a
// project whose package.json says "type": "module" (common today) Node reads every .js there as
// an ES module, and load() fails with "is not a module built with corio (no factory exported)".
// The same file named .cjs loads (em++ -o my_module.cjs works too).
test('load() of a user module built as .js in a "type": "module" project', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'corio-esm-project-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'esm-project', type: 'module' }));
    for (const ext of ['js', 'wasm']) copyFileSync(userModulePath.replace(/\.js$/, `.${ext}`), path.join(dir, `my_module.${ext}`));
    copyFileSync(userModulePath, path.join(dir, 'my_module.cjs'));
    const asCjs = await load(path.join(dir, 'my_module.cjs'));
    assert.equal(await asCjs.add(2, 3), 5, 'the .cjs copy loads');
    const asJs = await load(path.join(dir, 'my_module.js'));
    assert.equal(await asJs.add(2, 3), 5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('load() takes a path, a file: URL or a file: URL string, and caches by file', async () => {
  const byPath = await load(userModulePath);
  assert.equal(await load(pathToFileURL(userModulePath)), byPath);
  assert.equal(await load(pathToFileURL(userModulePath).href), byPath);
  assert.equal(await load(path.relative(process.cwd(), userModulePath)), byPath);
  assert.notEqual(byPath, await load(), 'the demo module is another module');
});

test('two modules, each with its own loop, run side by side', async () => {
  const demo = await load();
  const mine = await load(userModulePath);
  const [a, b, c] = await Promise.all([mine.add(1, 2), demo.fetchData('d', 20), mine.add(3, 4)]);
  assert.deepEqual([a, b, c], [3, 'Data from d', 7]);
});

test('load() of something that is not a corio module rejects', async () => {
  await assert.rejects(load(path.join(here, 'no-such-module.js')));
  await assert.rejects(load(42), TypeError);
});
