// Port of CPython's Lib/test/test_asyncio/test_threads.py (to_thread), plus the loop's
// thread-safe entry point call_soon_threadsafe. Every test here is tagged [threads]: the
// suite also runs them under ThreadSanitizer.
//
// Under the virtual-time backend the clock does not move while a to_thread job is in flight
// (its completion may come first), so timing assertions about real parallelism are made on
// the libuv backend only, where time is real.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio_test::run_test;

namespace {

double real_seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A move-only argument that counts how it travels.
struct Token {
    static inline std::atomic<int> copies{0};
    static inline std::atomic<int> moves{0};
    int value;
    explicit Token(int v) : value(v) {}
    Token(Token&& o) noexcept : value(o.value) {
        o.value = -1;
        ++moves;
    }
    Token(const Token& o) : value(o.value) { ++copies; }
    Token& operator=(const Token&) = delete;
    Token& operator=(Token&&) = delete;
};

}  // namespace

// --- to_thread --------------------------------------------------------------------------------

TEST_CASE("to_thread returns the function's result", "[threads]") {
    // test_to_thread
    int result = run_test([]() -> Coro<int> {
        std::vector<int> xs;
        xs.push_back(40);
        xs.push_back(2);
        co_return co_await corio::to_thread([](const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0); },
                                            xs);
    }());
    CHECK(result == 42);

    std::string s = run_test([]() -> Coro<std::string> {
        co_return co_await corio::to_thread([] { return std::string(100, 'x'); });
    }());
    CHECK(s == std::string(100, 'x'));

    auto p = run_test([]() -> Coro<std::unique_ptr<int>> {
        co_return co_await corio::to_thread([] { return std::make_unique<int>(7); });  // a move-only result
    }());
    REQUIRE(p);
    CHECK(*p == 7);
}

TEST_CASE("to_thread rethrows the function's exception", "[threads]") {
    // test_to_thread_exception
    run_test([]() -> Coro<> {
        CHECK_THROWS_WITH(co_await corio::to_thread([]() -> int { throw std::runtime_error("test"); }), "test");
        CHECK_THROWS_AS(co_await corio::to_thread([] { throw corio::ValueError("bad"); }), corio::ValueError);
        // The loop is fine afterwards.
        int v = co_await corio::to_thread([] { return 5; });
        CHECK(v == 5);
    }());
}

TEST_CASE("to_thread calls the function once, off the loop's thread", "[threads]") {
    // test_to_thread_once
    std::atomic<int> calls{0};
    std::thread::id worker;
    const std::thread::id loop_thread = std::this_thread::get_id();
    run_test([&]() -> Coro<> {
        co_await corio::to_thread([&] {
            ++calls;
            worker = std::this_thread::get_id();
        });
        CHECK(std::this_thread::get_id() == loop_thread);  // the awaiter resumes on the loop
    }());
    CHECK(calls == 1);
    CHECK(worker != std::thread::id());
    CHECK(worker != loop_thread);
}

TEST_CASE("ten concurrent to_thread calls all run", "[threads]") {
    // test_to_thread_concurrent
    std::atomic<int> calls{0};
    run_test([&]() -> Coro<> {
        std::vector<Coro<int>> calls_v;
        for (int i = 0; i < 10; ++i) calls_v.push_back(corio::to_thread([&calls, i] {
            ++calls;
            return i * i;
        }));
        std::vector<int> results = co_await corio::gather(std::move(calls_v));
        REQUIRE(results.size() == 10);
        for (int i = 0; i < 10; ++i) CHECK(results[static_cast<std::size_t>(i)] == i * i);
    }());
    CHECK(calls == 10);
}

TEST_CASE("to_thread passes its arguments", "[threads]") {
    // test_to_thread_args_kwargs: there are no kwargs in C++, only positional arguments.
    run_test([]() -> Coro<> {
        std::string name = "test";
        auto r = co_await corio::to_thread(
            [](const std::string& s, int n, bool flag) { return s + ":" + std::to_string(n) + (flag ? ":yes" : ":no"); },
            name, 3, true);
        CHECK(r == "test:3:yes");
        CHECK(name == "test");  // copied in, the caller's value is untouched
    }());
}

TEST_CASE("to_thread moves its arguments in", "[threads]") {
    Token::copies = 0;
    Token::moves = 0;
    run_test([]() -> Coro<> {
        // A move-only argument. As with std::thread, the function is called once with the
        // stored arguments as rvalues, so it may take them by value.
        auto box = std::make_unique<int>(41);
        int r = co_await corio::to_thread([](std::unique_ptr<int> p) { return *p + 1; }, std::move(box));
        CHECK(r == 42);
        CHECK_FALSE(box);  // moved from

        Token tok(7);
        int v = co_await corio::to_thread([](Token&& t) { return t.value; }, std::move(tok));
        CHECK(v == 7);
        CHECK(tok.value == -1);
        CHECK(Token::copies == 0);
        CHECK(Token::moves >= 1);

        // The job (and its copy of the arguments) is released once the call has come back.
        auto shared = std::make_shared<int>(3);
        int s = co_await corio::to_thread([](const std::shared_ptr<int>& p) { return *p; }, shared);
        CHECK(s == 3);
        CHECK(shared.use_count() == 1);
    }());
}

TEST_CASE("to_thread passes std::ref arguments by reference", "[threads]") {
    run_test([]() -> Coro<> {
        int x = 1;
        std::vector<int> out;
        co_await corio::to_thread(
            [](int& v, std::vector<int>& o) {
                v = 42;
                o.push_back(v);
            },
            std::ref(x), std::ref(out));
        CHECK(x == 42);
        CHECK(out == std::vector<int>(1, 42));
        const std::string text = "by const reference";
        auto n = co_await corio::to_thread([](const std::string& s) { return &s; }, std::cref(text));
        CHECK(n == &text);
    }());
}

TEST_CASE("the loop serves other tasks while a to_thread call blocks", "[threads]") {
    // The thread waits for a value that only a task on the loop can produce: this finishes
    // only if the loop keeps running tasks while the call blocks.
    std::promise<int> handshake;
    std::future<int> from_loop = handshake.get_future();
    int got = run_test([&]() -> Coro<int> {
        auto helper = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(0s);
            co_await corio::sleep(0s);
            handshake.set_value(42);
        });
        int r = co_await corio::to_thread([&] {
            if (from_loop.wait_for(10s) != std::future_status::ready) return -1;
            return from_loop.get();
        });
        co_await helper;
        co_return r;
    }());
    CHECK(got == 42);
}

TEST_CASE("a ticker task keeps ticking while a to_thread call blocks", "[threads]") {
    int ticks_during = -1;
    int result = 0;
    run_test([&]() -> Coro<> {
        int ticks = 0;
        auto ticker = corio::create_task([&]() -> Coro<> {
            for (;;) {
                co_await corio::sleep(10ms);
                ++ticks;
            }
        });
        co_await corio::sleep(0s);
        result = co_await corio::to_thread([] {
            std::this_thread::sleep_for(200ms);
            return 1;
        });
        ticks_during = ticks;
        ticker.cancel();
        CHECK_THROWS_AS(co_await ticker, corio::CancelledError);
    }());
    CHECK(result == 1);
    if (corio_test::virtual_time()) {
        // The virtual clock stands still while a to_thread job is in flight: no tick.
        CHECK(ticks_during == 0);
    } else {
        CHECK(ticks_during >= 5);  // ~20 with 10 ms ticks during 200 ms
    }
}

TEST_CASE("five blocking to_thread calls gathered run in parallel", "[threads]") {
    std::atomic<int> done{0};
    double real = 0, virt = -1;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        auto blocking = [&] {
            std::this_thread::sleep_for(200ms);
            ++done;
        };
        std::vector<Coro<>> calls;
        for (int i = 0; i < 5; ++i) calls.push_back(corio::to_thread(blocking));
        const auto start = std::chrono::steady_clock::now();
        const double vstart = loop.time();
        co_await corio::gather(std::move(calls));
        real = real_seconds_since(start);
        virt = loop.time() - vstart;
    }());
    CHECK(done == 5);
    CHECK(real >= 0.19);
    if (corio_test::virtual_time()) {
        CHECK(virt == 0.0);
    } else {
        CHECK(real < 0.6);  // in series it would take 1 s
    }
}

TEST_CASE("cancelling a to_thread awaiter waits for the call, then raises CancelledError", "[threads]") {
    // Regression: the awaiter returned at once while the call ran on, so a lambda capturing
    // the awaiting frame by reference read freed memory (ASan: heap-use-after-free).
    std::atomic<bool> started{false};
    std::atomic<bool> returned{false};
    bool returned_when_cancelled = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<int> {
            std::vector<int> frame_local(1000, 7);  // dies when this frame unwinds
            co_return co_await corio::to_thread([&] {
                started = true;
                std::this_thread::sleep_for(200ms);
                int sum = 0;
                for (int v : frame_local) sum += v;  // still alive: the frame waits for us
                returned = true;
                return sum;
            });
        });
        while (!started) co_await corio::sleep(0s);
        CHECK(t.cancel());
        CHECK_THROWS_AS(co_await t, corio::CancelledError);
        returned_when_cancelled = returned;
        CHECK(t.cancelled());
    }());
    CHECK(returned_when_cancelled);
}

TEST_CASE("to_thread waiting for a cancelled call delivers CancelledError, not the result", "[threads]") {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    bool finished_when_awaiter_resumed = false;
    std::string outcome;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                int v = co_await corio::to_thread([&] {
                    started = true;
                    std::this_thread::sleep_for(100ms);
                    finished = true;
                    return 5;
                });
                outcome = "value " + std::to_string(v);
            } catch (const corio::CancelledError&) {
                outcome = "cancelled";
                finished_when_awaiter_resumed = finished;
                throw;
            }
        });
        while (!started) co_await corio::sleep(0s);
        t.cancel();
        co_await corio_test::ended_cancelled(t);
    }());
    CHECK(outcome == "cancelled");
    CHECK(finished_when_awaiter_resumed);
}

TEST_CASE("to_thread(abandon_on_cancel, ...) returns at once; the call runs to its end", "[threads]") {
    std::atomic<bool> finished{false};
    std::atomic<bool> started{false};
    bool finished_when_cancelled = true;
    double cancel_took = 1e9;
    auto run_start = std::chrono::steady_clock::now();
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<int> {
            co_return co_await corio::to_thread(corio::abandon_on_cancel, [&] {
                started = true;
                std::this_thread::sleep_for(300ms);
                finished = true;
                return 1;
            });
        });
        // Let the task submit the job (no timers: the virtual clock would not move anyway).
        while (!started) co_await corio::sleep(0s);
        const auto start = std::chrono::steady_clock::now();
        CHECK(t.cancel());
        CHECK_THROWS_AS(co_await t, corio::CancelledError);
        cancel_took = real_seconds_since(start);
        finished_when_cancelled = finished;
        CHECK(t.cancelled());
    }());
    // run() waits for to_thread jobs before it returns.
    CHECK(finished);
    CHECK_FALSE(finished_when_cancelled);
    CHECK(cancel_took < 0.15);
    CHECK(real_seconds_since(run_start) >= 0.29);
}

TEST_CASE("to_thread under virtual time does not advance the clock while the thread runs", "[threads]") {
    std::atomic<bool> job_done{false};
    bool done_when_timer_fired = false;
    double before = -1, after = -1, timer_at = -1;
    int r = run_test([&]() -> Coro<int> {
        auto& loop = corio::get_running_loop();
        before = loop.time();
        auto timer = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(1ms);
            done_when_timer_fired = job_done;
            timer_at = corio::get_running_loop().time();
        });
        int v = co_await corio::to_thread([&] {
            std::this_thread::sleep_for(100ms);
            job_done = true;
            return 9;
        });
        after = loop.time();
        co_await timer;
        co_return v;
    }());
    CHECK(r == 9);
    if (corio_test::virtual_time()) {
        CHECK(after == before);             // 100 ms of real work took no virtual time
        CHECK(done_when_timer_fired);       // the clock did not jump to the timer meanwhile
        CHECK(timer_at == Approx(before + 0.001));
    } else {
        CHECK(after - before >= 0.099);
        CHECK_FALSE(done_when_timer_fired);  // real time: the 1 ms timer fired during the job
    }
}

TEST_CASE("a timer that is already due fires while a to_thread job is in flight", "[threads]") {
    // The job waits for a callback scheduled with call_later(0s): a timer due at once. The
    // loop must run it while the job is in flight, on every backend.
    // Regression: the timer fired only once the job had come back (the job's 3 s wait):
    // VirtualTimeBackend::wait() blocked whenever a job was in flight, even when due.
    std::promise<void> fired;
    std::future<void> fired_f = fired.get_future();
    bool job_saw_timer = false;
    double took = 1e9;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        const auto start = std::chrono::steady_clock::now();
        auto job = corio::create_task([&]() -> Coro<bool> {
            co_return co_await corio::to_thread([&] { return fired_f.wait_for(3s) == std::future_status::ready; });
        });
        co_await corio::sleep(0s);  // the job is submitted
        loop.call_later(0s, [&] { fired.set_value(); });
        job_saw_timer = co_await job;
        took = real_seconds_since(start);
    }());
    CHECK(job_saw_timer);
    CHECK(took < 1.0);
}

TEST_CASE("an overdue timer fires without waiting for an unrelated wake-up", "[threads]") {
    // A timer whose deadline passes while the loop is busy must fire as soon as the loop
    // waits again. Regression (libuv 1.44 runs due timers *before* polling, so a 0 ms uv
    // timer was consumed first and the poll blocked with no timeout). The helper thread's
    // post after 2 s bounds such a hang.
    double took = 1e9;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        std::atomic<bool> stop{false};
        std::thread rescuer([&] {
            for (int i = 0; i < 200 && !stop; ++i) std::this_thread::sleep_for(10ms);
            loop.call_soon_threadsafe([] {});
        });
        const auto start = std::chrono::steady_clock::now();
        corio::Future<> f;
        loop.call_later(0s, [&] { f.set_result(); });  // due at once
        co_await f;
        took = real_seconds_since(start);
        stop = true;
        rescuer.join();
    }());
    CHECK(took < 0.5);
}

TEST_CASE("a to_thread job can post back to the loop with call_soon_threadsafe", "[threads]") {
    const std::thread::id loop_thread = std::this_thread::get_id();
    std::thread::id callback_thread;
    int value = run_test([&]() -> Coro<int> {
        auto& loop = corio::get_running_loop();
        corio::Future<int> posted;
        co_await corio::to_thread([&] {
            loop.call_soon_threadsafe([&] {
                callback_thread = std::this_thread::get_id();
                posted.set_result(5);
            });
        });
        co_return co_await posted;
    }());
    CHECK(value == 5);
    CHECK(callback_thread == loop_thread);
}

// --- call_soon_threadsafe ---------------------------------------------------------------------

TEST_CASE("call_soon_threadsafe from several threads runs every callback on the loop's thread", "[threads]") {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2000;
    const std::thread::id loop_thread = std::this_thread::get_id();
    int count = 0;  // touched by the callbacks only: a plain int, any race shows under TSan
    int off_thread = 0;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        corio::Future<> all_done;
        std::atomic<bool> go{false};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&] {
                while (!go) std::this_thread::yield();
                for (int i = 0; i < kPerThread; ++i) {
                    loop.call_soon_threadsafe([&] {
                        if (std::this_thread::get_id() != loop_thread) ++off_thread;
                        if (++count == kThreads * kPerThread) all_done.set_result();
                    });
                }
            });
        }
        go = true;
        co_await all_done;
        for (auto& th : threads) th.join();
        co_await corio::sleep(0s);
    }());
    CHECK(count == kThreads * kPerThread);
    CHECK(off_thread == 0);
}

TEST_CASE("call_soon_threadsafe keeps each thread's callbacks in order", "[threads]") {
    constexpr int kThreads = 3;
    constexpr int kPerThread = 500;
    std::vector<std::vector<int>> seen(kThreads);
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        corio::Future<> all_done;
        int total = 0;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kPerThread; ++i)
                    loop.call_soon_threadsafe([&, t, i] {
                        seen[static_cast<std::size_t>(t)].push_back(i);
                        if (++total == kThreads * kPerThread) all_done.set_result();
                    });
            });
        }
        co_await all_done;
        for (auto& th : threads) th.join();
    }());
    for (const auto& s : seen) {
        REQUIRE(s.size() == static_cast<std::size_t>(kPerThread));
        bool in_order = true;
        for (int i = 0; i < kPerThread; ++i)
            if (s[static_cast<std::size_t>(i)] != i) in_order = false;
        CHECK(in_order);
    }
}

TEST_CASE("call_soon_threadsafe wakes an idle loop", "[threads]") {
    double took = 0;
    int value = run_test([&]() -> Coro<int> {
        auto& loop = corio::get_running_loop();
        corio::Future<int> fut;
        const auto start = std::chrono::steady_clock::now();
        std::thread poster([&] {
            std::this_thread::sleep_for(50ms);
            loop.call_soon_threadsafe([&] { fut.set_result(7); });
        });
        // Nothing is ready and no timer is armed: the loop blocks until the post wakes it.
        int v = co_await fut;
        took = real_seconds_since(start);
        poster.join();
        co_return v;
    }());
    CHECK(value == 7);
    CHECK(took >= 0.045);
    CHECK(took < 2.0);
}

TEST_CASE("call_soon_threadsafe wakes a loop waiting for a far timer", "[threads]") {
    double took = 0;
    bool far_timer_fired = false;
    int value = run_test([&]() -> Coro<int> {
        auto& loop = corio::get_running_loop();
        auto far = corio::create_task([&]() -> Coro<> {
            co_await corio::sleep(30s);
            far_timer_fired = true;
        });
        corio::Future<int> fut;
        const auto start = std::chrono::steady_clock::now();
        std::thread poster([&] {
            std::this_thread::sleep_for(50ms);
            loop.call_soon_threadsafe([&] { fut.set_result(8); });
        });
        int v = co_await fut;
        took = real_seconds_since(start);
        poster.join();
        far.cancel();
        co_return v;
    }());
    CHECK(value == 8);
    CHECK(took < 2.0);  // libuv: woken long before the 30 s timer
    // Under virtual time nothing outside the loop is pending (a thread's post is not a
    // to_thread job), so the clock jumps to the far timer at once.
    if (!corio_test::virtual_time()) CHECK_FALSE(far_timer_fired);
}

TEST_CASE("call_soon_threadsafe raises RuntimeError once the loop is closed", "[threads]") {
    corio::EventLoop loop(corio::backends::virtual_time());
    loop.close();
    CHECK(loop.is_closed());
    auto payload = std::make_shared<int>(1);
    CHECK_THROWS_AS(loop.call_soon_threadsafe([payload] {}), corio::RuntimeError);
    CHECK(payload.use_count() == 1);  // the refused callback was released

    bool threw = false;
    std::thread other([&] {
        try {
            loop.call_soon_threadsafe([payload] {});
        } catch (const corio::RuntimeError&) {
            threw = true;
        }
    });
    other.join();
    CHECK(threw);
    CHECK(payload.use_count() == 1);
}

TEST_CASE("call_soon_threadsafe on a loop that is not running yet runs the callback once it runs", "[threads]") {
    corio::EventLoop loop(corio_test::make_backend());
    int ran = 0;
    std::thread::id ran_on;
    corio::Future<> fut(loop);
    std::thread other([&] {
        loop.call_soon_threadsafe([&] {
            ++ran;
            ran_on = std::this_thread::get_id();
            fut.set_result();
        });
    });
    other.join();
    CHECK(ran == 0);
    loop.run_until_complete(*fut.base());
    CHECK(ran == 1);
    CHECK(ran_on == std::this_thread::get_id());
    loop.close();
}

TEST_CASE("a callback posted from another thread runs before a later call_soon callback", "[threads]") {
    // asyncio appends call_soon_threadsafe callbacks straight to the ready queue, so a
    // callback posted (and known to be posted: the thread was joined) before call_soon(b)
    // runs before b. corio keeps them in an inbox drained only after a backend wait/poll,
    // i.e. when the ready queue was empty or after 64 steps.
    corio::EventLoop loop(corio_test::make_backend());
    std::vector<std::string> order;
    std::thread other([&] { loop.call_soon_threadsafe([&] { order.push_back("threadsafe"); }); });
    other.join();
    corio::Future<> fut(loop);
    loop.call_soon([&] {
        order.push_back("call_soon");
        fut.set_result();
    });
    loop.run_until_complete(*fut.base());
    CHECK(order == std::vector<std::string>{"threadsafe", "call_soon"});
    loop.close();
}

TEST_CASE("an exception from a call_soon_threadsafe callback goes to the exception handler", "[threads]") {
    std::vector<std::string> messages;
    int after = 0;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        loop.set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            std::string what = "?";
            try {
                if (ctx.exception) std::rethrow_exception(ctx.exception);
            } catch (const std::exception& e) {
                what = e.what();
            }
            messages.push_back(ctx.message + ": " + what);
        });
        corio::Future<> fut;
        std::thread poster([&] {
            loop.call_soon_threadsafe([] { throw std::runtime_error("callback failed"); });
            loop.call_soon_threadsafe([&] {
                ++after;
                fut.set_result();
            });
        });
        co_await fut;
        poster.join();
    }());
    CHECK(after == 1);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].find("callback failed") != std::string::npos);
}

TEST_CASE("an async generator can await to_thread between its values", "[threads][asyncgen]") {
    auto squares = [](int n) -> corio::AsyncGenerator<int> {
        for (int i = 0; i < n; ++i) co_yield co_await corio::to_thread([i] { return i * i; });
    };
    std::vector<int> got;
    run_test([&]() -> Coro<> {
        auto gen = squares(4);
        while (auto v = co_await gen.next()) got.push_back(*v);
    }());
    CHECK(got == std::vector<int>{0, 1, 4, 9});
}

TEST_CASE("call_soon_threadsafe racing with close() either delivers, drops or refuses each callback", "[threads]") {
    auto token = std::make_shared<int>(0);
    int ran = 0;
    std::atomic<int> posted{0};
    std::atomic<bool> refused{false};
    {
        corio::EventLoop loop(corio_test::make_backend());
        corio::Future<> stop(loop);
        std::thread spammer([&] {
            for (;;) {
                try {
                    // Runs on the loop's thread only: `ran` and `stop` need no lock.
                    loop.call_soon_threadsafe([&ran, &stop, token] {
                        if (++ran == 100) stop.set_result();
                    });
                    ++posted;
                } catch (const corio::RuntimeError&) {
                    refused = true;
                    return;
                }
            }
        });
        loop.run_until_complete(*stop.base());
        loop.close();  // the spammer's next post throws
        spammer.join();
    }
    CHECK(refused);
    CHECK(ran >= 100);
    CHECK(ran <= posted);
    CHECK(token.use_count() == 1);  // every callback that was accepted has been released
}

TEST_CASE("corio never changes the environment (UV_THREADPOOL_SIZE)", "[threads]") {
    // Regression: creating a libuv backend called setenv("UV_THREADPOOL_SIZE"), which races
    // getenv() on other threads (glibc's environment is not thread-safe to modify).
    corio_test::EnvVar unset("UV_THREADPOOL_SIZE", nullptr);
    int r = run_test([]() -> Coro<int> { co_return co_await corio::to_thread([] { return 3; }); }());
    CHECK(r == 3);
    CHECK(std::getenv("UV_THREADPOOL_SIZE") == nullptr);
}
