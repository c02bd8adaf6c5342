// Futures: a port of CPython's Lib/test/test_asyncio/test_futures.py (state machine,
// result/exception, done callbacks, the never-retrieved report) plus what awaiting a
// corio::Future from tasks must do. Each TEST_CASE names the asyncio test it follows where
// there is one.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::CancelledError;
using corio::Coro;
using corio::Future;
using corio::Task;
using corio_test::run_test;

namespace {

using Strings = std::vector<std::string>;

template <class F>
std::string fu_cancel_message(F&& f) {
    try {
        f();
    } catch (const CancelledError& e) {
        return e.what();
    }
    return "no CancelledError";
}

}  // namespace

// --- the state machine ----------------------------------------------------------------------

TEST_CASE("futures: a new future is pending; result() and exception() throw InvalidStateError", "[futures]") {
    // test_initial_state, test_result, test_exception (before done)
    run_test([]() -> Coro<> {
        Future<int> f;
        CHECK_FALSE(f.done());
        CHECK_FALSE(f.cancelled());
        CHECK_THROWS_AS(f.result(), corio::InvalidStateError);
        CHECK_THROWS_AS(f.exception(), corio::InvalidStateError);
        CHECK(f.cancel());
        CHECK(f.cancelled());
        co_return;
    }());
}

TEST_CASE("futures: set_result completes it once; later set_* throw InvalidStateError", "[futures]") {
    // test_result
    run_test([]() -> Coro<> {
        Future<int> f;
        f.set_result(42);
        CHECK_FALSE(f.cancelled());
        CHECK(f.done());
        CHECK(f.result() == 42);
        CHECK(f.result() == 42);  // a copyable value can be read again
        CHECK_FALSE(f.exception());
        CHECK_THROWS_AS(f.set_result(1), corio::InvalidStateError);
        CHECK_THROWS_AS(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                        corio::InvalidStateError);
        CHECK_FALSE(f.cancel());
        CHECK_FALSE(f.cancelled());
        CHECK(f.result() == 42);  // unchanged
        co_return;
    }());
}

TEST_CASE("futures: set_exception stores it; result() rethrows; exception() returns it", "[futures]") {
    // test_exception, test_exception_class
    run_test([]() -> Coro<> {
        Future<int> f;
        CHECK_THROWS_AS(f.set_exception(nullptr), corio::ValueError);
        CHECK_FALSE(f.done());  // a rejected set_exception changes nothing

        auto exc = std::make_exception_ptr(std::runtime_error("boom"));
        f.set_exception(exc);
        CHECK(f.done());
        CHECK_FALSE(f.cancelled());
        CHECK_THROWS_AS(f.result(), std::runtime_error);
        CHECK_THROWS_WITH(f.result(), "boom");
        CHECK(f.exception() == exc);  // the very exception given
        CHECK_THROWS_AS(f.set_result(1), corio::InvalidStateError);
        CHECK_THROWS_AS(f.set_exception(exc), corio::InvalidStateError);
        CHECK_FALSE(f.cancel());
        CHECK_FALSE(f.cancelled());
        co_return;
    }());
}

TEST_CASE("futures: cancel completes it as cancelled; result/exception raise CancelledError", "[futures]") {
    // test_cancel, test_future_cancel_message_getter
    run_test([]() -> Coro<> {
        Future<int> f;
        CHECK(f.cancel("my message"));
        CHECK(f.cancelled());
        CHECK(f.done());
        CHECK(fu_cancel_message([&] { f.result(); }) == "my message");
        CHECK(fu_cancel_message([&] { (void)f.exception(); }) == "my message");
        CHECK_THROWS_AS(f.set_result(1), corio::InvalidStateError);
        CHECK_THROWS_AS(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))),
                        corio::InvalidStateError);
        CHECK_FALSE(f.cancel("again"));
        CHECK(fu_cancel_message([&] { f.result(); }) == "my message");

        Future<> g;
        CHECK(g.cancel());
        CHECK(fu_cancel_message([&] { g.result(); }) == "CancelledError");
        co_return;
    }());
}

TEST_CASE("futures: Future() needs a running loop; Future(loop) and create_future use a given one", "[futures]") {
    // test_constructor_without_loop, test_constructor_use_running_loop
    CHECK_THROWS_AS(Future<int>(), corio::RuntimeError);
    {
        corio::EventLoop loop(corio_test::make_backend());
        Future<int> f(loop);
        f.set_result(3);
        CHECK(f.result() == 3);
        Future<std::string> g = loop.create_future<std::string>();
        CHECK_FALSE(g.done());
        g.set_result("s");
        CHECK(g.result() == "s");
    }
    run_test([]() -> Coro<> {
        auto f = corio::get_running_loop().create_future<int>();
        auto t = corio::create_task([&]() -> Coro<int> { co_return co_await f; });
        co_await corio::sleep(0s);
        f.set_result(8);
        CHECK(co_await t == 8);
    }());
}

TEST_CASE("futures: copies of a handle share one future; a move leaves the source empty", "[futures]") {
    run_test([]() -> Coro<> {
        Future<int> a;
        Future<int> b = a;
        Future<int> c = std::move(b);
        Future<int> d;
        d = a;
        c.set_result(5);
        CHECK(a.done());
        CHECK(c == a);
        CHECK(d.result() == 5);
        CHECK(co_await a == 5);
        // Regression: the move constructor copied, so `b` still referred to the future.
        CHECK_FALSE(b);
        CHECK(c);
        CHECK_THROWS_WITH(b.done(), Catch::Contains("empty"));
        CHECK_THROWS_AS(b.result(), corio::InvalidStateError);
        CHECK_THROWS_AS(co_await b, corio::InvalidStateError);
        Future<int> e = std::move(c);
        e = std::move(e);  // self-move-assignment keeps the handle
        CHECK(e.result() == 5);
    }());
}

TEST_CASE("futures: Future<void>", "[futures]") {
    Strings log;
    run_test([&]() -> Coro<> {
        Future<> f;
        auto t = corio::create_task([&]() -> Coro<> {
            co_await f;
            log.push_back("woken");
        });
        co_await corio::sleep(0s);
        CHECK(log.empty());
        f.set_result();
        CHECK_NOTHROW(f.result());
        CHECK_THROWS_AS(f.set_result(), corio::InvalidStateError);
        co_await t;
    }());
    const Strings expected{"woken"};
    CHECK(log == expected);
}

TEST_CASE("futures: a move-only value is taken by its first reader", "[futures]") {
    run_test([]() -> Coro<> {
        Future<std::unique_ptr<int>> f;
        f.set_result(std::make_unique<int>(4));
        std::unique_ptr<int> p = co_await f;
        REQUIRE(p);
        CHECK(*p == 4);
        CHECK_THROWS_AS(f.result(), corio::InvalidStateError);  // never a null moved-from value

        Future<std::unique_ptr<int>> g;
        g.set_result(std::make_unique<int>(5));
        std::unique_ptr<int> q = g.result();
        REQUIRE(q);
        CHECK(*q == 5);
    }());
}

// --- awaiting -------------------------------------------------------------------------------

TEST_CASE("futures: a task awaiting a future sleeps until set_result", "[futures]") {
    // test_step_result_future
    double elapsed = run_test([]() -> Coro<double> {
        double start = corio::get_running_loop().time();
        Future<std::string> f;
        corio::get_running_loop().call_later(50ms, [f]() mutable { f.set_result("done"); });
        std::string r = co_await f;
        CHECK(r == "done");
        co_return corio::get_running_loop().time() - start;
    }());
    CHECK(elapsed >= 0.045);
    CHECK(elapsed < 5.0);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.05));
}

TEST_CASE("futures: several tasks awaiting one future all get its value, in FIFO order", "[futures]") {
    Strings log;
    run_test([&]() -> Coro<> {
        Future<int> f;
        std::vector<Task<int>> ts;
        for (int i = 0; i < 4; ++i)
            ts.push_back(corio::create_task([&, i]() -> Coro<int> {
                int v = co_await f;
                log.push_back("t" + std::to_string(i) + "=" + std::to_string(v));
                co_return v + i;
            }));
        co_await corio::sleep(0s);
        CHECK(log.empty());
        f.set_result(10);
        CHECK(log.empty());  // set_result wakes them; they run later
        for (int i = 0; i < 4; ++i) CHECK(co_await ts[i] == 10 + i);
    }());
    const Strings expected{"t0=10", "t1=10", "t2=10", "t3=10"};
    CHECK(log == expected);
}

TEST_CASE("futures: a failed future rethrows in every awaiter", "[futures]") {
    Strings log;
    run_test([&]() -> Coro<> {
        Future<int> f;
        std::vector<Task<>> ts;
        for (int i = 0; i < 3; ++i)
            ts.push_back(corio::create_task([&]() -> Coro<> {
                try {
                    co_await f;
                    log.push_back("value");
                } catch (const std::runtime_error& e) {
                    log.push_back(e.what());
                }
            }));
        co_await corio::sleep(0s);
        f.set_exception(std::make_exception_ptr(std::runtime_error("bad")));
        for (auto& t : ts) co_await t;
        CHECK_THROWS_WITH(co_await f, "bad");
    }());
    const Strings expected{"bad", "bad", "bad"};
    CHECK(log == expected);
}

TEST_CASE("futures: awaiting a done future returns at once, any number of times", "[futures]") {
    // test_yield_from_twice; as in asyncio, a done future does not yield to the loop
    Strings log;
    run_test([&]() -> Coro<> {
        Future<int> f;
        f.set_result(42);
        auto other = corio::create_task([&]() -> Coro<> {
            log.push_back("other");
            co_return;
        });
        int x = co_await f;
        log.push_back("x=" + std::to_string(x));
        int y = co_await f;
        log.push_back("y=" + std::to_string(y));
        co_await other;
    }());
    const Strings expected{"x=42", "y=42", "other"};
    CHECK(log == expected);
}

TEST_CASE("futures: cancelling a task that awaits a future cancels the future for everyone", "[futures]") {
    // asyncio: Task.cancel() cancels the future it waits on (_fut_waiter)
    Strings log;
    run_test([&]() -> Coro<> {
        Future<int> f;
        auto a = corio::create_task([&]() -> Coro<int> { co_return co_await f; });
        auto b = corio::create_task([&]() -> Coro<> {
            try {
                co_await f;
            } catch (const CancelledError& e) {
                log.push_back(std::string("b: ") + e.what());
                throw;
            }
        });
        co_await corio::sleep(0s);
        CHECK(a.cancel("from a"));
        CHECK(f.cancelled());  // at once
        CHECK(fu_cancel_message([&] { f.result(); }) == "from a");
        CHECK_THROWS_AS(co_await a, CancelledError);
        CHECK_THROWS_AS(co_await b, CancelledError);
        CHECK(a.cancelled());
        CHECK(b.cancelled());
        CHECK(b.cancelling() == 0);  // b was not asked; its future was cancelled
    }());
    const Strings expected{"b: from a"};
    CHECK(log == expected);
}

TEST_CASE("futures: cancel(msg) wakes every awaiter with CancelledError(msg)", "[futures]") {
    Strings log;
    run_test([&]() -> Coro<> {
        Future<int> f;
        std::vector<Task<>> ts;
        for (int i = 0; i < 2; ++i)
            ts.push_back(corio::create_task([&]() -> Coro<> {
                try {
                    co_await f;
                } catch (const CancelledError& e) {
                    log.push_back(e.what());
                }
            }));
        co_await corio::sleep(0s);
        CHECK(f.cancel("shutdown"));
        for (auto& t : ts) co_await t;
        for (auto& t : ts) CHECK_FALSE(t.cancelled());  // they caught it
    }());
    const Strings expected{"shutdown", "shutdown"};
    CHECK(log == expected);
}

TEST_CASE("futures: a task awaiting a future of another loop gets RuntimeError", "[futures]") {
    // test_other_loop_future
    corio::EventLoop other(corio::backends::virtual_time());
    // On the heap (not std::optional, which makes g++ 12 warn -Wmaybe-uninitialized at -O2).
    auto foreign = std::make_unique<Future<int>>(other);
    bool threw = false;
    run_test([&]() -> Coro<> {
        try {
            co_await *foreign;
        } catch (const corio::RuntimeError&) {
            threw = true;
        }
    }());
    CHECK(threw);
    CHECK_FALSE(foreign->done());
    foreign.reset();  // before its loop
}

TEST_CASE("futures: set from another thread through call_soon_threadsafe", "[futures]") {
    int v = run_test([]() -> Coro<int> {
        Future<int> f;
        corio::EventLoop& loop = corio::get_running_loop();
        Future<int>* fp = &f;  // the handle's count is not thread-safe: pass a pointer
        std::thread th([&loop, fp] {
            std::this_thread::sleep_for(5ms);
            loop.call_soon_threadsafe([fp] { fp->set_result(99); });
        });
        int r = co_await f;
        th.join();
        co_return r;
    }());
    CHECK(v == 99);
}

// --- done callbacks -------------------------------------------------------------------------

TEST_CASE("futures: done callbacks run soon after set_result, in the order added", "[futures]") {
    // test_callbacks_invoked_on_set_result
    Strings bag;
    run_test([&]() -> Coro<> {
        Future<std::string> f;
        f.add_done_callback([&](Future<std::string> done) { bag.push_back("42:" + done.result()); });
        f.add_done_callback([&](Future<std::string> done) { bag.push_back("17:" + done.result()); });
        CHECK(bag.empty());
        f.set_result("foo");
        CHECK(bag.empty());  // scheduled with call_soon, not called by set_result
        co_await corio::sleep(0s);
        CHECK(f.result() == "foo");
    }());
    const Strings expected{"42:foo", "17:foo"};
    CHECK(bag == expected);
}

TEST_CASE("futures: done callbacks run after set_exception and after cancel", "[futures]") {
    // test_callbacks_invoked_on_set_exception
    Strings bag;
    run_test([&]() -> Coro<> {
        Future<int> f;
        f.add_done_callback([&](Future<int> done) {
            try {
                std::rethrow_exception(done.exception());
            } catch (const std::exception& e) {
                bag.push_back(e.what());
            }
        });
        f.set_exception(std::make_exception_ptr(std::runtime_error("oops")));
        Future<int> g;
        g.add_done_callback([&](Future<int> done) { bag.push_back(done.cancelled() ? "cancelled" : "?"); });
        g.cancel();
        CHECK(bag.empty());
        co_await corio::sleep(0s);
    }());
    const Strings expected{"oops", "cancelled"};
    CHECK(bag == expected);
}

TEST_CASE("futures: a done callback added after completion is scheduled, not run at once", "[futures]") {
    Strings bag;
    run_test([&]() -> Coro<> {
        Future<int> f;
        f.set_result(1);
        f.add_done_callback([&](Future<int> done) { bag.push_back("a" + std::to_string(done.result())); });
        f.add_done_callback([&](Future<int> done) { bag.push_back("b" + std::to_string(done.result())); });
        CHECK(bag.empty());
        co_await corio::sleep(0s);
        CHECK(bag.size() == 2);
    }());
    const Strings expected{"a1", "b1"};
    CHECK(bag == expected);
}

TEST_CASE("futures: a done callback keeps working after every handle is dropped", "[futures]") {
    std::string seen;
    run_test([&]() -> Coro<> {
        {
            Future<std::string> f;
            f.add_done_callback([&](Future<std::string> done) { seen = done.result(); });
            f.set_result("kept");
        }  // the scheduled callback holds the future
        co_await corio::sleep(0s);
    }());
    CHECK(seen == "kept");
}

TEST_CASE("futures: a throwing done callback goes to the exception handler; the others run", "[futures]") {
    Strings bag;
    Strings handled;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
                try {
                    std::rethrow_exception(ctx.exception);
                } catch (const std::exception& e) {
                    handled.push_back(e.what());
                }
            });
        Future<int> f;
        f.add_done_callback([&](Future<int>) { bag.push_back("first"); });
        f.add_done_callback([&](Future<int>) -> void { throw std::runtime_error("callback failed"); });
        f.add_done_callback([&](Future<int>) { bag.push_back("third"); });
        f.set_result(0);
        co_await corio::sleep(0s);
    }());
    const Strings expected_bag{"first", "third"};
    const Strings expected_handled{"callback failed"};
    CHECK(bag == expected_bag);
    CHECK(handled == expected_handled);
}

// --- the never-retrieved report -------------------------------------------------------------

TEST_CASE("futures: an exception nobody retrieved is logged when the future dies", "[futures]") {
    // test_tb_logger_exception_unretrieved
    corio_test::LogCapture capture;
    run_test([]() -> Coro<> {
        Future<int> f;
        f.set_exception(std::make_exception_ptr(std::runtime_error("unseen boom")));
        co_return;
    }());
    INFO(capture.joined());
    CHECK(capture.count("exception was never retrieved") == 1);
    CHECK(capture.count("unseen boom") == 1);
}

TEST_CASE("futures: nothing is logged for a retrieved exception, a result or an abandoned future", "[futures]") {
    // test_tb_logger_abandoned, _result_unretrieved, _result_retrieved,
    // _exception_retrieved, _exception_result_retrieved
    corio_test::LogCapture capture;
    run_test([]() -> Coro<> {
        {
            Future<int> pending;  // abandoned
        }
        {
            Future<int> f;
            f.set_result(42);  // result never read
        }
        {
            Future<int> f;
            f.set_result(42);
            CHECK(f.result() == 42);
        }
        {
            Future<int> f;
            f.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
            CHECK(f.exception());
        }
        {
            Future<int> f;
            f.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
            CHECK_THROWS_AS(f.result(), std::runtime_error);
        }
        {
            Future<int> f;
            f.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
            bool caught = false;
            try {
                co_await f;
            } catch (const std::runtime_error&) {
                caught = true;
            }
            CHECK(caught);
        }
        {
            Future<int> f;
            f.cancel();  // a cancellation is not an error to report
        }
        co_return;
    }());
    INFO(capture.joined());
    CHECK(capture.lines().empty());
}

// --- lifetimes --------------------------------------------------------------------------------

TEST_CASE("futures: an awaited future outlives its last handle until the awaiter resumes", "[futures]") {
    // asyncio: the waiting task holds the future (_fut_waiter). corio's FutureAwaiter keeps a
    // raw pointer, so dropping the last handle between set_result and the awaiter's resumption
    // frees the future under it (heap-use-after-free under ASan).
    run_test([]() -> Coro<> {
        auto holder = std::make_unique<Future<int>>();
        auto t = corio::create_task([&]() -> Coro<int> { co_return co_await *holder; });
        co_await corio::sleep(0s);  // t waits on the future
        holder->set_result(5);
        holder.reset();  // the last handle goes while t is queued to resume
        CHECK(co_await t == 5);
    }());
}

TEST_CASE("futures: an awaited task outlives its last handle until the awaiter resumes", "[tasks][futures]") {
    // The same for a Task: the loop drops its reference when the task finishes, before the
    // awaiter has resumed and read the result.
    run_test([]() -> Coro<> {
        std::optional<Task<int>> holder = corio::create_task([]() -> Coro<int> {
            co_await corio::sleep(5ms);
            co_return 6;
        });
        auto t = corio::create_task([&]() -> Coro<int> { co_return co_await *holder; });
        co_await corio::sleep(0s);  // t waits on the task
        holder.reset();             // only the loop holds it now
        CHECK(co_await t == 6);
    }());
}
