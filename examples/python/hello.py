import asyncio

async def say_hello():
    print("Привет!")
    await asyncio.sleep(1)  # Неблокирующая пауза
    print("Пока!")

# Запуск корутины
asyncio.run(say_hello())
