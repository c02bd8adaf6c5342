import asyncio

import aiohttp
from aiohttp import web

in_flight = 0
most = 0


async def page(request):
    global in_flight, most
    i = int(request.match_info["i"])
    in_flight += 1
    most = max(most, in_flight)
    await asyncio.sleep(5 if i == 13 else i % 5 * 0.02)
    in_flight -= 1
    return web.Response(text=f'{{"page": {i}, "links": {i % 7}}}', content_type="application/json")


async def links_of(session, url):
    async with session.get(url) as response:
        data = await response.json()
        return data["links"]


async def crawl(session, limit, url):
    async with limit:
        try:
            return await asyncio.wait_for(links_of(session, url), 1)
        except asyncio.TimeoutError:
            return -1


async def main():
    app = web.Application()
    app.router.add_get("/page/{i}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    async with aiohttp.ClientSession() as session:
        limit = asyncio.Semaphore(10)
        links = await asyncio.gather(*(crawl(session, limit, f"http://127.0.0.1:{port}/page/{i}") for i in range(50)))
    total = 0
    for i, n in enumerate(links):
        if n < 0:
            print(f"page {i}: timed out")
        else:
            total += n
    print(f"{sum(1 for n in links if n >= 0)} pages, {total} links, at most {most} requests at once")
    await runner.cleanup()

asyncio.run(main())
