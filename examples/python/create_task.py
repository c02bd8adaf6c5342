import asyncio

async def fetch_data(url, delay):
    await asyncio.sleep(delay)
    return f"Data from {url}"

async def main():
    # Создание задач для параллельного выполнения
    task1 = asyncio.create_task(fetch_data("api1", 2))
    task2 = asyncio.create_task(fetch_data("api2", 1))

    # Можно делать что-то пока задачи выполняются
    print("Задачи запущены")

    # Получение результатов
    result1 = await task1
    result2 = await task2
    print(result1, result2)

asyncio.run(main())
