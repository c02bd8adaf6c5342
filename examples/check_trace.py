#!/usr/bin/env python3
"""Checks the trace example: runs it with a temporary trace path (beside its asyncio twin,
whose stdout it must match byte for byte), then reads the Chrome trace-event file it wrote
and requires what Perfetto needs to show the run: a named track per task, its steps as
complete slices in order, creation/cancellation/completion instants, and timer flows whose
two ends bind to slices.

    check_trace.py --cpp build/examples/trace --python examples/python/trace.py
"""

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpp", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--python-exe", default="python3")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        cpp = subprocess.run([os.path.abspath(args.cpp), path], capture_output=True, timeout=50)
        py = subprocess.run([args.python_exe, args.python], capture_output=True, timeout=50,
                            env=dict(os.environ, PYTHONIOENCODING="utf-8"))
        if cpp.returncode != 0:
            fail(f"{args.cpp} exited {cpp.returncode}\n{cpp.stderr.decode(errors='replace')}")
        if py.returncode != 0:
            fail(f"{args.python} exited {py.returncode}\n{py.stderr.decode(errors='replace')}")
        if cpp.stdout != py.stdout:
            fail(f"stdout differs\nexpected {py.stdout!r}\nc++      {cpp.stdout!r}")
        with open(path, encoding="utf-8") as f:
            trace = json.load(f)

    if not isinstance(trace, list):
        fail("the trace is not a JSON array of events")
    names = {}
    slices = collections.defaultdict(list)
    instants = collections.defaultdict(list)
    flows = collections.defaultdict(dict)
    for e in trace:
        ph, tid = e["ph"], e.get("tid")
        if ph == "M" and e["name"] == "thread_name":
            names[tid] = e["args"]["name"]
        elif ph == "X":
            slices[tid].append(e)
        elif ph == "i":
            instants[tid].append(e)
        elif ph in "sf":
            flows[e["id"]][ph] = e
    tracks = {name: tid for tid, name in names.items()}
    for name in ("callbacks", "Task-1", "producer", "consumer", "dawdler"):
        if name not in tracks:
            fail(f"no track named {name!r} (tracks: {sorted(tracks)})")

    for name in ("Task-1", "producer", "consumer", "dawdler"):
        tid = tracks[name]
        steps = slices[tid]
        if not steps:
            fail(f"{name}: no step slices")
        for i, s in enumerate(steps):
            if s["args"]["step"] != i + 1 or s["args"]["task"] != name:
                fail(f"{name}: slice {i} is {s}")
            if i and s["ts"] < steps[i - 1]["ts"] + steps[i - 1]["dur"]:
                fail(f"{name}: step {i + 1} overlaps the one before")
        kinds = [e["name"] for e in instants[tid]]
        if kinds[0] != "created" or kinds[-1] != "done":
            fail(f"{name}: instants {kinds}")
    dawdler_instants = instants[tracks["dawdler"]]
    if [e["name"] for e in dawdler_instants] != ["created", "cancel", "done"] or \
            dawdler_instants[-1]["args"]["state"] != "cancelled":
        fail(f"dawdler: instants {dawdler_instants}")
    if len(slices[tracks["producer"]]) != 4:
        fail(f"producer: {len(slices[tracks['producer']])} steps, expected 4 (start, then one per sleep)")

    starts = {(s["tid"], s["ts"]) for tid in slices for s in slices[tid]}
    into_producer = 0
    for fid, ends in flows.items():
        if "f" not in ends:
            continue  # a timer cancelled before it fired
        if "s" not in ends:
            fail(f"flow {fid} ends but never starts")
        s, f = ends["s"], ends["f"]
        if f.get("bp") != "e" or (s["tid"], s["ts"]) not in starts or (f["tid"], f["ts"]) not in starts:
            fail(f"flow {fid} is not bound to slices: {s} -> {f}")
        if f["tid"] == tracks["producer"] and s["tid"] == tracks["producer"]:
            into_producer += 1
    if into_producer != 3:
        fail(f"{into_producer} timer flows wake the producer, expected 3 (one per sleep)")

    print(f"ok: {len(trace)} events, tracks {sorted(tracks)}")
    sys.stdout.write(cpp.stdout.decode("utf-8", "replace"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
