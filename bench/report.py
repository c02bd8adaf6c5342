#!/usr/bin/python3
"""Turns the raw JSON of a bench/run into the comparison: a markdown table of ns per
operation with corio's ratio to each peer, the goals of issue 6, and a log-scale bar chart.

    bench/report.py RAW_DIR [--out DIR] [--machine TEXT]

RAW_DIR holds one JSON file per program run, named RUNTIME.WORKLOAD.K.json, each printed by
`corio_bench --json` or a peer in bench/peers/ (same keys). A runtime/workload pair may
have several files (separate processes, e.g. memory) and each file may carry per-run
"samples"; every sample of a pair is pooled and the median is reported. Writes
OUT/results.md and OUT/chart.png and prints the markdown to stdout.
"""
import argparse
import collections
import glob
import json
import math
import os
import statistics
import sys

# Columns, in order: (runtime key, heading). Only runtimes with results are shown.
RUNTIMES = [
    ("corio", "corio"),
    ("corio-wasm", "corio wasm (node)"),
    ("asio", "Asio (C++20 coroutines)"),
    ("node", "Node.js promises"),
    ("asyncio", "Python asyncio"),
    ("uvloop", "Python uvloop"),
]
PEERS = ["asio", "node", "asyncio", "uvloop"]  # corio's ratio is given against each of these

# Rows: (workload, result key, count key, unit, what one operation is)
WORKLOADS = [
    ("spawn", "spawn_ns_per_task", "n_spawn", "ns", "create a task that returns a value + gather"),
    ("yields", "yield_ns", "n_yield", "ns", "one sleep(0) round trip through the loop"),
    ("pingpong", "pingpong_ns", "n_pingpong", "ns", "round trip through two queues of size 1"),
    ("lock", "lock_ns_per_acquire", "n_lock", "ns", "contended acquire, 100 tasks, sleep(0) held"),
    ("timers", "timer_overhead_ns", "n_timers", "ns", "overhead per timer beyond the 99 ms (sleeps 0-99 ms)"),
    ("cancel", "cancel_await_ns_per_task", "n_cancel", "ns",
     "create a task sleeping 1 h, let it start, cancel it, await it (the cancellation caught as an exception), "
     "1000 at a time; spawn included"),
    ("memstream", "memstream_ns", "n_memstream", "ns",
     "round trip over memory_stream_pair(): 64 B write + readexactly each way, two tasks (corio only)"),
    ("memory", "memory_peak_rss_bytes_per_task", "n_memory", "B", "peak RSS per suspended sleeping task"),
]

# Issue 6's goals for corio (native): workload -> upper bound (cancel has only a ratio goal).
GOALS = {"spawn": 100, "yields": 40, "pingpong": 150, "lock": 150, "timers": 300, "memstream": 150, "memory": 256}
# ... and its ratio goals: (peer, workload or None for every workload, minimum ratio, label or
# None for "WORKLOAD: ≥ R× PEER").
RATIO_GOALS = [("asio", "spawn", 10, None), ("asio", "yields", 4, None), ("uvloop", None, 50, None),
               ("asio", "cancel", 1.5, "cancel: corio ≥ 1.5× faster than Asio's timer cancel")]


def load(raw_dir):
    """runtime -> workload -> {"values": [...], "n": N, "note": str|None}"""
    out = collections.defaultdict(dict)
    extras = collections.defaultdict(dict)
    for path in sorted(glob.glob(os.path.join(raw_dir, "*.json"))):
        runtime, workload = os.path.basename(path).split(".")[:2]
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print(f"report.py: skipping {path}: {e}", file=sys.stderr)
            continue
        for wl, key, n_key, _, _ in WORKLOADS:
            if wl != workload:
                continue
            note = None
            value = data.get(key)
            samples = data.get("samples", {}).get(key)
            if value is None and wl == "memory" and data.get("memory_heap_bytes_per_task") is not None:
                # No RSS where there is no /proc (wasm): the counted heap is the next best figure.
                value = data["memory_heap_bytes_per_task"]
                samples = None
                note = "heap"
            if value is None:
                continue
            cell = out[runtime].setdefault(wl, {"values": [], "n": data.get(n_key), "note": note})
            cell["values"].extend(samples if samples else [value])
        for k in ("spawn_allocs_per_task", "yield_allocs", "pingpong_allocs", "lock_allocs_per_acquire",
                  "timer_allocs", "cancel_allocs_per_task", "memstream_allocs", "cancel_baseline_ns_per_task",
                  "memory_heap_bytes_per_task", "cancel_ns_per_task"):
            if data.get(k) is not None:
                extras[runtime].setdefault(k, []).append(data[k])
    table = {}
    for runtime, wls in out.items():
        table[runtime] = {wl: dict(cell, median=statistics.median(cell["values"])) for wl, cell in wls.items()}
    return table, {r: {k: statistics.median(v) for k, v in e.items()} for r, e in extras.items()}


def fmt_value(v, unit):
    if v is None:
        return "n/a"
    if unit == "B":
        return f"{v:,.0f}"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def fmt_n(n):
    if n is None:
        return "?"
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def ratio(table, peer, wl):
    c = table.get("corio", {}).get(wl)
    p = table.get(peer, {}).get(wl)
    if not c or not p or c["median"] <= 0 or p["median"] <= 0:
        return None
    return p["median"] / c["median"]


def markdown(table, extras, machine):
    runtimes = [(k, h) for k, h in RUNTIMES if k in table]
    peers = [p for p in PEERS if p in table]
    lines = []
    lines.append("# corio against its peers")
    lines.append("")
    if machine:
        lines.append(machine)
        lines.append("")
    lines.append("ns per operation (memory: bytes per task), median of every run; lower is better. "
                 "`×peer` = peer ÷ corio: how many times less corio takes. N per cell in parentheses "
                 "where it differs from corio's.")
    lines.append("")
    short = {"asio": "×Asio", "node": "×Node.js", "asyncio": "×asyncio", "uvloop": "×uvloop"}
    cols = ["workload", "unit"] + [h for _, h in runtimes] + [short[p] for p in peers]
    lines.append("| " + " | ".join(cols) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(cols) - 2)) + "|")
    corio_n = {wl: table.get("corio", {}).get(wl, {}).get("n") for wl, *_ in WORKLOADS}
    for wl, _, _, unit, _ in WORKLOADS:
        row = [wl, "ns/op" if unit == "ns" else "B/task"]
        for rt, _ in runtimes:
            cell = table[rt].get(wl)
            if not cell:
                row.append("n/a")
                continue
            text = fmt_value(cell["median"], unit)
            notes = []
            if cell["n"] is not None and cell["n"] != corio_n[wl]:
                notes.append(f"N={fmt_n(cell['n'])}")
            if cell.get("note"):
                notes.append(cell["note"])
            if notes:
                text += f" ({', '.join(notes)})"
            row.append(text)
        for p in peers:
            r = ratio(table, p, wl)
            row.append("n/a" if r is None else (f"{r:.1f}×" if r < 100 else f"{r:.0f}×"))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("What one operation is:")
    lines.append("")
    for wl, _, n_key, _, what in WORKLOADS:
        lines.append(f"- **{wl}**: {what}" + (f"; corio N={fmt_n(corio_n[wl])}" if corio_n[wl] else ""))
    lines.append("")

    if "corio" in table:
        lines.append("## Goals of issue 6 (corio native)")
        lines.append("")
        lines.append("| goal | measured | met |")
        lines.append("|---|---:|:---:|")
        for wl, _, _, unit, _ in WORKLOADS:
            cell = table["corio"].get(wl)
            if not cell or wl not in GOALS:
                continue
            u = "ns/op" if unit == "ns" else "B/task"
            met = cell["median"] <= GOALS[wl]
            lines.append(f"| {wl} ≤ {GOALS[wl]} {u} | {fmt_value(cell['median'], unit)} | {'yes' if met else '**no**'} |")
        for peer, wl, need, label in RATIO_GOALS:
            wls = [wl] if wl else [w for w, *_ in WORKLOADS]
            for w in wls:
                r = ratio(table, peer, w)
                if r is None:
                    continue
                text = label or f"{w}: ≥ {need}× {short[peer][1:]}"
                lines.append(f"| {text} | {r:.1f}× | {'yes' if r >= need else '**no**'} |")
        lines.append("")

    # What cancelling costs beyond the spawn: the cancel figure minus the same batches with a
    # sleep(0) (post, for Asio) that completes instead of being cancelled.
    costs = []
    for rt, h in [(k, h) for k, h in RUNTIMES if k in table]:
        cell = table[rt].get("cancel")
        base = extras.get(rt, {}).get("cancel_baseline_ns_per_task")
        if cell and base is not None:
            costs.append(f"| {h} | {fmt_value(cell['median'], 'ns')} | {fmt_value(base, 'ns')} | "
                         f"{fmt_value(cell['median'] - base, 'ns')} |")
    if costs:
        lines.append("## Cancellation cost beyond spawn")
        lines.append("")
        lines.append("cancel minus its baseline: the same batches of tasks, each completing one yield "
                     "(corio `sleep(0s)`, Asio `post`) and awaited, none cancelled.")
        lines.append("")
        lines.append("| runtime | cancel ns/task | baseline ns/task (spawn + yield + await) | cancellation ns/task |")
        lines.append("|---|---:|---:|---:|")
        lines.extend(costs)
        lines.append("")

    if extras:
        lines.append("## Also measured")
        lines.append("")
        lines.append("| runtime | allocs/spawn | allocs/yield | allocs/pingpong | allocs/lock acquire | allocs/timer "
                     "| allocs/cancelled task | allocs/memstream round trip | counted heap B/sleeping task "
                     "| memory phase: cancel ns/sleeping task |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for rt, h in runtimes:
            e = extras.get(rt, {})
            if not e:
                continue

            def g(k, spec):
                return format(e[k], spec) if k in e else "–"

            lines.append(f"| {h} | {g('spawn_allocs_per_task', '.2f')} | {g('yield_allocs', '.3f')} | "
                         f"{g('pingpong_allocs', '.3f')} | {g('lock_allocs_per_acquire', '.3f')} | "
                         f"{g('timer_allocs', '.2f')} | {g('cancel_allocs_per_task', '.2f')} | "
                         f"{g('memstream_allocs', '.2f')} | "
                         f"{g('memory_heap_bytes_per_task', '.0f')} | "
                         f"{g('cancel_ns_per_task', '.0f')} |")
        lines.append("")
    lines.append("Notes: Asio has no lock or queue, so its pingpong and lock are n/a rather than invented. "
                 "Node has neither either: its queue and lock are the small promise-based ones in "
                 "bench/peers/node_bench.js. The Python runtimes run smaller N where noted (the per-op cost "
                 "of a runtime grows, if anything, with N, so this favours them). timers = (elapsed − 99 ms) / N "
                 "for N tasks sleeping i % 100 ms. cancel counts the whole of create + start + cancel + await "
                 "per task: the sleeper sees the cancellation as an exception thrown from its sleep (corio "
                 "CancelledError, Asio system_error(operation_aborted) after timer.cancel(), Node the rejection "
                 "that goes with clearTimeout, Python CancelledError) and its awaiter catches it. Memory is the growth of peak RSS (VmHWM after "
                 "/proc/self/clear_refs) while 1M tasks are created and reach their sleep, in a fresh process; "
                 "'heap' marks a runtime without /proc (wasm) where the counted malloc bytes stand in. "
                 "corio's allocs/… count calls of the global operator new only: task frames and task "
                 "objects come from corio's own per-thread pool and do not show there (its blocks do "
                 "count in the counted heap).")
    lines.append("")
    return "\n".join(lines)


def chart(table, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runtimes = [(k, h) for k, h in RUNTIMES if k in table]
    timed = [w for w, *_ in WORKLOADS if w != "memory"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [5, 1.4]})
    colours = ["#1f77b4", "#9ecae1", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    width = 0.8 / max(1, len(runtimes))
    for ax, wls, ylabel in ((ax1, timed, "ns per operation (log)"), (ax2, ["memory"], "bytes per sleeping task (log)")):
        for i, (rt, h) in enumerate(runtimes):
            xs, ys = [], []
            for j, wl in enumerate(wls):
                cell = table[rt].get(wl)
                if cell and cell["median"] > 0:
                    xs.append(j + (i - (len(runtimes) - 1) / 2) * width)
                    ys.append(cell["median"])
            ax.bar(xs, ys, width, label=h, color=colours[RUNTIMES.index((rt, h)) % len(colours)])
            for x, y in zip(xs, ys):
                ax.text(x, y * 1.08, f"{y:.0f}" if y >= 10 else f"{y:.1f}", ha="center", va="bottom",
                        fontsize=6.5, rotation=90)
        # n/a where a runtime has no figure (Asio has no lock or queue)
        for i, (rt, h) in enumerate(runtimes):
            for j, wl in enumerate(wls):
                cell = table[rt].get(wl)
                if not (cell and cell["median"] > 0):
                    ax.text(j + (i - (len(runtimes) - 1) / 2) * width, 0.02, "n/a", ha="center", va="bottom",
                            fontsize=6.5, rotation=90, transform=ax.get_xaxis_transform(), color="0.4")
        ax.set_yscale("log")
        present = [table[rt][wl]["median"] for rt, _ in runtimes for wl in wls
                   if table[rt].get(wl) and table[rt][wl]["median"] > 0]
        if present:
            ax.set_ylim(min(present) / 3, max(present) * 4)  # room for the bars' feet and labels
        ax.set_xticks(range(len(wls)))
        ax.set_xticklabels(wls)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", which="major", alpha=0.3)
    ax1.legend(fontsize=8, loc="upper left", ncol=2)
    ax1.set_title("time per operation: lower is better")
    ax2.set_title("memory")
    fig.suptitle("corio against its peers (median of runs)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw_dir")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--machine", default="", help="a line describing the machine and the run")
    ap.add_argument("--no-chart", action="store_true")
    o = ap.parse_args()
    table, extras = load(o.raw_dir)
    if not table:
        sys.exit(f"report.py: no results in {o.raw_dir}")
    md = markdown(table, extras, o.machine)
    os.makedirs(o.out, exist_ok=True)
    with open(os.path.join(o.out, "results.md"), "w") as f:
        f.write(md)
    if not o.no_chart:
        try:
            chart(table, os.path.join(o.out, "chart.png"))
        except ImportError as e:
            print(f"report.py: no chart ({e}); install python3-matplotlib", file=sys.stderr)
    print(md)


if __name__ == "__main__":
    main()
