#!/usr/bin/env python3
"""Where a Node CPU profile's time goes, by kind: the table bench/js/run (BENCH_JS_PROFILE=1)
puts into bench/results/js.md.

    python3 bench/js/profile.py PROFILE.cpuprofile [--per-call-us US] [--top N]
    perf report --no-children --sort dso,sym --stdio -g none -i perf.data > report.txt
    python3 bench/js/profile.py --perf report.txt [--per-call-us US] [--top N]

perf (`node --perf-basic-prof`) sees all of the process: V8's builtins and runtime, Node's C++,
the kernel. `--cpu-prof` sees only JS and wasm frames and books the rest as "(program)" or
"(idle)" — 30% to 60% "(idle)" for the same busy loop from one run to the next — so prefer perf
where it is allowed.

Self time of every sample, in categories: the libuv loop waiting between macrotask hops
("idle"), Emscripten's exception emulation (the invoke_* trampolines that -fexceptions puts
around every call that may throw from a frame with destructors: wasm → JS → wasm), embind's
emscripten::val glue, C++ in wasm, the keep-alive interval, clocks, GC, and the rest. With
--per-call-us the shares are also given in µs of one call. The wasm module must carry names
(--profiling-funcs) for the C++ rows to be named.
"""
import argparse
import collections
import json
import re

EMVAL_JS = re.compile(
    r"^(__emval|_emval|emval|methodCaller|toHandle|requireRegisteredType|getStringOrSymbol|simpleReadValue|readLatin1|"
    r"UTF8ToString|UTF8ArrayToString|stringToUTF8|lengthBytesUTF8|craftInvokerFunction|toWireType|fromWireType|"
    r"__embind|embind|Emval)"
)
TRAMPOLINE = re.compile(
    r"^(invoke_|dynCall_|legalstub\$dynCall|wasm-to-js|js-to-wasm|GenericJSToWasmWrapper|stackSave|stackRestore|_setThrew|"
    r"setThrew|getTempRet0|_getTempRet0|setTempRet0|_setTempRet0)"
)
TIMERS = {"insert", "unenroll", "setInterval", "clearInterval", "Timeout", "initAsyncResource", "toggleTimerRef", "keepAlive"}
HOPS = {"processImmediate", "setImmediate", "Immediate", "p.run", "p.soon", "hop", "corio_js_pump_soon_from_bridge",
        "corio_js_pump_soon", "getLibuvNow", "processTimers", "listOnTimeout"}
CLOCKS = {"_clock_gettime", "hrtime", "_emscripten_get_now", "now"}


def category(cf):
    f, url = cf["functionName"], cf["url"]
    if f == "(idle)":
        return "libuv loop waiting between macrotask hops (idle: epoll_wait)"
    if f == "(garbage collector)":
        return "garbage collector"
    if f == "(program)":
        return "V8/Node native code, unattributed ((program))"
    if TRAMPOLINE.match(f):
        return "exception emulation: invoke_* trampolines wasm → JS → wasm (-fexceptions)"
    if f in CLOCKS or "steady_clock" in f:
        return "clocks (clock_gettime → performance.now / hrtime)"
    if f in TIMERS and (url.endswith("timers") or url.endswith(".js") or url == ""):
        return "keep-alive setInterval/clearInterval, toggled per call"
    if f in HOPS:
        return "pump scheduling (setImmediate, the pump's JS half)"
    if url.startswith("wasm://"):
        return "C++ in wasm (corio, the bridge, libc++, malloc)"
    if EMVAL_JS.match(f) or (url == "" and f.startswith("methodCaller")):
        return "embind: emscripten::val's JS side (handles, method callers, conversions)"
    if url.endswith("index.mjs"):
        return "index.mjs's wrapper (argument checks, slice)"
    if url.endswith(".mjs"):
        return "the benchmark loop itself"
    if url.endswith(".js") and "node:" not in url and not url.startswith("node:"):
        return "other Emscripten JS glue"
    return "other (promises, V8 builtins, Node internals)"


def perf_category(dso, sym):
    """The kind of a `perf report` row (self time), by its DSO and symbol."""
    name = sym[3:] if sym.startswith(("JS:", "Eval:")) else sym
    name = name.lstrip("*~")
    if dso.startswith("[kernel") or sym in ("epoll_pwait", "epoll_wait", "syscall"):
        return "kernel (epoll_pwait of each loop iteration, clock, scheduling)"
    if sym.startswith("__vdso") or name.startswith(("_clock_gettime", "hrtime", "_emscripten_get_now")) or "steady_clock" in name:
        return "clocks (clock_gettime → process.hrtime, steady_clock::now)"
    if TRAMPOLINE.match(name) or sym.startswith("Stub:js-to-wasm") or sym.startswith("Stub:wasm-to-js") or \
            name.startswith(("___cxa_", "__cxa_")) or "cxa_find_matching_catch" in name:
        return "exception emulation: invoke_* trampolines wasm → JS → wasm (-fexceptions)"
    if EMVAL_JS.match(name) or name.startswith(("methodCaller", "readLatin1String", "getTypeName")):
        return "embind: emscripten::val's JS side (handles, method callers, conversions)"
    if "StringTable" in sym or "StringAdd" in sym or "String::MakeThin" in sym or "StringToIndex" in sym or \
            "halfsiphash" in sym or "InternalizeString" in sym or "StringHasher" in sym:
        return "V8 strings: a C string read into a JS string and internalised per use (embind's val[\"name\"], call(\"name\"), \"parameter \" + i)"
    if "Scavenge" in sym or "Heap::" in sym or "MarkCompact" in sym or "GCTracer" in sym or "Sweeper" in sym or \
            "RootScavengeVisitor" in sym or "IterateObjectCache" in sym or "Evacuat" in sym:
        return "garbage collector"
    if "compiler::" in sym or sym.startswith("Builtins_CompileLazy") or "Turbofan" in sym or "Maglev" in sym or "baseline::" in sym:
        return "V8 compiling (JIT)"
    if dso.startswith("[JIT]") and ("node:internal/timers" in sym or "node:timers" in sym):
        return "Node timers and immediates (setImmediate hops, the keep-alive setInterval)"
    if dso.startswith("[JIT]") and re.search(r"-\d+-(turbofan|liftoff)$", sym) and not sym.startswith("JS:wasm-to-js"):
        return "C++ in wasm (corio, the bridge, libc++, malloc)"
    if dso.startswith("[JIT]") and ("corio" in sym and ".js:" in sym):
        return "other Emscripten JS glue (the pump's and bridge's JS)"
    if dso.startswith("[JIT]") and (".mjs" in sym or sym.startswith("Eval:") or sym.startswith("JS:~") or sym.startswith("JS:*")):
        return "JS: the benchmark loop, index.mjs, Node's own JS"
    if sym.startswith("node::") or sym.startswith("uv_") or sym.startswith("uv__") or dso.startswith("libuv"):
        return "Node's C++ and libuv: the loop's phases, MakeCallback, async hooks per immediate"
    if "Promise" in sym or "Microtask" in sym or "AsyncFunction" in sym:
        return "V8: promises and microtasks"
    if dso == "node" or dso.startswith("libc") or dso.startswith("libstdc"):
        return "V8 builtins and runtime (calls, property access, ICs), libc"
    return "other: " + dso


def read_perf(path):
    rows = []
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r"\s*([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[[.k]\]\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    return rows


def main_perf(a):
    by_cat = collections.Counter()
    by_cpp = collections.Counter()
    total = 0.0
    for pct, dso, sym in read_perf(a.profile):
        c = perf_category(dso, sym)
        by_cat[c] += pct
        total += pct
        if c.startswith("C++"):
            by_cpp[re.sub(r"^JS:|-\d+-(turbofan|liftoff)$", "", sym)] += pct
    print("| where (perf, self time) | share |" + (" µs per call |" if a.per_call_us else ""))
    print("|---|---:|" + ("---:|" if a.per_call_us else ""))
    for c, t in by_cat.most_common():
        row = f"| {c} | {100 * t / total:.1f}% |"
        if a.per_call_us:
            row += f" {t / total * a.per_call_us:.2f} |"
        print(row)
    if a.top:
        print()
        print("The heaviest C++ functions (self time, share of all samples):")
        print()
        for f, t in by_cpp.most_common(a.top):
            name = f if len(f) <= 110 else f[:107] + "..."
            print(f"- {100 * t / total:.1f}% `{name}`")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("profile")
    ap.add_argument("--perf", action="store_true", help="PROFILE is `perf report --stdio` text (dso,sym)")
    ap.add_argument("--per-call-us", type=float, default=None)
    ap.add_argument("--top", type=int, default=12, help="also list the N heaviest C++ functions (self time)")
    a = ap.parse_args()
    if a.perf:
        return main_perf(a)
    p = json.load(open(a.profile))
    nodes = {n["id"]: n for n in p["nodes"]}
    by_cat = collections.Counter()
    by_cpp = collections.Counter()
    total = 0
    deltas = p["timeDeltas"][1:] + [0]
    for sample, dt in zip(p["samples"], deltas):
        cf = nodes[sample]["callFrame"]
        total += dt
        c = category(cf)
        by_cat[c] += dt
        if c.startswith("C++"):
            by_cpp[cf["functionName"]] += dt
    print("| where (self time) | share |" + (" µs per call |" if a.per_call_us else ""))
    print("|---|---:|" + ("---:|" if a.per_call_us else ""))
    for c, t in by_cat.most_common():
        share = t / total
        row = f"| {c} | {100 * share:.1f}% |"
        if a.per_call_us:
            row += f" {share * a.per_call_us:.2f} |"
        print(row)
    if a.top:
        print()
        print(f"The heaviest C++ functions (self time, share of all samples):")
        print()
        for f, t in by_cpp.most_common(a.top):
            name = f if len(f) <= 110 else f[:107] + "..."
            print(f"- {100 * t / total:.1f}% `{name}`")


if __name__ == "__main__":
    main()
