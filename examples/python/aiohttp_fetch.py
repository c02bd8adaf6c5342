import asyncio
import json
import os

import aiohttp
from aiohttp import web


async def fetch(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return await response.json()


async def todo(request):
    return web.Response(text='{"userId": 1, "id": 1, "title": "learn corio", "completed": false}',
                        content_type="application/json")


async def main():
    url = os.environ.get("HTTP_URL")
    runner = None
    if url is None:
        app = web.Application()
        app.router.add_get("/todos/1", todo)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/todos/1"
    data = await fetch(url)
    print(json.dumps(data, separators=(",", ":"), sort_keys=True))
    if "title" in data:
        print("title:", data["title"])
    if runner is not None:
        await runner.cleanup()

asyncio.run(main())
