// capture(aw) and Outcome: asyncio's `except CancelledError: await cleanup(); raise`, which
// C++ cannot write directly (no co_await in a catch block).
#include <catch2/catch.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Outcome;
using corio::Task;
using corio_test::run_test;

namespace {
using Log = std::vector<std::string>;

Coro<int> value_after(std::chrono::milliseconds d, int v) {
    co_await corio::sleep(d);
    co_return v;
}
Coro<> fail_after(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    throw std::runtime_error("failed");
}
}  // namespace

TEST_CASE("capture: the value, the exception or the cancellation, without throwing", "[capture]") {
    run_test([]() -> Coro<> {
        Outcome<int> ok = co_await corio::capture(value_after(1ms, 4));
        CHECK(ok.has_value());
        CHECK_FALSE(ok.cancelled());
        CHECK(ok.value() == 4);

        Outcome<void> bad = co_await corio::capture(fail_after(1ms));
        CHECK_FALSE(bad.has_value());
        CHECK_FALSE(bad.cancelled());
        CHECK_THROWS_WITH(bad.value(), "failed");

        auto t = corio::create_task(value_after(1h, 0));
        co_await corio::sleep(0s);
        t.cancel("stop");
        Outcome<int> cancelled = co_await corio::capture(t);
        CHECK(cancelled.cancelled());
        CHECK_THROWS_AS(cancelled.value(), corio::CancelledError);
    }());
}

TEST_CASE("capture: cleanup that awaits, then the cancellation travels on", "[capture]") {
    Log log;
    run_test([&]() -> Coro<> {
        auto worker = corio::create_task([&]() -> Coro<> {
            auto r = co_await corio::capture(corio::sleep(1h));
            if (r.cancelled()) {
                log.push_back("cleaning up");
                co_await corio::sleep(10ms);  // awaiting works: the request was delivered once
                log.push_back("cleaned up");
            }
            r.value();  // rethrows the CancelledError
            log.push_back("not reached");
        });
        co_await corio::sleep(1ms);
        worker.cancel();
        CHECK(co_await corio_test::ended_cancelled(worker));
    }());
    CHECK(log == Log{"cleaning up", "cleaned up"});
}

TEST_CASE("Outcome::cancelled() in gather(return_exceptions, ...)", "[capture][gather]") {
    run_test([]() -> Coro<> {
        auto slow = corio::create_task(value_after(1h, 1));
        auto canceller = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(1ms);
            slow.cancel();
        });
        auto [a, b, c] = co_await corio::gather(corio::return_exceptions, value_after(1ms, 2), slow, fail_after(2ms));
        co_await canceller;
        CHECK(a.has_value());
        CHECK_FALSE(a.cancelled());
        CHECK(b.cancelled());
        CHECK_FALSE(c.cancelled());
        CHECK_FALSE(c.has_value());
    }());
}
