#!/usr/bin/env node
// Runs a wasm program of build/wasm (tests/core_tests by default) in headless Chromium,
// in a page served from 127.0.0.1 with the cross-origin isolation that threads need, and
// requires exit status 0 and animation frames that kept coming (the page never blocked).
//   node run_in_chromium.js DIR PROGRAM [ARGS]     e.g. build/wasm/tests core_tests "--backend browser"
// playwright-core must be resolvable (NODE_PATH); Chromium is /usr/bin/chromium.
const http = require('http');
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [dir, program, args = ''] = process.argv.slice(2);
const page_html = path.join(__dirname, 'index.html');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

const server = http.createServer((req, res) => {
  const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).slice(1);
  const file = name === 'index.html' ? page_html : path.join(dir, path.basename(name));
  fs.readFile(file, (err, data) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
    if (err) { res.writeHead(404, headers); res.end(); return; }
    res.writeHead(200, { ...headers, 'Content-Type': types[path.extname(file)] || 'application/octet-stream' });
    res.end(data);
  });
});

server.listen(0, '127.0.0.1', async () => {
  const port = server.address().port;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'] });
  let ok = false;
  try {
    const page = await browser.newPage();
    const start = Date.now();
    await page.goto(`http://127.0.0.1:${port}/index.html?program=${encodeURIComponent(program)}&args=${encodeURIComponent(args)}`);
    await page.waitForFunction(() => window.corio.exit !== undefined, null, { timeout: 240000 });
    const r = await page.evaluate(() => ({ exit: window.corio.exit, frames: window.corio.frames,
                                           isolated: crossOriginIsolated, lines: window.corio.lines }));
    const seconds = (Date.now() - start) / 1000;
    const fps = r.frames / seconds;
    console.log(r.lines.join('\n'));
    console.log(`${program} in Chromium: exit status ${r.exit}, ${seconds.toFixed(1)} s, ` +
                `${r.frames} animation frames (${fps.toFixed(0)} per second), crossOriginIsolated ${r.isolated}`);
    // Headless Chromium draws at up to 60 frames a second; a page blocked for long stretches
    // would show a small fraction of that.
    ok = r.exit === 0 && fps >= 20;
  } catch (e) {
    console.log(`${program} in Chromium: ${e.message}`);
  } finally {
    await browser.close();
    server.close();
  }
  process.exit(ok ? 0 : 1);
});
