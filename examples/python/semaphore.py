import asyncio

# Ограничение числа одновременных операций
semaphore = asyncio.Semaphore(3)

async def limited_operation(n):
    async with semaphore:
        print(f"Операция {n} начата")
        await asyncio.sleep(1)
        print(f"Операция {n} завершена")

async def main():
    # 10 операций, но одновременно выполняются не больше трёх
    await asyncio.gather(*(limited_operation(n) for n in range(1, 11)))

asyncio.run(main())
