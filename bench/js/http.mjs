// corio::http in the npm package (ClientSession on Node's fetch, demo.fetchJson) against
// Node's fetch itself doing the same (fetch + json()), from a node:http server in a child
// process serving a small JSON body; concurrency 1 and 50, requests/s over a window.
//   node http.mjs [--quick] [--md FILE]
import { load } from 'corio';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import readline from 'node:readline';

const quick = process.argv.includes('--quick');
const md = process.argv.includes('--md') ? process.argv[process.argv.indexOf('--md') + 1] : null;
const seconds = quick ? 0.5 : 2;
const runs = quick ? 1 : 3;

const server = spawn(process.execPath, ['-e', `
  const http = require('node:http');
  const body = '{"hello":"world","n":42}';
  const s = http.createServer((req, res) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(body); });
  s.keepAliveTimeout = 60000;
  s.listen(0, '127.0.0.1', () => console.log('PORT ' + s.address().port));
  process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => readline.createInterface({ input: server.stdout })
  .on('line', (l) => { const m = /^PORT (\d+)/.exec(l); if (m) resolve(Number(m[1])); }));
const url = `http://127.0.0.1:${port}/`;
const demo = await load();

async function rate(one, concurrency) {
  let n = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => { while (performance.now() < end) { await one(); ++n; } };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - t0) / 1000);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const viaCorio = () => demo.fetchJson(url);
const viaFetch = () => fetch(url).then((r) => r.json());
await rate(viaCorio, 10); await rate(viaFetch, 10);  // warm-up

const rows = [];
for (const c of [1, 50]) {
  const a = [], b = [];
  for (let r = 0; r < runs; ++r) { a.push(await rate(viaCorio, c)); b.push(await rate(viaFetch, c)); }
  const corio = median(a), plain = median(b);
  rows.push({ c, corio, plain, ratio: corio / plain });
  console.log(`http c${c}: corio (ClientSession on fetch) ${corio.toFixed(0)}/s, Node fetch ${plain.toFixed(0)}/s: ${(corio / plain).toFixed(2)}× ${corio / plain >= 0.8 ? 'met' : 'NOT met'} (goal ≥ 0.8×)`);
}
server.stdin.end();
if (md) {
  const lines = ['', '## HTTP in the npm package: corio::http on Node\'s fetch', '',
    `\`demo.fetchJson(url)\` (a C++ ClientSession on Node's fetch, the JSON parsed in C++ and serialised back) against \`fetch(url).then(r => r.json())\`, from a node:http server in a child process (keep-alive, a 24-byte JSON body); requests/s, medians of ${runs} windows of ${seconds} s, the two interleaved. Goal: ≥ 0.8× Node's fetch.`, '',
    '| concurrency | corio | Node fetch | corio ÷ fetch | ≥ 0.8× |', '|---:|---:|---:|---:|:---:|'];
  for (const r of rows) lines.push(`| ${r.c} | ${r.corio.toFixed(0)} | ${r.plain.toFixed(0)} | ${r.ratio.toFixed(2)}× | ${r.ratio >= 0.8 ? 'yes' : '**no**'} |`);
  appendFileSync(md, lines.join('\n') + '\n');
}
