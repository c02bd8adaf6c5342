#!/usr/bin/env python3
"""Checks the echo_server / echo_client examples against their asyncio originals.

Each server (C++, then Python) is started on a free port of 127.0.0.1 for two clients; the
C++ client and the Python client each talk to it. Every client must print the same lines,
and both servers the same lines (the 'Serving on' line aside, which names the port).
"""

import argparse
import os
import shlex
import subprocess
import sys

EXPECTED_CLIENT = "Send: Hello World!\nReceived: Hello World!\nClose the connection\n"
EXPECTED_SERVER = "Received Hello World! from 127.0.0.1\nSend: Hello World!\nClose the connection\n" * 2


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--server", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--python-dir", required=True)
    ap.add_argument("--python-exe", default="python3")
    ap.add_argument("--cpp-wrapper", default="")
    args = ap.parse_args()
    wrap = shlex.split(args.cpp_wrapper)
    py = shlex.split(args.python_exe)
    servers = {"C++": wrap + [os.path.abspath(args.server)], "Python": py + [os.path.join(args.python_dir, "echo_server.py")]}
    clients = {"C++": wrap + [os.path.abspath(args.client)], "Python": py + [os.path.join(args.python_dir, "echo_client.py")]}
    ok = True
    for sname, sargv in servers.items():
        srv = subprocess.Popen(sargv + ["0", "2"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        try:
            first = srv.stdout.readline()
            if not first.startswith("Serving on 127.0.0.1:"):
                print(f"FAIL: {sname} server said {first!r}")
                return 1
            port = first.rsplit(":", 1)[1].strip()
            for cname, cargv in clients.items():
                out = subprocess.run(cargv + [port], capture_output=True, text=True, timeout=20)
                if out.returncode != 0 or out.stdout != EXPECTED_CLIENT:
                    ok = False
                    print(f"FAIL: {cname} client against the {sname} server: exit {out.returncode}\n{out.stdout}{out.stderr}")
                else:
                    print(f"ok: {cname} client against the {sname} server")
            rest, _ = srv.communicate(timeout=20)
        finally:
            if srv.poll() is None:
                srv.kill()
        if srv.returncode != 0 or rest != EXPECTED_SERVER:
            ok = False
            print(f"FAIL: the {sname} server (exit {srv.returncode}) printed:\n{rest}")
        else:
            print(f"ok: the {sname} server's output")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
