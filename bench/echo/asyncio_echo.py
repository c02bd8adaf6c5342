#!/usr/bin/python3
"""The echo benchmark's Python servers: asyncio's streams (start_server, read/write/drain),
on the default loop or, with --uvloop, on uvloop. Serves 127.0.0.1:PORT until killed.

    asyncio_echo.py PORT [--uvloop]
"""
import asyncio
import socket
import sys


async def handle_echo(reader, writer):
    sock = writer.get_extra_info("socket")
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # asyncio and uvloop set it too
    except (OSError, AttributeError):
        pass
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    writer.close()


async def main(port):
    server = await asyncio.start_server(handle_echo, "127.0.0.1", port)
    print(f"asyncio_echo: serving on 127.0.0.1:{port} ({type(asyncio.get_running_loop()).__module__})", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit("usage: asyncio_echo.py PORT [--uvloop]")
    if "--uvloop" in sys.argv:
        import uvloop
        uvloop.install()
    asyncio.run(main(int(args[0])))
