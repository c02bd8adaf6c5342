import asyncio
import time

def sync_function(arg1, arg2):
    time.sleep(1)  # Блокирующий вызов
    return arg1 + arg2

async def ticker():
    for i in range(1, 4):
        await asyncio.sleep(0.25)
        print(f"тик {i}")

async def main():
    ticks = asyncio.create_task(ticker())
    # sync_function блокирует свой поток, а не event loop: тики идут, пока она работает
    result = await asyncio.to_thread(sync_function, 2, 3)
    print(f"Результат: {result}")
    await ticks

asyncio.run(main())
