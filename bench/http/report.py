"""Pools bench/http/run's raw JSON (one file per client run: CLIENT.SCHEME.cN.K.json, and the
load check's wrk.http.cN.json) into bench/results/http.md: the median requests/s per client
and cell, corio's ratios, the goals, CPU use, every run, and the load check. Prints the tables.

    report.py RAW_DIR --out RESULTS_DIR --machine TEXT [--uptime TEXT]... [--body TEXT]
"""
import argparse
import glob
import json
import os
import statistics
import sys

NAMES = {
    "corio": "corio",
    "curl_uv": "raw curl multi",
    "raw_uv_http": "raw HTTP on libuv",
    "aiohttp": "aiohttp",
    "node": "Node fetch",
}
GOAL_FLOOR = 0.9
GOAL_PEER = {1: 2.5, 50: 14.0}


def load(raw):
    runs = {}  # (client, scheme, concurrency) -> [run dicts]
    wrk = []
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        parts = os.path.basename(path).split(".")
        try:
            with open(path) as f:
                d = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            print(f"report.py: skipping {path}", file=sys.stderr)
            continue
        if parts[0] == "wrk":
            wrk.append(d)
            continue
        client, scheme, conc = parts[0], parts[1], int(parts[2][1:])
        runs.setdefault((client, scheme, conc), []).append(d)
    return runs, wrk


def med(runs, key, client, scheme, conc):
    vals = [r[key] for r in runs.get((client, scheme, conc), []) if r.get(key, -1) >= 0]
    return statistics.median(vals) if vals else None


def fmt_rps(v):
    return "n/a" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}×"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("raw")
    p.add_argument("--out", required=True)
    p.add_argument("--machine", default="")
    p.add_argument("--uptime", action="append", default=[])
    p.add_argument("--body", default="")
    a = p.parse_args()
    runs, wrk = load(a.raw)
    concs = sorted({c for (_, s, c) in runs if s == "http"})
    tls_concs = sorted({c for (_, s, c) in runs if s == "https"})
    clients = [c for c in NAMES if any(k[0] == c and k[1] == "http" for k in runs)]

    out = []
    w = out.append
    w("# HTTP client: corio's ClientSession against its peers and its floors")
    w("")
    w("`bench/http/run` (bench/run runs it at its end; `BENCH_HTTP=0` skips it). Requests per second, "
      "median of the runs; keep-alive GETs of a fixed JSON body "
      f"(`{a.body}`, {len(a.body)} bytes, `Content-Type: application/json`) from ONE local nginx worker "
      "on 127.0.0.1, pinned to CPU 1; each client pinned to CPU 0. Concurrency N: N tasks (N "
      "connections) each looping request → read the whole body. Higher is better.")
    w("")
    w(a.machine)
    w("")
    for u in a.uptime:
        w(f"    uptime: {u.strip()}")
    w("")
    w("## http")
    w("")
    head = ["concurrency"] + [NAMES[c] for c in clients] + [
        "corio ÷ max(raw curl, raw uv http)", "corio ÷ aiohttp", "corio ÷ Node"]
    w("| " + " | ".join(head) + " |")
    w("|" + "---|" * len(head))
    goals = []
    for conc in concs:
        m = {c: med(runs, "rps", c, "http", conc) for c in NAMES}
        floors = [v for v in (m["curl_uv"], m["raw_uv_http"]) if v is not None]
        floor = max(floors) if floors else None
        rf, ra, rn = ratio(m["corio"], floor), ratio(m["corio"], m["aiohttp"]), ratio(m["corio"], m["node"])
        w("| " + " | ".join([str(conc)] + [fmt_rps(m[c]) for c in clients] + [fmt_ratio(rf), fmt_ratio(ra), fmt_ratio(rn)]) + " |")
        goals.append((f"corio ≥ {GOAL_FLOOR}× the best floor at concurrency {conc}", rf, GOAL_FLOOR))
        g = GOAL_PEER.get(conc)
        if g:
            goals.append((f"corio ≥ {g}× aiohttp at concurrency {conc}", ra, g))
            goals.append((f"corio ≥ {g}× Node fetch at concurrency {conc}", rn, g))
    w("")
    w("Goals:")
    w("")
    for text, r, g in goals:
        state = "n/a" if r is None else ("**met**" if r >= g else "**not met**")
        w(f"- {text}: {fmt_ratio(r)} — {state}")
    w("")

    if tls_concs:
        w("## https (nginx with a self-signed certificate; corio's https goes over libcurl)")
        w("")
        w("| concurrency | corio | raw curl multi | corio ÷ raw curl |")
        w("|---|---|---|---|")
        for conc in tls_concs:
            c, f = med(runs, "rps", "corio", "https", conc), med(runs, "rps", "curl_uv", "https", conc)
            w(f"| {conc} | {fmt_rps(c)} | {fmt_rps(f)} | {fmt_ratio(ratio(c, f))} |")
        w("")
        w("corio's https is curl's multi interface on the same libuv loop, so raw curl multi is its floor "
          f"(the same ≥ {GOAL_FLOOR}× reading applies).")
        w("")

    w("## CPU use over the window (median of the runs)")
    w("")
    w("Client: the client's CPU time / the window (1.00: the client was the bottleneck); nginx: the "
      "worker's. Neither near 1.00 means both sides waited on each other (latency: a round trip "
      "through the loopback and two wake-ups).")
    w("")
    w("| client | scheme | concurrency | requests/s | client CPU | nginx CPU | client CPU µs/request |")
    w("|---|---|---|---|---|---|---|")
    for (client, scheme, conc) in sorted(runs, key=lambda k: (k[1], k[2], list(NAMES).index(k[0]))):
        rps = med(runs, "rps", client, scheme, conc)
        cc = med(runs, "client_cpu", client, scheme, conc)
        sc = med(runs, "server_cpu", client, scheme, conc)
        us = None if not rps or cc is None else cc / rps * 1e6
        w(f"| {NAMES[client]} | {scheme} | {conc} | {fmt_rps(rps)} | "
          f"{'n/a' if cc is None else f'{cc:.2f}'} | {'n/a' if sc is None else f'{sc:.2f}'} | "
          f"{'n/a' if us is None else f'{us:.1f}'} |")
    w("")

    w("## Load check: is the one nginx worker the cap?")
    w("")
    if wrk:
        best = max((med(runs, "rps", c, "http", conc) or 0) for c in NAMES for conc in concs)
        for d in wrk:
            w(f"- `{d['command']} http://127.0.0.1:PORT/` (wrk on CPU 0): {d['rps']:,.0f} requests/s, nginx "
              f"worker CPU {d['server_cpu']:.2f}.")
        top = max(d["rps"] for d in wrk)
        verdict = ("nginx is not the cap: it serves more than any client here asked of it"
                   if top > best * 1.05 else "nginx may be the cap: wrk gets little more than the best client")
        w(f"- The best client figure above: {best:,.0f} requests/s. {verdict}.")
    else:
        w("- wrk not available: skipped. The nginx CPU column above says how busy the worker was.")
    w("")

    w("## Every run (requests/s)")
    w("")
    w("| client | scheme | concurrency | runs |")
    w("|---|---|---|---|")
    for (client, scheme, conc) in sorted(runs, key=lambda k: (k[1], k[2], list(NAMES).index(k[0]))):
        vals = ", ".join(f"{r['rps']:,.0f}" for r in runs[(client, scheme, conc)])
        w(f"| {NAMES[client]} | {scheme} | {conc} | {vals} |")
    w("")

    text = "\n".join(out)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "http.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
