import asyncio
import time

async def blocking_step():
    time.sleep(0.15)  # blocks the whole loop: reported as slow

async def fail():
    await asyncio.sleep(0.01)
    raise RuntimeError("nobody looked at me")

async def compute():
    return 42

async def main():
    print("debug mode is", "on" if asyncio.get_running_loop().get_debug() else "off")
    await asyncio.create_task(blocking_step(), name="blocker")
    asyncio.create_task(fail(), name="forgotten")  # nobody awaits it or asks for its exception
    await asyncio.sleep(0.05)
    compute()  # created, never awaited
    print("done")

asyncio.run(main(), debug=True)
