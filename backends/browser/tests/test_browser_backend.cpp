// The browser backend's own promises, beyond the core suite (which also runs on it): hops
// go through a macrotask, a loop kept busy still lets JS callbacks run, JS callbacks can
// wake a loop that waits without a deadline. Linked into core_tests in the wasm build only.
#include <catch2/catch.hpp>

#include <emscripten.h>

#include <chrono>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

corio::RunOptions browser_options() {
    corio::RunOptions o;
    o.backend = corio::backends::browser();
    return o;
}

// JS state for the tests, on the module object.
EM_JS(void, js_set_flag_after, (int ms), {
    Module.corioTestFlag = 0;
    setTimeout(function() { Module.corioTestFlag = 1; }, ms);
});
EM_JS(int, js_flag, (), { return Module.corioTestFlag | 0; });
// After `ms`, a JS timer calls back into C++ (corio_test_from_js).
EM_JS(void, js_call_back_after, (int ms), {
    setTimeout(function() { Module._corio_test_from_js(); }, ms);
});

corio::EventLoop* g_loop = nullptr;
corio::Future<>* g_future = nullptr;

}  // namespace

// What a JS callback does to hand work to the loop: call_soon_threadsafe, which wakes it.
extern "C" EMSCRIPTEN_KEEPALIVE void corio_test_from_js() {
    g_loop->call_soon_threadsafe([] { g_future->set_result(); });
}

TEST_CASE("browser: a due timer is reached through a macrotask hop, not a clamped setTimeout", "[browser]") {
    // 500 waits whose deadline has already passed. Through setTimeout each would take
    // >= 1 ms (4 ms in a page); a setImmediate / MessageChannel hop takes microseconds.
    constexpr int kHops = 500;
    double took = 1e9;
    corio::run(
        [&]() -> Coro<> {
            auto& loop = corio::get_running_loop();
            const auto start = std::chrono::steady_clock::now();
            for (int i = 0; i < kHops; ++i) {
                corio::Future<> due;
                loop.call_at(loop.time(), [&due] { due.set_result(); });
                co_await due;
            }
            took = seconds_since(start);
        }(),
        browser_options());
    CHECK(took < 0.25);
}

TEST_CASE("browser: a loop whose ready queue never empties still lets JS callbacks run", "[browser]") {
    // The page must never block: a busy loop returns to the JS event loop every few ms.
    bool saw_flag = false;
    double took = 1e9;
    corio::run(
        [&]() -> Coro<> {
            js_set_flag_after(0);
            const auto start = std::chrono::steady_clock::now();
            while (seconds_since(start) < 2.0) {
                if (js_flag()) {
                    saw_flag = true;
                    break;
                }
                co_await corio::sleep(0s);  // ready again at once: the loop never waits
            }
            took = seconds_since(start);
        }(),
        browser_options());
    CHECK(saw_flag);
    CHECK(took < 0.5);
}

TEST_CASE("browser: a JS callback wakes a loop that waits without a deadline", "[browser]") {
    double took = 1e9;
    corio::run(
        [&]() -> Coro<> {
            corio::Future<> from_js;
            g_loop = &corio::get_running_loop();
            g_future = &from_js;
            const auto start = std::chrono::steady_clock::now();
            js_call_back_after(50);
            co_await from_js;  // no timer anywhere: only the JS callback can end the wait
            took = seconds_since(start);
            g_loop = nullptr;
            g_future = nullptr;
        }(),
        browser_options());
    CHECK(took >= 0.045);
    CHECK(took < 1.0);
}

TEST_CASE("browser: sleep() waits through setTimeout for the real time", "[browser]") {
    double took = 0;
    corio::run(
        [&]() -> Coro<> {
            const auto start = std::chrono::steady_clock::now();
            co_await corio::sleep(120ms);
            took = seconds_since(start);
        }(),
        browser_options());
    CHECK(took >= 0.119);
    CHECK(took < 0.5);
}

TEST_CASE("browser: the backend on a worker thread blocks that worker, not the page", "[browser]") {
    // A Web Worker may block; the loop there waits on a condition variable.
    int result = 0;
    std::thread worker([&] {
        result = corio::run(
            []() -> Coro<int> {
                co_await corio::sleep(20ms);
                co_return co_await corio::to_thread([] { return 7; });
            }(),
            browser_options());
    });
    worker.join();
    CHECK(result == 7);
}
