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

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));

function toPath(pathOrUrl) {
  if (pathOrUrl instanceof URL) return fileURLToPath(pathOrUrl);
  if (typeof pathOrUrl !== 'string') throw new TypeError('load(): expected a path or a file: URL');
  if (pathOrUrl.startsWith('file:')) return fileURLToPath(pathOrUrl);
  return path.resolve(pathOrUrl);
}

// The exported functions of an instantiated module, on a plain object.
function wrap(mod) {
  const api = {};
  for (const e of mod.__corio_exports()) {
    if (e.kind === 'generator') {
      api[e.name] = (...args) => mod.__corio_gen_start(e.index, args.slice(0, e.arity));
    } else {
      api[e.name] = (...args) => {
        if (args.length > e.arity + 1) {
          return Promise.reject(new TypeError(`${e.name}(): expected ${e.arity} argument(s) and an optional { signal }, got ${args.length}`));
        }
        return mod.__corio_call(e.index, args.slice(0, e.arity), args[e.arity]);
      };
    }
    Object.defineProperty(api[e.name], 'name', { value: e.name });
  }
  // For tests and diagnostics: the Emscripten module itself.
  Object.defineProperty(api, '$module', { value: mod, enumerable: false });
  return api;
}

const cache = new Map();

export async function load(pathOrUrl) {
  const file = pathOrUrl === undefined ? path.join(here, 'corio.js') : toPath(pathOrUrl);
  if (!cache.has(file)) {
    cache.set(file, (async () => {
      const factory = require(file);
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
