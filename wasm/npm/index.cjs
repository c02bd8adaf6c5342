// CommonJS entry: `const { load } = require('corio')` gives the same load() (it returns a Promise).
'use strict';
module.exports.load = (...args) => import('./index.mjs').then((m) => m.load(...args));
