// Ports of the loop parts of CPython 3.12's test_asyncio/test_base_events.py and
// test_events.py to corio::EventLoop: call_soon, call_later, call_at, handles,
// call_soon_threadsafe, the exception handler, running and closing a loop by hand, the
// backends (libuv on an application's own uv loop, virtual time).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"

#if __has_include(<uv.h>) && __has_include(<dlfcn.h>) && !defined(__EMSCRIPTEN__)
#include <dlfcn.h>
#include <uv.h>
#define CORIO_TEST_HAVE_UV 1
#endif

using namespace std::chrono_literals;
using corio::Coro;
using corio_test::run_test;

namespace {

struct MyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

double wall_seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Joins the threads on every way out, so that a failed check never leaves one joinable.
struct Joiner {
    std::vector<std::thread>& threads;
    ~Joiner() {
        for (auto& t : threads)
            if (t.joinable()) t.join();
    }
};

using Watchdog = corio_test::LoopWatchdog;

void busy_wait(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
}

struct SetOnDestroy {
    bool& flag;
    ~SetOnDestroy() { flag = true; }
};

}  // namespace

// --- call_soon and Handle ------------------------------------------------------------------

TEST_CASE("call_soon runs callbacks in FIFO order with their captured arguments (test_call_soon)", "[loop]") {
    std::vector<std::string> results;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        for (int i = 0; i < 5; ++i) loop.call_soon([&results, i] { results.push_back(std::to_string(i)); });
        std::string a = "hello", b = "world";
        corio::Handle h = loop.call_soon([&results, a, b] { results.push_back(a + " " + b); });
        CHECK(h);
        CHECK_FALSE(h.cancelled());
        loop.call_soon([&done] { done.set_result(); });
        co_await done;
    }());
    std::vector<std::string> expected{"0", "1", "2", "3", "4", "hello world"};
    CHECK(results == expected);
}

TEST_CASE("call_soon callbacks run before a task that yields with sleep(0)", "[loop]") {
    std::vector<int> order;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        loop.call_soon([&] { order.push_back(1); });
        loop.call_soon([&] { order.push_back(2); });
        co_await corio::sleep(0s);
        order.push_back(3);
    }());
    CHECK(order == std::vector<int>{1, 2, 3});
}

TEST_CASE("a callback scheduled by a callback runs in the next iteration (test_run_once)", "[loop]") {
    std::vector<std::string> order;
    corio::EventLoop loop(corio_test::make_backend());
    loop.call_soon([&] {
        order.push_back("a");
        loop.call_soon([&] { order.push_back("c"); });
    });
    loop.call_soon([&] { order.push_back("b"); });
    loop.run_once();
    CHECK(order == std::vector<std::string>{"a", "b"});
    loop.run_once();
    CHECK(order == std::vector<std::string>{"a", "b", "c"});
    loop.close();
}

TEST_CASE("a Handle cancelled before it runs never runs (test_handle, _add_callback_cancelled_handle)", "[loop]") {
    std::vector<std::string> order;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        corio::Handle h1 = loop.call_soon([&] { order.push_back("h1"); });
        corio::Handle h3;
        loop.call_soon([&] {
            order.push_back("h2");
            h3.cancel();  // queued behind us in the same iteration: must not run
        });
        h3 = loop.call_soon([&] { order.push_back("h3"); });
        loop.call_soon([&] { order.push_back("h4"); });
        h1.cancel();
        CHECK(h1.cancelled());
        loop.call_soon([&] { done.set_result(); });
        co_await done;
        CHECK(h3.cancelled());
    }());
    CHECK(order == std::vector<std::string>{"h2", "h4"});
}

TEST_CASE("Handle: empty handles, copies, cancelling after the callback ran", "[loop]") {
    corio::Handle empty;
    CHECK_FALSE(empty);
    CHECK_FALSE(empty.cancelled());
    empty.cancel();  // no effect, no crash
    corio::TimerHandle empty_timer;
    CHECK_FALSE(empty_timer);

    int runs = 0;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        corio::Handle h = loop.call_soon([&] { ++runs; });
        corio::Handle copy = h;
        copy.cancel();  // a copy refers to the same callback
        CHECK(h.cancelled());

        corio::Handle ran = loop.call_soon([&] { ++runs; });
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(runs == 1);
        ran.cancel();  // after it ran: nothing happens
        co_await corio::sleep(0s);
        CHECK(runs == 1);
    }());
    CHECK(runs == 1);
}

// --- call_later / call_at ------------------------------------------------------------------

TEST_CASE("call_later runs callbacks by deadline (test_call_later)", "[loop]") {
    std::vector<std::string> order;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        loop.call_later(30ms, [&] { order.push_back("c"); });
        loop.call_later(10ms, [&] { order.push_back("a"); });
        loop.call_later(20ms, [&] { order.push_back("b"); });
        co_await corio::sleep(50ms);
    }());
    CHECK(order == std::vector<std::string>{"a", "b", "c"});
}

TEST_CASE("callbacks due at the same time run in the order they were scheduled", "[loop]") {
    std::vector<int> order;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        const double when = loop.time() + 0.02;
        for (int i = 0; i < 6; ++i) loop.call_at(when, [&order, i] { order.push_back(i); });
        if (corio_test::virtual_time()) {
            // The clock stands still between the calls: equal delays mean equal deadlines.
            for (int i = 6; i < 9; ++i) loop.call_later(20ms, [&order, i] { order.push_back(i); });
        }
        co_await corio::sleep(40ms);
    }());
    if (corio_test::virtual_time())
        CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8});
    else
        CHECK(order == std::vector<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("call_later(0) runs after the call_soon callbacks already queued", "[loop]") {
    // A due timer must not hang the libuv loop (see "a timer already due when the loop goes
    // idle..."): the watchdog ends such a hang and the test fails instead.
    std::vector<std::string> order;
    bool hung = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto done = loop.create_future<void>();
        loop.call_later(0s, [&] {
            order.push_back("later");
            done.set_result();
        });
        loop.call_soon([&] { order.push_back("soon"); });
        co_await done;
        hung = dog.fired();
    }());
    CHECK(order == std::vector<std::string>{"soon", "later"});
    CHECK_FALSE(hung);
}

TEST_CASE("a timer already due when the loop goes idle fires without another wake-up", "[loop]") {
    // libuv backend: wait() with a deadline already passed starts a 0 ms uv timer and runs
    // uv_run(UV_RUN_ONCE); libuv (1.44) runs that timer *before* polling, then polls with no
    // timer left and no timeout, so the loop sleeps until something else wakes it.
    bool fired = false;
    bool hung = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto done = loop.create_future<void>();
        loop.call_later(1ms, [&] {
            fired = true;
            done.set_result();
        });
        busy_wait(5ms);  // the deadline passes while this step runs
        co_await done;
        hung = dog.fired();
    }());
    CHECK(fired);
    CHECK_FALSE(hung);
}

TEST_CASE("a sleep already due when the loop goes idle ends without another wake-up", "[loop]") {
    bool hung = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto other = corio::create_task([]() -> Coro<> {
            co_await corio::sleep(0s);
            busy_wait(5ms);  // runs while main's 1 ms sleep is pending; nothing is ready after it
        });
        co_await corio::sleep(1ms);
        co_await other;
        hung = dog.fired();
    }());
    CHECK_FALSE(hung);
}

TEST_CASE("call_later with negative delays orders by deadline (test_call_later_negative_delays)",
          "[loop]") {
    // asyncio: call_later(d) is call_at(time() + d), so -2 s is due before -1 s.
    std::vector<std::string> calls;
    bool hung = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto done = loop.create_future<void>();
        loop.call_later(-1s, [&] { calls.push_back("a"); });
        loop.call_later(-2s, [&] { calls.push_back("b"); });
        loop.call_later(-1s, [&] { done.set_result(); });
        co_await done;
        hung = dog.fired();
    }());
    CHECK(calls == std::vector<std::string>{"b", "a"});
    CHECK_FALSE(hung);
}

TEST_CASE("call_later with a negative delay runs soon; when() is in the past", "[loop]") {
    // A timer already due when the loop goes idle (the watchdog catches a hang).
    std::vector<std::string> calls;
    bool hung = false;
    double when = 0, start = 0;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto done = loop.create_future<void>();
        start = loop.time();
        corio::TimerHandle h = loop.call_later(-1s, [&] {
            calls.push_back("a");
            done.set_result();
        });
        when = h.when();
        co_await done;
        hung = dog.fired();
    }());
    CHECK(calls == std::vector<std::string>{"a"});
    CHECK(when == Approx(start - 1.0).margin(1e-6));
    CHECK_FALSE(hung);
}

TEST_CASE("TimerHandle: when() and cancel() (test_timer)", "[loop]") {
    std::vector<std::string> order;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        const double t0 = loop.time();
        corio::TimerHandle h1 = loop.call_later(100ms, [&] { order.push_back("cancelled"); });
        corio::TimerHandle h2 = loop.call_later(50ms, [&] { order.push_back("kept"); });
        CHECK(h1);
        CHECK(h1.when() >= t0 + 0.1 - 1e-9);
        CHECK(h1.when() < loop.time() + 0.1 + 1e-6);
        CHECK(h1.when() > h2.when());
        if (corio_test::virtual_time()) CHECK(h1.when() == Approx(t0 + 0.1).margin(1e-9));
        h1.cancel();
        CHECK(h1.cancelled());
        CHECK_FALSE(h2.cancelled());
        co_await corio::sleep(200ms);
        h1.cancel();  // twice: no effect
        h2.cancel();  // after it ran: no effect
    }());
    CHECK(order == std::vector<std::string>{"kept"});
}

TEST_CASE("a cancelled timer lets go of its callback's captures", "[loop]") {
    auto token = std::make_shared<int>(1);
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        {
            corio::TimerHandle h = loop.call_later(10s, [token] { FAIL("a cancelled timer ran"); });
            CHECK(token.use_count() == 2);
            h.cancel();
        }
        CHECK(token.use_count() == 1);
        {
            corio::Handle h = loop.call_soon([token] { FAIL("a cancelled handle ran"); });
            h.cancel();
        }
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(token.use_count() == 1);
    }());
    CHECK(token.use_count() == 1);
}

TEST_CASE("call_at runs at the given loop time (test_time_and_call_at)", "[loop]") {
    double ran_at = -1;
    double when = 0;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        when = loop.time() + 0.1;
        corio::TimerHandle h = loop.call_at(when, [&] {
            ran_at = loop.time();
            done.set_result();
        });
        CHECK(h.when() == Approx(when).margin(1e-6));
        co_await done;
    }());
    CHECK(ran_at >= when - 1e-6);
    CHECK(ran_at < when + 2.0);
    if (corio_test::virtual_time()) CHECK(ran_at == Approx(when).margin(1e-9));
}

TEST_CASE("call_at with a time in the past runs soon", "[loop]") {
    // A timer already due when the loop goes idle (the watchdog catches a hang).
    bool ran = false;
    bool hung = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        Watchdog dog(loop, 2s);
        auto done = loop.create_future<void>();
        co_await corio::sleep(10ms);
        loop.call_at(loop.time() - 5.0, [&] {
            ran = true;
            done.set_result();
        });
        co_await done;
        hung = dog.fired();
    }());
    CHECK(ran);
    CHECK_FALSE(hung);
}

// --- time --------------------------------------------------------------------------------

TEST_CASE("call_at with a huge or infinite time never fires; NaN is a ValueError", "[loop]") {
    // Regression: `when * 1e9` was converted to int64 unchecked (undefined behaviour); on
    // x86 it became INT64_MIN, so a timer meant for "never" fired at once.
    std::vector<std::string> fired;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        auto far = loop.call_at(1e300, [&] { fired.push_back("1e300"); });
        auto inf = loop.call_at(std::numeric_limits<double>::infinity(), [&] { fired.push_back("inf"); });
        loop.call_at(-1e300, [&] { fired.push_back("-1e300"); });  // long past: runs soon
        CHECK_THROWS_AS(loop.call_at(std::nan(""), [&] { fired.push_back("nan"); }), corio::ValueError);
        co_await corio::sleep(10ms);
        CHECK(far.when() > 1e9);
        far.cancel();
        inf.cancel();
    }());
    CHECK(fired == std::vector<std::string>{"-1e300"});
}

TEST_CASE("time() is monotonic and advances by the time slept (test_run_until_complete)", "[loop]") {
    run_test([]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        double last = loop.time();
        for (int i = 0; i < 20; ++i) {
            co_await corio::sleep(i % 2 ? 0ms : 1ms);
            const double t = loop.time();
            CHECK(t >= last);
            last = t;
        }
        const double t0 = loop.time();
        co_await corio::sleep(100ms);
        const double dt = loop.time() - t0;
        CHECK(dt >= 0.1 - 1e-6);
        CHECK(dt < 2.0);
        if (corio_test::virtual_time()) CHECK(dt == Approx(0.1).margin(1e-9));

        const double t1 = loop.time();
        co_await corio::sleep(std::chrono::duration<double>(0.25));
        const double dt1 = loop.time() - t1;
        CHECK(dt1 >= 0.25 - 1e-6);
        if (corio_test::virtual_time()) CHECK(dt1 == Approx(0.25).margin(1e-9));
    }());
}

TEST_CASE("virtual time: an hour of sleep takes no wall time, and the clock moves by exactly an hour", "[loop]") {
    if (!corio_test::virtual_time()) return;
    const auto wall = std::chrono::steady_clock::now();
    double slept = run_test([]() -> Coro<double> {
        corio::EventLoop& loop = corio::get_running_loop();
        CHECK(loop.time() == 0.0);  // a fresh virtual clock starts at zero
        const double t0 = loop.time();
        co_await corio::sleep(1h);
        co_return loop.time() - t0;
    }());
    CHECK(slept == Approx(3600.0).margin(1e-9));
    CHECK(wall_seconds_since(wall) < 1.0);
}

TEST_CASE("virtual time: run_once jumps the clock to the next timer", "[loop]") {
    if (!corio_test::virtual_time()) return;
    corio::EventLoop loop(corio::backends::virtual_time());
    std::vector<double> fired;
    loop.call_later(5s, [&] { fired.push_back(loop.time()); });
    loop.call_later(2s, [&] { fired.push_back(loop.time()); });
    CHECK(loop.time() == 0.0);
    loop.run_once();
    REQUIRE(fired.size() == 1);
    CHECK(fired[0] == Approx(2.0).margin(1e-9));
    loop.run_once();
    REQUIRE(fired.size() == 2);
    CHECK(fired[1] == Approx(5.0).margin(1e-9));
    loop.close();
}

// --- call_soon_threadsafe ------------------------------------------------------------------

TEST_CASE("call_soon_threadsafe from several threads: every callback runs once, on the loop's thread",
          "[loop][threads]") {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 500;
    int count = 0;
    int wrong_thread = 0;
    int out_of_order = 0;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        const auto loop_thread = std::this_thread::get_id();
        auto all_done = loop.create_future<void>();
        std::vector<int> last_seen(kThreads, -1);
        std::vector<std::thread> threads;
        Joiner joiner{threads};
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    loop.call_soon_threadsafe([&, t, i] {
                        if (std::this_thread::get_id() != loop_thread) ++wrong_thread;
                        if (last_seen[t] >= i) ++out_of_order;
                        last_seen[t] = i;
                        if (++count == kThreads * kPerThread) all_done.set_result();
                    });
                }
            });
        }
        // Nothing else is ready and no timer is set: the loop sleeps until a thread posts.
        co_await all_done;
    }());
    CHECK(count == kThreads * kPerThread);
    CHECK(wrong_thread == 0);
    CHECK(out_of_order == 0);  // each thread's callbacks run in the order it posted them
}

TEST_CASE("call_soon_threadsafe wakes a loop that waits with nothing to do", "[loop][threads]") {
    double waited = -1;
    bool ran = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto woken = loop.create_future<void>();
        std::vector<std::thread> threads;
        Joiner joiner{threads};
        const auto start = std::chrono::steady_clock::now();
        threads.emplace_back([&] {
            std::this_thread::sleep_for(50ms);
            loop.call_soon_threadsafe([&] {
                ran = true;
                woken.set_result();
            });
        });
        co_await woken;
        waited = wall_seconds_since(start);
    }());
    CHECK(ran);
    CHECK(waited >= 0.045);
    CHECK(waited < 10.0);
}

TEST_CASE("call_soon_threadsafe from the loop's own thread keeps FIFO order with call_soon "
          "(test_call_soon_threadsafe_same_thread)",
          "[loop][threads]") {
    std::vector<std::string> results;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        auto callback = [&](std::string s) {
            results.push_back(std::move(s));
            if (results.size() >= 2) done.set_result();
        };
        loop.call_soon_threadsafe([&] { callback("hello"); });
        loop.call_soon([&] { callback("world"); });
        co_await done;
    }());
    CHECK(results == std::vector<std::string>{"hello", "world"});
}

TEST_CASE("a callback posted from another thread before a call_soon runs first (test_call_soon_threadsafe)",
          "[loop][threads]") {
    std::vector<std::string> results;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        auto callback = [&](std::string s) {
            results.push_back(std::move(s));
            if (results.size() >= 2) done.set_result();
        };
        std::thread t([&] { loop.call_soon_threadsafe([&] { callback("hello"); }); });
        t.join();  // posted before the call_soon below
        loop.call_soon([&] { callback("world"); });
        co_await done;
    }());
    CHECK(results == std::vector<std::string>{"hello", "world"});
}

TEST_CASE("call_soon_threadsafe on a closed loop raises RuntimeError and drops the callback", "[loop][threads]") {
    auto token = std::make_shared<int>(1);
    corio::EventLoop loop(corio_test::make_backend());
    loop.close();
    CHECK(loop.is_closed());
    CHECK_THROWS_AS(loop.call_soon_threadsafe([token] {}), corio::RuntimeError);
    CHECK(token.use_count() == 1);
    // From another thread too.
    bool threw = false;
    std::thread t([&] {
        try {
            loop.call_soon_threadsafe([token] {});
        } catch (const corio::RuntimeError&) {
            threw = true;
        }
    });
    t.join();
    CHECK(threw);
    CHECK(token.use_count() == 1);
}

TEST_CASE("debug mode: call_soon from another thread raises RuntimeError (check_thread)", "[loop][threads]") {
    std::string soon_error, later_error, at_error;
    bool ran = false;
    corio::RunOptions o = corio_test::options();
    o.debug = true;
    corio::run(
        [&]() -> Coro<> {
            corio::EventLoop& loop = corio::get_running_loop();
            std::thread t([&] {
                try {
                    loop.call_soon([&] { ran = true; });
                } catch (const corio::RuntimeError& e) {
                    soon_error = e.what();
                }
                try {
                    loop.call_later(1ms, [&] { ran = true; });
                } catch (const corio::RuntimeError& e) {
                    later_error = e.what();
                }
                try {
                    loop.call_at(0.0, [&] { ran = true; });
                } catch (const corio::RuntimeError& e) {
                    at_error = e.what();
                }
            });
            t.join();
            co_await corio::sleep(10ms);
        }(),
        o);
    CHECK_FALSE(ran);
    CHECK_THAT(soon_error, Catch::Contains("call_soon_threadsafe"));
    CHECK_THAT(later_error, Catch::Contains("thread"));
    CHECK_THAT(at_error, Catch::Contains("thread"));
}

// --- errors in callbacks -------------------------------------------------------------------

TEST_CASE("an exception in a callback is logged and the loop goes on (test_default_exc_handler_callback)",
          "[loop]") {
    corio_test::LogCapture log;
    bool after = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        auto done = loop.create_future<void>();
        loop.call_soon([] { throw MyError("zero from call_soon"); });
        loop.call_later(1ms, [] { throw MyError("zero from call_later"); });
        loop.call_later(5ms, [&] {
            after = true;
            done.set_result();
        });
        co_await done;
    }());
    CHECK(after);
    CHECK(log.count("Exception in callback") == 2);
    CHECK(log.count("zero from call_soon") == 1);
    CHECK(log.count("zero from call_later") == 1);
}

TEST_CASE("set_exception_handler receives callback errors (test_set_exc_handler_custom)", "[loop]") {
    corio_test::LogCapture log;
    std::vector<std::string> messages;
    std::vector<std::string> whats;
    bool right_loop = true;
    bool had_task = false;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        loop.set_exception_handler([&](corio::EventLoop& l, const corio::ExceptionContext& ctx) {
            if (&l != &loop) right_loop = false;
            if (ctx.task) had_task = true;
            messages.push_back(ctx.message);
            try {
                std::rethrow_exception(ctx.exception);
            } catch (const MyError& e) {
                whats.push_back(e.what());
            } catch (...) {
                whats.push_back("?");
            }
        });
        loop.call_soon([] { throw MyError("zero_error"); });
        co_await corio::sleep(1ms);
        CHECK(log.count("Exception in callback") == 0);  // the handler took it

        // Without a handler again: the default one logs.
        loop.set_exception_handler({});
        loop.call_soon([] { throw MyError("zero_error again"); });
        co_await corio::sleep(1ms);
    }());
    REQUIRE(messages.size() == 1);
    CHECK_THAT(messages[0], Catch::Contains("Exception in callback"));
    CHECK(whats == std::vector<std::string>{"zero_error"});
    CHECK(right_loop);
    CHECK_FALSE(had_task);
    CHECK(log.count("Exception in callback") == 1);
    CHECK(log.count("zero_error again") == 1);
}

TEST_CASE("an exception handler that throws is reported, then the default handler runs "
          "(test_set_exc_handler_broken)",
          "[loop]") {
    corio_test::LogCapture log;
    run_test([&]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        loop.set_exception_handler(
            [](corio::EventLoop&, const corio::ExceptionContext&) { throw std::runtime_error("spam"); });
        loop.call_soon([] { throw MyError("zero"); });
        co_await corio::sleep(1ms);
    }());
    CHECK(log.count("Unhandled error in exception handler") == 1);
    CHECK(log.count("spam") >= 1);
    CHECK(log.count("Exception in callback") == 1);
}

TEST_CASE("debug mode reports a slow callback", "[loop]") {
    corio_test::LogCapture log;
    corio::RunOptions o = corio_test::options();
    o.debug = true;
    o.slow_callback_duration = 10ms;
    corio::run(
        []() -> Coro<> {
            corio::EventLoop& loop = corio::get_running_loop();
            auto done = loop.create_future<void>();
            loop.call_soon([&] {
                busy_wait(30ms);
                done.set_result();
            });
            co_await done;
        }(),
        o);
    CHECK(log.count("Executing <Callback> took") == 1);
}

// --- an EventLoop run by hand ------------------------------------------------------------

TEST_CASE("an EventLoop run with run_until_complete, more than once, then closed (test_run_until_complete)",
          "[loop]") {
    corio::EventLoop loop(corio_test::make_backend());
    CHECK_FALSE(loop.is_running());
    CHECK_FALSE(loop.is_closed());
    CHECK_FALSE(loop.get_debug());

    bool was_running = false;
    bool was_current = false;
    auto body = [&](int v) -> Coro<int> {
        was_running = loop.is_running();
        was_current = &corio::get_running_loop() == &loop;
        co_await corio::sleep(10ms);
        co_return v;
    };
    auto t1 = loop.create_task(body(42));
    loop.run_until_complete(*t1.base());
    CHECK(t1.result() == 42);
    CHECK(was_running);
    CHECK(was_current);
    CHECK_FALSE(loop.is_running());
    CHECK_THROWS_AS(corio::get_running_loop(), corio::RuntimeError);

    // The same loop runs again.
    auto t2 = loop.create_task(body(7));
    loop.run_until_complete(*t2.base());
    CHECK(t2.result() == 7);
    CHECK(loop.pending_task_count() == 0);

    // Until a plain Future completes, set by a callback.
    auto f = loop.create_future<int>();
    loop.call_later(5ms, [&f] { f.set_result(5); });
    loop.run_until_complete(*f.base());
    CHECK(f.result() == 5);

    loop.close();
    CHECK(loop.is_closed());
    loop.close();  // idempotent (test_close)
    loop.close();
    auto g = corio::Future<void>(loop);
    CHECK_THROWS_AS(loop.run_until_complete(*g.base()), corio::RuntimeError);
}

TEST_CASE("run_until_complete inside a running loop raises RuntimeError (test_run_until_complete_nesting)",
          "[loop]") {
    std::string same_loop_error, other_loop_error;
    corio::EventLoop loop(corio_test::make_backend());
    corio::EventLoop other(corio_test::make_backend());
    auto quick = []() -> Coro<> { co_return; };
    auto other_task = other.create_task(quick());
    auto inner = loop.create_task(quick());
    auto outer_body = [&]() -> Coro<> {
        try {
            loop.run_until_complete(*inner.base());
        } catch (const corio::RuntimeError& e) {
            same_loop_error = e.what();
        }
        try {
            other.run_until_complete(*other_task.base());
        } catch (const corio::RuntimeError& e) {
            other_loop_error = e.what();
        }
        co_await inner;
    };
    auto outer = loop.create_task(outer_body());
    loop.run_until_complete(*outer.base());
    CHECK(outer.done());
    outer.result();
    CHECK_THAT(same_loop_error, Catch::Contains("already running"));
    CHECK_THAT(other_loop_error, Catch::Contains("running"));
    // The other loop is intact and runs its task afterwards.
    other.run_until_complete(*other_task.base());
    CHECK(other_task.done());
    loop.close();
    other.close();
}

TEST_CASE("closing a running loop raises RuntimeError (test_close_running_event_loop)", "[loop]") {
    corio::EventLoop loop(corio_test::make_backend());
    std::string error;
    auto body = [&]() -> Coro<> {
        try {
            loop.close();
        } catch (const corio::RuntimeError& e) {
            error = e.what();
        }
        co_return;
    };
    auto t = loop.create_task(body());
    loop.run_until_complete(*t.base());
    CHECK_THAT(error, Catch::Contains("running"));
    CHECK_FALSE(loop.is_closed());
    loop.close();
    CHECK(loop.is_closed());
}

TEST_CASE("closing a loop destroys its pending tasks, running their destructors, and logs them", "[loop]") {
    corio_test::LogCapture log;
    bool destroyed = false;
    bool resumed = false;
    corio::EventLoop loop(corio_test::make_backend());
    auto sleeper_body = [&]() -> Coro<> {
        SetOnDestroy guard{destroyed};
        co_await corio::sleep(10s);
        resumed = true;
    };
    auto quick = []() -> Coro<> { co_await corio::sleep(1ms); };
    auto sleeper = loop.create_task(sleeper_body(), "sleepy");
    auto t = loop.create_task(quick());
    loop.run_until_complete(*t.base());
    CHECK_FALSE(sleeper.done());
    CHECK(loop.pending_task_count() == 1);
    loop.close();
    CHECK(destroyed);
    CHECK_FALSE(resumed);
    CHECK(sleeper.done());
    CHECK(log.count("destroyed but it is pending") == 1);
    CHECK(log.count("sleepy") == 1);
}

TEST_CASE("closing a loop drops the callbacks it has not run", "[loop]") {
    auto token = std::make_shared<int>(1);
    bool ran = false;
    {
        corio::EventLoop loop(corio_test::make_backend());
        loop.call_soon([token, &ran] { ran = true; });
        corio::TimerHandle h = loop.call_later(10s, [token, &ran] { ran = true; });
        loop.call_soon_threadsafe([token, &ran] { ran = true; });
        loop.close();
        CHECK(h.cancelled() == false);
        h = {};
        CHECK(token.use_count() == 1);
    }
    CHECK_FALSE(ran);
    CHECK(token.use_count() == 1);
}

TEST_CASE("call_later and call_at on a closed loop raise RuntimeError (test_close)", "[loop]") {
    corio::EventLoop loop(corio_test::make_backend());
    loop.close();
    CHECK_THROWS_AS(loop.call_later(1s, [] {}), corio::RuntimeError);
    CHECK_THROWS_AS(loop.call_at(1.0, [] {}), corio::RuntimeError);
}

TEST_CASE("call_soon on a closed loop raises RuntimeError (test_close, _check_closed)", "[loop]") {
    auto token = std::make_shared<int>(1);
    corio::EventLoop loop(corio_test::make_backend());
    loop.close();
    CHECK_THROWS_AS(loop.call_soon([token] {}), corio::RuntimeError);
    CHECK(token.use_count() == 1);  // not kept in a queue nobody will run or free
}

TEST_CASE("create_task on a closed loop raises RuntimeError (test_close)", "[loop]") {
    corio_test::LogCapture log;
    bool started = false;
    corio::EventLoop loop(corio_test::make_backend());
    loop.close();
    auto body = [&]() -> Coro<> {
        started = true;
        co_return;
    };
    CHECK_THROWS_AS(loop.create_task(body()), corio::RuntimeError);
    CHECK(loop.pending_task_count() == 0);
    CHECK_FALSE(started);
}

// --- backends ----------------------------------------------------------------------------

TEST_CASE("an EventLoop needs a backend, and a backend serves one loop at a time", "[loop]") {
    CHECK_THROWS_AS(corio::EventLoop(nullptr), corio::ValueError);
    auto backend = corio_test::make_backend();
    {
        corio::EventLoop first(backend);
        CHECK(&first.backend() == backend.get());
        CHECK_THROWS_AS(corio::EventLoop(backend), corio::RuntimeError);
        first.close();
        // Free again once the first loop closed.
        corio::EventLoop second(backend);
        bool ran = false;
        second.call_soon([&] { ran = true; });
        second.run_once();
        CHECK(ran);
    }
}

#if __has_include("corio/backends/libuv.hpp")  // not in the wasm build
TEST_CASE("backends::libuv(nullptr) is refused; uv_loop_of names the uv loop of a libuv backend", "[loop]") {
    if (corio_test::backend_name() != "libuv") return;
    CHECK_THROWS_AS(corio::backends::libuv(nullptr), corio::ValueError);
    auto vt = corio::backends::virtual_time();
    CHECK(corio::backends::uv_loop_of(*vt) == nullptr);
    auto own = corio::backends::libuv();
    CHECK(std::string(own->name()) == "libuv");
    corio::EventLoop loop(own);  // corio's own uv loop exists once a loop opened it
    CHECK(corio::backends::uv_loop_of(*own) != nullptr);
    loop.close();
}
#endif

#ifdef CORIO_TEST_HAVE_UV
namespace {
// tests/meson.build links the tests with corio only, not with libuv, so the uv functions this
// test calls are looked up at run time in the libuv that corio itself loaded.
template <class F>
F uv_symbol(const char* name) {
    return reinterpret_cast<F>(::dlsym(RTLD_DEFAULT, name));
}
struct UvApi {
    decltype(&uv_loop_init) loop_init = uv_symbol<decltype(&uv_loop_init)>("uv_loop_init");
    decltype(&uv_loop_close) loop_close = uv_symbol<decltype(&uv_loop_close)>("uv_loop_close");
    decltype(&uv_run) run = uv_symbol<decltype(&uv_run)>("uv_run");
    decltype(&uv_timer_init) timer_init = uv_symbol<decltype(&uv_timer_init)>("uv_timer_init");
    decltype(&uv_timer_start) timer_start = uv_symbol<decltype(&uv_timer_start)>("uv_timer_start");
    decltype(&uv_close) close = uv_symbol<decltype(&uv_close)>("uv_close");
    bool complete() const {
        return loop_init && loop_close && run && timer_init && timer_start && close;
    }
};
}  // namespace

TEST_CASE("backends::libuv(uv_loop_t*) runs corio on the application's uv loop", "[loop]") {
    if (corio_test::backend_name() != "libuv") return;
    const UvApi uv_api;
    REQUIRE(uv_api.complete());
    uv_loop_t uv;
    REQUIRE(uv_api.loop_init(&uv) == 0);

    // The application's own timer on the same uv loop.
    struct AppState {
        int fired = 0;
    } app;
    uv_timer_t timer;
    REQUIRE(uv_api.timer_init(&uv, &timer) == 0);
    timer.data = &app;
    REQUIRE(uv_api.timer_start(
                &timer, [](uv_timer_t* t) { ++static_cast<AppState*>(t->data)->fired; }, 20, 0) == 0);

    auto backend = corio::backends::libuv(&uv);
    CHECK(corio::backends::uv_loop_of(*backend) == &uv);
    corio::RunOptions o;
    o.backend = backend;
    int app_fired_seen = corio::run(
        [&]() -> Coro<int> {
            CHECK(corio::backends::uv_loop_of(corio::get_running_loop().backend()) == &uv);
            co_await corio::sleep(100ms);
            co_return app.fired;
        }(),
        o);
    CHECK(app_fired_seen == 1);  // the app's timer fired while corio ran
    CHECK(app.fired == 1);

    // A second run on the same uv loop works too.
    CHECK(corio::run([]() -> Coro<int> {
              co_await corio::sleep(1ms);
              co_return 3;
          }(),
                     o) == 3);

    // corio closed its handles and left the loop to us: once ours is closed, it closes.
    uv_api.close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    uv_api.run(&uv, UV_RUN_DEFAULT);
    backend.reset();
    o.backend.reset();
    CHECK(uv_api.loop_close(&uv) == 0);
}
#endif

TEST_CASE("run_for runs what is ready, without blocking, and says when to come back", "[loop]") {
    // The entry a host that owns the event loop pumps (the JavaScript library build).
    corio::EventLoop loop(corio_test::make_backend());
    std::vector<std::string> log;
    auto body = [&]() -> Coro<> {
        log.push_back("start");
        co_await corio::sleep(0s);
        log.push_back("yielded");
        co_await corio::sleep(50ms);
        log.push_back("end");
    };
    corio::Task<> t = loop.create_task(body());
    const auto start = std::chrono::steady_clock::now();
    const std::int64_t next = loop.run_for(std::chrono::milliseconds(100));
    CHECK(std::chrono::steady_clock::now() - start < 40ms);  // it did not wait for the timer
    CHECK(log == std::vector<std::string>{"start", "yielded"});
    CHECK(next > 0);
    CHECK(next <= 50'000'000);
    CHECK_FALSE(loop.is_running());
    if (corio_test::backend_name() == "libuv") {
        std::this_thread::sleep_for(60ms);
        CHECK(loop.run_for(std::chrono::milliseconds(100)) == -1);  // nothing left: idle
        CHECK(log.back() == "end");
        CHECK(t.done());
    } else {
        loop.run_until_complete(*t.base());  // virtual time moves only when the loop waits
    }
    // Work that stays ready past the budget: it comes back with 0 (call again at once).
    bool stop = false;
    auto spinner = [&]() -> Coro<> {
        while (!stop) co_await corio::sleep(0s);
    };
    corio::Task<> s = loop.create_task(spinner());
    CHECK(loop.run_for(std::chrono::milliseconds(2)) == 0);
    stop = true;
    loop.run_until_complete(*s.base());
    loop.close();
}
