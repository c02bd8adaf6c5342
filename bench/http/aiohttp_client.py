"""aiohttp's side of the HTTP client benchmark: N tasks on one ClientSession (a TCPConnector
with limit >= N), each looping

    async with session.get(url) as r:
        await r.read()

on asyncio's default event loop (--uvloop: on uvloop). After a warm-up of W s it counts
the requests completed in the next D s, lets every task finish the one it is in and prints
one JSON line, as the other clients do:

  {"client":"aiohttp","concurrency":N,"seconds":..,"requests":..,"rps":..,"client_cpu":..,"server_cpu":..}

    /usr/bin/python3 aiohttp_client.py --url URL [--concurrency N] [--duration D] [--warmup W]
                                       [--server-pid PID] [--ca-file PEM] [--expect BODY]
"""
import argparse
import asyncio
import json
import os
import resource
import ssl
import time

import aiohttp


def self_cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def proc_cpu(pid):
    if not pid:
        return -1.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return -1.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def bench(a):
    ssl_ctx = ssl.create_default_context(cafile=a.ca_file) if a.ca_file else None
    connector = aiohttp.TCPConnector(limit=max(100, a.concurrency), ssl=ssl_ctx if ssl_ctx else True)
    async with aiohttp.ClientSession(connector=connector) as session:
        async with session.get(a.url) as r:
            body = await r.read()
            if r.status != 200 or (a.expect and body.decode() != a.expect):
                raise SystemExit(f"aiohttp_client: status {r.status}, body {body!r}, expected {a.expect!r}")
        state = {"stop": False, "n": 0}

        async def worker():
            while not state["stop"]:
                async with session.get(a.url) as r:
                    await r.read()
                state["n"] += 1

        tasks = [asyncio.create_task(worker()) for _ in range(a.concurrency)]
        await asyncio.sleep(a.warmup)
        t0, c0, s0, n0 = time.perf_counter(), self_cpu(), proc_cpu(a.server_pid), state["n"]
        await asyncio.sleep(a.duration)
        t1, c1, s1, n1 = time.perf_counter(), self_cpu(), proc_cpu(a.server_pid), state["n"]
        state["stop"] = True
        await asyncio.gather(*tasks)
    secs = t1 - t0
    print(json.dumps({
        "client": "aiohttp" + ("-uvloop" if a.uvloop else ""),
        "concurrency": a.concurrency,
        "seconds": round(secs, 4),
        "requests": n1 - n0,
        "rps": round((n1 - n0) / secs, 1),
        "client_cpu": round((c1 - c0) / secs, 3),
        "server_cpu": round((s1 - s0) / secs, 3) if s0 >= 0 and s1 >= 0 else -1,
    }), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--server-pid", type=int, default=0)
    p.add_argument("--ca-file")
    p.add_argument("--expect")
    p.add_argument("--uvloop", action="store_true")
    a = p.parse_args()
    if a.uvloop:
        import uvloop
        uvloop.install()
    asyncio.run(bench(a))


if __name__ == "__main__":
    main()
