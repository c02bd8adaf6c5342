#!/usr/bin/env python3
"""Runs a wasm program under node and requires a given exit status (and stdout text)."""
import subprocess
import sys

program, mode, expected, text = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
proc = subprocess.run(["node", "--no-experimental-fetch", program, mode], capture_output=True, timeout=60)
ok = (proc.returncode != 0) if expected == "nonzero" else (proc.returncode == int(expected))
ok = ok and text.encode() in proc.stdout
print(f"{'ok' if ok else 'FAIL'}: {mode}: exit status {proc.returncode}, expected {expected}")
print("--- stdout ---\n" + proc.stdout.decode(errors="replace"))
print("--- stderr ---\n" + proc.stderr.decode(errors="replace")[-2000:])
sys.exit(0 if ok else 1)
