// corio for Node.js: load() gives a module's exported C++ coroutines as async JS functions.
//   import { load } from 'corio';
//   const demo = await load();                          // the package's demo module
//   const mine = await load('./build/my_module.js');    // a module built with corio
// The .wasm beside the module's .js is read with fs and handed to Emscripten's loader
// (wasmBinary), so nothing is fetched and no flag is needed.
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

function toPath(pathOrUrl) {
  if (pathOrUrl instanceof URL) return fileURLToPath(pathOrUrl);
  if (typeof pathOrUrl !== 'string') throw new TypeError('load(): expected a path or a file: URL');
  if (pathOrUrl.startsWith('file:')) return fileURLToPath(pathOrUrl);
  return path.resolve(pathOrUrl);
}

// The exported functions of an instantiated module, on a plain object. The Promise side of
// each call lives in the module's bridge (wasm/js/src/js_bridge.cpp, Module.corioBridge).
function wrap(mod) {
  const api = {};
  const list = mod.__corio_exports();  // also installs mod.corioBridge
  const bridge = mod.corioBridge;
  for (const e of list) {
    const { name, arity, index } = e;
    if (e.kind === 'generator') {
      api[name] = (...args) => bridge.generator(index, args.slice(0, arity));
    } else {
      api[name] = (...args) => {
        if (args.length > arity + 1) {
          return Promise.reject(new TypeError(`${name}(): expected ${arity} argument(s) and an optional { signal }, got ${args.length}`));
        }
        return bridge.call(index, name, args.length > arity ? args.slice(0, arity) : args, args[arity]);
      };
    }
    Object.defineProperty(api[name], 'name', { value: name });
  }
  // For tests and diagnostics: the Emscripten module itself.
  Object.defineProperty(api, '$module', { value: mod, enumerable: false });
  return api;
}

// Emscripten's factory from a module's .js. It is CommonJS; in a folder whose package.json
// says "type": "module" Node would read a .js there as an ES module (require() then gives no
// factory), so such a file is evaluated as the CommonJS it is.
async function factoryOf(file) {
  let exported;
  try {
    exported = require(file);
  } catch (e) {
    if (e?.code !== 'ERR_REQUIRE_ESM') throw e;
  }
  if (typeof exported === 'function') return exported;
  if (exported !== undefined && typeof exported?.default === 'function') return exported.default;
  const source = await readFile(file, 'utf8');
  const module = { exports: {} };
  const body = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  body.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  return module.exports;
}

const cache = new Map();

export async function load(pathOrUrl) {
  const file = pathOrUrl === undefined ? path.join(here, 'corio.js') : toPath(pathOrUrl);
  if (!cache.has(file)) {
    cache.set(file, (async () => {
      const factory = await factoryOf(file);
      if (typeof factory !== 'function') throw new TypeError(`load(): ${file} is not a module built with corio (no factory exported)`);
      const wasmBinary = await readFile(file.replace(/\.c?js$/, '.wasm'));
      const mod = await factory({ wasmBinary });
      if (typeof mod.__corio_exports !== 'function') throw new TypeError(`load(): ${file} was not linked with corio's JavaScript bridge`);
      return wrap(mod);
    })());
    cache.get(file).catch(() => cache.delete(file));
  }
  return cache.get(file);
}

export default { load };
export const packageDir = pathToFileURL(here + path.sep).href;
