import asyncio

lock = asyncio.Lock()

async def safe_increment(counter):
    async with lock:
        current = counter["value"]
        await asyncio.sleep(0.1)
        counter["value"] = current + 1

async def main():
    counter = {"value": 0}
    # 100 задач читают и пишут счётчик, но под замком ни одно увеличение не теряется
    await asyncio.gather(*(safe_increment(counter) for _ in range(100)))
    print(counter["value"])

asyncio.run(main())
