import asyncio
import sys

async def tcp_echo_client(message, port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    print(f"Send: {message}")
    writer.write((message + "\n").encode())
    await writer.drain()

    data = await reader.readline()
    print(f"Received: {data.decode().split(chr(10))[0]}")

    print("Close the connection")
    writer.close()
    await writer.wait_closed()

asyncio.run(tcp_echo_client("Hello World!", int(sys.argv[1]) if len(sys.argv) > 1 else 8888))
