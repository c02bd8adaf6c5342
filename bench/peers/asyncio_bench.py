#!/usr/bin/python3
"""The corio_bench workloads on Python's asyncio (or on uvloop with --uvloop).

Written as an asyncio user would write them: create_task + gather, asyncio.sleep(0),
asyncio.Queue(1), asyncio.Lock, asyncio.sleep for timers, Task.cancel() for cancel. Each run gets a fresh event loop
(asyncio.Runner), the clock runs inside the coroutine, and --json prints the same keys as
`corio_bench --json` (see bench/report.py).
"""
import argparse
import asyncio
import gc
import json
import statistics
import sys
import time

LOCK_TASKS = 100


def status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


async def trivial_value(i):
    return i


async def spawn_run(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(trivial_value(i)) for i in range(n)]
    results = await asyncio.gather(*tasks)
    t1 = time.perf_counter_ns()
    if len(results) != n or results[-1] != n - 1:
        raise RuntimeError("spawn: gather returned wrong results")
    return (t1 - t0) / n


async def yield_run(n):
    await asyncio.sleep(0)
    t0 = time.perf_counter_ns()
    for _ in range(n):
        await asyncio.sleep(0)
    t1 = time.perf_counter_ns()
    return (t1 - t0) / n


async def ponger(ping, pong, n):
    for _ in range(n):
        v = await ping.get()
        await pong.put(v + 1)


async def pingpong_run(n):
    ping, pong = asyncio.Queue(1), asyncio.Queue(1)
    other = asyncio.create_task(ponger(ping, pong, n))
    await asyncio.sleep(0)
    t0 = time.perf_counter_ns()
    for i in range(n):
        await ping.put(i)
        if await pong.get() != i + 1:
            raise RuntimeError("pingpong: wrong answer")
    t1 = time.perf_counter_ns()
    await other
    return (t1 - t0) / n


async def lock_worker(lock, rounds, counter):
    for _ in range(rounds):
        async with lock:
            seen = counter[0]
            await asyncio.sleep(0)
            counter[0] = seen + 1


async def lock_run(n):
    rounds = max(1, n // LOCK_TASKS)
    lock = asyncio.Lock()
    counter = [0]
    workers = [lock_worker(lock, rounds, counter) for _ in range(LOCK_TASKS)]
    t0 = time.perf_counter_ns()
    await asyncio.gather(*workers)
    t1 = time.perf_counter_ns()
    if counter[0] != rounds * LOCK_TASKS:
        raise RuntimeError("lock: the critical section was not exclusive")
    return (t1 - t0) / (rounds * LOCK_TASKS)


async def timers_run(n):
    t0 = time.perf_counter_ns()
    tasks = [asyncio.create_task(asyncio.sleep((i % 100) / 1000)) for i in range(n)]
    await asyncio.gather(*tasks)
    t1 = time.perf_counter_ns()
    longest = 99e6 if n >= 100 else (n - 1) * 1e6
    return (t1 - t0 - longest) / n


CANCEL_BATCH = 1000


async def cancel_run(n, batch=CANCEL_BATCH):
    """Tasks sleeping 1 h, `batch` at a time: create them, sleep(0) so that each reaches its
    sleep, cancel each, await each catching CancelledError. Per task, spawn included."""
    cancelled = 0
    t0 = time.perf_counter_ns()
    for first in range(0, n, batch):
        tasks = [asyncio.create_task(asyncio.sleep(3600)) for _ in range(min(batch, n - first))]
        await asyncio.sleep(0)
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except asyncio.CancelledError:
                cancelled += 1
    t1 = time.perf_counter_ns()
    if cancelled != n:
        raise RuntimeError("cancel: not every task was cancelled")
    return (t1 - t0) / n


async def sleeper(started):
    started[0] += 1
    await asyncio.sleep(3600)


async def memory_run(n):
    tasks = [None] * n  # the handles are the benchmark's, not the tasks' cost
    started = [0]
    gc.collect()
    peak_ok = reset_peak_rss()
    rss0 = status_kb("VmRSS")
    for i in range(n):
        tasks[i] = asyncio.create_task(sleeper(started))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rss1 = status_kb("VmRSS")
    hwm1 = status_kb("VmHWM")
    if started[0] != n:
        raise RuntimeError("memory: not every sleeper started")
    t0 = time.perf_counter_ns()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    t1 = time.perf_counter_ns()
    out = {"cancel_ns_per_task": (t1 - t0) / n}
    if rss0 is not None and rss1 is not None:
        out["memory_rss_bytes_per_task"] = (rss1 - rss0) * 1024 / n
    if peak_ok and rss0 is not None and hwm1 is not None:
        out["memory_peak_rss_bytes_per_task"] = (hwm1 - rss0) * 1024 / n
    return out


WORKLOADS = {
    # name: (run, count option, result key, warm-up run first)
    "spawn": (spawn_run, "n_spawn", "spawn_ns_per_task", True),
    "yields": (yield_run, "n_yield", "yield_ns", False),
    "pingpong": (pingpong_run, "n_pingpong", "pingpong_ns", False),
    "lock": (lock_run, "n_lock", "lock_ns_per_acquire", False),
    "timers": (timers_run, "n_timers", "timer_overhead_ns", True),
    "cancel": (cancel_run, "n_cancel", "cancel_await_ns_per_task", True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--uvloop", action="store_true", help="run on uvloop instead of asyncio's own loop")
    ap.add_argument("--only", default="spawn,yields,pingpong,lock,timers,memory,cancel")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    for opt, default in [("spawn", 200_000), ("yield", 500_000), ("pingpong", 200_000), ("lock", 200_000),
                         ("timers", 200_000), ("memory", 1_000_000), ("cancel", 20_000)]:
        ap.add_argument(f"--n-{opt}", type=int, default=default)
    o = ap.parse_args()

    if o.uvloop:
        import uvloop
        loop_factory = uvloop.new_event_loop
        runtime = "uvloop"
    else:
        loop_factory = None
        runtime = "asyncio"

    def run_once(coro):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(coro)

    only = [w.strip() for w in o.only.split(",") if w.strip()]
    result = {"runtime": runtime, "python": sys.version.split()[0], "runs": o.runs}
    if o.uvloop:
        import uvloop
        result["uvloop"] = uvloop.__version__
    samples = {}
    for name in only:
        if name == "memory":
            runs = [run_once(memory_run(o.n_memory)) for _ in range(o.runs)]
            result["n_memory"] = o.n_memory
            for key in ("memory_rss_bytes_per_task", "memory_peak_rss_bytes_per_task", "cancel_ns_per_task"):
                vals = [r[key] for r in runs if key in r]
                result[key] = statistics.median(vals) if len(vals) == len(runs) else None
            if result.get("memory_peak_rss_bytes_per_task") is not None:
                samples["memory_peak_rss_bytes_per_task"] = [r["memory_peak_rss_bytes_per_task"] for r in runs]
            continue
        if name not in WORKLOADS:
            ap.error(f"unknown workload {name!r}")
        fn, n_key, key, warm_up = WORKLOADS[name]
        n = getattr(o, n_key)
        if warm_up:
            run_once(fn(n))
        vals = [run_once(fn(n)) for _ in range(o.runs)]
        result[n_key] = n
        result[key] = statistics.median(vals)
        samples[key] = vals
        if name == "lock":
            result["lock_tasks"] = LOCK_TASKS
        if name == "cancel":
            result["cancel_batch"] = CANCEL_BATCH
    result["samples"] = samples

    if o.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
