// First-line checks of the core: run, tasks, sleep order, cancellation, gather, wait_for,
// shield and task_group, each on the selected backend. The detailed ports of CPython's
// asyncio tests live in the test_*.cpp files named for the asyncio module they follow.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio_test::run_test;

namespace {
Coro<int> answer() { co_return 42; }
Coro<int> twice(int x) { co_return 2 * x + co_await answer() - 42; }
Coro<std::string> after(std::chrono::milliseconds d, std::string s, std::vector<std::string>* log = nullptr) {
    co_await corio::sleep(d);
    if (log) log->push_back(s);
    co_return s;
}
Coro<> fail_after(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    throw std::runtime_error("boom");
}
}  // namespace

TEST_CASE("run returns the main coroutine's value", "[basics]") {
    CHECK(run_test(answer()) == 42);
    CHECK(run_test(twice(5)) == 10);
}

TEST_CASE("run rethrows the main coroutine's exception", "[basics]") {
    CHECK_THROWS_WITH(run_test(fail_after(1ms)), "boom");
}

TEST_CASE("sleeping tasks finish in deadline order", "[basics]") {
    std::vector<std::string> log;
    run_test([&]() -> Coro<> {
        auto a = corio::create_task(after(30ms, "c", &log));
        auto b = corio::create_task(after(10ms, "a", &log));
        auto c = corio::create_task(after(20ms, "b", &log));
        co_await a;
        co_await b;
        co_await c;
    }());
    CHECK(log == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("gather returns results in argument order and runs children concurrently", "[basics]") {
    auto [elapsed, results] = run_test([]() -> Coro<std::pair<double, std::tuple<std::string, std::string, std::string>>> {
        double start = corio::get_running_loop().time();
        auto r = co_await corio::gather(after(200ms, "api1"), after(100ms, "api2"), after(300ms, "api3"));
        co_return std::pair{corio::get_running_loop().time() - start, r};
    }());
    CHECK(std::get<0>(results) == "api1");
    CHECK(std::get<1>(results) == "api2");
    CHECK(std::get<2>(results) == "api3");
    CHECK(elapsed >= 0.29);
    CHECK(elapsed < 0.55);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.3));
}

TEST_CASE("wait_for times out and cancels the inner work", "[basics]") {
    bool cleaned = false;
    auto slow = [&]() -> Coro<int> {
        struct Flag {
            bool& f;
            ~Flag() { f = true; }
        } flag{cleaned};
        co_await corio::sleep(10s);
        co_return 1;
    };
    bool timed_out = false;
    run_test([&]() -> Coro<> {
        try {
            co_await corio::wait_for(slow(), 50ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
    }());
    CHECK(timed_out);
    CHECK(cleaned);
}

TEST_CASE("cancel a sleeping task", "[basics]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(after(10s, "never"));
        co_await corio::sleep(0s);
        CHECK(t.cancel("stop"));
        CHECK_FALSE(t.done());
        try {
            co_await t;
            FAIL("no CancelledError");
        } catch (const corio::CancelledError& e) {
            CHECK(std::string(e.what()) == "stop");
        }
        CHECK(t.cancelled());
    }());
}

TEST_CASE("shield keeps the inner task running", "[basics]") {
    run_test([]() -> Coro<> {
        auto inner = corio::create_task(after(50ms, "inner"));
        auto outer = corio::create_task([](corio::Task<std::string> t) -> Coro<std::string> {
            co_return co_await corio::shield(t);
        }(inner));
        co_await corio::sleep(10ms);
        outer.cancel();
        CHECK_THROWS_AS(co_await outer, corio::CancelledError);
        CHECK_FALSE(inner.done());
        CHECK(co_await inner == "inner");
    }());
}

TEST_CASE("task_group collects every failure in an ExceptionGroup", "[basics]") {
    bool sibling_cancelled = false;
    run_test([&]() -> Coro<> {
        try {
            co_await corio::task_group([&](corio::TaskGroup& tg) -> Coro<> {
                tg.create_task(fail_after(10ms));
                tg.create_task([&]() -> Coro<> {
                    try {
                        co_await corio::sleep(10s);
                    } catch (const corio::CancelledError&) {
                        sibling_cancelled = true;
                        throw;
                    }
                });
                co_await corio::sleep(10s);  // the body is cancelled too
            });
            FAIL("no ExceptionGroup");
        } catch (const corio::ExceptionGroup& eg) {
            REQUIRE(eg.exceptions().size() == 1);
            CHECK_THROWS_WITH(std::rethrow_exception(eg.exceptions()[0]), "boom");
        }
    }());
    CHECK(sibling_cancelled);
}

TEST_CASE("a million synchronously completing awaits do not grow the stack", "[basics][stack]") {
    long total = run_test([]() -> Coro<long> {
        long sum = 0;
        for (int i = 0; i < 1'000'000; ++i) sum += co_await answer();
        co_return sum;
    }());
    CHECK(total == 42'000'000L);
}
