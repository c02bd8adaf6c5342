"""Python asyncio peers for corio's stream tests: the asyncio documentation's echo pair.

  asyncio_echo.py server           prints "PORT <n>" once listening on 127.0.0.1, then echoes
                                   each line back until its stdin closes
  asyncio_echo.py client PORT N    sends N lines to 127.0.0.1:PORT, prints each reply
"""
import asyncio
import sys


async def handle(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        writer.write(line)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def server():
    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("PORT", srv.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    # Serve until the test closes our stdin (or dies).
    await loop.run_in_executor(None, sys.stdin.read)
    srv.close()
    await srv.wait_closed()


async def client(port, n):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(n):
        writer.write(f"line {i} from python\n".encode())
        await writer.drain()
        reply = await reader.readline()
        print(reply.decode().rstrip("\n"), flush=True)
    writer.close()
    await writer.wait_closed()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server())
    else:
        asyncio.run(client(int(sys.argv[2]), int(sys.argv[3])))
