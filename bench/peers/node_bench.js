#!/usr/bin/env node
// The corio_bench workloads on Node.js promises, as a Node user writes them: async
// functions gathered with Promise.all, a yield is `await new Promise(r => setImmediate(r))`
// (a macrotask hop like asyncio.sleep(0); a microtask would never let I/O in), timers are
// setTimeout (cancelled with clearTimeout and a rejection). Node has no async queue or lock,
// so the small promise-based ones below are what Node code carries around (FIFO, like asyncio's). --json prints the same keys as
// `corio_bench --json` (see bench/report.py). Run with --expose-gc for a clean memory baseline.
'use strict';

const fs = require('fs');

const LOCK_TASKS = 100;

const now = () => process.hrtime.bigint();
const nsBetween = (a, b) => Number(b - a);
const yieldOnce = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class AsyncQueue {
  constructor(maxsize = 0) {
    this.maxsize = maxsize;
    this.items = [];
    this.getters = [];  // resolve functions of waiting get()s, FIFO
    this.putters = [];
  }
  full() { return this.maxsize > 0 && this.items.length >= this.maxsize; }
  async put(item) {
    while (this.full()) await new Promise((resolve) => this.putters.push(resolve));
    this.items.push(item);
    const g = this.getters.shift();
    if (g) g();
  }
  async get() {
    while (this.items.length === 0) await new Promise((resolve) => this.getters.push(resolve));
    const item = this.items.shift();
    const p = this.putters.shift();
    if (p) p();
    return item;
  }
}

class Mutex {
  constructor() { this.locked = false; this.waiters = []; }
  async acquire() {
    if (!this.locked && this.waiters.length === 0) { this.locked = true; return; }
    await new Promise((resolve) => this.waiters.push(resolve));  // handed the lock by release()
  }
  release() {
    const next = this.waiters.shift();
    if (next) next(); else this.locked = false;
  }
}

function statusKb(field) {
  try {
    for (const line of fs.readFileSync('/proc/self/status', 'utf8').split('\n')) {
      if (line.startsWith(field + ':')) return parseInt(line.slice(field.length + 1), 10);
    }
  } catch (e) { /* not Linux */ }
  return null;
}

function resetPeakRss() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); return true; } catch (e) { return false; }
}

async function trivialValue(i) { return i; }

async function spawnRun(n) {
  const t0 = now();
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(trivialValue(i));
  const results = await Promise.all(tasks);
  const t1 = now();
  if (results.length !== n || results[n - 1] !== n - 1) throw new Error('spawn: wrong results');
  return nsBetween(t0, t1) / n;
}

async function yieldRun(n) {
  await yieldOnce();
  const t0 = now();
  for (let i = 0; i < n; i++) await yieldOnce();
  const t1 = now();
  return nsBetween(t0, t1) / n;
}

async function ponger(ping, pong, n) {
  for (let i = 0; i < n; i++) {
    const v = await ping.get();
    await pong.put(v + 1);
  }
}

async function pingpongRun(n) {
  const ping = new AsyncQueue(1), pong = new AsyncQueue(1);
  const other = ponger(ping, pong, n);
  await yieldOnce();
  const t0 = now();
  for (let i = 0; i < n; i++) {
    await ping.put(i);
    if ((await pong.get()) !== i + 1) throw new Error('pingpong: wrong answer');
  }
  const t1 = now();
  await other;
  return nsBetween(t0, t1) / n;
}

async function lockWorker(mutex, rounds, counter) {
  for (let i = 0; i < rounds; i++) {
    await mutex.acquire();
    try {
      const seen = counter.value;
      await yieldOnce();
      counter.value = seen + 1;
    } finally {
      mutex.release();
    }
  }
}

async function lockRun(n) {
  const rounds = Math.max(1, Math.floor(n / LOCK_TASKS));
  const mutex = new Mutex();
  const counter = { value: 0 };
  const t0 = now();
  const workers = [];
  for (let t = 0; t < LOCK_TASKS; t++) workers.push(lockWorker(mutex, rounds, counter));
  await Promise.all(workers);
  const t1 = now();
  if (counter.value !== rounds * LOCK_TASKS) throw new Error('lock: the critical section was not exclusive');
  return nsBetween(t0, t1) / (rounds * LOCK_TASKS);
}

async function timersRun(n) {
  const t0 = now();
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(sleep(i % 100));
  await Promise.all(tasks);
  const t1 = now();
  const longest = n >= 100 ? 99e6 : (n - 1) * 1e6;
  return (nsBetween(t0, t1) - longest) / n;
}

class CancelledError extends Error {}

// cancel: sleepers of 1 h, CANCEL_BATCH at a time: start them, yield once, cancel each
// (clearTimeout + reject, the cancellable sleep of memoryRun), then await each, catching the
// CancelledError that its rejection throws out of the sleeper. Per task, spawn included.
const CANCEL_BATCH = 1000;

async function cancelRun(n) {
  let started = 0, cancelled = 0;
  const cancels = new Array(Math.min(n, CANCEL_BATCH)).fill(null);
  const sleeper = async (i) => {
    started++;
    await new Promise((resolve, reject) => {
      const t = setTimeout(resolve, 3600e3);
      cancels[i] = () => { clearTimeout(t); reject(new CancelledError('cancelled')); };
    });
  };
  const t0 = now();
  for (let first = 0; first < n; first += CANCEL_BATCH) {
    const m = Math.min(CANCEL_BATCH, n - first);
    started = 0;
    const tasks = new Array(m);
    for (let i = 0; i < m; i++) tasks[i] = sleeper(i);
    await yieldOnce();
    if (started !== m) throw new Error('cancel: not every sleeper of the batch started');
    for (let i = 0; i < m; i++) cancels[i]();
    for (const t of tasks) {
      try {
        await t;
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
        cancelled++;
      }
    }
  }
  const t1 = now();
  if (cancelled !== n) throw new Error('cancel: not every sleeper was cancelled');
  return nsBetween(t0, t1) / n;
}

async function memoryRun(n) {
  // The handles are the benchmark's, not the tasks' cost: allocate and fill them first.
  const cancels = new Array(n).fill(null);
  const tasks = new Array(n).fill(null);
  let started = 0;
  // A cancellable sleep, as Node code writes one: the timer and a way to reject the promise.
  const sleeper = async (i) => {
    started++;
    try {
      await new Promise((resolve, reject) => {
        const t = setTimeout(resolve, 3600e3);
        cancels[i] = () => { clearTimeout(t); reject(new CancelledError('cancelled')); };
      });
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
  };
  if (global.gc) global.gc();
  const peakOk = resetPeakRss();
  const rss0 = statusKb('VmRSS');
  for (let i = 0; i < n; i++) tasks[i] = sleeper(i);
  await yieldOnce();
  await yieldOnce();
  const rss1 = statusKb('VmRSS');
  const hwm1 = statusKb('VmHWM');
  if (started !== n) throw new Error('memory: not every sleeper started');
  const t0 = now();
  for (const cancel of cancels) cancel();
  await Promise.all(tasks);  // every sleeper has run its catch
  const t1 = now();
  const out = { cancel_ns_per_task: nsBetween(t0, t1) / n };
  if (rss0 !== null && rss1 !== null) out.memory_rss_bytes_per_task = (rss1 - rss0) * 1024 / n;
  if (peakOk && rss0 !== null && hwm1 !== null) out.memory_peak_rss_bytes_per_task = (hwm1 - rss0) * 1024 / n;
  return out;
}

const WORKLOADS = {
  // name: [run, count option, result key, warm-up run first]
  spawn: [spawnRun, 'n_spawn', 'spawn_ns_per_task', true],
  yields: [yieldRun, 'n_yield', 'yield_ns', true],
  pingpong: [pingpongRun, 'n_pingpong', 'pingpong_ns', true],
  lock: [lockRun, 'n_lock', 'lock_ns_per_acquire', true],
  timers: [timersRun, 'n_timers', 'timer_overhead_ns', true],
  cancel: [cancelRun, 'n_cancel', 'cancel_await_ns_per_task', true],
};

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function parseArgs(argv) {
  const o = {
    only: 'spawn,yields,pingpong,lock,timers,memory,cancel', runs: 3, json: false,
    n_spawn: 1000000, n_yield: 1000000, n_pingpong: 1000000, n_lock: 1000000, n_timers: 1000000, n_memory: 1000000,
    n_cancel: 100000,
  };
  for (let i = 0; i < argv.length; i++) {
    let [arg, value] = argv[i].split('=', 2);
    const next = () => (value !== undefined ? value : argv[++i]);
    if (arg === '--json') o.json = true;
    else if (arg === '--only') o.only = next();
    else if (arg === '--runs') o.runs = parseInt(next(), 10);
    else if (arg.startsWith('--n-')) {
      const key = 'n_' + arg.slice(4);
      if (!(key in o)) throw new Error(`unknown option ${arg}`);
      o[key] = parseInt(next(), 10);
    } else throw new Error(`unknown option ${arg}`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const result = { runtime: 'node', node: process.version, runs: o.runs };
  const samples = {};
  for (const name of o.only.split(',').filter(Boolean)) {
    if (name === 'memory') {
      const runs = [];
      for (let r = 0; r < o.runs; r++) runs.push(await memoryRun(o.n_memory));
      result.n_memory = o.n_memory;
      for (const key of ['memory_rss_bytes_per_task', 'memory_peak_rss_bytes_per_task', 'cancel_ns_per_task']) {
        const vals = runs.filter((r) => key in r).map((r) => r[key]);
        result[key] = vals.length === runs.length ? median(vals) : null;
      }
      if (result.memory_peak_rss_bytes_per_task !== null)
        samples.memory_peak_rss_bytes_per_task = runs.map((r) => r.memory_peak_rss_bytes_per_task);
      continue;
    }
    if (!(name in WORKLOADS)) throw new Error(`unknown workload ${name}`);
    const [fn, nKey, key, warmUp] = WORKLOADS[name];
    const n = o[nKey];
    if (warmUp) await fn(n);
    const vals = [];
    for (let r = 0; r < o.runs; r++) vals.push(await fn(n));
    result[nKey] = n;
    result[key] = median(vals);
    samples[key] = vals;
    if (name === 'lock') result.lock_tasks = LOCK_TASKS;
    if (name === 'cancel') result.cancel_batch = CANCEL_BATCH;
  }
  result.samples = samples;
  if (o.json) console.log(JSON.stringify(result, null, 2));
  else for (const [k, v] of Object.entries(result)) console.log(`${k}: ${JSON.stringify(v)}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
