// The public way to write an awaitable on a callback API: corio::suspend with a Waker, the
// synchronous cancellation hook, Hold, call_guarded, and the debug-mode report of a
// coroutine resumed outside the loop. Wraps a raw libuv timer (libuv backend) and a plain
// std::thread's callback (every backend).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#if !defined(__EMSCRIPTEN__) && __has_include(<uv.h>)
#include <uv.h>
#define CORIO_TEST_HAVE_UV 1
#endif

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio::Waker;
using corio_test::run_test;

namespace {

using Log = std::vector<std::string>;

// A thread that completes a waker after `delay`, holding the loop open meanwhile (the
// README's pattern for work on another thread).
Coro<int> thread_result(int value, std::chrono::milliseconds delay, std::shared_ptr<std::thread>& thread) {
    co_return co_await corio::suspend<int>([&](Waker<int> w) {
        thread = std::make_shared<std::thread>([w, value, delay, hold = corio::Hold()]() mutable {
            std::this_thread::sleep_for(delay);
            w.set_result_threadsafe(value);
            hold.release();
        });
    });
}

#ifdef CORIO_TEST_HAVE_UV
// The README's example: a raw libuv timer as an awaitable. The handle lives on the heap
// until libuv's close callback (libuv's rule), not in the frame that may be destroyed.
Coro<> uv_sleep(uv_loop_t* uv, std::uint64_t ms, Log& log) {
    struct Timer {
        uv_timer_t handle;
        Waker<> waker;
    };
    auto* timer = new Timer;
    uv_timer_init(uv, &timer->handle);
    timer->handle.data = timer;
    auto close = [timer] {
        uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle),
                 [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
    };
    try {
        co_await corio::suspend(
            [&](Waker<> w) {
                timer->waker = std::move(w);
                uv_timer_start(
                    &timer->handle, [](uv_timer_t* h) { static_cast<Timer*>(h->data)->waker.wake(); }, ms, 0);
            },
            [&] {
                log.push_back("timer stopped");
                uv_timer_stop(&timer->handle);
            });
    } catch (...) {
        close();
        throw;
    }
    close();
}
#endif

}  // namespace

TEST_CASE("suspend: a waker completed later resumes the task through the loop", "[waker]") {
    Log log;
    int got = 0;
    run_test([&]() -> Coro<> {
        Waker<int> kept;
        auto t = corio::create_task([&]() -> Coro<> {
            got = co_await corio::suspend<int>([&](Waker<int> w) { kept = w; });
            log.push_back("resumed in " + corio::current_task().get_name());
            // The task runs inside the loop again: awaiting a child coroutine works.
            co_await [&]() -> Coro<> {
                log.push_back("child ran");
                co_return;
            }();
        }, "waiter");
        co_await corio::sleep(0s);
        CHECK_FALSE(kept.done());
        CHECK(kept.set_result(7));
        log.push_back("completed");
        CHECK(kept.done());
        CHECK_FALSE(kept.set_result(8));  // a second completion is ignored
        co_await t;
    }());
    CHECK(got == 7);
    // set_result queues the step: it never runs the task inside the completer.
    CHECK(log == Log{"completed", "resumed in waiter", "child ran"});
}

TEST_CASE("suspend: completing inside start() goes on without suspending", "[waker]") {
    run_test([]() -> Coro<> {
        int v = co_await corio::suspend<int>([](Waker<int> w) { w.set_result(3); });
        CHECK(v == 3);
        co_await corio::suspend([](Waker<> w) { w.wake(); });
        CHECK_THROWS_WITH(co_await corio::suspend<int>([](Waker<int> w) {
                              w.set_exception(std::make_exception_ptr(std::runtime_error("at once")));
                          }),
                          "at once");
    }());
}

TEST_CASE("suspend: exceptions from start() and from the waker come out of the co_await", "[waker]") {
    run_test([]() -> Coro<> {
        Waker<> kept;
        CHECK_THROWS_WITH(co_await corio::suspend([&](Waker<> w) {
                              kept = w;
                              throw std::runtime_error("could not start");
                          }),
                          "could not start");
        CHECK_FALSE(kept.wake());  // the wait never began: the waker completes nothing

        Waker<std::string> later;
        auto t = corio::create_task([&]() -> Coro<std::string> {
            co_return co_await corio::suspend<std::string>([&](Waker<std::string> w) { later = w; });
        });
        co_await corio::sleep(0s);
        later.set_exception(std::make_exception_ptr(corio::ValueError("bad reply")));
        CHECK_THROWS_AS(co_await t, corio::ValueError);
    }());
}

TEST_CASE("suspend: cancelling the task calls on_cancel at once; a late completion is ignored", "[waker]") {
    Log log;
    run_test([&]() -> Coro<> {
        Waker<int> kept;
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::suspend<int>([&](Waker<int> w) { kept = w; }, [&] { log.push_back("on_cancel"); });
            } catch (const corio::CancelledError&) {
                log.push_back("CancelledError");
                throw;
            }
        });
        co_await corio::sleep(0s);
        CHECK(t.cancel());
        log.push_back("cancel() returned");  // on_cancel ran inside cancel()
        CHECK(kept.done());
        CHECK_FALSE(kept.set_result(1));  // late: ignored, not thrown anywhere
        CHECK(co_await corio_test::ended_cancelled(t));
    }());
    CHECK(log == Log{"on_cancel", "cancel() returned", "CancelledError"});
}

TEST_CASE("suspend: on_cancel returning false waits for the completion, then raises CancelledError", "[waker]") {
    Log log;
    run_test([&]() -> Coro<> {
        Waker<int> kept;
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::suspend<int>([&](Waker<int> w) { kept = w; }, [&] {
                    log.push_back("stop requested");
                    return false;  // the operation will still report back
                });
                log.push_back("value");
            } catch (const corio::CancelledError&) {
                log.push_back("CancelledError");
                throw;
            }
        });
        co_await corio::sleep(0s);
        CHECK(t.cancel());
        co_await corio_test::yield_n(3);
        CHECK_FALSE(t.done());  // still waiting for the operation
        CHECK_FALSE(kept.done());
        log.push_back("operation reports");
        CHECK(kept.set_result(1));
        CHECK(co_await corio_test::ended_cancelled(t));
    }());
    CHECK(log == Log{"stop requested", "operation reports", "CancelledError"});

    // corio::wait_on_cancel is the same without a stop request.
    run_test([&]() -> Coro<> {
        Waker<> kept;
        auto t = corio::create_task([&]() -> Coro<> { co_await corio::suspend([&](Waker<> w) { kept = w; }, corio::wait_on_cancel); });
        co_await corio::sleep(0s);
        t.cancel();
        co_await corio_test::yield_n(2);
        CHECK_FALSE(t.done());
        kept.wake();
        CHECK(co_await corio_test::ended_cancelled(t));
    }());
}

TEST_CASE("suspend: a cancellation requested before the suspension is delivered at it", "[waker]") {
    bool hooked = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            corio::current_task().cancel();  // asyncio: delivered at the next suspension
            co_await corio::suspend([](Waker<>) {}, [&] { hooked = true; });
        });
        CHECK(co_await corio_test::ended_cancelled(t));
    }());
    CHECK(hooked);
}

TEST_CASE("suspend: a std::thread completes a waker with set_result_threadsafe", "[waker][threads]") {
    std::shared_ptr<std::thread> thread;
    int got = 0;
    run_test([&]() -> Coro<> {
        got = co_await thread_result(42, 30ms, thread);
    }());
    thread->join();
    CHECK(got == 42);
}

TEST_CASE("Hold: virtual time does not jump past outside work, and run() waits for it", "[waker][threads]") {
    std::shared_ptr<std::thread> thread;
    Log log;
    run_test([&]() -> Coro<> {
        auto timer = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(1h);  // virtual time would jump here at once without the hold
            log.push_back("timer");
        });
        int v = co_await thread_result(5, 50ms, thread);
        log.push_back("thread " + std::to_string(v));
        timer.cancel();
    }());
    thread->join();
    CHECK(log == Log{"thread 5"});

    // A hold released only after main returned: run() waits for it before closing the loop.
    std::atomic<bool> released{false};
    std::thread late;
    auto start = std::chrono::steady_clock::now();
    run_test([&]() -> Coro<> {
        late = std::thread([hold = corio::Hold(), &released]() mutable {
            std::this_thread::sleep_for(100ms);
            released = true;
            hold.release();
        });
        co_return;
    }());
    CHECK(released);
    CHECK(std::chrono::steady_clock::now() - start >= 95ms);
    late.join();
}

TEST_CASE("call_guarded sends an exception to the loop's exception handler", "[waker]") {
    std::vector<std::string> messages;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        loop.set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            messages.push_back(ctx.message + " / " + corio_test::error_kind(ctx.exception));
        });
        corio::call_guarded(loop, "on_read", [] { throw std::runtime_error("parse error"); });
        bool ran = false;
        corio::call_guarded(loop, "on_write", [&] { ran = true; });
        CHECK(ran);
        co_return;
    }());
    CHECK(messages == std::vector<std::string>{"Exception in callback on_read / error:parse error"});
}

namespace {
// What a newcomer writes first: an awaiter that resumes the coroutine itself from a callback.
struct NaiveAwaiter {
    bool await_ready() const noexcept { return false; }
    void await_suspend(corio::detail::coroutine_handle<> h) {
        (void)corio::get_running_loop().call_soon([h]() mutable { h.resume(); });
    }
    void await_resume() const noexcept {}
};
}  // namespace

TEST_CASE("debug mode reports a coroutine resumed outside the loop, which still runs on", "[waker][debug]") {
    // Regression: the resumed coroutine's next co_await of a child never started (nothing ran
    // the trampoline outside the loop): the program hung.
    corio_test::LogCapture log;
    Log steps;
    auto opts = corio_test::options();
    opts.debug = true;
    corio::run(
        [&]() -> Coro<> {
            corio_test::LoopWatchdog dog(5s);
            auto t = corio::create_task([&]() -> Coro<> {
                co_await NaiveAwaiter{};
                steps.push_back("resumed");
                co_await [&]() -> Coro<> {
                    steps.push_back("child");
                    co_return;
                }();
                steps.push_back("after child");
            }, "naive");
            co_await t;
            CHECK_FALSE(dog.fired());
        },
        opts);
    CHECK(steps == Log{"resumed", "child", "after child"});
    CHECK(log.count("was resumed outside the event loop") >= 1);
    CHECK(log.count("name='naive'") >= 1);
}

#ifdef CORIO_TEST_HAVE_UV
TEST_CASE("suspend: a raw libuv timer as an awaitable, cancelled through its hook", "[waker][libuv]") {
    if (corio_test::backend_name() != "libuv") return;
    Log log;
    double slept = 0;
    run_test([&]() -> Coro<> {
        uv_loop_t* uv = corio::backends::uv_loop_of(corio::get_running_loop().backend());
        REQUIRE(uv != nullptr);
        auto& loop = corio::get_running_loop();
        const double start = loop.time();
        co_await uv_sleep(uv, 30, log);
        slept = loop.time() - start;

        auto t = corio::create_task(uv_sleep(uv, 60'000, log));
        co_await corio::sleep(10ms);
        t.cancel();
        CHECK(co_await corio_test::ended_cancelled(t));
    }());
    CHECK(slept >= 0.029);
    CHECK(slept < 1.0);
    CHECK(log == Log{"timer stopped"});
}
#endif
