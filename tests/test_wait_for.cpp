// wait_for and shield: ports of CPython 3.12's test_asyncio/test_waitfor.py, of the parts of
// test_timeouts.py that wait_for is built on (asyncio.timeout's cancel/uncancel rules), and of
// the shield tests of test_tasks.py. Every test runs on both backends: exact times are only
// asserted under virtual time, libuv gets generous bounds and ordering checks.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Future;
using corio::Task;
using corio_test::run_test;
using corio_test::virtual_time;

namespace {

double now() { return corio::get_running_loop().time(); }

// Sets *flag when destroyed: a coroutine's cleanup has run.
struct SetOnExit {
    bool* flag;
    ~SetOnExit() { *flag = true; }
};

struct FooError : std::runtime_error {
    FooError() : std::runtime_error("foo") {}
};

using corio_test::error_kind;

Coro<int> answer() { co_return 42; }

Coro<int> value_after(std::chrono::milliseconds d, int v) {
    co_await corio::sleep(d);
    co_return v;
}

Coro<> nothing_after(std::chrono::milliseconds d, bool* done) {
    co_await corio::sleep(d);
    *done = true;
}

// Sleeps `d`, then returns `v`. *cancelled: the sleep got a CancelledError (rethrown);
// *finished: the body was left, whichever way.
Coro<int> sleeper(std::chrono::milliseconds d, bool* cancelled, bool* finished, int v = 1) {
    SetOnExit on_exit{finished};
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        *cancelled = true;
        throw;
    }
    co_return v;
}

// Like sleeper, but the cleanup after a cancellation takes `cleanup` (asyncio's
// `except CancelledError: await asyncio.sleep(EPSILON); raise`).
Coro<std::string> slow_to_cancel(std::chrono::milliseconds d, std::chrono::milliseconds cleanup, bool* running,
                                 bool* done) {
    *running = true;
    std::exception_ptr cancelled;
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        cancelled = std::current_exception();
    }
    if (cancelled) {
        co_await corio::sleep(cleanup);
        *running = false;
        *done = true;
        std::rethrow_exception(cancelled);
    }
    *running = false;
    *done = true;
    co_return "done";
}

// Swallows the cancellation and returns 42 instead (GH-86296).
Coro<int> return_42_on_cancel(std::chrono::milliseconds d, bool* was_cancelled) {
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        *was_cancelled = true;
        co_return 42;
    }
    co_return 0;
}

// asyncio's SlowTask: runs for `total`, ignoring every cancellation request.
Coro<int> ignores_cancel(std::chrono::milliseconds total, bool* exited, int* cancels_seen) {
    const double exit_at = now() + std::chrono::duration<double>(total).count();
    for (;;) {
        const double left = exit_at - now();
        if (left <= 0) break;
        try {
            co_await corio::sleep(std::chrono::duration<double>(left));
        } catch (const corio::CancelledError&) {
            ++*cancels_seen;
        }
    }
    *exited = true;
    co_return 7;
}

// Raises FooError when its sleep ends, normally or by cancellation.
Coro<int> foo_in_finally(std::chrono::milliseconds d, bool* cancelled) {
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        *cancelled = true;
    }
    throw FooError();
}

Coro<std::string> await_future(Future<std::string> f) { co_return co_await f; }

// A guard owned by the coroutine's frame (a parameter): it dies with the frame, not the body.
Coro<int> holds_guard(std::shared_ptr<SetOnExit> guard, std::chrono::milliseconds d) {
    (void)guard;
    co_await corio::sleep(d);
    co_return 1;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// wait_for: success, timeout, cleanup
// ---------------------------------------------------------------------------------------------

TEST_CASE("wait_for returns the result when the work finishes before the timeout", "[wait_for]") {
    int v = 0, immediate = 0;
    double elapsed = -1;
    bool timer_fired_later = false;
    std::uint32_t cancelling = 99;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        v = co_await corio::wait_for(value_after(10ms, 5), 200ms);
        elapsed = now() - t0;
        immediate = co_await corio::wait_for(answer(), 200ms);
        // The deadline of the finished wait_for passes while we sleep: nothing must happen.
        try {
            co_await corio::sleep(300ms);
        } catch (const corio::CancelledError&) {
            timer_fired_later = true;
        }
        cancelling = corio::current_task().cancelling();
    }());
    CHECK(v == 5);
    CHECK(immediate == 42);
    CHECK_FALSE(timer_fired_later);
    CHECK(cancelling == 0);
    if (virtual_time())
        CHECK(elapsed == Approx(0.010));
    else
        CHECK(elapsed < 0.2);
}

TEST_CASE("wait_for of a void coroutine, a floating or huge timeout", "[wait_for]") {
    bool done = false;
    int a = 0, b = 0;
    run_test([&]() -> Coro<> {
        co_await corio::wait_for(nothing_after(1ms, &done), 1s);
        a = co_await corio::wait_for(value_after(1ms, 3), std::chrono::duration<double>(0.5));
        // asyncio's timeout=None has no C++ spelling: a saturating huge duration stands for it.
        b = co_await corio::wait_for(value_after(1ms, 4), std::chrono::hours::max());
    }());
    CHECK(done);
    CHECK(a == 3);
    CHECK(b == 4);
}

TEST_CASE("wait_for times out: the inner coroutine is cancelled and has finished before TimeoutError",
          "[wait_for]") {
    bool cancelled = false, finished = false, finished_at_throw = false, timed_out = false;
    bool guard_gone = false, guard_gone_at_throw = false;
    std::string what;
    double elapsed = -1;
    std::uint32_t cancelling = 99;
    bool cancelled_later = false;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        try {
            co_await corio::wait_for(sleeper(10s, &cancelled, &finished), 50ms);
        } catch (const corio::TimeoutError& e) {
            timed_out = true;
            finished_at_throw = finished;
            what = e.what();
        }
        elapsed = now() - t0;
        try {
            auto guard = std::make_shared<SetOnExit>(SetOnExit{&guard_gone});
            co_await corio::wait_for(holds_guard(std::move(guard), 10s), 10ms);
        } catch (const corio::TimeoutError&) {
            guard_gone_at_throw = guard_gone;
        }
        // The timeout's cancellation was taken back: the task goes on normally.
        cancelling = corio::current_task().cancelling();
        try {
            co_await corio::sleep(1ms);
        } catch (const corio::CancelledError&) {
            cancelled_later = true;
        }
    }());
    CHECK(timed_out);
    CHECK(cancelled);
    CHECK(finished_at_throw);
    CHECK(guard_gone_at_throw);
    CHECK_THAT(what, Catch::Contains("timed out"));
    CHECK(cancelling == 0);
    CHECK_FALSE(cancelled_later);
    if (virtual_time()) {
        CHECK(elapsed == Approx(0.050));
    } else {
        CHECK(elapsed >= 0.045);
        CHECK(elapsed < 2.0);
    }
}

TEST_CASE("a task whose wait_for timed out is not left cancelled", "[wait_for]") {
    // test_timeouts.test_outer_task_is_not_cancelled
    run_test([]() -> Coro<> {
        auto outer = corio::create_task([]() -> Coro<int> {
            bool c = false, f = false;
            try {
                co_await corio::wait_for(sleeper(10s, &c, &f), 1ms);
            } catch (const corio::TimeoutError&) {
                co_return 1;
            }
            co_return 0;
        });
        const int r = co_await outer;
        CHECK(r == 1);
        CHECK(outer.done());
        CHECK_FALSE(outer.cancelled());
    }());
}

TEST_CASE("a 10 s wait_for timeout takes no real time under virtual time", "[wait_for]") {
    const std::chrono::milliseconds timeout = virtual_time() ? 10000ms : 100ms;
    double elapsed = -1;
    bool timed_out = false;
    const auto wall0 = std::chrono::steady_clock::now();
    run_test([&]() -> Coro<> {
        const double t0 = now();
        bool c = false, f = false;
        try {
            co_await corio::wait_for(sleeper(std::chrono::hours(1), &c, &f), timeout);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        elapsed = now() - t0;
    }());
    const auto wall = std::chrono::steady_clock::now() - wall0;
    CHECK(timed_out);
    if (virtual_time()) {
        CHECK(elapsed == Approx(10.0));
        CHECK(wall < 2s);
    } else {
        CHECK(elapsed >= 0.095);
        CHECK(elapsed < 3.0);
    }
}

TEST_CASE("wait_for leaves no timer behind when the work finishes first", "[wait_for]") {
    // Under virtual time an idle loop jumps to the next timer: if any wait_for had left its
    // 10 s deadline armed, the clock would jump there while we wait for another thread.
    double idle = -1;
    int sum = 0;
    run_test([&]() -> Coro<> {
        for (int i = 0; i < 50; ++i) sum += co_await corio::wait_for(value_after(1ms, 1), 10s);
        for (int i = 0; i < 50; ++i) sum += co_await corio::wait_for(answer(), 10s);
        Future<> wake;
        Future<>* pwake = &wake;
        corio::EventLoop* loop = &corio::get_running_loop();
        const double t0 = now();
        std::thread th([loop, pwake] {
            std::this_thread::sleep_for(20ms);
            loop->call_soon_threadsafe([pwake] { pwake->set_result(); });
        });
        co_await wake;
        idle = now() - t0;
        th.join();
    }());
    CHECK(sum == 50 + 50 * 42);
    CHECK(idle >= 0.0);
    CHECK(idle < 5.0);
}

// ---------------------------------------------------------------------------------------------
// wait_for: zero and negative timeouts
// ---------------------------------------------------------------------------------------------

TEST_CASE("wait_for with a zero or negative timeout never starts a coroutine", "[wait_for]") {
    // test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started
    corio_test::LogCapture log;
    bool started = false;
    int timeouts = 0;
    run_test([&]() -> Coro<> {
        auto foo = [](bool* s) -> Coro<int> {
            *s = true;
            co_return 1;
        };
        const std::array<std::chrono::milliseconds, 3> delays{0ms, -1ms, std::chrono::milliseconds(-5000)};
        for (auto d : delays) {
            try {
                co_await corio::wait_for(foo(&started), d);
            } catch (const corio::TimeoutError&) {
                ++timeouts;
            }
        }
        co_await corio::sleep(1ms);
    }());
    CHECK(timeouts == 3);
    CHECK_FALSE(started);
    CHECK(log.count("never awaited") == 0);
}

TEST_CASE("wait_for with a zero or negative timeout returns a finished task's or future's result", "[wait_for]") {
    // test_wait_for_timeout_less_then_0_or_0_future_done
    run_test([]() -> Coro<> {
        auto t = corio::create_task(value_after(0ms, 9));
        co_await t;
        const int a = co_await corio::wait_for(t, 0s);
        const int b = co_await corio::wait_for(t, -1s);
        CHECK(a == 9);
        CHECK(b == 9);

        Future<std::string> fut;
        fut.set_result("done");
        const std::string r = co_await corio::wait_for(fut, 0s);
        CHECK(r == "done");
        CHECK(fut.done());

        // A finished task that failed: its exception, not TimeoutError.
        auto failed = corio::create_task([]() -> Coro<int> {
            co_await corio::sleep(0s);
            throw FooError();
        });
        bool foo = false;
        try {
            co_await failed;
        } catch (const FooError&) {
        }
        try {
            co_await corio::wait_for(failed, 0s);
        } catch (const FooError&) {
            foo = true;
        }
        CHECK(foo);
    }());
}

TEST_CASE("wait_for with a zero or negative timeout cancels a pending task and waits for it", "[wait_for]") {
    // test_wait_for_timeout_less_then_0_or_0 and ..._waits_for_task_cancellation_w_timeout_0
    for (auto timeout : {0ms, -1000ms}) {
        bool running = false, done = false, timed_out = false, done_at_throw = false;
        bool task_done = false, task_cancelled = false;
        double elapsed = -1;
        run_test([&]() -> Coro<> {
            auto t = corio::create_task(slow_to_cancel(10s, 20ms, &running, &done));
            co_await corio::sleep(0s);  // started
            REQUIRE(running);
            const double t0 = now();
            try {
                co_await corio::wait_for(t, timeout);
            } catch (const corio::TimeoutError&) {
                timed_out = true;
                done_at_throw = done;
            }
            elapsed = now() - t0;
            task_done = t.done();
            task_cancelled = t.cancelled();
        }());
        CHECK(timed_out);
        CHECK(done_at_throw);
        CHECK_FALSE(running);
        CHECK(task_done);
        CHECK(task_cancelled);
        if (virtual_time()) CHECK(elapsed == Approx(0.020));
    }
}

TEST_CASE("wait_for with a zero timeout: the caller cancelled meanwhile gets CancelledError", "[wait_for]") {
    // asyncio's _cancel_and_wait: a cancellation of the caller while it waits goes on as is.
    std::string outcome;
    bool running = false, done = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(slow_to_cancel(10s, 50ms, &running, &done));
        co_await corio::sleep(0s);
        auto caller = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::wait_for(t, 0s);
                outcome = "value";
            } catch (const corio::TimeoutError&) {
                outcome = "timeout";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
                throw;
            }
        });
        co_await corio::sleep(10ms);
        caller.cancel("outer");
        try {
            co_await caller;
        } catch (const corio::CancelledError&) {
        }
        CHECK(caller.cancelled());
        try {
            co_await t;
        } catch (const corio::CancelledError&) {
        }
        CHECK(t.cancelled());
    }());
    CHECK(outcome == "cancelled:outer");
    CHECK(done);
}

TEST_CASE("wait_for with a zero timeout cancels a pending future", "[wait_for]") {
    run_test([]() -> Coro<> {
        Future<std::string> fut;
        bool timed_out = false;
        try {
            co_await corio::wait_for(fut, 0s);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(fut.cancelled());
    }());
}

TEST_CASE("wait_for with a zero timeout: a task that swallows the cancellation gives its value", "[wait_for]") {
    run_test([]() -> Coro<> {
        bool was_cancelled = false;
        auto t = corio::create_task(return_42_on_cancel(10s, &was_cancelled));
        co_await corio::sleep(0s);
        const int r = co_await corio::wait_for(t, 0s);
        CHECK(r == 42);
        CHECK(was_cancelled);
        CHECK_FALSE(t.cancelled());
    }());
}

TEST_CASE("wait_for with a zero timeout: another exception raised during the cancellation comes out",
          "[wait_for]") {
    run_test([]() -> Coro<> {
        bool cancelled = false;
        auto t = corio::create_task(foo_in_finally(10s, &cancelled));
        co_await corio::sleep(0s);
        bool foo = false;
        try {
            co_await corio::wait_for(t, 0s);
        } catch (const FooError&) {
            foo = true;
        }
        CHECK(foo);
        CHECK(cancelled);
    }());
}

TEST_CASE("wait_for with a zero timeout gives TimeoutError after an earlier, swallowed cancellation",
          "[wait_for]") {
    // test_timeouts.test_timeout_after_cancellation, through wait_for's timeout <= 0 path:
    // Python awaits the cancelled task and turns its CancelledError into TimeoutError whatever
    // the caller's cancelling() count was before: only a *new* cancellation of the caller
    // passes on (compared with the count taken before awaiting, not with zero).
    std::string outcome;
    run_test([&]() -> Coro<> {
        bool cancelled_once = false;
        try {
            corio::current_task().cancel();
            co_await corio::sleep(1s);
        } catch (const corio::CancelledError&) {
            cancelled_once = true;  // swallowed, without uncancel(): cancelling() stays 1
        }
        REQUIRE(cancelled_once);
        bool running = false, done = false;
        auto t = corio::create_task(slow_to_cancel(10s, 1ms, &running, &done));
        co_await corio::sleep(0s);
        try {
            co_await corio::wait_for(t, 0s);
            outcome = "value";
        } catch (const corio::TimeoutError&) {
            outcome = "timeout";
        } catch (const corio::CancelledError&) {
            outcome = "cancelled";
        }
    }());
    CHECK(outcome == "timeout");
}

TEST_CASE("wait_for with a positive timeout gives TimeoutError after an earlier, swallowed cancellation",
          "[wait_for]") {
    // test_timeout_after_cancellation and test_cancel_in_timeout_after_cancellation
    std::string first, second;
    run_test([&]() -> Coro<> {
        try {
            corio::current_task().cancel();
            co_await corio::sleep(1s);
        } catch (const corio::CancelledError&) {
        }
        bool c = false, f = false;
        try {
            co_await corio::wait_for(sleeper(1s, &c, &f), 10ms);
            first = "value";
        } catch (const corio::TimeoutError&) {
            first = "timeout";
        } catch (const corio::CancelledError&) {
            first = "cancelled";
        }
        auto body = []() -> Coro<int> {
            corio::current_task().cancel();
            co_await corio::sleep(2s);
            co_return 1;
        };
        try {
            co_await corio::wait_for(body(), 1s);
            second = "value";
        } catch (const corio::TimeoutError&) {
            second = "timeout";
        } catch (const corio::CancelledError&) {
            second = "cancelled";
        }
    }());
    CHECK(first == "timeout");
    CHECK(second == "cancelled");
}

// ---------------------------------------------------------------------------------------------
// wait_for: what the inner work does with the cancellation
// ---------------------------------------------------------------------------------------------

TEST_CASE("wait_for returns the value of inner work that swallows the cancellation", "[wait_for]") {
    // test_wait_for_cancel_suppressed and test_wait_for_cancellation_race_condition
    int from_coro = 0, from_task = 0;
    bool coro_cancelled = false, task_cancelled = false;
    std::uint32_t cancelling = 99;
    bool later_cancelled = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        from_coro = co_await corio::wait_for(return_42_on_cancel(10s, &coro_cancelled), 50ms);
        elapsed = now() - t0;
        auto t = corio::create_task(return_42_on_cancel(10s, &task_cancelled));
        from_task = co_await corio::wait_for(t, 10ms);
        cancelling = corio::current_task().cancelling();
        try {
            co_await corio::sleep(1ms);
        } catch (const corio::CancelledError&) {
            later_cancelled = true;
        }
    }());
    CHECK(from_coro == 42);
    CHECK(from_task == 42);
    CHECK(coro_cancelled);
    CHECK(task_cancelled);
    CHECK(cancelling == 0);
    CHECK_FALSE(later_cancelled);
    if (virtual_time()) CHECK(elapsed == Approx(0.050));
}

TEST_CASE("wait_for waits for inner work that ignores cancellation", "[wait_for]") {
    // test_asyncio_wait_for_timeout: SlowTask runs for 0.2 s whatever happens.
    bool exited = false;
    int cancels = 0, r = 0;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        r = co_await corio::wait_for(ignores_cancel(200ms, &exited, &cancels), 100ms);
        elapsed = now() - t0;
    }());
    CHECK(exited);
    CHECK(cancels == 1);
    CHECK(r == 7);
    CHECK(elapsed >= 0.199);
    if (virtual_time()) CHECK(elapsed == Approx(0.2));
}

TEST_CASE("wait_for passes on another exception of the inner work", "[wait_for]") {
    // test_foreign_exception_passed, test_foreign_exception_on_timeout,
    // test_wait_for_reraises_exception_during_cancellation
    bool before = false, during_coro = false, during_task = false;
    bool cancelled_coro = false, cancelled_task = false;
    std::uint32_t cancelling = 99;
    run_test([&]() -> Coro<> {
        try {
            co_await corio::wait_for(foo_in_finally(1ms, &cancelled_coro), 1s);
        } catch (const FooError&) {
            before = true;
        }
        CHECK_FALSE(cancelled_coro);
        try {
            co_await corio::wait_for(foo_in_finally(1s, &cancelled_coro), 10ms);
        } catch (const FooError&) {
            during_coro = true;
        }
        auto t = corio::create_task(foo_in_finally(1s, &cancelled_task));
        try {
            co_await corio::wait_for(t, 10ms);
        } catch (const FooError&) {
            during_task = true;
        }
        cancelling = corio::current_task().cancelling();
    }());
    CHECK(before);
    CHECK(during_coro);
    CHECK(during_task);
    CHECK(cancelled_coro);
    CHECK(cancelled_task);
    CHECK(cancelling == 0);
}

// ---------------------------------------------------------------------------------------------
// wait_for: cancellation from outside
// ---------------------------------------------------------------------------------------------

TEST_CASE("cancelling the task in wait_for gives CancelledError, not TimeoutError", "[wait_for]") {
    bool cancelled = false, finished = false;
    std::string outcome;
    bool task_cancelled = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        auto waiter = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::wait_for(sleeper(10s, &cancelled, &finished), 1s);
                outcome = "value";
            } catch (const corio::TimeoutError&) {
                outcome = "timeout";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
                throw;
            }
        });
        co_await corio::sleep(10ms);
        waiter.cancel("stop");
        try {
            co_await waiter;
        } catch (const corio::CancelledError&) {
        }
        task_cancelled = waiter.cancelled();
        elapsed = now() - t0;
    }());
    CHECK(outcome == "cancelled:stop");
    CHECK(cancelled);
    CHECK(finished);
    CHECK(task_cancelled);
    if (virtual_time()) CHECK(elapsed == Approx(0.010));
}

TEST_CASE("cancelling the task in wait_for on a task cancels that task too", "[wait_for]") {
    // test_cancel_wait_for (Python issue #23219)
    run_test([]() -> Coro<> {
        Future<std::string> never;
        auto blocking = corio::create_task(await_future(never));
        auto wait = corio::create_task([blocking]() -> Coro<std::string> {
            co_return co_await corio::wait_for(blocking, 60s);
        });
        corio::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
        bool cancelled = false;
        try {
            co_await wait;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(blocking.cancelled());
    }());
}

TEST_CASE("cancelling the task in wait_for: inner work that ignores it still finishes", "[wait_for]") {
    // test_asyncio_wait_for_cancelled: the inner runs inside the cancelled task, which cannot
    // be done before it. The inner swallowed the request, so the task ends normally.
    bool exited = false;
    int cancels = 0;
    run_test([&]() -> Coro<> {
        auto waitfor = corio::create_task([&]() -> Coro<int> {
            co_return co_await corio::wait_for(ignores_cancel(200ms, &exited, &cancels), 400ms);
        });
        co_await corio::sleep(0s);
        waitfor.cancel();
        try {
            co_await waitfor;
        } catch (const corio::CancelledError&) {
        }
        CHECK(waitfor.done());
        CHECK(exited);
    }());
    CHECK(exited);
    CHECK(cancels == 1);
}

TEST_CASE("a cancel from inside wait_for before the deadline is a CancelledError", "[wait_for]") {
    // test_foreign_cancel_doesnt_timeout_if_not_expired
    std::string outcome;
    run_test([&]() -> Coro<> {
        auto waiter = corio::create_task([&]() -> Coro<> {
            auto body = []() -> Coro<int> {
                corio::current_task().cancel();
                co_await corio::sleep(10s);
                co_return 1;
            };
            try {
                co_await corio::wait_for(body(), 10s);
                outcome = "value";
            } catch (const corio::TimeoutError&) {
                outcome = "timeout";
            } catch (const corio::CancelledError&) {
                outcome = "cancelled";
                throw;
            }
        });
        try {
            co_await waiter;
        } catch (const corio::CancelledError&) {
        }
        CHECK(waiter.cancelled());
    }());
    CHECK(outcome == "cancelled");
}

namespace {
// The race of test_timeouts' cancel/uncancel rules: the timeout has fired (the waiter is
// cancelled and woken) and, before the waiter runs again, someone else cancels it too:
// cancelling() is 2, the timeout takes back only its own request, CancelledError goes on.
// `block_loop`: the loop is blocked past both deadlines (how it happens under libuv).
void outside_cancel_and_timeout_race(bool block_loop) {
    std::string outcome;
    int inner_cancels = 0;
    bool waiter_cancelled = false;
    std::uint32_t cancelling_at_catch = 99;
    run_test([&]() -> Coro<> {
        Task<> waiter;
        // Virtual time: the canceller's timer is due at the same instant as the timeout and
        // was armed first, so it runs first after both fire. With the loop blocked, its
        // deadline is the earlier one and both are due when the loop polls again.
        auto canceller = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(block_loop ? 20ms : 30ms);
            waiter.cancel("outside");
        });
        auto inner = [&]() -> Coro<int> {
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                ++inner_cancels;
                throw;
            }
            co_return 1;
        };
        waiter = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::wait_for(inner(), 30ms);
                outcome = "value";
            } catch (const corio::TimeoutError&) {
                outcome = "timeout";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
                cancelling_at_catch = corio::current_task().cancelling();
                throw;
            }
        });
        if (block_loop) {
            auto blocker = corio::create_task([]() -> Coro<> {
                co_await corio::sleep(5ms);
                std::this_thread::sleep_for(100ms);
            });
            co_await blocker;
        }
        try {
            co_await waiter;
        } catch (const corio::CancelledError&) {
        }
        waiter_cancelled = waiter.cancelled();
        co_await canceller;
    }());
    CHECK(outcome == "cancelled:outside");
    CHECK(inner_cancels == 1);
    CHECK(waiter_cancelled);
    CHECK(cancelling_at_catch == 1);
}
}  // namespace

TEST_CASE("an outside cancel at the moment the timeout fires wins: CancelledError", "[wait_for]") {
    // Deterministic under virtual time; under libuv the two deadlines are microseconds apart
    // and whichever order they fire in, the outcome must be the same.
    outside_cancel_and_timeout_race(false);
}

TEST_CASE("an outside cancel and the timeout, both due while the loop was blocked", "[wait_for]") {
    // Regression (libuv <= 1.44 runs a due timer before polling, then polled forever).
    outside_cancel_and_timeout_race(true);
}

TEST_CASE("wait_for of a task that finished in the same cycle, then the task is cancelled", "[wait_for]") {
    // test_wait_for_issue86296
    run_test([]() -> Coro<> {
        auto inner_task = corio::create_task([]() -> Coro<std::string> { co_return "done"; });
        bool reached_end = false;
        auto task = corio::create_task([&]() -> Coro<> {
            co_await corio::wait_for(inner_task, 100s);
            co_await corio::sleep(1s);
            reached_end = true;
        });
        CHECK_FALSE(task.done());
        co_await corio::sleep(0s);
        task.cancel();
        bool cancelled = false;
        try {
            co_await task;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(inner_task.done());
        const std::string r = co_await inner_task;
        CHECK(r == "done");
        CHECK_FALSE(reached_end);
    }());
}

// ---------------------------------------------------------------------------------------------
// wait_for: nesting
// ---------------------------------------------------------------------------------------------

TEST_CASE("nested wait_for: the inner, shorter timeout fires and the outer one does not", "[wait_for]") {
    std::string r;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto body = []() -> Coro<std::string> {
            bool c = false, f = false;
            try {
                co_await corio::wait_for(sleeper(10s, &c, &f), 50ms);
            } catch (const corio::TimeoutError&) {
                co_return "inner timed out";
            }
            co_return "no timeout";
        };
        const double t0 = now();
        r = co_await corio::wait_for(body(), 1s);
        elapsed = now() - t0;
    }());
    CHECK(r == "inner timed out");
    if (virtual_time())
        CHECK(elapsed == Approx(0.050));
    else
        CHECK(elapsed < 0.9);
}

TEST_CASE("nested wait_for: the outer, shorter timeout fires; the inner sees a CancelledError", "[wait_for]") {
    std::string inner_saw, outer_saw;
    bool c = false, f = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto body = [&]() -> Coro<int> {
            try {
                co_return co_await corio::wait_for(sleeper(10s, &c, &f), 1s);
            } catch (const corio::TimeoutError&) {
                inner_saw = "timeout";
                throw;
            } catch (const corio::CancelledError&) {
                inner_saw = "cancelled";
                throw;
            }
        };
        const double t0 = now();
        try {
            co_await corio::wait_for(body(), 50ms);
            outer_saw = "value";
        } catch (const corio::TimeoutError&) {
            outer_saw = "timeout";
        }
        elapsed = now() - t0;
    }());
    CHECK(inner_saw == "cancelled");
    CHECK(outer_saw == "timeout");
    CHECK(c);
    CHECK(f);
    if (virtual_time())
        CHECK(elapsed == Approx(0.050));
    else
        CHECK(elapsed < 0.9);
}

TEST_CASE("nested wait_for with the same deadline: only the outermost raises TimeoutError", "[wait_for]") {
    // test_nested_timeouts
    std::string inner_saw, outer_saw;
    run_test([&]() -> Coro<> {
        auto body = [&]() -> Coro<int> {
            bool c = false, f = false;
            try {
                co_return co_await corio::wait_for(sleeper(10s, &c, &f), 20ms);
            } catch (const corio::TimeoutError&) {
                inner_saw = "timeout";
                throw;
            } catch (const corio::CancelledError&) {
                inner_saw = "cancelled";
                throw;
            }
        };
        try {
            co_await corio::wait_for(body(), 20ms);
            outer_saw = "value";
        } catch (const corio::TimeoutError&) {
            outer_saw = "timeout";
        }
    }());
    // Under libuv the outer deadline, armed first, may fire alone first: the inner then sees a
    // CancelledError too. Either way the inner never turns it into TimeoutError.
    CHECK(inner_saw == "cancelled");
    CHECK(outer_saw == "timeout");
}

TEST_CASE("nested wait_for: after the inner timed out the outer one still fires", "[wait_for]") {
    std::string inner_saw, outer_saw;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto body = [&]() -> Coro<> {
            bool c = false, f = false;
            try {
                co_await corio::wait_for(sleeper(1s, &c, &f), 10ms);
                inner_saw = "value";
            } catch (const corio::TimeoutError&) {
                inner_saw = "timeout";
            }
            co_await corio::sleep(10s);  // interrupted by the outer timeout
        };
        const double t0 = now();
        try {
            co_await corio::wait_for(body(), 100ms);
            outer_saw = "value";
        } catch (const corio::TimeoutError&) {
            outer_saw = "timeout";
        }
        elapsed = now() - t0;
    }());
    CHECK(inner_saw == "timeout");
    CHECK(outer_saw == "timeout");
    if (virtual_time()) {
        CHECK(elapsed == Approx(0.1));
    } else {
        CHECK(elapsed >= 0.095);
        CHECK(elapsed < 1.0);
    }
}

TEST_CASE("nested wait_for with the loop blocked past both deadlines", "[wait_for]") {
    // test_nested_timeouts_loop_busy. Under libuv both timeouts are due together (the loop
    // was blocked past both deadlines): the inner passes a CancelledError
    // on and the outer raises TimeoutError; under virtual time blocking takes no time, so the
    // inner fires at 10 ms (TimeoutError, caught) and the outer at 100 ms.
    std::string inner_saw, outer_saw;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto busy = []() -> Coro<int> {
            std::this_thread::sleep_for(100ms);
            co_await corio::sleep(1s);
            co_return 1;
        };
        auto body = [&]() -> Coro<> {
            try {
                co_await corio::wait_for(busy(), 10ms);
                inner_saw = "value";
            } catch (const corio::TimeoutError&) {
                inner_saw = "timeout";
            } catch (const corio::CancelledError&) {
                inner_saw = "cancelled";
                throw;
            }
            co_await corio::sleep(10s);  // interrupted by the outer timeout
        };
        const double t0 = now();
        try {
            co_await corio::wait_for(body(), 100ms);
            outer_saw = "value";
        } catch (const corio::TimeoutError&) {
            outer_saw = "timeout";
        }
        elapsed = now() - t0;
    }());
    CHECK(outer_saw == "timeout");
    CHECK(elapsed < 1.0);
    if (virtual_time()) {
        CHECK(inner_saw == "timeout");
        CHECK(elapsed == Approx(0.1));
    } else {
        CHECK(inner_saw == "cancelled");
    }
}

TEST_CASE("wait_for inside the cleanup of a timed-out wait_for", "[wait_for]") {
    // test_nested_timeout_in_finally
    std::string inner_saw, outer_saw;
    run_test([&]() -> Coro<> {
        auto body = [&]() -> Coro<> {
            std::exception_ptr cancelled;
            try {
                co_await corio::sleep(1s);
            } catch (const corio::CancelledError&) {
                cancelled = std::current_exception();
            }
            if (cancelled) {
                bool c = false, f = false;
                try {
                    co_await corio::wait_for(sleeper(10s, &c, &f), 10ms);
                    inner_saw = "value";
                } catch (const corio::TimeoutError&) {
                    inner_saw = "timeout";
                }
                std::rethrow_exception(cancelled);
            }
        };
        try {
            co_await corio::wait_for(body(), 10ms);
            outer_saw = "value";
        } catch (const corio::TimeoutError&) {
            outer_saw = "timeout";
        }
    }());
    CHECK(inner_saw == "timeout");
    CHECK(outer_saw == "timeout");
}

// ---------------------------------------------------------------------------------------------
// wait_for on tasks, futures and gather
// ---------------------------------------------------------------------------------------------

TEST_CASE("wait_for on a task: the task is cancelled on timeout and has finished", "[wait_for]") {
    // test_wait_for and test_wait_for_waits_for_task_cancellation
    bool running = false, done = false, timed_out = false, done_at_throw = false;
    bool task_done = false, task_cancelled = false;
    std::string result_ok;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(slow_to_cancel(10s, 5ms, &running, &done));
        try {
            co_await corio::wait_for(t, 100ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
            done_at_throw = done;
        }
        task_done = t.done();
        task_cancelled = t.cancelled();
        // The task finishing first: its result, and it is not cancelled.
        bool r2 = false, d2 = false;
        auto t2 = corio::create_task(slow_to_cancel(10ms, 5ms, &r2, &d2));
        result_ok = co_await corio::wait_for(t2, 1s);
        CHECK_FALSE(t2.cancelled());
    }());
    CHECK(timed_out);
    CHECK(done_at_throw);
    CHECK_FALSE(running);
    CHECK(task_done);
    CHECK(task_cancelled);
    CHECK(result_ok == "done");
}

TEST_CASE("wait_for on a future", "[wait_for]") {
    // test_wait_for_race_condition, and a future that never comes
    std::string r;
    bool timed_out = false, fut_cancelled = false;
    run_test([&]() -> Coro<> {
        Future<std::string> fut;
        corio::get_running_loop().call_soon([fut]() mutable { fut.set_result("ok"); });
        r = co_await corio::wait_for(fut, 200ms);

        Future<int> never;
        try {
            co_await corio::wait_for(never, 20ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        fut_cancelled = never.cancelled();
    }());
    CHECK(r == "ok");
    CHECK(timed_out);
    CHECK(fut_cancelled);
}

TEST_CASE("wait_for on gather: on timeout every child is cancelled and has finished", "[wait_for][gather]") {
    bool c1 = false, f1 = false, c2 = false, f2 = false;
    bool timed_out = false, finished_at_throw = false;
    int quick = 0;
    run_test([&]() -> Coro<> {
        try {
            co_await corio::wait_for(corio::gather(sleeper(10s, &c1, &f1), sleeper(20s, &c2, &f2)), 50ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
            finished_at_throw = f1 && f2;
        }
        auto [a, b] = co_await corio::wait_for(corio::gather(value_after(1ms, 1), value_after(2ms, 2)), 1s);
        quick = a + b;
    }());
    CHECK(timed_out);
    CHECK(c1);
    CHECK(c2);
    CHECK(finished_at_throw);
    CHECK(quick == 3);
}

TEST_CASE("wait_for on gather with a zero timeout: the children never run", "[wait_for][gather]") {
    // asyncio: wait_for(gather(...), 0) cancels the gathering future, which cancels every
    // child, and waits for it before raising TimeoutError (API.md: "on timeout the inner work
    // is cancelled and has finished before the throw"): no child may run on after the
    // TimeoutError.
    int started = 0;
    bool timed_out = false;
    int started_after = -1;
    run_test([&]() -> Coro<> {
        auto child = [](int* s) -> Coro<int> {
            ++*s;
            co_await corio::sleep(10s);
            co_return 1;
        };
        try {
            co_await corio::wait_for(corio::gather(child(&started), child(&started)), 0s);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        co_await corio::sleep(10ms);
        started_after = started;  // children that started after the TimeoutError
    }());
    CHECK(timed_out);
    CHECK(started_after == 0);
}

TEST_CASE("wait_for on gather of tasks with a zero timeout cancels them before TimeoutError",
          "[wait_for][gather]") {
    // The same, for tasks given to gather: they are cancelled and done before the throw.
    bool c1 = false, f1 = false, c2 = false, f2 = false;
    bool timed_out = false, cancelled_at_throw = false;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sleeper(10s, &c1, &f1));
        auto t2 = corio::create_task(sleeper(10s, &c2, &f2));
        co_await corio::sleep(0s);
        try {
            co_await corio::wait_for(corio::gather(t1, t2), 0s);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
            cancelled_at_throw = t1.cancelled() && t2.cancelled() && f1 && f2;
        }
        t1.cancel();
        t2.cancel();
    }());
    CHECK(timed_out);
    CHECK(cancelled_at_throw);
}

// ---------------------------------------------------------------------------------------------
// shield
// ---------------------------------------------------------------------------------------------

TEST_CASE("shield gives the inner future's result, or its exception", "[shield]") {
    // test_shield_result, test_shield_shortcut, test_shield_exception
    run_test([]() -> Coro<> {
        Future<int> inner;
        auto outer = corio::create_task([inner]() -> Coro<int> { co_return co_await corio::shield(inner); });
        co_await corio::sleep(0s);
        inner.set_result(42);
        const int r = co_await outer;
        CHECK(r == 42);

        Future<int> done;
        done.set_result(7);
        const int s = co_await corio::shield(done);
        CHECK(s == 7);

        Future<int> failing;
        auto outer2 = corio::create_task([failing]() -> Coro<int> { co_return co_await corio::shield(failing); });
        co_await corio::sleep(0s);
        failing.set_exception(std::make_exception_ptr(std::runtime_error("expected")));
        std::string what;
        try {
            co_await outer2;
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        CHECK(what == "expected");
        CHECK(error_kind(outer2.exception()) == "error:expected");
    }());
}

TEST_CASE("shield: cancelling the awaiter does not cancel the inner task", "[shield]") {
    // test_shield_cancel_outer and test_shield_effect
    int proof = 0;
    bool inner_done_at_catch = true;
    run_test([&]() -> Coro<> {
        Future<> waiter;
        auto inner = corio::create_task([&]() -> Coro<std::string> {
            co_await waiter;
            proof += 1;
            co_return "inner";
        });
        auto outer = corio::create_task([&]() -> Coro<> {
            co_await corio::shield(inner);
            proof += 100;
        });
        co_await corio::sleep(0s);
        CHECK(outer.cancel());
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
            inner_done_at_catch = inner.done();  // the awaiter got its CancelledError at once
        }
        CHECK(outer.cancelled());
        CHECK_FALSE(inner.cancelled());
        CHECK_FALSE(waiter.cancelled());
        waiter.set_result();
        const std::string r = co_await inner;  // the result is still there
        CHECK(r == "inner");
        CHECK(inner.result() == "inner");
    }());
    CHECK_FALSE(inner_done_at_catch);
    CHECK(proof == 1);
}

TEST_CASE("shield of a coroutine: it becomes a task that outlives the cancelled awaiter", "[shield]") {
    int proof = 0;
    run_test([&]() -> Coro<> {
        Future<> waiter;
        auto inner = [](Future<> w, int* p) -> Coro<int> {
            co_await w;
            *p += 1;
            co_return 5;
        };
        auto outer = corio::create_task([&]() -> Coro<> {
            co_await corio::shield(inner(waiter, &proof));
            proof += 100;
        });
        co_await corio::sleep(0s);
        outer.cancel();
        bool cancelled = false;
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(proof == 0);
        waiter.set_result();
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(proof == 1);
        // Awaited normally, shield(coro) simply gives the result.
        Future<> ready;
        ready.set_result();
        const int r = co_await corio::shield(inner(ready, &proof));
        CHECK(r == 5);
    }());
    CHECK(proof == 2);
}

TEST_CASE("shield: an inner task cancelled by itself or by others gives the awaiter CancelledError", "[shield]") {
    // test_shield_cancel_inner
    run_test([]() -> Coro<> {
        auto self_cancelling = corio::create_task([]() -> Coro<int> {
            co_await corio::sleep(1ms);
            corio::current_task().cancel("self");
            co_await corio::sleep(10s);
            co_return 1;
        });
        auto outer = corio::create_task([self_cancelling]() -> Coro<int> {
            co_return co_await corio::shield(self_cancelling);
        });
        std::string msg;
        try {
            co_await outer;
        } catch (const corio::CancelledError& e) {
            msg = e.what();
        }
        CHECK(msg == "self");
        CHECK(outer.cancelled());
        CHECK(self_cancelling.cancelled());

        Future<int> inner;
        auto outer2 = corio::create_task([inner]() -> Coro<int> { co_return co_await corio::shield(inner); });
        co_await corio::sleep(0s);
        inner.cancel();
        bool cancelled = false;
        try {
            co_await outer2;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(outer2.cancelled());
    }());
}

TEST_CASE("shield: one cancelled awaiter does not disturb another awaiter of the same task", "[shield]") {
    run_test([]() -> Coro<> {
        auto inner = corio::create_task(value_after(20ms, 11));
        auto a = corio::create_task([inner]() -> Coro<int> { co_return co_await corio::shield(inner); });
        auto b = corio::create_task([inner]() -> Coro<int> { co_return co_await corio::shield(inner); });
        co_await corio::sleep(1ms);
        a.cancel();
        const int rb = co_await b;
        CHECK(rb == 11);
        CHECK(a.cancelled());
        CHECK_FALSE(inner.cancelled());
        // The cancelled awaiter's frame is gone; completing more work must not touch it.
        const int ri = co_await inner;
        CHECK(ri == 11);
    }());
}

TEST_CASE("shield: a pending cancellation of the awaiter is delivered at the shield", "[shield]") {
    run_test([]() -> Coro<> {
        Future<int> inner;
        auto outer = corio::create_task([inner]() -> Coro<int> {
            corio::current_task().cancel();
            co_return co_await corio::shield(inner);
        });
        bool cancelled = false;
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK_FALSE(inner.done());
        inner.set_result(1);
    }());
}

TEST_CASE("shield: a failure of the inner work after the awaiter left is not reported as unretrieved",
          "[shield]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        auto failing = []() -> Coro<int> {
            co_await corio::sleep(20ms);
            throw std::runtime_error("late failure");
        };
        auto outer = corio::create_task([&]() -> Coro<int> { co_return co_await corio::shield(failing()); });
        co_await corio::sleep(1ms);
        outer.cancel();
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
        }
        co_await corio::sleep(50ms);  // the shielded task fails and is released meanwhile
    }());
    CHECK(log.count("never retrieved") == 0);
}

TEST_CASE("wait_for on a shielded task: TimeoutError, the task runs on", "[shield][wait_for]") {
    // WaitForShieldTests: test_shielded_timeout, test_zero_timeout, test_none_timeout
    run_test([]() -> Coro<> {
        auto coro = []() -> Coro<std::string> {
            co_await corio::sleep(100ms);
            co_return "done";
        };
        auto task = corio::create_task(coro);
        bool timed_out = false;
        try {
            co_await corio::wait_for(corio::shield(task), 10ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK_FALSE(task.done());
        CHECK_FALSE(task.cancelled());
        const std::string r = co_await task;
        CHECK(r == "done");

        auto task0 = corio::create_task(coro);
        bool timed_out0 = false;
        try {
            co_await corio::wait_for(corio::shield(task0), 0s);
        } catch (const corio::TimeoutError&) {
            timed_out0 = true;
        }
        CHECK(timed_out0);
        CHECK_FALSE(task0.done());
        CHECK_FALSE(task0.cancelled());
        co_await corio::sleep(200ms);
        CHECK(task0.done());
        CHECK(task0.result() == "done");

        auto task2 = corio::create_task(coro);
        const std::string r2 = co_await corio::wait_for(corio::shield(task2), 1h);
        CHECK(r2 == "done");
        CHECK(task2.done());
    }());
}

TEST_CASE("gather of shielded futures: cancelling the gather's awaiter leaves the futures alone",
          "[shield][gather]") {
    // test_gather_shield
    run_test([]() -> Coro<> {
        Future<int> child1, child2;
        auto shielded = [](Future<int> f) -> Coro<int> { co_return co_await corio::shield(f); };
        auto parent = corio::create_task([&]() -> Coro<int> {
            auto [a, b] = co_await corio::gather(shielded(child1), shielded(child2));
            co_return a + b;
        });
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        parent.cancel();
        bool cancelled = false;
        try {
            co_await parent;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK_FALSE(child1.cancelled());
        CHECK_FALSE(child2.cancelled());
        child1.set_result(1);
        child2.set_result(2);
        co_await corio::sleep(0s);
    }());
}

TEST_CASE("shield of a gathering task: cancelling the awaiter leaves the gather running", "[shield][gather]") {
    // test_shield_gather
    run_test([]() -> Coro<> {
        Future<int> child1, child2;
        auto wait = [](Future<int> f) -> Coro<int> { co_return co_await f; };
        auto gathering = [&]() -> Coro<std::tuple<int, int>> {
            co_return co_await corio::gather(wait(child1), wait(child2));
        };
        auto parent = corio::create_task(gathering);
        auto outer = corio::create_task([parent]() -> Coro<> { co_await corio::shield(parent); });
        co_await corio::sleep(0s);
        outer.cancel();
        co_await corio::sleep(0s);
        CHECK(outer.cancelled());
        child1.set_result(1);
        child2.set_result(2);
        const auto r = co_await parent;
        CHECK(std::get<0>(r) == 1);
        CHECK(std::get<1>(r) == 2);
    }());
}
