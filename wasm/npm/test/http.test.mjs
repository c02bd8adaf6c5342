// corio::http in the library build, on Node's fetch(): the demo module's fetchJson and
// httpRequest (a ClientSession in C++) against a real node:http server on 127.0.0.1 that this
// file starts. Redirects are followed by corio (fetch with redirect: 'manual' under Node).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { load } from 'corio';

const demo = await load();
let server;
let base;
let slowClosed;  // resolves when the client drops a /slow request

before(async () => {
  let onSlowClose;
  slowClosed = new Promise((r) => { onSlowClose = r; });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const json = (status, v) => { res.writeHead(status, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (req.url === '/json') return json(200, { hello: 'world', n: 42, list: [1, 2, 3] });
      if (req.url.startsWith('/echo')) return json(200, { method: req.method, url: req.url, body, test: req.headers['x-test'] ?? null });
      if (req.url === '/redirect') { res.writeHead(302, { Location: '/json' }); return res.end(); }
      if (req.url === '/see-other') { res.writeHead(303, { Location: '/echo/after' }); return res.end(); }
      if (req.url === '/missing') { res.writeHead(404, { 'Content-Type': 'text/plain' }); return res.end('no such thing'); }
      if (req.url === '/text') { res.writeHead(200, { 'Content-Type': 'text/plain' }); return res.end('plain text'); }
      if (req.url === '/slow') { res.on('close', () => onSlowClose(true)); return; }  // never answers
      res.writeHead(500); res.end();
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
});
after(() => { server.closeAllConnections(); server.close(); });

test('fetchJson: the seed\'s fetch(url) -> JSON, through corio::http on fetch()', async () => {
  assert.deepEqual(JSON.parse(await demo.fetchJson(`${base}/json`)), { hello: 'world', n: 42, list: [1, 2, 3] });
});

test('POST with a body, GET with a query: the server sees them as sent', async () => {
  const post = JSON.parse(await demo.httpRequest('POST', `${base}/echo`, 'some bytes'));
  assert.equal(post.status, 200);
  assert.match(post.contentType, /^application\/json/);
  assert.deepEqual(JSON.parse(post.body), { method: 'POST', url: '/echo', body: 'some bytes', test: null });
  const get = JSON.parse(await demo.httpRequest('GET', `${base}/echo?a=1&b=two`, ''));
  assert.equal(JSON.parse(get.body).url, '/echo?a=1&b=two');
  const del = JSON.parse(await demo.httpRequest('DELETE', `${base}/echo/3`, ''));
  assert.equal(JSON.parse(del.body).method, 'DELETE');
});

test('redirects are followed: 302 keeps the method, 303 turns POST into GET; history and url say so', async () => {
  const r = JSON.parse(await demo.httpRequest('GET', `${base}/redirect`, ''));
  assert.equal(r.status, 200);
  assert.deepEqual(r.history, [302]);
  assert.equal(r.url, `${base}/json`);
  const s = JSON.parse(await demo.httpRequest('POST', `${base}/see-other`, 'data'));
  assert.deepEqual(s.history, [303]);
  assert.deepEqual(JSON.parse(s.body), { method: 'GET', url: '/echo/after', body: '', test: null });
});

test('a 404 is a response, not an error (raise_for_status is off)', async () => {
  const r = JSON.parse(await demo.httpRequest('GET', `${base}/missing`, ''));
  assert.equal(r.status, 404);
  assert.equal(r.reason, 'Not Found');
  assert.equal(r.body, 'no such thing');
});

test('json() of a text/plain body rejects with ContentTypeError', async () => {
  await assert.rejects(demo.fetchJson(`${base}/text`), (e) => e.cppType === 'corio::http::ContentTypeError' && /text\/plain/.test(e.message));
});

test('a refused connection rejects with ClientConnectorError naming the URL and the cause', async () => {
  // A port that was free a moment ago (fetch refuses port 9 and other "bad ports" itself).
  const probe = http.createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const port = probe.address().port;
  await new Promise((r) => probe.close(r));
  await assert.rejects(demo.fetchJson(`http://127.0.0.1:${port}/x`), (e) =>
    e.cppType === 'corio::http::ClientConnectorError' && e.message.includes(`GET http://127.0.0.1:${port}/x`) &&
    /ECONNREFUSED/.test(e.message));
});

test('a URL corio cannot use rejects with InvalidURL before any I/O', async () => {
  await assert.rejects(demo.fetchJson('ftp://127.0.0.1/x'), (e) => e.cppType === 'corio::http::InvalidURL');
});

test('abort during a request rejects with signal.reason and aborts the fetch (the server sees the close)', async () => {
  const ac = new AbortController();
  const p = demo.httpRequest('GET', `${base}/slow`, '', { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 50));
  ac.abort(new Error('user gave up'));
  await assert.rejects(p, /user gave up/);
  const closed = await Promise.race([slowClosed, new Promise((r) => setTimeout(r, 2000, false))]);
  assert.equal(closed, true, 'the server never saw the request go away');
});

test('20 requests at once all come back right', async () => {
  const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => demo.httpRequest('GET', `${base}/echo/${i}`, '')));
  rs.forEach((r, i) => assert.equal(JSON.parse(JSON.parse(r).body).url, `/echo/${i}`));
});

test('nothing is left pending after the requests above', async () => {
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(demo.$module.__corio_pending(), 0);
});

// The native suite's own peer (tests/peers/http_server.py on Debian's aiohttp), when it is
// beside this file (scripts/test_node.sh copies it): the same server as tests/test_http.cpp.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import readline from 'node:readline';

const peerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'http_server.py');
const havePeer = existsSync(peerScript) && existsSync('/usr/bin/python3');

test('against the native tests\' aiohttp peer: chains, loops, gzip, statuses, broken bodies, limit, total timeout', { skip: !havePeer && 'no tests/peers/http_server.py here' }, async () => {
  const peer = spawn('/usr/bin/python3', [peerScript], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      const lines = readline.createInterface({ input: peer.stdout });
      lines.on('line', (l) => { const m = /^PORT (\d+)/.exec(l); if (m) resolve(Number(m[1])); });
      peer.on('exit', (code) => reject(new Error(`the peer exited (${code})`)));
    });
    const p = `http://127.0.0.1:${port}`;
    assert.deepEqual(JSON.parse(await demo.fetchJson(`${p}/json`)), { hello: 'world', n: 42 });
    const echo = JSON.parse(await demo.httpRequest('PUT', `${p}/echo?a=1&a=2`, 'bytes'));
    assert.equal(echo.status, 200);
    const seen = JSON.parse(echo.body);
    assert.equal(seen.method, 'PUT');
    assert.equal(seen.body, 'bytes');
    const chain = JSON.parse(await demo.httpRequest('GET', `${p}/redirect/3`, ''));
    assert.deepEqual(chain.history, [302, 302, 302]);
    assert.match(chain.url, /\/echo$/);
    await assert.rejects(demo.httpRequest('GET', `${p}/loop`, ''), (e) => e.cppType === 'corio::http::TooManyRedirects');
    const gz = JSON.parse(await demo.httpRequest('GET', `${p}/gzip`, ''));
    assert.equal(JSON.parse(gz.body).compressed, true, 'gzip decoded (by fetch)');
    const err = JSON.parse(await demo.httpRequest('GET', `${p}/status/503`, ''));
    assert.equal(err.status, 503);
    await assert.rejects(demo.httpRequest('GET', `${p}/truncated`, ''), (e) => /^corio::http::Client(Payload|Connector)Error$/.test(e.cppType) && e.message.includes('/truncated'));
    await assert.rejects(demo.httpRequest('GET', `${p}/reset`, ''), (e) => /^corio::http::Client(Payload|Connector)Error$/.test(e.cppType) && e.message.includes('/reset'));
    // The session's limit bounds the requests fetch() has in flight (the server counts them).
    await demo.httpRequest('GET', `${p}/stats/reset`, '');
    assert.deepEqual(JSON.parse(await demo.sessionGets(`${p}/hold?delay=0.15`, 6, 2, 0)), { ok: 6, timeouts: 0 });
    const stats = JSON.parse(JSON.parse(await demo.httpRequest('GET', `${p}/stats`, '')).body);
    assert.equal(stats.max_in_flight, 2, JSON.stringify(stats));
    // The total timeout aborts the fetches: TimeoutError for each, well before the server answers.
    const t0 = performance.now();
    assert.deepEqual(JSON.parse(await demo.sessionGets(`${p}/slow-headers?delay=3`, 3, 10, 200)), { ok: 0, timeouts: 3 });
    assert.ok(performance.now() - t0 < 2000, `took ${performance.now() - t0} ms`);
  } finally {
    peer.stdin.end();
    peer.kill();
  }
});
