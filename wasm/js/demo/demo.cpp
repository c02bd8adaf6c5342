// The npm package's demo module: the seed's idioms as JS functions that return Promises
// (API.md, "JavaScript"). `import { load } from 'corio'; const demo = await load();`
#include <corio/http.hpp>
#include <corio/js.hpp>

#include <emscripten/bind.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using emscripten::val;

namespace {

corio::Coro<std::string> fetch_data(std::string url, int ms) {
    co_await corio::sleep(std::chrono::milliseconds(ms));
    co_return "Data from " + url;
}

// gather in argument order, after the longest delay.
corio::Coro<std::vector<std::string>> gather_data(std::vector<std::string> urls, std::vector<int> delays_ms) {
    if (urls.size() != delays_ms.size()) throw corio::ValueError("gatherData(): urls and delaysMs differ in length");
    std::vector<corio::Coro<std::string>> fetches;
    for (std::size_t i = 0; i < urls.size(); ++i) fetches.push_back(fetch_data(urls[i], delays_ms[i]));
    co_return co_await corio::gather(std::move(fetches));
}

corio::Coro<> fail(std::string message) {
    co_await corio::sleep(0s);
    throw std::runtime_error(message);
}

corio::Coro<> sleep_ms(int ms) { co_await corio::sleep(std::chrono::milliseconds(ms)); }

corio::Coro<std::string> wait_for_ms(int ms, int timeout_ms) {
    co_await corio::wait_for(corio::sleep(std::chrono::milliseconds(ms)), std::chrono::milliseconds(timeout_ms));
    co_return "done";
}

// Awaits fn()'s Promise: String(value), or "caught: " + what() of the JsError (also when
// fn() throws, or String(value) does).
corio::Coro<std::string> call_js(corio::js::Function fn) {
    try {
        val v = co_await corio::js::await_promise(fn());
        co_return corio::js::to_string(v);
    } catch (const corio::js::JsError& e) {
        co_return std::string("caught: ") + e.what();
    }
}

// n operations of ms each under Semaphore(limit): the most that ran at once.
corio::Coro<int> limited(int n, int limit, int ms) {
    corio::Semaphore sem(limit);
    int running = 0;
    int most = 0;
    auto operation = [&]() -> corio::Coro<> {
        auto permit = co_await sem.acquire();
        most = std::max(most, ++running);
        co_await corio::sleep(std::chrono::milliseconds(ms));
        --running;
    };
    std::vector<corio::Coro<>> ops;
    for (int i = 0; i < n; ++i) ops.push_back(operation());
    co_await corio::gather(std::move(ops));
    co_return most;
}

// n tasks asleep for an hour, cancelled and awaited one by one: how many raised
// CancelledError (n). A try/catch around co_await in a loop: the shape clang 14 miscompiles
// with -fwasm-exceptions at -O2 (wasm/README.md), kept here as the regression test.
corio::Coro<int> cancel_sleepers(int n) {
    std::vector<corio::Task<>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(corio::create_task(sleep_ms(3'600'000)));
    co_await corio::sleep(0s);
    for (auto& t : tasks) t.cancel();
    int cancelled = 0;
    for (auto& t : tasks) {
        try {
            co_await t;
        } catch (const corio::CancelledError&) {
            ++cancelled;
        }
    }
    co_return cancelled;
}

// The seed's aiohttp idiom on fetch(): the JSON at url, parsed in C++, given back as text.
corio::Coro<std::string> fetch_json(std::string url) {
    corio::http::ClientSession session;
    corio::http::Response response = co_await session.get(url);
    nlohmann::json data = co_await response.json();
    co_await session.close();
    co_return data.dump();
}

// One request (data: the body, if not empty): what came back, as JSON text.
corio::Coro<std::string> http_request(std::string method, std::string url, std::string data) {
    corio::http::ClientSession session;
    corio::http::RequestOptions options;
    if (!data.empty()) options.data = data;
    corio::http::Response response = co_await session.request(method, url, options);
    nlohmann::json out;
    out["status"] = response.status();
    out["reason"] = response.reason();
    out["url"] = response.url();
    out["history"] = nlohmann::json::array();
    for (const auto& r : response.history()) out["history"].push_back(r.status);
    out["contentType"] = response.headers().get("Content-Type").value_or("");
    out["body"] = co_await response.text();
    co_await session.close();
    co_return out.dump();
}

// n GETs of url at once on one session with limit connections and a total timeout of
// total_ms (0: none): {"ok": n that answered, "timeouts": n that hit the total timeout}.
corio::Coro<std::string> session_gets(std::string url, int n, int limit, int total_ms) {
    corio::http::SessionOptions options;
    options.limit = static_cast<std::size_t>(limit);
    if (total_ms > 0) options.timeout.total = std::chrono::milliseconds(total_ms);
    corio::http::ClientSession session(options);
    int ok = 0;
    int timeouts = 0;
    auto one = [&]() -> corio::Coro<> {
        try {
            corio::http::Response r = co_await session.get(url);
            co_await r.read();
            ++ok;
        } catch (const corio::TimeoutError&) {
            ++timeouts;
        }
    };
    std::vector<corio::Coro<>> gets;
    for (int i = 0; i < n; ++i) gets.push_back(one());
    co_await corio::gather(std::move(gets));
    co_await session.close();
    nlohmann::json out;
    out["ok"] = ok;
    out["timeouts"] = timeouts;
    co_return out.dump();
}

corio::AsyncGenerator<int> counter(int n) {
    for (int i = 0; i < n; ++i) {
        co_await corio::sleep(0s);
        co_yield i;
    }
}

}  // namespace

EMSCRIPTEN_BINDINGS(corio_demo) {
    corio::js::export_async("fetchData", &fetch_data);
    corio::js::export_async("gatherData", &gather_data);
    corio::js::export_async("fail", &fail);
    corio::js::export_async("sleep", &sleep_ms);
    corio::js::export_async("waitFor", &wait_for_ms);
    corio::js::export_async("callJs", &call_js);
    corio::js::export_async("limited", &limited);
    corio::js::export_async("cancelSleepers", &cancel_sleepers);
    corio::js::export_async("fetchJson", &fetch_json);
    corio::js::export_async("httpRequest", &http_request);
    corio::js::export_async("sessionGets", &session_gets);
    corio::js::export_async("counter", &counter);
}
