#!/usr/bin/env python3
"""Checks one corio example against the asyncio program it mirrors.

Runs the C++ program and the Python script concurrently, requires both to exit 0 and to
write byte-identical stdout, and requires the C++ wall time to lie in [min, max] seconds
(the lower bound proves the sleeps really happened, the upper one that they overlapped).
`--python -` skips the Python side; `--expected-file` compares against a file instead.
`--cpp-wrapper "node --no-experimental-fetch"` runs a wasm build through a launcher.
`--stderr-regex R` (repeatable) requires the C++ program's stderr to match R somewhere
(Python's re.search, multiline): how the debug example's diagnostics are checked.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import subprocess
import sys
import time


def run(argv, env=None, timeout=None):
    """Returns (exit code, or a string saying why there is none; stdout; stderr; wall seconds)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return f"timed out after {timeout} s", e.stdout or b"", e.stderr or b"", time.perf_counter() - start
    except OSError as e:
        return "could not start", b"", str(e).encode(), time.perf_counter() - start
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def show(label, rc, err):
    if isinstance(rc, str):
        status = rc
    elif rc < 0:
        status = f"killed by signal {-rc}"
    else:
        status = f"exit code {rc}"
    print(f"FAIL: {label}: {status}")
    if err:
        print(f"--- {label} stderr ---")
        print(err.decode("utf-8", "replace").rstrip())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpp", required=True, help="the C++ example program")
    ap.add_argument("--cpp-wrapper", default="", help="a launcher prefix, split like a shell command")
    ap.add_argument("--python", help="the asyncio script whose stdout must match, or - to skip")
    ap.add_argument("--python-exe", default="python3", help="the interpreter for --python")
    ap.add_argument("--expected-file", help="a file holding the expected stdout (instead of --python)")
    ap.add_argument("--min-seconds", type=float, default=0.0)
    ap.add_argument("--max-seconds", type=float, default=float("inf"))
    ap.add_argument("--timeout", type=float, default=50.0, help="kill either program after this many seconds")
    ap.add_argument("--stderr-regex", action="append", default=[], help="a pattern the C++ stderr must contain")
    args = ap.parse_args()
    # The programs print UTF-8; echo it unchanged whatever the runner's locale.
    sys.stdout.reconfigure(encoding="utf-8", errors="replace")

    if args.python in (None, "-"):
        args.python = None
    if args.python and args.expected_file:
        ap.error("give either --python or --expected-file, not both")

    # An absolute path, so a bare name is never looked up in PATH.
    cpp = os.path.abspath(args.cpp) if os.path.exists(args.cpp) else args.cpp
    cpp_argv = shlex.split(args.cpp_wrapper) + [cpp]
    # Python writes UTF-8 whatever the locale of the test runner.
    py_env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONUTF8="1")

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        cpp_job = pool.submit(run, cpp_argv, None, args.timeout)
        py_job = pool.submit(run, shlex.split(args.python_exe) + [args.python], py_env, args.timeout) if args.python else None
        cpp_rc, cpp_out, cpp_err, cpp_time = cpp_job.result()
        py = py_job.result() if py_job else None

    ok = True
    if cpp_rc != 0:
        show(" ".join(cpp_argv), cpp_rc, cpp_err)
        ok = False

    expected, expected_label = None, None
    if py is not None:
        py_rc, py_out, py_err, py_time = py
        if py_rc != 0:
            show(f"{args.python_exe} {args.python}", py_rc, py_err)
            ok = False
        expected, expected_label = py_out, f"python: {args.python} ({py_time:.2f} s)"
    elif args.expected_file:
        with open(args.expected_file, "rb") as f:
            expected, expected_label = f.read(), f"expected: {args.expected_file}"

    if expected is not None and cpp_out != expected:
        ok = False
        print("FAIL: stdout differs")
        diff = difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(keepends=True),
            cpp_out.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=expected_label, tofile=f"c++: {args.cpp}")
        sys.stdout.writelines(diff)
        print(f"\nexpected bytes: {expected!r}\nc++ bytes:      {cpp_out!r}")

    cpp_err_text = cpp_err.decode("utf-8", "replace")
    for pattern in args.stderr_regex:
        if not re.search(pattern, cpp_err_text, re.MULTILINE):
            ok = False
            print(f"FAIL: the C++ stderr has nothing matching {pattern!r}")
    if args.stderr_regex and not ok:
        print("--- C++ stderr ---")
        print(cpp_err_text.rstrip())

    if not args.min_seconds <= cpp_time <= args.max_seconds:
        ok = False
        print(f"FAIL: the C++ program took {cpp_time:.3f} s, outside [{args.min_seconds}, {args.max_seconds}]")

    print(f"{'ok' if ok else 'FAILED'}: C++ wall time {cpp_time:.3f} s, bounds [{args.min_seconds}, {args.max_seconds}]")
    print("--- C++ stdout ---")
    sys.stdout.write(cpp_out.decode("utf-8", "replace"))
    sys.stdout.flush()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
