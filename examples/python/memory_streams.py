import asyncio
import socket

async def greeting_service(reader, writer):
    while True:
        name = await reader.readline()
        if not name:
            break
        await asyncio.sleep(2)
        writer.write(b"Hello, " + name)
        await writer.drain()
    writer.close()

async def main():
    loop = asyncio.get_running_loop()
    start = loop.time()
    a, b = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=a)
    server_reader, server_writer = await asyncio.open_connection(sock=b)
    service = asyncio.create_task(greeting_service(server_reader, server_writer))

    writer.write(b"Alice\n")
    reply = await asyncio.wait_for(reader.readline(), 3)
    print(f"{reply.decode()[:-1]} at {loop.time() - start:.1f} s")

    writer.write(b"Bob\n")
    try:
        await asyncio.wait_for(reader.readline(), 1)
    except TimeoutError:
        print(f"no answer within 1 s at {loop.time() - start:.1f} s")
    reply = await reader.readline()
    print(f"{reply.decode()[:-1]} at {loop.time() - start:.1f} s")

    writer.close()
    await service
    print(f"service done at {loop.time() - start:.1f} s")

asyncio.run(main())
