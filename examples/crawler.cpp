// A crawler: 50 pages fetched with at most 10 requests at once (a Semaphore), each given
// 1 s (wait_for). The local server (local_http.hpp) answers page i after (i % 5) * 20 ms,
// and never in time for page 13. Mirrors python/crawler.py.
#include <corio/corio.hpp>
#include <corio/http.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

#include "local_http.hpp"

using namespace std::chrono_literals;

int in_flight = 0;  // requests the server is answering now
int most = 0;       // the most at once

corio::Coro<std::string> page(std::string path) {
    const int i = std::stoi(path.substr(path.rfind('/') + 1));
    most = std::max(most, ++in_flight);
    co_await corio::sleep(i == 13 ? 5s : std::chrono::milliseconds(i % 5 * 20));
    --in_flight;
    co_return fmt::format(R"({{"page": {}, "links": {}}})", i, i % 7);
}

corio::Coro<int> links_of(corio::http::ClientSession& session, std::string url) {
    corio::http::Response response = co_await session.get(url);
    nlohmann::json data = co_await response.json();
    co_return data["links"].get<int>();
}

// One page's link count, or -1 if it took longer than 1 s.
corio::Coro<int> crawl(corio::http::ClientSession& session, corio::Semaphore& limit, std::string url) {
    auto permit = co_await limit.acquire();
    try {
        co_return co_await corio::wait_for(links_of(session, url), 1s);
    } catch (const corio::TimeoutError&) {
        co_return -1;
    }
}

corio::Coro<> main_coro() {
    corio::Server server = co_await start_local_http(page);
    const int port = server.sockets().at(0).port;
    corio::http::ClientSession session;
    corio::Semaphore limit(10);
    std::vector<corio::Coro<int>> pages;
    for (int i = 0; i < 50; ++i) pages.push_back(crawl(session, limit, fmt::format("http://127.0.0.1:{}/page/{}", port, i)));
    std::vector<int> links = co_await corio::gather(std::move(pages));

    int total = 0;
    for (int i = 0; i < 50; ++i) {
        if (links[i] < 0)
            fmt::print("page {}: timed out\n", i);
        else
            total += links[i];
    }
    fmt::print("{} pages, {} links, at most {} requests at once\n", std::count_if(links.begin(), links.end(), [](int n) { return n >= 0; }),
               total, most);
    co_await session.close();
    server.close();  // page 13's answer is still asleep: run() cancels it as it ends
}

int main() { corio::run(main_coro()); }
