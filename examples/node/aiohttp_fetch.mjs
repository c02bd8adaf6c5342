// The seed's aiohttp fetch from JS: demo.fetchJson runs corio::http::ClientSession in C++ on
// Node's fetch(), against a local server this script starts (or HTTP_URL). Prints what
// examples/aiohttp_fetch.cpp prints natively. Run where the corio package is installed:
//   node aiohttp_fetch.mjs
import http from 'node:http';
import { load } from 'corio';

const demo = await load();
let url = process.env.HTTP_URL;
let server;
if (!url) {
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"userId": 1, "id": 1, "title": "learn corio", "completed": false}');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${server.address().port}/todos/1`;
}
const text = await demo.fetchJson(url);  // the parsed JSON, serialised again in C++
console.log(text);
const data = JSON.parse(text);
if ('title' in data) console.log(`title: ${data.title}`);
server?.close();
