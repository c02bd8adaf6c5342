#!/usr/bin/env python3
"""Runs every example natively and as wasm under node, at the same time, and requires the
same exit status and byte-identical stdout from both: the same source behaves the same on
libuv and on the browser backend.

    compare_examples.py NATIVE_EXAMPLES_DIR WASM_EXAMPLES_DIR [name ...]

With no names, every examples/*.cpp is compared but the ones that need sockets, which a
page has not (see SOCKET_EXAMPLES). Prints one line per example
and closes with "N passed, M failed"; exits 1 if any failed.
"""

import concurrent.futures
import difflib
import os
import subprocess
import sys
import time

NODE = ["node", "--no-experimental-fetch"]
# They start servers: examples/check_echo.py and the example-aiohttp_fetch / example-crawler
# tests run them natively; the HTTP client's wasm side is tested through the npm package
# (wasm/npm/test/http.test.mjs, examples/node/aiohttp_fetch.mjs).
SOCKET_EXAMPLES = {"echo_server", "echo_client", "aiohttp_fetch", "crawler"}
# Modules for the npm package, not programs (scripts/test_node.sh loads them).
LIBRARY_EXAMPLES = {"user_module"}
TIMEOUT = 60


def run(argv):
    start = time.perf_counter()
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - start
    except subprocess.TimeoutExpired as e:
        return f"timed out after {TIMEOUT} s", e.stdout or b"", e.stderr or b"", time.perf_counter() - start


def compare(name, native_dir, wasm_dir):
    native = os.path.join(native_dir, name)
    wasm = os.path.join(wasm_dir, name + ".js")
    for path in (native, wasm):
        if not os.path.exists(path):
            return False, f"FAIL {name}: {path} does not exist (build both trees first)"
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        n_job = pool.submit(run, [native])
        w_job = pool.submit(run, NODE + [wasm])
        n_rc, n_out, n_err, n_time = n_job.result()
        w_rc, w_out, w_err, w_time = w_job.result()
    problems = []
    if n_rc != w_rc:
        problems.append(f"exit status native {n_rc}, wasm {w_rc}")
    if n_out != w_out:
        diff = difflib.unified_diff(n_out.decode("utf-8", "replace").splitlines(keepends=True),
                                    w_out.decode("utf-8", "replace").splitlines(keepends=True),
                                    fromfile=f"native {native}", tofile=f"node {wasm}")
        problems.append("stdout differs:\n" + "".join(diff))
    if n_rc != 0:
        problems.append(f"native exit status {n_rc}:\n{n_err.decode('utf-8', 'replace')}")
    if w_rc != 0:
        problems.append(f"wasm exit status {w_rc}:\n{w_err.decode('utf-8', 'replace')[-3000:]}")
    timing = f"native {n_time:.2f} s, node {w_time:.2f} s, {len(n_out)} bytes of stdout"
    if problems:
        return False, f"FAIL {name} ({timing})\n  " + "\n  ".join(problems)
    return True, f"ok   {name} ({timing})"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    native_dir, wasm_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    if not names:
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")
        names = sorted(f[:-4] for f in os.listdir(src) if f.endswith(".cpp") and f[:-4] not in SOCKET_EXAMPLES | LIBRARY_EXAMPLES)
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")
    # Every pair at once: the examples mostly sleep, and the longest (lock) takes 10 s.
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(lambda n: compare(n, native_dir, wasm_dir), names))
    for _, line in results:
        print(line)
    passed = sum(ok for ok, _ in results)
    print(f"examples: {passed} passed, {len(results) - passed} failed")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
