// Node's side of the HTTP client benchmark: Node's built-in fetch (undici; keep-alive by
// default), N async loops
//     const r = await fetch(url); await r.text();
// After a warm-up of W s (which also warms the JIT) it counts the requests completed in the
// next D s, lets every loop finish the one it is in and prints one JSON line, as the other
// clients do:
//   {"client":"node","concurrency":N,"seconds":..,"requests":..,"rps":..,"client_cpu":..,"server_cpu":..}
//
//   node node_fetch.js --url URL [--concurrency N] [--duration D] [--warmup W] [--server-pid PID]
//                      [--expect BODY]
// (https: NODE_EXTRA_CA_CERTS=PEM in the environment.)
'use strict';
const fs = require('fs');

function parse(argv) {
  const a = { url: null, concurrency: 1, duration: 3, warmup: 1, serverPid: 0, expect: null };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === '--url') a.url = v;
    else if (k === '--concurrency') a.concurrency = Number(v);
    else if (k === '--duration') a.duration = Number(v);
    else if (k === '--warmup') a.warmup = Number(v);
    else if (k === '--server-pid') a.serverPid = Number(v);
    else if (k === '--expect') a.expect = v;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.url) throw new Error('usage: node node_fetch.js --url URL [--concurrency N] ...');
  return a;
}

const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const CLK_TCK = 100;  // Linux's USER_HZ
function procCpu(pid) {
  if (!pid) return -1;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch { return -1; }
}
const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000));

async function main() {
  const a = parse(process.argv);
  {
    const r = await fetch(a.url);
    const body = await r.text();
    if (r.status !== 200 || (a.expect !== null && body !== a.expect))
      throw new Error(`status ${r.status}, body ${JSON.stringify(body)}, expected ${JSON.stringify(a.expect)}`);
  }
  const state = { stop: false, n: 0 };
  async function worker() {
    while (!state.stop) {
      const r = await fetch(a.url);
      await r.text();
      state.n++;
    }
  }
  const loops = [];
  for (let i = 0; i < a.concurrency; i++) loops.push(worker());
  await sleep(a.warmup);
  const t0 = performance.now() / 1e3, c0 = selfCpu(), s0 = procCpu(a.serverPid), n0 = state.n;
  await sleep(a.duration);
  const t1 = performance.now() / 1e3, c1 = selfCpu(), s1 = procCpu(a.serverPid), n1 = state.n;
  state.stop = true;
  await Promise.all(loops);
  const secs = t1 - t0;
  console.log(JSON.stringify({
    client: 'node', concurrency: a.concurrency, seconds: +secs.toFixed(4), requests: n1 - n0,
    rps: +((n1 - n0) / secs).toFixed(1), client_cpu: +((c1 - c0) / secs).toFixed(3),
    server_cpu: s0 >= 0 && s1 >= 0 ? +((s1 - s0) / secs).toFixed(3) : -1,
  }));
  process.exit(0);  // undici's idle keep-alive sockets would hold the process for 4 s
}

main().catch((e) => { console.error(`node_fetch: ${e.stack || e}`); process.exit(1); });
