#!/usr/bin/python3
"""Turns the raw JSON of a bench/echo/run into bench/results/echo.md: messages per second per
runtime and cell (median of the runs), corio's ratio to raw libuv, uvloop and Node, the goals
with met / not met, corio's allocations per message, the servers' CPU per message, and the
memory-stream round trip.

    bench/echo/report.py RAW_DIR [--out DIR] [--machine TEXT] [--uptime TEXT]...

RAW_DIR holds RUNTIME.cC.sS.K.json (one echo_load run), corio.cC.sS.K.allocs.json (what
corio_echo --count-allocs counted in that run's window) and corio.memstream.json
(corio_bench --only memstream --json).
"""
import argparse
import collections
import glob
import json
import os
import re
import statistics
import sys

RUNTIMES = [("corio", "corio"), ("libuv", "raw libuv (C)"), ("uvloop", "Python uvloop"),
            ("asyncio", "Python asyncio"), ("node", "Node.js")]
CELLS = [(1, 1024), (1, 65536), (100, 1024), (100, 65536)]
LIBUV_GOAL = 0.9         # corio >= 0.9x raw libuv's msgs/s in every cell
AHEAD_OF = ["uvloop", "node"]  # ... and ahead of these in every cell
ALLOCS_GOAL = 1.05       # allocations per echoed chunk: the std::string read() returns, nothing more
MEMSTREAM_GOAL = 150     # ns per round trip
CLIENT_BOUND = 0.9       # echo_load busier than this: it, not the server, may set the pace

NAME = re.compile(r"^(?P<rt>[a-z]+)\.c(?P<c>\d+)\.s(?P<s>\d+)\.(?P<k>\d+)(?P<allocs>\.allocs)?\.json$")


def load(raw):
    runs = collections.defaultdict(list)    # (rt, c, s) -> [echo_load JSON]
    allocs = collections.defaultdict(list)  # (c, s) -> [(corio_echo JSON, echo_load msgs)]
    pending = {}
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        try:
            with open(path) as f:
                data = json.loads(f.read().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError) as e:
            print(f"echo report: skipping {path}: {e}", file=sys.stderr)
            continue
        key = (m["rt"], int(m["c"]), int(m["s"]))
        if m["allocs"]:
            pending[key + (m["k"],)] = data
        else:
            runs[key].append(dict(data, run=m["k"]))
    for (rt, c, s, k), a in pending.items():
        load_run = next((r for r in runs.get((rt, c, s), []) if r["run"] == k), None)
        allocs[(c, s)].append((a, load_run["msgs"] if load_run else None))
    memstream = None
    try:
        with open(os.path.join(raw, "corio.memstream.json")) as f:
            memstream = json.load(f)
    except (OSError, ValueError):
        pass
    return runs, allocs, memstream


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cell_name(c, s):
    return f"{c} conn × {s // 1024} KiB"


def fmt_rate(v):
    return "n/a" if v is None else f"{v:,.0f}"


def markdown(runs, allocs, memstream, machine, uptimes):
    present = [(k, h) for k, h in RUNTIMES if any((k, c, s) in runs for c, s in CELLS)]
    rate = {(rt, c, s): med([r["msgs_per_s"] for r in runs.get((rt, c, s), [])]) for rt, _ in present for c, s in CELLS}
    n_runs = {(rt, c, s): len(runs.get((rt, c, s), [])) for rt, _ in present for c, s in CELLS}

    def ratio(peer, c, s):
        a, b = rate.get(("corio", c, s)), rate.get((peer, c, s))
        return a / b if a and b else None

    def fmt_ratio(r):
        return "n/a" if r is None else f"{r:.2f}×"

    out = ["# TCP echo: corio against raw libuv, uvloop, asyncio and Node.js", ""]
    if machine:
        out += [machine, ""]
    for when, u in zip(("at the start", "at the end", "later"), uptimes):
        out += [f"`uptime` {when}: `{u.strip()}`", ""]
    out += ["Messages per second (higher is better), median of the runs: each connection sends a message, "
            "waits until all of it has come back, and sends the next (ping-pong); every server echoes what it "
            "reads. `corio ÷ X` is corio's msgs/s over X's.", ""]
    peers = [p for p in ("libuv", "uvloop", "node") if any(k == p for k, _ in present)]
    short = {"libuv": "libuv", "uvloop": "uvloop", "node": "Node"}
    cols = ["cell"] + [h for _, h in present] + [f"corio ÷ {short[p]}" for p in peers]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|")
    for c, s in CELLS:
        row = [cell_name(c, s)]
        for rt, _ in present:
            v = fmt_rate(rate[(rt, c, s)])
            if n_runs[(rt, c, s)] and n_runs[(rt, c, s)] != max(n_runs.values()):
                v += f" ({n_runs[(rt, c, s)]} runs)"
            row.append(v)
        row += [fmt_ratio(ratio(p, c, s)) for p in peers]
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    # Goals.
    out += ["## Goals", "", "| goal | cell | measured | met |", "|---|---|---:|:---:|"]
    met_all = {}
    for c, s in CELLS:
        r = ratio("libuv", c, s)
        ok = r is not None and r >= LIBUV_GOAL
        met_all.setdefault("libuv", []).append(ok)
        out.append(f"| corio ≥ {LIBUV_GOAL}× raw libuv | {cell_name(c, s)} | {fmt_ratio(r)} | "
                   f"{'yes' if ok else '**no**'} |")
    for p in AHEAD_OF:
        if p not in peers:
            continue
        for c, s in CELLS:
            r = ratio(p, c, s)
            ok = r is not None and r > 1
            met_all.setdefault(p, []).append(ok)
            out.append(f"| corio ahead of {short[p]} | {cell_name(c, s)} | {fmt_ratio(r)} | {'yes' if ok else '**no**'} |")
    per_read = {cs: med([a["allocs_per_read"] for a, _ in allocs.get(cs, [])]) for cs in CELLS}
    for c, s in CELLS:
        v = per_read[(c, s)]
        ok = v is not None and v <= ALLOCS_GOAL
        met_all.setdefault("allocs", []).append(ok)
        out.append(f"| corio: ≈ 1 allocation per echoed read (≤ {ALLOCS_GOAL}) | {cell_name(c, s)} | "
                   f"{'n/a' if v is None else f'{v:.3f}'} | {'yes' if ok else '**no**'} |")
    ms = memstream.get("memstream_ns") if memstream else None
    out.append(f"| memstream round trip ≤ {MEMSTREAM_GOAL} ns | – | {'n/a' if ms is None else f'{ms:.0f} ns'} | "
               f"{'yes' if ms is not None and ms <= MEMSTREAM_GOAL else '**no**'} |")
    out.append("")
    summary = []
    labels = {"libuv": f"≥ {LIBUV_GOAL}× raw libuv in every cell", "uvloop": "ahead of uvloop in every cell",
              "node": "ahead of Node in every cell", "allocs": "≈ 1 allocation per message"}
    for k, oks in met_all.items():
        summary.append(f"{labels[k]}: {'met' if all(oks) else f'**not met** ({oks.count(False)} of {len(oks)} cells)'}")
    out += ["Summary: " + "; ".join(summary) + ".", ""]

    # Allocations.
    out += ["## corio_echo: allocations per message", "",
            "Counted by corio_echo --count-allocs (a replaced global operator new, one increment per call) "
            "between echo_load's SIGUSR1 and SIGUSR2, i.e. over the timed window. A read is one "
            "`reader.read(65536)` that returned bytes; a 64 KiB message may come in several.", "",
            "| cell | allocations per read | reads per message | allocations per message |", "|---|---:|---:|---:|"]
    for c, s in CELLS:
        rows = allocs.get((c, s), [])
        apr = med([a["allocs_per_read"] for a, _ in rows])
        rpm = med([a["reads"] / m if m else None for a, m in rows])
        apm = med([a["allocs"] / m if m else None for a, m in rows])
        f = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        out.append(f"| {cell_name(c, s)} | {f(apr)} | {f(rpm)} | {f(apm)} |")
    out.append("")

    # Server CPU per message and the load generator's own load.
    out += ["## Server CPU per message, and who set the pace", "",
            "The server's CPU time (utime + stime from /proc/PID/stat) over the window ÷ the messages "
            "echoed: what a message costs the server, whoever was the bottleneck (lower is better). "
            "In brackets the server's and echo_load's CPU use (1.00 = a whole core). "
            f"A cell where echo_load is above {CLIENT_BOUND:.2f} may be limited by the load generator: "
            "its msgs/s is then a floor for the server, and the µs/msg compare the servers fairly. "
            "With 1 connection both sides wait on each other, and the msgs/s are mostly latency.", ""]
    cols = ["cell"] + [h for _, h in present]
    out.append("| " + " | ".join(cols) + " |")
    out.append("|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|")
    for c, s in CELLS:
        row = [cell_name(c, s)]
        for rt, _ in present:
            rs = runs.get((rt, c, s), [])
            us = med([r.get("server_cpu_us_per_msg") for r in rs])
            sc = med([r.get("server_cpu") for r in rs])
            cc = med([r.get("client_cpu") for r in rs])
            if us is None:
                row.append("n/a")
                continue
            mark = " ⚑" if cc is not None and cc > CLIENT_BOUND else ""
            row.append(f"{us:.2f} µs (srv {sc:.2f}, load {cc:.2f}{mark})")
        out.append("| " + " | ".join(row) + " |")
    out.append("")
    others = [r.get("other_cpu") for rs in runs.values() for r in rs if r.get("other_cpu") is not None]
    if others:
        out += [f"Other processes' CPU use during the windows (every user process but the server and echo_load, "
                f"their reaped children included, from /proc/N/stat; 1.00 = a core): median "
                f"{statistics.median(others):.2f}, max {max(others):.2f}. Above ~0.1 other work on the machine "
                "disturbed the figures. (The load averages above count the benchmark's own two processes.) "
                "On a VM the host's load is invisible here: compare the spread of the runs below.", ""]

    # Spread.
    out += ["## Runs", "", "Every run's msgs/s, to judge the spread:", "",
            "| cell | " + " | ".join(h for _, h in present) + " |",
            "|---|" + "|".join(["---:"] * len(present)) + "|"]
    for c, s in CELLS:
        row = [cell_name(c, s)]
        for rt, _ in present:
            rs = sorted(runs.get((rt, c, s), []), key=lambda r: r["run"])
            row.append(", ".join(f"{r['msgs_per_s'] / 1000:.1f}k" for r in rs) or "n/a")
        out.append("| " + " | ".join(row) + " |")
    out.append("")

    if memstream:
        out += ["## Memory streams", "",
                f"`corio_bench --only memstream`: two tasks over `corio::memory_stream_pair()`, A writes "
                f"64 B and reads them back with `readexactly(64)`, B reads them with `readexactly(64)` and "
                f"writes them back; N={memstream.get('n_memstream', '?'):,}, median of "
                f"{memstream.get('runs', '?')} runs: **{memstream['memstream_ns']:.1f} ns per round trip** "
                f"(goal ≤ {MEMSTREAM_GOAL}), {memstream.get('memstream_allocs', 0):.2f} allocations per round trip "
                "(the two 64-byte strings readexactly returns).", ""]

    out += ["Servers: bench/echo/corio_echo.cpp (`start_server`, `read(65536)` / `write` / `drain`), "
            "uv_echo.c (libuv in C: uv_try_write, then one uv_write of a copied remainder; no malloc per "
            "message), asyncio_echo.py (the same streams loop on asyncio, or uvloop with --uvloop), "
            "node_echo.js (`net.createServer`, `s.on('data', d => s.write(d))`); TCP_NODELAY everywhere. "
            "Load: bench/echo/echo_load.c (libuv in C, one process on one core), echoes checked byte for "
            "byte during the warm-up.", ""]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results"))
    ap.add_argument("--machine", default="")
    ap.add_argument("--uptime", action="append", default=[])
    o = ap.parse_args()
    runs, allocs, memstream = load(o.raw_dir)
    if not runs:
        sys.exit(f"echo report: no results in {o.raw_dir}")
    md = markdown(runs, allocs, memstream, o.machine, o.uptime)
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "echo.md"), "w") as f:
        f.write(md)
    print(md)


if __name__ == "__main__":
    main()
