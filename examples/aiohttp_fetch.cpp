// The seed's aiohttp idiom: fetch(url) gets a URL and returns its JSON, parsed. The URL is
// HTTP_URL, or a local server this program starts (local_http.hpp). Mirrors
// python/aiohttp_fetch.py.
#include <corio/corio.hpp>
#include <corio/http.hpp>
#include <fmt/core.h>

#include <cstdlib>
#include <string>

#include "local_http.hpp"

corio::Coro<nlohmann::json> fetch(std::string url) {
    corio::http::ClientSession session;
    corio::http::Response response = co_await session.get(url);
    nlohmann::json data = co_await response.json();
    co_await session.close();
    co_return data;
}

corio::Coro<std::string> todo(std::string) { co_return R"({"userId": 1, "id": 1, "title": "learn corio", "completed": false})"; }

corio::Coro<> main_coro() {
    const char* given = std::getenv("HTTP_URL");
    std::string url = given ? given : "";
    corio::Server server;
    if (!given) {
        server = co_await start_local_http(todo);
        url = fmt::format("http://127.0.0.1:{}/todos/1", server.sockets().at(0).port);
    }
    nlohmann::json data = co_await fetch(url);
    fmt::print("{}\n", data.dump());
    if (data.contains("title")) fmt::print("title: {}\n", data["title"].get<std::string>());
    if (!given) {
        server.close();
        co_await server.wait_closed();
    }
}

int main() { corio::run(main_coro()); }
