// gather: ports of the gather tests of CPython 3.12's test_asyncio/test_tasks.py
// (GatherTestsBase, FutureGatherTests, CoroutineGatherTests, test_cancel_gather_*), plus the
// shapes corio adds (tuple of Outcome, vector form, void as std::monostate) and corio's own
// rule: without return_exceptions the first failure cancels the other children and waits for
// them before it is rethrown. Exact times only under virtual time.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Future;
using corio::Outcome;
using corio::Task;
using corio_test::run_test;
using corio_test::virtual_time;

namespace {

double now() { return corio::get_running_loop().time(); }

using Log = std::vector<std::string>;

struct SetOnExit {
    bool* flag;
    ~SetOnExit() { *flag = true; }
};

using corio_test::error_kind;

Coro<int> answer() { co_return 42; }

Coro<int> value_after(std::chrono::milliseconds d, int v, Log* log = nullptr) {
    co_await corio::sleep(d);
    if (log) log->push_back(std::to_string(v));
    co_return v;
}

Coro<std::string> string_after(std::chrono::milliseconds d, std::string s) {
    co_await corio::sleep(d);
    co_return s;
}

Coro<> void_after(std::chrono::milliseconds d, int* counter) {
    co_await corio::sleep(d);
    ++*counter;
}

Coro<int> fail_after(std::chrono::milliseconds d, std::string what, Log* log = nullptr) {
    co_await corio::sleep(d);
    if (log) log->push_back("fail " + what);
    throw std::runtime_error(what);
}

template <class T>
Coro<T> await_future(Future<T> f) {
    co_return co_await f;
}

// Waits `d`; when cancelled, takes `cleanup` to clean up, logs "<name> cleaned" and rethrows.
Coro<int> slow_cleanup(std::string name, std::chrono::milliseconds d, std::chrono::milliseconds cleanup, Log* log) {
    std::exception_ptr cancelled;
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        cancelled = std::current_exception();
    }
    if (cancelled) {
        co_await corio::sleep(cleanup);
        log->push_back(name + " cleaned");
        std::rethrow_exception(cancelled);
    }
    log->push_back(name + " done");
    co_return 1;
}

// Sleeps `d`; records a cancellation (rethrown) and when its body is left.
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

}  // namespace

// ---------------------------------------------------------------------------------------------
// results and concurrency
// ---------------------------------------------------------------------------------------------

TEST_CASE("gather returns results in argument order, whatever the completion order", "[gather]") {
    Log done;
    std::tuple<int, int, int> r;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        r = co_await corio::gather(value_after(300ms, 1, &done), value_after(100ms, 2, &done),
                                   value_after(200ms, 3, &done));
        elapsed = now() - t0;
    }());
    CHECK(r == std::make_tuple(1, 2, 3));
    const Log expected{"2", "3", "1"};
    CHECK(done == expected);
    // Concurrent: the time of the longest child (0.3 s), not the sum (0.6 s).
    if (virtual_time()) {
        CHECK(elapsed == Approx(0.300));
    } else {
        CHECK(elapsed >= 0.295);
        CHECK(elapsed < 0.55);
    }
}

TEST_CASE("gather starts its children in argument order on every compiler", "[gather]") {
    // Regression: the children were made tasks while the awaiter's constructor arguments were
    // evaluated, in an order the compiler picks: g++ started c, b, a; clang (wasm) a, b, c.
    Log started;
    auto say = [&](std::string what) -> Coro<std::string> {
        started.push_back(what);
        co_return what;
    };
    run_test([&]() -> Coro<> {
        auto [a, b, c] = co_await corio::gather(say("a"), say("b"), say("c"));
        CHECK(a + b + c == "abc");
        CHECK(started == Log{"a", "b", "c"});

        started.clear();
        auto t = corio::create_task(say("t"));  // already scheduled: runs first
        auto [x, y, z] = co_await corio::gather(corio::return_exceptions, say("x"), t, say("z"));
        CHECK(started == Log{"t", "x", "z"});
        CHECK(x.value() + y.value() + z.value() == "xtz");

        started.clear();
        std::vector<Coro<std::string>> coros;
        for (auto name : {"1", "2", "3", "4"}) coros.push_back(say(name));
        co_await corio::gather(std::move(coros));
        CHECK(started == Log{"1", "2", "3", "4"});
    }());
}

TEST_CASE("gather completes only when the last child does", "[gather]") {
    // GatherTestsBase._check_success, with return_exceptions false and true
    for (bool return_exc : {false, true}) {
        run_test([return_exc]() -> Coro<> {
            Future<int> a, b, c;
            auto g = corio::create_task([&]() -> Coro<std::vector<int>> {
                std::vector<int> out;
                if (return_exc) {
                    auto [x, y, z] = co_await corio::gather(corio::return_exceptions, await_future(a), await_future(b),
                                                            await_future(c));
                    out.push_back(x.value());
                    out.push_back(y.value());
                    out.push_back(z.value());
                } else {
                    auto [x, y, z] = co_await corio::gather(await_future(a), await_future(b), await_future(c));
                    out.push_back(x);
                    out.push_back(y);
                    out.push_back(z);
                }
                co_return out;
            });
            co_await corio::sleep(0s);
            b.set_result(1);
            a.set_result(2);
            for (int i = 0; i < 5; ++i) co_await corio::sleep(0s);
            CHECK_FALSE(g.done());
            c.set_result(3);
            const std::vector<int> r = co_await g;
            const std::vector<int> expected{2, 1, 3};
            CHECK(r == expected);
        }());
    }
}

TEST_CASE("gather of a hundred children takes the time of one", "[gather]") {
    double elapsed = -1;
    std::vector<int> r;
    run_test([&]() -> Coro<> {
        std::vector<Coro<int>> children;
        // Five deadlines, 20 ms apart, in reverse order of the arguments.
        for (int i = 0; i < 100; ++i) children.push_back(value_after(std::chrono::milliseconds(100 - (i % 5) * 20), i));
        const double t0 = now();
        r = co_await corio::gather(std::move(children));
        elapsed = now() - t0;
    }());
    REQUIRE(r.size() == 100);
    for (int i = 0; i < 100; ++i) CHECK(r[i] == i);
    if (virtual_time())
        CHECK(elapsed == Approx(0.100));
    else
        CHECK(elapsed < 1.0);  // the sum would be 7.5 s
}

TEST_CASE("gather: a void child gives std::monostate", "[gather]") {
    int counter = 0;
    run_test([&]() -> Coro<> {
        auto r = co_await corio::gather(void_after(2ms, &counter), string_after(1ms, "s"), void_after(1ms, &counter));
        static_assert(std::is_same_v<decltype(r), std::tuple<std::monostate, std::string, std::monostate>>);
        CHECK(std::get<1>(r) == "s");
    }());
    CHECK(counter == 2);
}

TEST_CASE("gather of a vector of coroutines gives a vector in order; void gives void", "[gather]") {
    int counter = 0;
    std::vector<std::string> strings;
    std::vector<int> empty_result{99};
    run_test([&]() -> Coro<> {
        std::vector<Coro<std::string>> cs;
        cs.push_back(string_after(30ms, "a"));
        cs.push_back(string_after(10ms, "b"));
        cs.push_back(string_after(20ms, "c"));
        strings = co_await corio::gather(std::move(cs));

        std::vector<Coro<>> vs;
        for (int i = 0; i < 5; ++i) vs.push_back(void_after(std::chrono::milliseconds(5 - i), &counter));
        static_assert(std::is_void_v<decltype(corio::gather(std::move(vs)).await_resume())>);
        co_await corio::gather(std::move(vs));
        CHECK(counter == 5);

        std::vector<Coro<int>> none;
        empty_result = co_await corio::gather(std::move(none));
        std::vector<Coro<>> none_void;
        co_await corio::gather(std::move(none_void));
    }());
    const std::vector<std::string> expected{"a", "b", "c"};
    CHECK(strings == expected);
    CHECK(counter == 5);
    CHECK(empty_result.empty());
}

TEST_CASE("gather of a vector of tasks", "[gather]") {
    run_test([]() -> Coro<> {
        std::vector<Task<int>> tasks;
        for (int i = 0; i < 4; ++i) tasks.push_back(corio::create_task(value_after(std::chrono::milliseconds(4 - i), i)));
        std::vector<Task<int>> copy = tasks;
        const std::vector<int> r = co_await corio::gather(std::move(copy));
        const std::vector<int> expected{0, 1, 2, 3};
        CHECK(r == expected);
        // The caller's handles still read the results.
        for (int i = 0; i < 4; ++i) CHECK(tasks[i].result() == i);

        std::vector<Task<int>> mixed;
        mixed.push_back(corio::create_task(value_after(2ms, 7)));
        mixed.push_back(corio::create_task(fail_after(1ms, "bad")));
        const auto out = co_await corio::gather(corio::return_exceptions, std::move(mixed));
        REQUIRE(out.size() == 2);
        CHECK(out[0].value() == 7);
        CHECK(error_kind(out[1].error()) == "error:bad");
    }());
}

TEST_CASE("gather of zero children is done at once", "[gather]") {
    // test_constructor_empty_sequence_use_running_loop
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        auto r = co_await corio::gather();
        static_assert(std::tuple_size_v<decltype(r)> == 0);
        auto r2 = co_await corio::gather(corio::return_exceptions);
        static_assert(std::tuple_size_v<decltype(r2)> == 0);
        std::vector<Coro<int>> none;
        auto out = co_await corio::gather(corio::return_exceptions, std::move(none));
        CHECK(out.empty());
        elapsed = now() - t0;
    }());
    CHECK(elapsed < 0.5);
    if (virtual_time()) CHECK(elapsed == 0.0);
}

TEST_CASE("gather of tasks that are already done", "[gather]") {
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto a = corio::create_task(answer());
        auto b = corio::create_task(string_after(0ms, "b"));
        auto bad = corio::create_task(fail_after(0ms, "early"));
        co_await corio::sleep(1ms);
        REQUIRE(a.done());
        REQUIRE(b.done());
        REQUIRE(bad.done());
        const double t0 = now();
        auto [x, y] = co_await corio::gather(a, b);
        CHECK(x == 42);
        CHECK(y == "b");
        auto [ox, obad] = co_await corio::gather(corio::return_exceptions, a, bad);
        CHECK(ox.value() == 42);
        CHECK(error_kind(obad.error()) == "error:early");
        elapsed = now() - t0;
    }());
    if (virtual_time()) CHECK(elapsed == 0.0);
}

TEST_CASE("gather mixes tasks and coroutines, and the same task twice", "[gather]") {
    // test_duplicate_coroutines: a Coro cannot be passed twice (it is move-only), a Task can.
    run_test([]() -> Coro<> {
        auto t = corio::create_task(string_after(10ms, "abc"));
        auto v = corio::create_task([]() -> Coro<> { co_await corio::sleep(5ms); });
        auto [a, b, c, d, e] = co_await corio::gather(t, t, string_after(1ms, "def"), t, v);
        CHECK(a == "abc");
        CHECK(b == "abc");
        CHECK(c == "def");
        CHECK(d == "abc");
        static_assert(std::is_same_v<std::remove_cvref_t<decltype(e)>, std::monostate>);
        CHECK(v.done());
        // A Task<> that refers to a Task<int> gives std::monostate.
        auto typed = corio::create_task(value_after(1ms, 3));
        Task<> erased = typed;
        auto [m, n] = co_await corio::gather(erased, typed);
        static_assert(std::is_same_v<std::remove_cvref_t<decltype(m)>, std::monostate>);
        CHECK(n == 3);
    }());
}

TEST_CASE("a task passed to gather can still be awaited elsewhere: results are copied", "[gather]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(string_after(20ms, "shared result"));
        // Another task waits on it at the same time.
        auto other = corio::create_task([t]() -> Coro<std::string> { co_return co_await t; });
        auto [a, b] = co_await corio::gather(t, string_after(10ms, "own"));
        CHECK(a == "shared result");
        CHECK(b == "own");
        const std::string again = co_await t;
        CHECK(again == "shared result");
        CHECK(t.result() == "shared result");
        const std::string from_other = co_await other;
        CHECK(from_other == "shared result");
        // A second gather of the same finished task.
        auto [c] = co_await corio::gather(t);
        CHECK(c == "shared result");
        auto [oc] = co_await corio::gather(corio::return_exceptions, t);
        CHECK(oc.value() == "shared result");
        CHECK(t.result() == "shared result");
    }());
}

TEST_CASE("gather moves a move-only result out of the tasks it created", "[gather]") {
    run_test([]() -> Coro<> {
        auto make = [](int v) -> Coro<std::unique_ptr<int>> {
            co_await corio::sleep(1ms);
            co_return std::make_unique<int>(v);
        };
        auto [a, b] = co_await corio::gather(make(1), make(2));
        REQUIRE(a);
        REQUIRE(b);
        CHECK(*a == 1);
        CHECK(*b == 2);
        std::vector<Coro<std::unique_ptr<int>>> cs;
        cs.push_back(make(3));
        cs.push_back(make(4));
        auto v = co_await corio::gather(std::move(cs));
        REQUIRE(v.size() == 2);
        CHECK(*v[0] == 3);
        CHECK(*v[1] == 4);
    }());
}

// ---------------------------------------------------------------------------------------------
// return_exceptions
// ---------------------------------------------------------------------------------------------

TEST_CASE("gather with return_exceptions gives an Outcome per child", "[gather]") {
    int counter = 0;
    run_test([&]() -> Coro<> {
        auto [a, b, c, d] = co_await corio::gather(corio::return_exceptions, value_after(10ms, 1),
                                                   fail_after(5ms, "boom"), void_after(1ms, &counter),
                                                   string_after(20ms, "s"));
        static_assert(std::is_same_v<decltype(a), Outcome<int>>);
        static_assert(std::is_same_v<decltype(c), Outcome<void>>);
        CHECK(a.has_value());
        CHECK(static_cast<bool>(a));
        CHECK(a.value() == 1);
        CHECK_FALSE(a.error());
        CHECK_FALSE(b.has_value());
        CHECK_FALSE(static_cast<bool>(b));
        REQUIRE(b.error());
        CHECK(error_kind(b.error()) == "error:boom");
        CHECK_THROWS_WITH(b.value(), "boom");
        CHECK_THROWS_AS(b.value(), std::runtime_error);
        CHECK(c.has_value());
        CHECK_NOTHROW(c.value());
        CHECK(d.value() == "s");
        const std::string moved = std::move(d).value();
        CHECK(moved == "s");
    }());
    CHECK(counter == 1);
}

TEST_CASE("gather with return_exceptions: the failure does not cancel the other children", "[gather]") {
    // test_return_exceptions: results [3, 1, exc, exc2] once the last child is done
    run_test([]() -> Coro<> {
        Future<int> a, b, c, d;
        auto g = corio::create_task([&]() -> Coro<std::vector<std::string>> {
            std::vector<Coro<int>> cs;
            cs.push_back(await_future(a));
            cs.push_back(await_future(b));
            cs.push_back(await_future(c));
            cs.push_back(await_future(d));
            auto out = co_await corio::gather(corio::return_exceptions, std::move(cs));
            std::vector<std::string> r;
            for (auto& o : out) r.push_back(o.has_value() ? std::to_string(o.value()) : error_kind(o.error()));
            co_return r;
        });
        co_await corio::sleep(0s);
        b.set_result(1);
        c.set_exception(std::make_exception_ptr(std::domain_error("zde")));
        a.set_result(3);
        for (int i = 0; i < 5; ++i) co_await corio::sleep(0s);
        CHECK_FALSE(g.done());
        CHECK_FALSE(d.done());
        d.set_exception(std::make_exception_ptr(std::runtime_error("rte")));
        const std::vector<std::string> r = co_await g;
        const std::vector<std::string> expected{"3", "1", "error:zde", "error:rte"};
        CHECK(r == expected);
    }());
}

TEST_CASE("gather with return_exceptions: a child cancelled from outside gives an Outcome with CancelledError",
          "[gather]") {
    // test_result_exception_one_cancellation
    run_test([]() -> Coro<> {
        auto t1 = corio::create_task(value_after(10ms, 1));
        auto t2 = corio::create_task(value_after(10s, 2));
        auto t3 = corio::create_task(fail_after(20ms, "rte"));
        auto t4 = corio::create_task(value_after(30ms, 4));
        auto canceller = corio::create_task([t2]() mutable -> Coro<> {
            co_await corio::sleep(5ms);
            t2.cancel("external");
        });
        const double t0 = now();
        auto [o1, o2, o3, o4] = co_await corio::gather(corio::return_exceptions, t1, t2, t3, t4);
        const double elapsed = now() - t0;
        CHECK(o1.value() == 1);
        CHECK(error_kind(o2.error()) == "cancelled:external");
        CHECK_THROWS_AS(o2.value(), corio::CancelledError);
        CHECK(error_kind(o3.error()) == "error:rte");
        CHECK(o4.value() == 4);
        CHECK(t2.cancelled());
        CHECK_FALSE(t4.cancelled());
        CHECK(corio::current_task().cancelling() == 0);
        if (virtual_time()) CHECK(elapsed == Approx(0.030));
        co_await canceller;
    }());
}

TEST_CASE("gather with return_exceptions marks every failure as retrieved", "[gather]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        auto [a, b] = co_await corio::gather(corio::return_exceptions, fail_after(1ms, "x"), fail_after(2ms, "y"));
        CHECK_FALSE(a.has_value());
        CHECK_FALSE(b.has_value());
    }());
    CHECK(log.count("never retrieved") == 0);
}

// ---------------------------------------------------------------------------------------------
// the first failure
// ---------------------------------------------------------------------------------------------

TEST_CASE("gather: the first failure cancels the other children and waits for them before rethrowing",
          "[gather]") {
    Log log;
    std::string what;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        const double t0 = now();
        try {
            co_await corio::gather(fail_after(10ms, "boom", &log), slow_cleanup("b", 10s, 50ms, &log),
                                   slow_cleanup("c", 10s, 20ms, &log), value_after(1ms, 4, &log));
        } catch (const std::runtime_error& e) {
            what = e.what();
            log.push_back("caught");
        }
        elapsed = now() - t0;
    }());
    CHECK(what == "boom");
    const Log expected{"4", "fail boom", "c cleaned", "b cleaned", "caught"};
    CHECK(log == expected);
    if (virtual_time()) {
        CHECK(elapsed == Approx(0.060));
    } else {
        CHECK(elapsed >= 0.055);
        CHECK(elapsed < 2.0);
    }
}

TEST_CASE("gather: after the first failure it waits even for a child that ignores the cancellation",
          "[gather]") {
    Log log;
    double elapsed = -1;
    bool caught = false;
    run_test([&]() -> Coro<> {
        auto stubborn = [](Log* l) -> Coro<int> {
            const double end = now() + 0.1;
            while (now() < end) {
                try {
                    co_await corio::sleep(std::chrono::duration<double>(end - now()));
                } catch (const corio::CancelledError&) {
                    l->push_back("ignored cancel");
                }
            }
            l->push_back("stubborn done");
            co_return 1;
        };
        const double t0 = now();
        try {
            co_await corio::gather(stubborn(&log), fail_after(10ms, "boom", &log));
        } catch (const std::runtime_error&) {
            caught = true;
            log.push_back("caught");
        }
        elapsed = now() - t0;
    }());
    CHECK(caught);
    const Log expected{"fail boom", "ignored cancel", "stubborn done", "caught"};
    CHECK(log == expected);
    CHECK(elapsed >= 0.099);
    if (virtual_time()) CHECK(elapsed == Approx(0.1));
}

TEST_CASE("gather: the first failure is rethrown even if a sibling fails while being cancelled", "[gather]") {
    // test_exception_marking: no failure is reported as "never retrieved"
    corio_test::LogCapture capture;
    std::string what;
    run_test([&]() -> Coro<> {
        auto fails_on_cancel = []() -> Coro<int> {
            bool cancelled = false;
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                cancelled = true;
            }
            if (cancelled) throw std::runtime_error("second");
            co_return 0;
        };
        try {
            co_await corio::gather(fails_on_cancel(), fail_after(5ms, "first"));
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        co_await corio::sleep(1ms);
    }());
    CHECK(what == "first");
    CHECK(capture.count("never retrieved") == 0);
}

TEST_CASE("gather: a task that already failed cancels the pending siblings", "[gather]") {
    Log log;
    std::string what;
    run_test([&]() -> Coro<> {
        auto bad = corio::create_task(fail_after(0ms, "early"));
        co_await corio::sleep(1ms);
        REQUIRE(bad.done());
        auto sibling = corio::create_task(slow_cleanup("s", 10s, 5ms, &log));
        co_await corio::sleep(0s);  // started (a task cancelled before it starts never runs)
        try {
            co_await corio::gather(sibling, bad);
        } catch (const std::runtime_error& e) {
            what = e.what();
            log.push_back("caught");
        }
        CHECK(sibling.cancelled());
    }());
    CHECK(what == "early");
    const Log expected{"s cleaned", "caught"};
    CHECK(log == expected);
}

TEST_CASE("gather: a child cancelled from outside without return_exceptions gives CancelledError", "[gather]") {
    // test_one_cancellation. Unlike Python, corio also cancels (and waits for) the siblings.
    Log log;
    std::string outcome;
    run_test([&]() -> Coro<> {
        auto victim = corio::create_task(value_after(10s, 1));
        auto sibling = corio::create_task(slow_cleanup("sibling", 10s, 5ms, &log));
        auto waiter = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::gather(value_after(1ms, 0), victim, sibling);
                outcome = "value";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
                log.push_back("caught");
            }
        });
        co_await corio::sleep(2ms);
        victim.cancel("victim");
        co_await waiter;
        CHECK(victim.cancelled());
        CHECK(sibling.cancelled());
        CHECK_FALSE(waiter.cancelled());
    }());
    CHECK(outcome == "cancelled:victim");
    const Log expected{"sibling cleaned", "caught"};
    CHECK(log == expected);
}

// ---------------------------------------------------------------------------------------------
// cancelling the awaiter
// ---------------------------------------------------------------------------------------------

TEST_CASE("cancelling the task awaiting gather cancels every child", "[gather]") {
    // test_cancellation_broadcast
    int proof = 0;
    run_test([&]() -> Coro<> {
        Future<> waiter;
        auto inner = [&]() -> Coro<> {
            co_await waiter;
            proof += 1;
        };
        auto child1 = corio::create_task(inner);
        auto child2 = corio::create_task(inner);
        auto outer = corio::create_task([&]() -> Coro<> {
            co_await corio::gather(child1, child2);
            proof += 100;
        });
        co_await corio::sleep(0s);
        CHECK(outer.cancel("stop"));
        std::string msg;
        try {
            co_await outer;
        } catch (const corio::CancelledError& e) {
            msg = e.what();
        }
        CHECK(msg == "stop");
        CHECK(outer.cancelled());
        CHECK(waiter.cancelled());
        CHECK(child1.cancelled());
        CHECK(child2.cancelled());
        std::string child_msg;
        try {
            co_await child1;
        } catch (const corio::CancelledError& e) {
            child_msg = e.what();
        }
        CHECK(child_msg == "stop");
        co_await corio::sleep(0s);
    }());
    CHECK(proof == 0);
}

TEST_CASE("cancelling the task awaiting gather waits for the children's cleanup", "[gather]") {
    // asyncio cancels each child once and never again: the first child to end with the
    // CancelledError gather itself caused is not a "first failure" that cancels the others
    // a second time (which would cut a's cleanup short and resume the awaiter at 10 ms).
    Log log;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        auto outer = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::gather(slow_cleanup("a", 10s, 30ms, &log), slow_cleanup("b", 10s, 10ms, &log));
            } catch (const corio::CancelledError&) {
                log.push_back("outer cancelled");
                throw;
            }
        });
        co_await corio::sleep(5ms);
        const double t0 = now();
        outer.cancel();
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
            log.push_back("awaited");
        }
        elapsed = now() - t0;
    }());
    const Log expected{"b cleaned", "a cleaned", "outer cancelled", "awaited"};
    CHECK(log == expected);
    if (virtual_time()) CHECK(elapsed == Approx(0.030));
}

TEST_CASE("cancelling the awaiter of gather: CancelledError even if a child swallows it", "[gather]") {
    // asyncio's _GatheringFuture: a requested cancellation is raised once the children are done
    std::string outcome;
    run_test([&]() -> Coro<> {
        auto swallow = []() -> Coro<int> {
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                co_return 5;
            }
            co_return 0;
        };
        auto outer = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::gather(swallow(), swallow());
                outcome = "value";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
            }
        });
        co_await corio::sleep(1ms);
        outer.cancel("msg");
        co_await outer;
    }());
    CHECK(outcome == "cancelled:msg");
}

TEST_CASE("cancelling the awaiter of gather with return_exceptions: CancelledError with its message",
          "[gather]") {
    // test_cancel_gather_2
    for (const char* message : {"", "my message"}) {
        std::string outcome;
        run_test([&]() -> Coro<> {
            auto test = []() -> Coro<> {
                double time = 0;
                for (;;) {
                    time += 0.05;
                    auto nap = []() -> Coro<> { co_await corio::sleep(50ms); };
                    co_await corio::gather(corio::return_exceptions, nap());
                    if (time > 1) co_return;
                }
            };
            auto qwe = corio::create_task(test);
            co_await corio::sleep(200ms);
            qwe.cancel(message);
            try {
                co_await qwe;
                outcome = "no CancelledError";
            } catch (const corio::CancelledError& e) {
                outcome = e.message();
            }
        }());
        CHECK(outcome == message);
    }
}

TEST_CASE("a cancellation pending when gather is awaited cancels the children before they start", "[gather]") {
    int started = 0;
    std::string outcome;
    run_test([&]() -> Coro<> {
        auto child = [](int* s) -> Coro<int> {
            ++*s;
            co_await corio::sleep(10ms);
            co_return 1;
        };
        auto outer = corio::create_task([&]() -> Coro<> {
            corio::current_task().cancel("early");
            try {
                co_await corio::gather(child(&started), child(&started));
                outcome = "value";
            } catch (const corio::CancelledError& e) {
                outcome = std::string("cancelled:") + e.what();
            }
        });
        co_await outer;
        co_await corio::sleep(20ms);
    }());
    CHECK(outcome == "cancelled:early");
    CHECK(started == 0);
}

TEST_CASE("cancelling the awaiter of nested gathers reaches every grandchild", "[gather]") {
    bool c1 = false, f1 = false, c2 = false, f2 = false, c3 = false, f3 = false;
    bool finished_when_caught = false;
    run_test([&]() -> Coro<> {
        auto inner_gather = [&]() -> Coro<std::tuple<int, int>> {
            co_return co_await corio::gather(sleeper(10s, &c1, &f1), sleeper(20s, &c2, &f2));
        };
        auto outer = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::gather(inner_gather(), sleeper(30s, &c3, &f3));
            } catch (const corio::CancelledError&) {
                finished_when_caught = f1 && f2 && f3;
                throw;
            }
        });
        co_await corio::sleep(10ms);
        outer.cancel();
        try {
            co_await outer;
        } catch (const corio::CancelledError&) {
        }
        CHECK(outer.cancelled());
    }());
    CHECK(c1);
    CHECK(c2);
    CHECK(c3);
    CHECK(finished_when_caught);
}

TEST_CASE("the awaiter of gather cancelled after the children finished gets CancelledError", "[gather]") {
    // test_cancel_gather_1's situation seen from the awaiting task: the children are done and
    // the awaiter is woken but has not run yet. A task's cancel() then still succeeds.
    std::string outcome;
    bool cancel_result = false;
    run_test([&]() -> Coro<> {
        Future<int> fut;
        Task<> waiter;
        auto child = [&]() -> Coro<int> { co_return co_await fut; };
        waiter = corio::create_task([&]() -> Coro<> {
            try {
                auto [v] = co_await corio::gather(child());
                outcome = "value " + std::to_string(v);
            } catch (const corio::CancelledError&) {
                outcome = "cancelled";
            }
        });
        co_await corio::sleep(0s);
        fut.set_result(42);
        co_await corio::sleep(0s);  // the child finishes: the waiter is now ready
        cancel_result = waiter.cancel();
        co_await waiter;
    }());
    CHECK(cancel_result);
    CHECK(outcome == "cancelled");
}
