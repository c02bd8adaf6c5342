import asyncio

class AsyncDatabase:
    async def connect(self):
        print("Подключение к базе данных")
        await asyncio.sleep(0.1)

    async def disconnect(self):
        print("Отключение от базы данных")
        await asyncio.sleep(0.1)

    async def query(self, sql):
        print(f"Запрос: {sql}")
        await asyncio.sleep(0.1)

    async def __aenter__(self):
        await self.connect()
        return self

    async def __aexit__(self, *args):
        await self.disconnect()

async def main():
    async with AsyncDatabase() as db:
        await db.query("SELECT * FROM users")

asyncio.run(main())
