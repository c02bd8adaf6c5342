// CommonJS entry: `const { load } = require('corio')` gives the same load() as the ES module
// (it returns a Promise) and the same packageDir. `default` and `__esModule` are there for
// TypeScript's CommonJS output (`import corio from 'corio'` reads exports.default); both are
// non-enumerable, so Object.keys(require('corio')) names what `import` names.
'use strict';
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const load = (...args) => import('./index.mjs').then((m) => m.load(...args));
exports.load = load;
exports.packageDir = pathToFileURL(__dirname + path.sep).href;
Object.defineProperty(exports, '__esModule', { value: true });
Object.defineProperty(exports, 'default', { value: { load } });
