# asyncio has no tracer: this is the same program without one, for the same stdout.
import asyncio

async def producer(q):
    for i in range(1, 4):
        await asyncio.sleep(0.02)
        await q.put(i)

async def consumer(q):
    total = 0
    for _ in range(3):
        total += await q.get()
    return total

async def dawdler():
    await asyncio.sleep(10)

async def main():
    q = asyncio.Queue()
    p = asyncio.create_task(producer(q), name="producer")
    c = asyncio.create_task(consumer(q), name="consumer")
    d = asyncio.create_task(dawdler(), name="dawdler")
    await p
    print("sum", await c)
    d.cancel()
    try:
        await d
    except asyncio.CancelledError:
        print("dawdler cancelled")

asyncio.run(main())
