import asyncio
import sys

async def handle_echo(reader, writer):
    data = await reader.read(100)
    message = data.decode().split("\n")[0]
    addr = writer.get_extra_info("peername")
    print(f"Received {message} from {addr[0]}")

    print(f"Send: {message}")
    writer.write(data)
    await writer.drain()

    print("Close the connection")
    writer.close()
    await writer.wait_closed()

async def main(port, clients):
    served = 0
    done = asyncio.Event()

    async def counted(reader, writer):
        nonlocal served
        await handle_echo(reader, writer)
        served += 1
        if served == clients:
            done.set()

    server = await asyncio.start_server(counted, "127.0.0.1", port)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"Serving on {host}:{port}", flush=True)
    if clients == 0:
        async with server:
            await server.serve_forever()
    else:
        await done.wait()
        server.close()
        await server.wait_closed()

asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8888,
                 int(sys.argv[2]) if len(sys.argv) > 2 else 0))
