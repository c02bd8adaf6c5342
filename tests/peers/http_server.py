"""An aiohttp server for corio's HTTP client tests (Debian's python3-aiohttp). Prints
"PORT <n>" (and "TLSPORT <n>" with --tls CERT KEY) once listening on 127.0.0.1; serves until
its stdin closes. Every route is what a test needs a real server to do:

  /echo                method, path, query (in order, repeats kept), headers, body (latin-1) as JSON
  /status/<n>          that status, with its reason
  /redirect/<n>        a chain of n redirects ending at /echo (?code=301|302|303|307|308)
  /redirect-to?url=U   one redirect to U (?code=...)
  /loop                redirects to itself forever
  /json                {"hello": "world", "n": 42}
  /text                a text/plain body that is not JSON
  /badjson             Content-Type application/json, not JSON
  /gzip                a gzip-encoded JSON body; /deflate likewise
  /bytes/<n>           n bytes
  /slow-headers?delay=S   headers after S seconds
  /slow-body?delay=S      headers at once, the body after S seconds
  /drip?n=N&delay=S       N bytes, one every S seconds
  /truncated           says Content-Length 100, sends 10 bytes and closes
  /reset               sends headers, part of a body, then resets the connection
  /close-after         answers with keep-alive, then closes the connection at once
  /once                answers the first request of a connection; on a second one it closes the
                       connection without answering (a kept-alive connection gone stale)
  /stats               connections accepted so far and the most requests in flight at once
  /stats/reset         zeroes them
  /hold?delay=S        waits S seconds (counts toward the concurrency in flight)
"""
import asyncio
import gzip
import json
import socket
import ssl
import sys
import zlib

from aiohttp import web

STATS = {"connections": 0, "in_flight": 0, "max_in_flight": 0}


async def echo(request):
    body = await request.read()
    return web.json_response({
        "method": request.method,
        "path": request.path,
        "query": [[k, v] for k, v in request.query.items()],
        "headers": {k: v for k, v in request.headers.items()},
        "body": body.decode("latin-1"),
    })


async def status(request):
    n = int(request.match_info["n"])
    return web.Response(status=n, text=f"status {n}")


async def redirect(request):
    n = int(request.match_info["n"])
    code = int(request.query.get("code", "302"))
    target = "/echo" if n <= 1 else f"/redirect/{n - 1}?code={code}"
    return web.Response(status=code, headers={"Location": target})


async def redirect_to(request):
    code = int(request.query.get("code", "302"))
    return web.Response(status=code, headers={"Location": request.query["url"]})


async def loop(request):
    return web.Response(status=302, headers={"Location": "/loop"})


async def json_route(request):
    return web.json_response({"hello": "world", "n": 42})


async def text(request):
    return web.Response(text="plain words", content_type="text/plain")


async def badjson(request):
    return web.Response(body=b"{not json", content_type="application/json")


async def gzip_route(request):
    data = gzip.compress(json.dumps({"compressed": True}).encode())
    return web.Response(body=data, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})


async def deflate_route(request):
    data = zlib.compress(json.dumps({"deflated": True}).encode())
    return web.Response(body=data, headers={"Content-Encoding": "deflate", "Content-Type": "application/json"})


async def nbytes(request):
    n = int(request.match_info["n"])
    return web.Response(body=bytes(i % 251 for i in range(n)), content_type="application/octet-stream")


async def slow_headers(request):
    await asyncio.sleep(float(request.query.get("delay", "1")))
    return web.Response(text="late")


async def slow_body(request):
    resp = web.StreamResponse()
    resp.content_length = 4
    await resp.prepare(request)
    await asyncio.sleep(float(request.query.get("delay", "1")))
    await resp.write(b"body")
    return resp


async def drip(request):
    n = int(request.query.get("n", "5"))
    delay = float(request.query.get("delay", "0.1"))
    resp = web.StreamResponse()
    resp.content_length = n
    await resp.prepare(request)
    for _ in range(n):
        await resp.write(b"x")
        await asyncio.sleep(delay)
    return resp


async def raw_transport(request, data, reset=False):
    transport = request.transport
    transport.write(data)
    await asyncio.sleep(0.05)
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    transport.close()
    raise asyncio.CancelledError()


async def truncated(request):
    return await raw_transport(request, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: text/plain\r\n\r\n0123456789")


async def reset(request):
    return await raw_transport(request, b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 1000, reset=True)


async def close_after(request):
    resp = web.Response(text="bye")
    resp.force_close()
    return resp


SEEN = {}


async def once(request):
    key = id(request.transport)
    SEEN[key] = SEEN.get(key, 0) + 1
    if SEEN[key] > 1:
        request.transport.close()
        raise asyncio.CancelledError()
    return web.Response(text="once", headers={"Connection": "keep-alive"})


async def stats(request):
    return web.json_response(dict(STATS))


async def stats_reset(request):
    STATS.update(connections=0, max_in_flight=0)
    return web.json_response({"ok": True})


async def hold(request):
    await asyncio.sleep(float(request.query.get("delay", "0.1")))
    return web.json_response({"held": True})


@web.middleware
async def counting(request, handler):
    if request.path.startswith("/stats"):
        return await handler(request)
    STATS["in_flight"] += 1
    STATS["max_in_flight"] = max(STATS["max_in_flight"], STATS["in_flight"])
    try:
        return await handler(request)
    finally:
        STATS["in_flight"] -= 1


def make_app():
    app = web.Application(middlewares=[counting])
    app.add_routes([
        web.route("*", "/echo", echo),
        web.get("/status/{n}", status),
        web.route("*", "/redirect/{n}", redirect),
        web.route("*", "/redirect-to", redirect_to),
        web.get("/loop", loop),
        web.get("/json", json_route),
        web.get("/text", text),
        web.get("/badjson", badjson),
        web.get("/gzip", gzip_route),
        web.get("/deflate", deflate_route),
        web.get("/bytes/{n}", nbytes),
        web.get("/slow-headers", slow_headers),
        web.get("/slow-body", slow_body),
        web.get("/drip", drip),
        web.get("/truncated", truncated),
        web.get("/reset", reset),
        web.get("/close-after", close_after),
        web.route("*", "/once", once),
        web.get("/stats", stats),
        web.get("/stats/reset", stats_reset),
        web.get("/hold", hold),
    ])
    return app


async def main():
    app = make_app()
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=75)
    await runner.setup()
    loop = asyncio.get_running_loop()

    # Count accepted connections: wrap the server's protocol factory.
    orig = runner.server

    def factory():
        STATS["connections"] += 1
        return orig()

    server = await loop.create_server(factory, "127.0.0.1", 0)
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    tls_server = None
    if len(sys.argv) >= 4 and sys.argv[1] == "--tls":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(sys.argv[2], sys.argv[3])
        tls_server = await loop.create_server(factory, "127.0.0.1", 0, ssl=ctx)
        print("TLSPORT", tls_server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()
    if tls_server:
        tls_server.close()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
