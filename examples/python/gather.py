import asyncio

async def fetch_data(url, delay):
    await asyncio.sleep(delay)
    return f"Data from {url}"

async def main():
    # Запуск нескольких корутин параллельно
    results = await asyncio.gather(
        fetch_data("api1", 2),
        fetch_data("api2", 1),
        fetch_data("api3", 3),
    )
    print(results)  # Все результаты через 3 секунды, не 6

asyncio.run(main())
