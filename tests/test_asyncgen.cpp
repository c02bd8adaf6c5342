// Port of CPython's Lib/test/test_asyncgen.py (the parts that exist in corio): async
// generators driven through next(), begin()/end()/++ and aclose(), their exceptions, their
// cancellation, their destruction, and run()'s shutdown_asyncgens. Python-only protocol
// details (asend/athrow, ag_running, __anext__ objects awaited twice) have no equivalent.
//
// C++ has no `finally` that may co_await (co_await is not allowed in a catch handler), so
// the generators below note the exception in the handler and do their async cleanup after
// it, then rethrow: the shape of Python's `try: yield ... finally: await cleanup()`.
#include <catch2/catch.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::AsyncGenerator;
using corio::Coro;
using corio_test::run_test;

namespace {

// The seed's async_generator: five values half a second apart.
AsyncGenerator<int> ticks() {
    for (int i = 0; i < 5; ++i) {
        co_await corio::sleep(500ms);
        co_yield i;
    }
}

AsyncGenerator<int> count_to(int n, std::chrono::milliseconds pause) {
    for (int i = 0; i < n; ++i) {
        co_await corio::sleep(pause);
        co_yield i;
    }
}

template <class T>
Coro<std::vector<T>> to_list(AsyncGenerator<T>& gen) {
    std::vector<T> out;
    while (std::optional<T> v = co_await gen.next()) out.push_back(std::move(*v));
    co_return out;
}

struct SetOnDestroy {
    bool* flag;
    explicit SetOnDestroy(bool* f) noexcept : flag(f) {}
    ~SetOnDestroy() { *flag = true; }
};

std::vector<int> iota(int n) {
    std::vector<int> v;
    for (int i = 0; i < n; ++i) v.push_back(i);
    return v;
}

}  // namespace

// --- the seed's example ----------------------------------------------------------------------

TEST_CASE("the seed's async generator yields 0..4 half a second apart", "[asyncgen]") {
    std::vector<int> values;
    std::vector<double> at;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        const double start = loop.time();
        auto gen = ticks();
        while (std::optional<int> v = co_await gen.next()) {
            values.push_back(*v);
            at.push_back(loop.time() - start);
        }
    }());
    CHECK(values == iota(5));
    REQUIRE(at.size() == 5);
    for (std::size_t i = 0; i < at.size(); ++i) {
        const double expected = 0.5 * static_cast<double>(i + 1);
        CHECK(at[i] >= expected - 0.001);
        if (corio_test::virtual_time())
            CHECK(at[i] == Approx(expected).margin(1e-9));
        else
            CHECK(at[i] < expected + 0.25);
    }
}

TEST_CASE("begin()/end()/co_await ++it iterates every value", "[asyncgen]") {
    std::vector<int> values;
    run_test([&]() -> Coro<> {
        auto gen = count_to(4, 1ms);
        for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) values.push_back(*it);
        CHECK(gen.finished());
    }());
    CHECK(values == iota(4));
}

TEST_CASE("next() gives an empty optional at the end and keeps giving it", "[asyncgen]") {
    // test_async_gen_asyncio_anext_04 (run1): StopAsyncIteration, then StopAsyncIteration again.
    run_test([]() -> Coro<> {
        auto gen = count_to(2, 1ms);
        CHECK_FALSE(gen.finished());
        auto a = co_await gen.next();
        auto b = co_await gen.next();
        REQUIRE(a.has_value());
        REQUIRE(b.has_value());
        CHECK(*a == 0);
        CHECK(*b == 1);
        auto c = co_await gen.next();
        CHECK_FALSE(c.has_value());
        CHECK(gen.finished());
        auto d = co_await gen.next();
        CHECK_FALSE(d.has_value());
        auto it = co_await gen.begin();
        CHECK(it == gen.end());
    }());
}

TEST_CASE("an async generator mixing awaits and yields gives its values in order", "[asyncgen]") {
    // test_async_gen_iteration_01 / test_async_gen_asyncio_01: an early co_return ends it.
    auto gen_fn = [](bool* after_return) -> AsyncGenerator<int> {
        co_await corio::sleep(0s);
        co_yield 123;
        co_await corio::sleep(10ms);
        co_yield 456;
        co_await corio::sleep(0s);
        co_yield 789;
        co_await corio::sleep(1ms);
        co_return;
        *after_return = true;  // never reached
        co_yield 1000;
    };
    bool after_return = false;
    auto values = run_test([&]() -> Coro<std::vector<int>> {
        auto gen = gen_fn(&after_return);
        co_return co_await to_list(gen);
    }());
    CHECK(values == std::vector<int>{123, 456, 789});
    CHECK_FALSE(after_return);
}

TEST_CASE("an async generator that never yields ends at once", "[asyncgen]") {
    auto empty = [](int* ran) -> AsyncGenerator<int> {
        co_await corio::sleep(1ms);
        ++*ran;
        co_return;
    };
    int ran = 0;
    run_test([&]() -> Coro<> {
        auto gen = empty(&ran);
        auto v = co_await gen.next();
        CHECK_FALSE(v.has_value());
        CHECK(gen.finished());
        auto gen2 = empty(&ran);
        auto it = co_await gen2.begin();
        CHECK(it == gen2.end());
    }());
    CHECK(ran == 2);
}

TEST_CASE("an async generator of move-only values", "[asyncgen]") {
    auto boxes = [](int n) -> AsyncGenerator<std::unique_ptr<int>> {
        for (int i = 0; i < n; ++i) {
            co_await corio::sleep(0s);
            co_yield std::make_unique<int>(i * 10);
        }
        auto last = std::make_unique<int>(99);
        co_yield std::move(last);  // an xvalue, moved in
    };
    std::vector<int> seen;
    run_test([&]() -> Coro<> {
        auto gen = boxes(2);
        while (auto v = co_await gen.next()) {
            std::unique_ptr<int> p = std::move(*v);
            REQUIRE(p);
            seen.push_back(*p);
        }
        auto gen2 = boxes(1);
        for (auto it = co_await gen2.begin(); it != gen2.end(); co_await ++it) {
            std::unique_ptr<int> p = std::move(*it);  // operator* gives a T&
            REQUIRE(p);
            seen.push_back(*p);
        }
    }());
    CHECK(seen == std::vector<int>{0, 10, 99, 0, 99});
}

TEST_CASE("an async generator of strings keeps each value intact", "[asyncgen]") {
    auto words = []() -> AsyncGenerator<std::string> {
        std::string s = "a fairly long string that does not fit in the small buffer";
        co_yield s;  // an lvalue: copied, s stays usable
        s += "!";
        co_yield s;
    };
    auto values = run_test([&]() -> Coro<std::vector<std::string>> {
        auto gen = words();
        co_return co_await to_list(gen);
    }());
    REQUIRE(values.size() == 2);
    CHECK(values[0] == "a fairly long string that does not fit in the small buffer");
    CHECK(values[1] == "a fairly long string that does not fit in the small buffer!");
}

// --- exceptions ------------------------------------------------------------------------------

TEST_CASE("an exception thrown inside the generator comes out of next()", "[asyncgen]") {
    // test_async_gen_exception_03/04, test_async_gen_asyncio_02.
    auto failing = []() -> AsyncGenerator<int> {
        co_yield 1;
        co_await corio::sleep(10ms);
        co_yield 2;
        throw std::runtime_error("boom");
        co_yield 3;
    };
    run_test([&]() -> Coro<> {
        auto gen = failing();
        auto a = co_await gen.next();
        auto b = co_await gen.next();
        CHECK(a == std::optional<int>(1));
        CHECK(b == std::optional<int>(2));
        CHECK_THROWS_WITH(co_await gen.next(), "boom");
        CHECK(gen.finished());
        // The generator is finished: the exception is not raised again.
        auto c = co_await gen.next();
        CHECK_FALSE(c.has_value());
    }());
}

TEST_CASE("an exception before the first value comes out of begin()", "[asyncgen]") {
    auto failing = []() -> AsyncGenerator<int> {
        co_await corio::sleep(1ms);
        throw corio::ValueError("bad value");
        co_yield 1;
    };
    run_test([&]() -> Coro<> {
        auto gen = failing();
        CHECK_THROWS_AS(co_await gen.begin(), corio::ValueError);
        CHECK(gen.finished());
        auto it = co_await gen.begin();
        CHECK(it == gen.end());
    }());
}

TEST_CASE("an exception from ++it comes out of the increment", "[asyncgen]") {
    auto failing = []() -> AsyncGenerator<int> {
        co_yield 1;
        throw std::runtime_error("in the middle");
    };
    std::vector<int> seen;
    bool caught = false;
    run_test([&]() -> Coro<> {
        auto gen = failing();
        try {
            for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) seen.push_back(*it);
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "in the middle";
        }
        CHECK(gen.finished());
    }());
    CHECK(seen == std::vector<int>{1});
    CHECK(caught);
}

TEST_CASE("a generator calling next() on itself gets RuntimeError", "[asyncgen]") {
    // test_async_gen_exception_12: "anext(): asynchronous generator is already running".
    auto self_next = [](AsyncGenerator<int>* me) -> AsyncGenerator<int> {
        co_await me->next();
        co_yield 123;
    };
    run_test([&]() -> Coro<> {
        AsyncGenerator<int> me;
        me = self_next(&me);
        CHECK_THROWS_AS(co_await me.next(), corio::RuntimeError);
        CHECK(me.finished());
    }());
}

TEST_CASE("next() while another task is inside next() of the same generator raises RuntimeError", "[asyncgen]") {
    run_test([&]() -> Coro<> {
        auto gen = count_to(3, 100ms);
        auto first = corio::create_task([&]() -> Coro<std::optional<int>> { co_return co_await gen.next(); });
        co_await corio::sleep(0s);  // `first` is now inside the generator's sleep
        CHECK_FALSE(first.done());
        CHECK_THROWS_AS(co_await gen.next(), corio::RuntimeError);
        CHECK_THROWS_AS(co_await gen.begin(), corio::RuntimeError);
        CHECK_THROWS_AS(co_await gen.aclose(), corio::RuntimeError);
        // The refused calls changed nothing: `first` gets the value, the rest follow.
        auto v = co_await first;
        CHECK(v == std::optional<int>(0));
        auto rest = co_await to_list(gen);
        CHECK(rest == std::vector<int>{1, 2});
    }());
}

TEST_CASE("a generator can be consumed from several tasks in turn", "[asyncgen]") {
    run_test([&]() -> Coro<> {
        auto gen = count_to(4, 5ms);
        std::vector<int> got;
        for (int i = 0; i < 4; ++i) {
            auto t = corio::create_task([&]() -> Coro<> {
                auto v = co_await gen.next();
                REQUIRE(v);
                got.push_back(*v);
            });
            co_await t;
        }
        CHECK(got == iota(4));
        auto end = co_await gen.next();
        CHECK_FALSE(end.has_value());
    }());
}

// --- cancellation ----------------------------------------------------------------------------

TEST_CASE("cancelling the consumer while the generator awaits raises CancelledError from next()", "[asyncgen]") {
    auto slow = [](bool* saw_cancel, bool* resumed) -> AsyncGenerator<int> {
        co_yield 1;
        try {
            co_await corio::sleep(10s);
        } catch (const corio::CancelledError&) {
            *saw_cancel = true;
            throw;
        }
        *resumed = true;
        co_yield 2;
    };
    bool saw_cancel = false, resumed = false, from_next = false;
    run_test([&]() -> Coro<> {
        auto gen = slow(&saw_cancel, &resumed);
        auto consumer = corio::create_task([&]() -> Coro<> {
            auto a = co_await gen.next();
            CHECK(a == std::optional<int>(1));
            try {
                co_await gen.next();
            } catch (const corio::CancelledError& e) {
                from_next = true;
                CHECK(std::string(e.what()) == "stop");
                throw;
            }
        });
        co_await corio::sleep(10ms);
        CHECK(consumer.cancel("stop"));
        CHECK_THROWS_AS(co_await consumer, corio::CancelledError);
        CHECK(consumer.cancelled());
        CHECK(gen.finished());
        auto after = co_await gen.next();
        CHECK_FALSE(after.has_value());
        if (corio_test::virtual_time()) CHECK(corio::get_running_loop().time() == Approx(0.01));
    }());
    CHECK(saw_cancel);
    CHECK(from_next);
    CHECK_FALSE(resumed);
}

TEST_CASE("a generator awaiting in a task cancelled at run() shutdown runs its async cleanup", "[asyncgen]") {
    // test_async_gen_asyncio_shutdown_01: two tasks iterate a generator that waits; both are
    // cancelled; each generator's finally (with an await) runs.
    auto waiter = [](std::chrono::milliseconds timeout, int* finalized) -> AsyncGenerator<int> {
        std::exception_ptr error;
        try {
            co_await corio::sleep(timeout);
            co_yield 1;
        } catch (...) {
            error = std::current_exception();
        }
        co_await corio::sleep(0s);  // the finally's await
        ++*finalized;
        if (error) std::rethrow_exception(error);
    };
    int finalized = 0;
    run_test([&]() -> Coro<> {
        for (int i = 0; i < 2; ++i) {
            corio::create_task([&]() -> Coro<> {
                auto gen = waiter(1s, &finalized);
                while (co_await gen.next()) {
                }
            });
        }
        co_await corio::sleep(100ms);  // main ends; run() cancels both tasks
    }());
    CHECK(finalized == 2);
}

// --- destruction -----------------------------------------------------------------------------

TEST_CASE("destroying an unfinished generator runs its destructors and nothing more", "[asyncgen]") {
    auto raii = [](bool* destroyed, bool* after_yield) -> AsyncGenerator<int> {
        SetOnDestroy guard(destroyed);
        co_yield 1;
        *after_yield = true;
        co_yield 2;
    };
    bool destroyed = false, after_yield = false;
    bool destroyed_unstarted = false, after_unstarted = false;
    run_test([&]() -> Coro<> {
        {
            auto gen = raii(&destroyed, &after_yield);
            auto v = co_await gen.next();
            CHECK(v == std::optional<int>(1));
            CHECK_FALSE(destroyed);
        }
        CHECK(destroyed);
        CHECK_FALSE(after_yield);
        {
            auto gen = raii(&destroyed_unstarted, &after_unstarted);  // never started
        }
        CHECK_FALSE(destroyed_unstarted);  // the body never ran, its locals never existed
        co_await corio::sleep(1ms);        // the loop holds no dangling reference to either
    }());
    CHECK_FALSE(after_yield);
    CHECK_FALSE(after_unstarted);
}

TEST_CASE("moving a generator keeps its state", "[asyncgen]") {
    run_test([&]() -> Coro<> {
        auto a = count_to(3, 1ms);
        auto v = co_await a.next();
        CHECK(v == std::optional<int>(0));
        AsyncGenerator<int> b = std::move(a);
        CHECK(a.finished());  // an empty generator counts as finished
        auto rest = co_await to_list(b);
        CHECK(rest == std::vector<int>{1, 2});
        // Assigning over an unfinished generator destroys the old one.
        bool destroyed = false;
        auto guarded = [](bool* d) -> AsyncGenerator<int> {
            SetOnDestroy g(d);
            co_yield 1;
            co_yield 2;
        };
        AsyncGenerator<int> c = guarded(&destroyed);
        co_await c.next();
        c = count_to(1, 0ms);
        CHECK(destroyed);
        auto last = co_await to_list(c);
        CHECK(last == std::vector<int>{0});
    }());
}

// --- aclose() --------------------------------------------------------------------------------

namespace {
// try: yield 0, 1, ...  finally: two awaits, then count the cleanup; rethrows GeneratorExit.
AsyncGenerator<int> closable(int* cleaned, bool* after_loop) {
    bool exiting = false;
    try {
        for (int i = 0;; ++i) co_yield i;
    } catch (const corio::GeneratorExit&) {
        exiting = true;
    }
    if (exiting) {
        co_await corio::sleep(10ms);
        co_await corio::sleep(10ms);
        ++*cleaned;
        throw corio::GeneratorExit();
    }
    *after_loop = true;  // not reached
}
}  // namespace

TEST_CASE("aclose() throws GeneratorExit at the paused co_yield and runs the async cleanup", "[asyncgen]") {
    // test_async_gen_asyncio_aclose_07/08.
    int cleaned = 0;
    bool after_loop = false;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        auto gen = closable(&cleaned, &after_loop);
        auto v = co_await gen.next();
        CHECK(v == std::optional<int>(0));
        const double t0 = loop.time();
        co_await gen.aclose();
        CHECK(cleaned == 1);
        CHECK(gen.finished());
        if (corio_test::virtual_time()) CHECK(loop.time() - t0 == Approx(0.02));
        auto after = co_await gen.next();
        CHECK_FALSE(after.has_value());
        co_await gen.aclose();  // twice: a no-op (test_async_gen_aclose_twice_with_different_coros)
        CHECK(cleaned == 1);
    }());
    CHECK(cleaned == 1);
    CHECK_FALSE(after_loop);
}

TEST_CASE("aclose() on a generator without any handler just ends it", "[asyncgen]") {
    bool destroyed = false, after = false;
    auto plain = [](bool* d, bool* a) -> AsyncGenerator<int> {
        SetOnDestroy g(d);
        co_yield 1;
        *a = true;
        co_yield 2;
    };
    run_test([&]() -> Coro<> {
        auto gen = plain(&destroyed, &after);
        co_await gen.next();
        co_await gen.aclose();  // GeneratorExit unwinds the body and is not rethrown
        CHECK(destroyed);       // the frame unwound, running the guard's destructor
        CHECK(gen.finished());
    }());
    CHECK_FALSE(after);
}

TEST_CASE("aclose() of a generator that swallows GeneratorExit and returns is fine", "[asyncgen]") {
    // test_async_gen_asyncio_aclose_10.
    auto swallow = [](int* done) -> AsyncGenerator<int> {
        try {
            co_yield 0;
        } catch (...) {
        }
        *done = 1;
    };
    int done = 0;
    run_test([&]() -> Coro<> {
        auto gen = swallow(&done);
        co_await gen.next();
        co_await gen.aclose();
        done += 10;
    }());
    CHECK(done == 11);
}

TEST_CASE("aclose() of a generator that yields again after GeneratorExit raises RuntimeError", "[asyncgen]") {
    // test_async_gen_asyncio_aclose_06/11: "async generator ignored GeneratorExit".
    auto stubborn = [](int* done) -> AsyncGenerator<int> {
        try {
            co_yield 1;
        } catch (...) {
        }
        co_yield 2;
        *done += 1;
    };
    int done = 0;
    run_test([&]() -> Coro<> {
        auto gen = stubborn(&done);
        co_await gen.next();
        CHECK_THROWS_AS(co_await gen.aclose(), corio::RuntimeError);
        done += 10;
    }());
    CHECK(done == 10);
}

TEST_CASE("aclose() on a generator that never started or has finished is a no-op", "[asyncgen]") {
    // test_async_gen_aclose_after_exhaustion, test_asyncgen_nonstarted_hooks_are_cancellable.
    auto marked = [](bool* ran) -> AsyncGenerator<int> {
        *ran = true;
        co_yield 1;
        co_yield 2;
    };
    bool ran_unstarted = false, ran_finished = false;
    run_test([&]() -> Coro<> {
        auto fresh = marked(&ran_unstarted);
        co_await fresh.aclose();
        CHECK(fresh.finished());
        auto v = co_await fresh.next();
        CHECK_FALSE(v.has_value());

        auto done = marked(&ran_finished);
        auto all = co_await to_list(done);
        CHECK(all == std::vector<int>{1, 2});
        co_await done.aclose();
        co_await done.aclose();
        CHECK(done.finished());

        AsyncGenerator<int> empty;
        co_await empty.aclose();
        CHECK(empty.finished());
    }());
    CHECK_FALSE(ran_unstarted);
    CHECK(ran_finished);
}

TEST_CASE("aclose() cleanup can await a failing task and handle its error", "[asyncgen]") {
    // test_async_gen_asyncio_aclose_12.
    auto gen_fn = [](int* done) -> AsyncGenerator<int> {
        auto task = corio::create_task([]() -> Coro<> {
            co_await corio::sleep(10ms);
            throw std::domain_error("1 / 0");
        });
        bool exiting = false;
        try {
            co_yield 1;
        } catch (const corio::GeneratorExit&) {
            exiting = true;
        }
        if (exiting) {
            try {
                co_await task;
            } catch (const std::domain_error&) {
                *done = 1;
            }
        }
    };
    int done = 0;
    run_test([&]() -> Coro<> {
        auto gen = gen_fn(&done);
        co_await gen.next();
        co_await gen.aclose();
    }());
    CHECK(done == 1);
}

TEST_CASE("an exception thrown by the cleanup comes out of aclose()", "[asyncgen]") {
    auto gen_fn = []() -> AsyncGenerator<int> {
        bool exiting = false;
        try {
            co_yield 1;
        } catch (const corio::GeneratorExit&) {
            exiting = true;
        }
        if (exiting) {
            co_await corio::sleep(1ms);
            throw std::runtime_error("cleanup failed");
        }
    };
    run_test([&]() -> Coro<> {
        auto gen = gen_fn();
        co_await gen.next();
        CHECK_THROWS_WITH(co_await gen.aclose(), "cleanup failed");
        CHECK(gen.finished());
    }());
}

// --- run() finalises generators still paused at its end (shutdown_asyncgens) ----------------------

TEST_CASE("run() closes a generator still paused when main ends, running its async cleanup", "[asyncgen]") {
    int cleaned = 0;
    bool after_loop = false;
    AsyncGenerator<int> gen;  // outlives the run() call that starts it
    run_test([&]() -> Coro<> {
        gen = closable(&cleaned, &after_loop);
        auto v = co_await gen.next();
        CHECK(v == std::optional<int>(0));
        auto w = co_await gen.next();
        CHECK(w == std::optional<int>(1));
        CHECK(cleaned == 0);
    }());
    CHECK(cleaned == 1);  // its two sleeps ran before run() returned
    CHECK(gen.finished());
    CHECK_FALSE(after_loop);
}

TEST_CASE("run() closes paused generators without reporting errors", "[asyncgen]") {
    // test_async_gen_asyncio_shutdown_02: `async for i in it: break` with `it` outside main.
    auto iterate = []() -> AsyncGenerator<int> {
        co_yield 1;
        co_yield 2;
    };
    std::vector<std::string> messages;
    AsyncGenerator<int> it = iterate();
    AsyncGenerator<int> unstarted = iterate();
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::EventLoop&, const corio::ExceptionContext& ctx) { messages.push_back(ctx.message); });
        for (auto i = co_await it.begin(); i != it.end(); co_await ++i) break;
    }());
    CHECK(messages.empty());
    CHECK(it.finished());
    CHECK_FALSE(unstarted.finished());  // never started: run() leaves it alone
}

TEST_CASE("an error while run() closes a generator goes to the exception handler", "[asyncgen]") {
    // test_async_gen_asyncio_shutdown_exception_01.
    auto iterate = []() -> AsyncGenerator<int> {
        bool exiting = false;
        try {
            co_yield 1;
            co_yield 2;
        } catch (const corio::GeneratorExit&) {
            exiting = true;
        }
        if (exiting) {
            co_await corio::sleep(0s);
            throw std::domain_error("division by zero");
        }
    };
    std::vector<std::string> messages;
    std::vector<std::string> errors;
    AsyncGenerator<int> it = iterate();
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            messages.push_back(ctx.message);
            try {
                if (ctx.exception) std::rethrow_exception(ctx.exception);
            } catch (const std::domain_error& e) {
                errors.push_back(e.what());
            } catch (...) {
                errors.push_back("other");
            }
        });
        for (auto i = co_await it.begin(); i != it.end(); co_await ++i) break;
    }());
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].find("an error occurred during closing of an asynchronous generator") != std::string::npos);
    CHECK(errors == std::vector<std::string>{"division by zero"});
    CHECK(it.finished());
}

TEST_CASE("a generator destroyed after its run() ended is safe to destroy", "[asyncgen]") {
    // A generator that ignores GeneratorExit stays unfinished after run() tried to close it;
    // its frame is then destroyed by its owner, after the loop is gone.
    bool destroyed = false;
    std::vector<std::string> messages;
    {
        auto stubborn = [](bool* d) -> AsyncGenerator<int> {
            SetOnDestroy g(d);
            for (;;) {
                try {
                    co_yield 1;
                } catch (...) {
                }
            }
        };
        AsyncGenerator<int> gen = stubborn(&destroyed);
        run_test([&]() -> Coro<> {
            corio::get_running_loop().set_exception_handler(
                [&](corio::EventLoop&, const corio::ExceptionContext& ctx) { messages.push_back(ctx.message); });
            co_await gen.next();
        }());
        CHECK_FALSE(gen.finished());
        CHECK_FALSE(destroyed);
    }
    CHECK(destroyed);
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].find("closing of an asynchronous generator") != std::string::npos);
}

// --- generators of generators ------------------------------------------------------------------

namespace {
AsyncGenerator<int> doubled(AsyncGenerator<int> source) {
    while (auto v = co_await source.next()) co_yield *v * 2;
}
// The inner generator is a local of the body: it dies when the outer body ends.
AsyncGenerator<int> doubled_local(int n, bool* inner_destroyed) {
    auto inner = [](int count, bool* destroyed) -> AsyncGenerator<int> {
        SetOnDestroy guard(destroyed);
        for (int i = 0; i < count; ++i) {
            co_await corio::sleep(0s);
            co_yield i;
        }
    }(n, inner_destroyed);
    while (auto v = co_await inner.next()) co_yield *v * 2;
}
}  // namespace

TEST_CASE("an async generator can consume another one", "[asyncgen]") {
    // test_async_gen_expression_01: (i * 2 async for i in arange(n)).
    std::vector<int> got;
    bool inner_destroyed = false;
    run_test([&]() -> Coro<> {
        auto gen = doubled(count_to(5, 1ms));
        while (auto v = co_await gen.next()) got.push_back(*v);
        auto gen2 = doubled_local(3, &inner_destroyed);
        auto all = co_await to_list(gen2);
        CHECK(all == std::vector<int>{0, 2, 4});
    }());
    CHECK(got == std::vector<int>{0, 2, 4, 6, 8});
    CHECK(inner_destroyed);
}

TEST_CASE("wait_for around next() times out and cancels the generator's await", "[asyncgen]") {
    auto slow = [](bool* cancelled) -> AsyncGenerator<int> {
        co_yield 1;
        try {
            co_await corio::sleep(10s);
        } catch (const corio::CancelledError&) {
            *cancelled = true;
            throw;
        }
        co_yield 2;
    };
    bool cancelled = false;
    run_test([&]() -> Coro<> {
        auto gen = slow(&cancelled);
        auto first = co_await corio::wait_for(gen.next(), 1s);
        CHECK(first == std::optional<int>(1));
        CHECK_THROWS_AS(co_await corio::wait_for(gen.next(), 50ms), corio::TimeoutError);
        CHECK(gen.finished());
    }());
    CHECK(cancelled);
}

TEST_CASE("run() closes an outer generator whose body owns a paused inner generator", "[asyncgen]") {
    // Both generators were started and are paused when main ends, so run() must close both.
    // Closing the outer one ends its body, which destroys the inner generator (a local of
    // that body) before the inner one's own close runs.
    // Regression: closer tasks created up front read the inner generator's destroyed
    // frame (use-after-free under ASan); shutdown_asyncgens() now closes one at a time.
    bool inner_destroyed = false;
    std::vector<std::string> messages;
    AsyncGenerator<int> gen;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler(
            [&](corio::EventLoop&, const corio::ExceptionContext& ctx) { messages.push_back(ctx.message); });
        gen = doubled_local(10, &inner_destroyed);
        auto v = co_await gen.next();
        CHECK(v == std::optional<int>(0));
    }());
    CHECK(gen.finished());
    CHECK(inner_destroyed);
    CHECK(messages.empty());
}
