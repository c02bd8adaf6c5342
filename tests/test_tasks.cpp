// Tasks: a port of the Task parts of CPython's Lib/test/test_asyncio/test_tasks.py
// (gather, wait_for and shield live in their own files). Each TEST_CASE names the
// asyncio test it follows where there is one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::CancelledError;
using corio::Coro;
using corio::Task;
using corio_test::run_test;

namespace {

using Strings = std::vector<std::string>;
using Ints = std::vector<int>;

// Counts its live copies, to see a coroutine frame's parameters and locals destroyed.
struct Tracked {
    int* alive;
    explicit Tracked(int* a) : alive(a) { ++*alive; }
    Tracked(const Tracked& o) : alive(o.alive) { ++*alive; }
    Tracked(Tracked&& o) noexcept : alive(o.alive) { ++*alive; }
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { --*alive; }
};

Coro<> tk_noop() { co_return; }

Coro<int> tk_value_after(std::chrono::milliseconds d, int v) {
    co_await corio::sleep(d);
    co_return v;
}

Coro<int> tk_fail_after(std::chrono::milliseconds d, std::string msg) {
    co_await corio::sleep(d);
    throw std::runtime_error(msg);
}

Coro<> tk_sleep_long() { co_await corio::sleep(10s); }

double tk_now() { return corio::get_running_loop().time(); }

unsigned long tk_name_number(const std::string& name) {
    REQUIRE(name.rfind("Task-", 0) == 0);
    return std::stoul(name.substr(5));
}

template <class T>
bool tk_contains(const std::vector<Task<>>& v, const Task<T>& t) {
    return std::any_of(v.begin(), v.end(), [&](const Task<>& x) { return x == t; });
}

}  // namespace

// --- scheduling --------------------------------------------------------------------------

TEST_CASE("tasks: a task awaits coroutines inline and returns their combined value", "[tasks]") {
    // test_task_basics
    auto inner1 = []() -> Coro<int> { co_return 42; };
    auto inner2 = []() -> Coro<int> { co_return 1000; };
    int r = run_test([&]() -> Coro<int> {
        auto t = corio::create_task([&]() -> Coro<int> {
            int a = co_await inner1();
            int b = co_await inner2();
            co_return a + b;
        });
        co_return co_await t;
    }());
    CHECK(r == 1042);
}

TEST_CASE("tasks: create_task schedules but does not run; tasks start in creation order", "[tasks]") {
    Ints order;
    run_test([&]() -> Coro<> {
        std::vector<Task<>> ts;
        for (int i = 0; i < 5; ++i)
            ts.push_back(corio::create_task([&order, i]() -> Coro<> {
                order.push_back(i);
                co_return;
            }));
        CHECK(order.empty());  // nothing ran yet: create_task only schedules
        for (auto& t : ts) CHECK_FALSE(t.done());
        for (auto& t : ts) co_await t;
    }());
    const Ints expected{0, 1, 2, 3, 4};
    CHECK(order == expected);
}

TEST_CASE("tasks: sleep(0) lets every other ready task run exactly once", "[tasks]") {
    Strings log;
    run_test([&]() -> Coro<> {
        auto worker = [&log](std::string name) -> Coro<> {
            for (int i = 0; i < 3; ++i) {
                log.push_back(name + std::to_string(i));
                co_await corio::sleep(0s);
            }
        };
        auto a = corio::create_task(worker("a"));
        auto b = corio::create_task(worker("b"));
        auto c = corio::create_task(worker("c"));
        co_await a;
        co_await b;
        co_await c;
    }());
    const Strings expected{"a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"};
    CHECK(log == expected);
}

TEST_CASE("tasks: sleep(0) runs callbacks queued with call_soon before resuming", "[tasks]") {
    // test_sleep_zero
    int result = 0;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().call_soon([&] { result += 1; });
        CHECK(result == 0);
        co_await corio::sleep(0s);
        CHECK(result == 1);
        result += 10;
    }());
    CHECK(result == 11);
}

TEST_CASE("tasks: sleep in two halves returns after the whole delay", "[tasks]") {
    // test_sleep
    double elapsed = run_test([]() -> Coro<double> {
        double start = tk_now();
        auto t = corio::create_task([]() -> Coro<std::string> {
            co_await corio::sleep(25ms);
            co_await corio::sleep(25ms);
            co_return std::string("yeah");
        });
        std::string r = co_await t;
        CHECK(r == "yeah");
        CHECK(t.done());
        CHECK(t.result() == "yeah");
        co_return tk_now() - start;
    }());
    CHECK(elapsed >= 0.045);
    CHECK(elapsed < 2.0);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.05));
}

TEST_CASE("tasks: the loop keeps a task alive when every handle is dropped", "[tasks]") {
    bool finished = false;
    int alive = 0;
    run_test([&]() -> Coro<> {
        corio::Future<int> reached;
        // The returned handle is dropped at once.
        corio::create_task([&, tracked = Tracked(&alive)]() -> Coro<> {
            co_await corio::sleep(20ms);
            co_await corio::sleep(0s);
            finished = true;
            reached.set_result(1);
        });
        CHECK(alive >= 1);
        CHECK(corio::all_tasks().size() == 2);  // main and the unreferenced one
        int v = co_await reached;
        CHECK(v == 1);
        co_await corio::sleep(0s);  // let it reach its end
        CHECK(corio::all_tasks().size() == 1);
    }());
    CHECK(finished);
    CHECK(alive == 0);  // its frame (holding the lambda) was destroyed when it finished
}

// --- names, current_task, all_tasks ------------------------------------------------------

TEST_CASE("tasks: default names are Task-N numbered in creation order", "[tasks]") {
    // test_task_repr_autogenerated
    run_test([]() -> Coro<> {
        const std::string main_name = corio::current_task().get_name();
        auto a = corio::create_task(tk_noop());
        auto b = corio::create_task(tk_noop());
        const unsigned long nm = tk_name_number(main_name);
        const unsigned long na = tk_name_number(a.get_name());
        const unsigned long nb = tk_name_number(b.get_name());
        CHECK(na > nm);
        CHECK(nb == na + 1);
        co_await a;
        co_await b;
        CHECK(b.get_name() == "Task-" + std::to_string(nb));  // the name outlives the task
    }());
}

TEST_CASE("tasks: create_task with a name, get_name and set_name", "[tasks]") {
    // test_bare_create_named_task, test_task_set_name
    std::string seen_inside;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(
            [&]() -> Coro<> {
                seen_inside = corio::current_task().get_name();
                co_return;
            },
            "No-op");
        CHECK(t.get_name() == "No-op");
        t.set_name("renamed");
        CHECK(t.get_name() == "renamed");
        co_await t;
        t.set_name("after done");
        CHECK(t.get_name() == "after done");
    }());
    CHECK(seen_inside == "renamed");
}

TEST_CASE("tasks: current_task is the running task and empty outside tasks", "[tasks]") {
    // test_current_task, test_current_task_no_running_loop
    CHECK_FALSE(corio::current_task());
    bool inside_ok = false;
    bool in_child_coro_ok = false;
    bool callback_saw_empty = false;
    run_test([&]() -> Coro<> {
        Task<> t;
        t = corio::create_task([&]() -> Coro<> {
            inside_ok = corio::current_task() == t;
            auto child = [&]() -> Coro<> {
                in_child_coro_ok = corio::current_task() == t;  // a Coro runs in its awaiter's task
                co_return;
            };
            co_await child();
        });
        co_await t;
        CHECK_FALSE(corio::current_task() == t);
        bool called = false;
        corio::get_running_loop().call_soon([&] {
            callback_saw_empty = !corio::current_task();
            called = true;
        });
        co_await corio::sleep(0s);
        CHECK(called);
    }());
    CHECK(inside_ok);
    CHECK(in_child_coro_ok);
    CHECK(callback_saw_empty);
    CHECK_FALSE(corio::current_task());
}

TEST_CASE("tasks: current_task follows interleaving tasks", "[tasks]") {
    // test_current_task_with_interleaving_tasks
    Strings log;
    run_test([&]() -> Coro<> {
        corio::Future<bool> fut1;
        corio::Future<bool> fut2;
        Task<> task1;
        Task<> task2;
        task1 = corio::create_task([&]() -> Coro<> {
            log.push_back(corio::current_task() == task1 ? "1 is 1" : "1 is wrong");
            co_await fut1;
            log.push_back(corio::current_task() == task1 ? "1 is 1" : "1 is wrong");
            fut2.set_result(true);
        });
        task2 = corio::create_task([&]() -> Coro<> {
            log.push_back(corio::current_task() == task2 ? "2 is 2" : "2 is wrong");
            fut1.set_result(true);
            co_await fut2;
            log.push_back(corio::current_task() == task2 ? "2 is 2" : "2 is wrong");
        });
        co_await task1;
        co_await task2;
    }());
    const Strings expected{"1 is 1", "2 is 2", "1 is 1", "2 is 2"};
    CHECK(log == expected);
}

TEST_CASE("tasks: all_tasks lists the loop's pending tasks", "[tasks]") {
    run_test([]() -> Coro<> {
        auto a = corio::create_task(tk_value_after(10ms, 1));
        auto b = corio::create_task(tk_value_after(30ms, 2));
        auto all = corio::all_tasks();
        CHECK(all.size() == 3);
        CHECK(tk_contains(all, a));
        CHECK(tk_contains(all, b));
        CHECK(tk_contains(all, corio::current_task()));
        co_await a;
        all = corio::all_tasks();
        CHECK(all.size() == 2);
        CHECK_FALSE(tk_contains(all, a));
        CHECK(tk_contains(all, b));
        co_await b;
        CHECK(corio::all_tasks().size() == 1);
    }());
}

TEST_CASE("tasks: create_task, all_tasks and get_running_loop need a running loop", "[tasks]") {
    // test_create_task_* without a loop: asyncio raises RuntimeError('no running event loop')
    corio_test::LogCapture capture;  // the dropped coroutine is reported as never awaited
    CHECK_THROWS_AS(corio::create_task(tk_noop()), corio::RuntimeError);
    CHECK_THROWS_AS(corio::create_task([]() -> Coro<> { co_return; }), corio::RuntimeError);
    CHECK_THROWS_AS(corio::all_tasks(), corio::RuntimeError);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::RuntimeError);
}

TEST_CASE("tasks: Task<> refers to a task of any result type", "[tasks]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(tk_value_after(5ms, 9));
        Task<> any = t;
        CHECK(any == t);
        CHECK(any.get_name() == t.get_name());
        co_await any;  // waits for it; the value stays readable through the typed handle
        CHECK(any.done());
        CHECK(t.result() == 9);
        auto copy = t;
        CHECK(copy == t);
        CHECK(co_await copy == 9);
    }());
}

TEST_CASE("tasks: an empty Task handle throws InvalidStateError when used", "[tasks]") {
    Task<int> empty;
    CHECK_FALSE(empty);
    CHECK_THROWS_AS(empty.done(), corio::InvalidStateError);
    CHECK_THROWS_AS(empty.cancel(), corio::InvalidStateError);
    CHECK_THROWS_AS(empty.result(), corio::InvalidStateError);
    bool threw = false;
    run_test([&]() -> Coro<> {
        try {
            co_await empty;
        } catch (const corio::InvalidStateError&) {
            threw = true;
        }
    }());
    CHECK(threw);
}

// --- results and exceptions ---------------------------------------------------------------

TEST_CASE("tasks: result() and exception() before done throw InvalidStateError", "[tasks]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(tk_value_after(5ms, 3));
        CHECK_FALSE(t.done());
        CHECK_THROWS_AS(t.result(), corio::InvalidStateError);
        CHECK_THROWS_AS(t.exception(), corio::InvalidStateError);
        co_await t;
        CHECK(t.done());
        CHECK_FALSE(t.cancelled());
        CHECK(t.result() == 3);
        CHECK_FALSE(t.exception());  // empty after success
    }());
}

TEST_CASE("tasks: a failed task rethrows on await and result(); exception() returns it", "[tasks]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(tk_fail_after(5ms, "boom"));
        std::string caught;
        try {
            co_await t;
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        CHECK(caught == "boom");
        CHECK(t.done());
        CHECK_FALSE(t.cancelled());
        CHECK_THROWS_WITH(t.result(), "boom");
        std::exception_ptr e = t.exception();
        REQUIRE(e);
        CHECK(e == t.exception());  // the same stored exception each time
        CHECK_THROWS_AS(std::rethrow_exception(e), std::runtime_error);
        CHECK_THROWS_WITH(std::rethrow_exception(e), "boom");
        // awaiting again rethrows again
        CHECK_THROWS_WITH(co_await t, "boom");
    }());
}

TEST_CASE("tasks: a task is awaited many times, before and after done, from several tasks", "[tasks]") {
    Strings log;
    run_test([&]() -> Coro<> {
        auto target = corio::create_task(tk_value_after(10ms, 7));
        std::vector<Task<int>> waiters;
        for (int i = 0; i < 3; ++i)
            waiters.push_back(corio::create_task([&, i]() -> Coro<int> {
                int a = co_await target;
                log.push_back("w" + std::to_string(i));
                int b = co_await target;  // already done: no suspension
                co_return a + b;
            }));
        for (auto& w : waiters) CHECK(co_await w == 14);
        CHECK(co_await target == 7);
        CHECK(co_await target == 7);
        CHECK(target.result() == 7);
        CHECK(target.result() == 7);
    }());
    const Strings expected{"w0", "w1", "w2"};  // woken in the order they started waiting
    CHECK(log == expected);
}

TEST_CASE("tasks: awaiting a task from inside itself throws RuntimeError", "[tasks]") {
    // test_task_awaits_on_itself
    std::string message;
    bool from_child = false;
    int r = run_test([&]() -> Coro<int> {
        auto t = corio::create_task(
            [&]() -> Coro<int> {
                try {
                    co_await corio::current_task();
                } catch (const corio::RuntimeError& e) {
                    message = e.what();
                }
                auto child = [&]() -> Coro<> {
                    try {
                        co_await corio::current_task();
                    } catch (const corio::RuntimeError&) {
                        from_child = true;
                    }
                };
                co_await child();
                co_return 5;  // the error did not break the task
            },
            "selfish");
        co_return co_await t;
    }());
    CHECK(r == 5);
    CHECK(message.find("selfish") != std::string::npos);
    CHECK(from_child);
}

TEST_CASE("tasks: a move-only result goes through co_await and result()", "[tasks]") {
    run_test([]() -> Coro<> {
        auto maker = [](int v) -> Coro<std::unique_ptr<int>> {
            co_await corio::sleep(1ms);
            co_return std::make_unique<int>(v);
        };
        auto t = corio::create_task(maker(5));
        std::unique_ptr<int> p = co_await t;
        REQUIRE(p);
        CHECK(*p == 5);
        // A move-only value has one reader: a second read is an InvalidStateError, never a
        // moved-from (null) pointer.
        CHECK_THROWS_AS(t.result(), corio::InvalidStateError);

        auto u = corio::create_task(maker(6));
        co_await corio::sleep(5ms);
        REQUIRE(u.done());
        std::unique_ptr<int> q = u.result();
        REQUIRE(q);
        CHECK(*q == 6);
        CHECK_THROWS_AS(co_await u, corio::InvalidStateError);
    }());
}

TEST_CASE("tasks: a failed task nobody awaited is logged when its last handle goes", "[tasks]") {
    // test_log_traceback / test_tb_logger_* for tasks
    corio_test::LogCapture capture;
    run_test([]() -> Coro<> {
        corio::create_task(tk_fail_after(1ms, "lost failure"), "doomed");
        auto kept = corio::create_task(tk_fail_after(1ms, "seen failure"), "observed");
        co_await corio::sleep(20ms);
        CHECK_THROWS_WITH(kept.result(), "seen failure");
    }());
    INFO(capture.joined());
    CHECK(capture.count("exception was never retrieved") == 1);
    CHECK(capture.count("lost failure") == 1);
    CHECK(capture.count("seen failure") == 0);
}

TEST_CASE("tasks: the never-retrieved report of a task says Task and names it", "[tasks]") {
    // asyncio: "Task exception was never retrieved" with the task's repr. corio builds that
    // line in ~FutureBase with dynamic_cast<TaskBase*>(this), which is always null there
    // (the TaskBase part is already destroyed), so a task is reported as a "Future".
    corio_test::LogCapture capture;
    run_test([]() -> Coro<> {
        corio::create_task(tk_fail_after(1ms, "lost failure"), "doomed");
        co_await corio::sleep(20ms);
    }());
    INFO(capture.joined());
    CHECK(capture.count("Task exception was never retrieved") == 1);
    CHECK(capture.count("doomed") == 1);
}

// --- cancellation --------------------------------------------------------------------------

TEST_CASE("tasks: CancelledError is not caught by catch (const std::exception&)", "[tasks]") {
    static_assert(!std::is_base_of_v<std::exception, CancelledError>);
    bool swallowed = false;
    bool saw_cancel = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                try {
                    co_await corio::sleep(10s);
                } catch (const std::exception&) {
                    swallowed = true;
                }
            } catch (const CancelledError&) {
                saw_cancel = true;
                throw;
            }
        });
        co_await corio::sleep(1ms);
        t.cancel();
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.cancelled());
    }());
    CHECK_FALSE(swallowed);
    CHECK(saw_cancel);
}

TEST_CASE("tasks: cancel a sleeping task: it ends cancelled and cancel() then returns false", "[tasks]") {
    // test_cancel
    run_test([]() -> Coro<> {
        double start = tk_now();
        auto t = corio::create_task(tk_value_after(10s, 12));
        corio::get_running_loop().call_soon([t]() mutable { t.cancel(); });
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.done());
        CHECK(t.cancelled());
        CHECK_FALSE(t.cancel());
        CHECK(tk_now() - start < 5.0);
        if (corio_test::virtual_time()) CHECK(tk_now() - start == 0.0);
    }());
}

TEST_CASE("tasks: a task cancelled by a call_later callback stops at that time", "[tasks]") {
    // test_task_cancel_sleeping_task
    std::string how;
    double elapsed = run_test([&]() -> Coro<double> {
        double start = tk_now();
        auto sleeper = corio::create_task(tk_sleep_long());
        corio::get_running_loop().call_later(100ms, [sleeper]() mutable { sleeper.cancel(); });
        bool cancelled = false;
        try {
            co_await sleeper;
        } catch (const CancelledError&) {
            cancelled = true;
        }
        how = cancelled ? "cancelled" : "slept in";
        co_return tk_now() - start;
    }());
    CHECK(how == "cancelled");
    CHECK(elapsed >= 0.09);
    CHECK(elapsed < 5.0);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.1));
}

TEST_CASE("tasks: cancel travels down a Coro chain and the error travels back up", "[tasks]") {
    // test_yield_future_passes_cancel
    int proof = 0;
    int alive = 0;
    run_test([&]() -> Coro<> {
        auto inner = [&]() -> Coro<> {
            Tracked local(&alive);
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError&) {
                proof += 1;
                throw;
            }
            proof += 1000;  // not reached
        };
        auto middle = [&]() -> Coro<> {
            try {
                co_await inner();
            } catch (const CancelledError&) {
                proof += 100;
                throw;
            }
            proof += 1000;
        };
        auto t = corio::create_task([&]() -> Coro<> { co_await middle(); });
        co_await corio::sleep(5ms);
        CHECK(alive == 1);
        CHECK(t.cancel());
        CHECK_FALSE(t.done());  // the task still has to run to take the error
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.cancelled());
    }());
    CHECK(proof == 101);
    CHECK(alive == 0);
}

TEST_CASE("tasks: a task that catches its CancelledError and returns a value is not cancelled", "[tasks]") {
    // test_yield_future_passes_cancel (outer swallows), test_cancel_task_catching
    run_test([]() -> Coro<> {
        corio::Future<> fut1;
        corio::Future<> fut2;
        auto t = corio::create_task([&]() -> Coro<int> {
            co_await fut1;
            try {
                co_await fut2;
            } catch (const CancelledError&) {
                co_return 42;
            }
            co_return 0;
        });
        co_await corio::sleep(0s);
        fut1.set_result();
        co_await corio::sleep(0s);  // t now waits on fut2
        CHECK(t.cancel());
        CHECK(fut2.cancelled());  // the cancel reached what t awaits, at once
        CHECK(t.cancelling() == 1);
        int r = co_await t;
        CHECK(r == 42);
        CHECK_FALSE(t.cancelled());
        CHECK(t.result() == 42);
        CHECK_FALSE(t.exception());
    }());
}

TEST_CASE("tasks: a task that ignores its cancellation carries on awaiting", "[tasks]") {
    // test_cancel_task_ignoring
    run_test([]() -> Coro<> {
        corio::Future<> fut1;
        corio::Future<> fut2;
        corio::Future<int> fut3;
        auto t = corio::create_task([&]() -> Coro<int> {
            co_await fut1;
            try {
                co_await fut2;
            } catch (const CancelledError&) {
            }
            int res = co_await fut3;
            co_return res;
        });
        co_await corio::sleep(0s);
        fut1.set_result();
        co_await corio::sleep(0s);
        CHECK(t.cancel());
        CHECK(fut2.cancelled());
        co_await corio::sleep(0s);  // t now waits on fut3
        CHECK_FALSE(t.done());
        fut3.set_result(42);
        int r = co_await t;
        CHECK(r == 42);
        CHECK_FALSE(fut3.cancelled());
        CHECK_FALSE(t.cancelled());
    }());
}

TEST_CASE("tasks: catching CancelledError and rethrowing it; cancel(msg) reaches what()", "[tasks]") {
    // test_task_cancel_message_getter, test_cancel_with_message_then_future_result/exception
    std::string seen_inside;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError& e) {
                seen_inside = e.what();
                throw;
            }
        });
        co_await corio::sleep(0s);
        CHECK(t.cancel("my message"));
        std::string from_await;
        try {
            co_await t;
        } catch (const CancelledError& e) {
            from_await = e.what();
        }
        CHECK(from_await == "my message");
        CHECK(t.cancelled());
        std::string from_result;
        try {
            t.result();
        } catch (const CancelledError& e) {
            from_result = e.what();
        }
        CHECK(from_result == "my message");
        std::string from_exception;
        try {
            (void)t.exception();
        } catch (const CancelledError& e) {
            from_exception = e.what();
        }
        CHECK(from_exception == "my message");
    }());
    CHECK(seen_inside == "my message");
}

TEST_CASE("tasks: cancel() without a message gives CancelledError's default what()", "[tasks]") {
    run_test([]() -> Coro<> {
        auto t = corio::create_task(tk_sleep_long());
        co_await corio::sleep(0s);
        t.cancel();
        std::string what = "unset";
        try {
            co_await t;
        } catch (const CancelledError& e) {
            what = e.what();
        }
        CHECK(what == "CancelledError");
    }());
}

TEST_CASE("tasks: catching CancelledError and throwing another error fails the task", "[tasks]") {
    // test_baseexception_during_cancel
    run_test([]() -> Coro<> {
        auto t = corio::create_task([]() -> Coro<> {
            bool cancelled = false;
            try {
                co_await tk_sleep_long();
            } catch (const CancelledError&) {
                cancelled = true;
            }
            if (cancelled) throw std::logic_error("replaced");
        });
        co_await corio::sleep(0s);
        t.cancel();
        CHECK_FALSE(t.done());
        CHECK_THROWS_AS(co_await t, std::logic_error);
        CHECK(t.done());
        CHECK_FALSE(t.cancelled());
        std::exception_ptr e = t.exception();
        CHECK_THROWS_WITH(std::rethrow_exception(e), "replaced");
    }());
}

TEST_CASE("tasks: cancelling twice returns true both times and delivers one CancelledError", "[tasks]") {
    // test_cancelling
    int caught = 0;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<int> {
            for (int i = 0; i < 3; ++i) {
                try {
                    co_await corio::sleep(10ms);
                } catch (const CancelledError&) {
                    ++caught;
                }
            }
            co_return 1;
        });
        co_await corio::sleep(0s);
        CHECK(t.cancelling() == 0);
        CHECK(t.cancel());
        CHECK(t.cancelling() == 1);
        CHECK(t.cancel());
        CHECK(t.cancelling() == 2);
        CHECK(co_await t == 1);
        CHECK_FALSE(t.cancelled());
    }());
    CHECK(caught == 1);
}

TEST_CASE("tasks: cancel() of a done task returns false and changes nothing", "[tasks]") {
    run_test([]() -> Coro<> {
        auto ok = corio::create_task(tk_value_after(1ms, 1));
        auto bad = corio::create_task(tk_fail_after(1ms, "x"));
        auto gone = corio::create_task(tk_sleep_long());
        co_await corio::sleep(0s);
        gone.cancel();
        co_await corio::sleep(5ms);
        REQUIRE(ok.done());
        REQUIRE(bad.done());
        REQUIRE(gone.done());
        CHECK_FALSE(ok.cancel());
        CHECK_FALSE(bad.cancel());
        CHECK_FALSE(gone.cancel());
        CHECK(ok.cancelling() == 0);
        CHECK(bad.cancelling() == 0);
        CHECK(gone.cancelling() == 1);
        CHECK(ok.result() == 1);
        CHECK_FALSE(ok.cancelled());
        CHECK_FALSE(bad.cancelled());
        CHECK_THROWS_WITH(bad.result(), "x");
        CHECK(gone.cancelled());
    }());
}

namespace {
Coro<> tk_with_param(Tracked p, bool& ran) {
    (void)p;
    ran = true;
    co_await corio::sleep(1ms);
}
}  // namespace

TEST_CASE("tasks: a task cancelled before its first step never runs; its frame is destroyed", "[tasks]") {
    // test_cancel_with_message_before_starting_task
    int alive = 0;
    bool ran = false;
    auto captured = std::make_shared<int>(0);
    bool lambda_ran = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(tk_with_param(Tracked(&alive), ran));
        CHECK(alive == 1);  // the parameter lives in the frame
        CHECK(t.cancel("my message"));
        CHECK_FALSE(t.done());
        CHECK(t.cancelling() == 1);
        std::string what;
        try {
            co_await t;
        } catch (const CancelledError& e) {
            what = e.what();
        }
        CHECK(what == "my message");
        CHECK(t.cancelled());
        CHECK(alive == 0);

        // The same for a lambda given to create_task: its captures die with the frame.
        auto u = corio::create_task([&lambda_ran, captured]() -> Coro<> {
            lambda_ran = true;
            co_return;
        });
        CHECK(captured.use_count() == 2);
        u.cancel();
        CHECK_THROWS_AS(co_await u, CancelledError);
        CHECK(captured.use_count() == 1);
    }());
    CHECK_FALSE(ran);
    CHECK_FALSE(lambda_ran);
}

TEST_CASE("tasks: a cancel that arrives after the task was woken is raised when it resumes", "[tasks]") {
    // asyncio's _must_cancel: the awaited future completed, the task is queued, then cancel()
    bool got_value = false;
    bool got_cancel = false;
    run_test([&]() -> Coro<> {
        corio::Future<int> f;
        auto t = corio::create_task([&]() -> Coro<> {
            try {
                int v = co_await f;
                got_value = v == 1;
            } catch (const CancelledError&) {
                got_cancel = true;
                throw;
            }
        });
        co_await corio::sleep(0s);  // t waits on f
        f.set_result(1);            // t is woken but has not run
        CHECK(t.cancel("late"));
        std::string what;
        try {
            co_await t;
        } catch (const CancelledError& e) {
            what = e.what();
        }
        CHECK(what == "late");
        CHECK(t.cancelled());
        CHECK_FALSE(f.cancelled());  // the future had already completed
        CHECK(f.result() == 1);
    }());
    CHECK(got_cancel);
    CHECK_FALSE(got_value);
}

TEST_CASE("tasks: a task cancelled while it yields with sleep(0) is cancelled", "[tasks]") {
    // test_cancel_yield
    bool after_yield = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<int> {
            co_await corio::sleep(0s);
            co_await corio::sleep(0s);
            after_yield = true;
            co_return 12;
        });
        co_await corio::sleep(0s);  // t has started and sits in its first sleep(0)
        CHECK(t.cancel());
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.done());
        CHECK(t.cancelled());
        CHECK_FALSE(t.cancel());
    }());
    CHECK_FALSE(after_yield);
}

TEST_CASE("tasks: a task that cancels itself gets CancelledError at its next suspension", "[tasks]") {
    // test_cancel_current_task
    bool passed_ready_awaits = false;
    bool reached_end = false;
    run_test([&]() -> Coro<> {
        double start = tk_now();
        corio::Future<int> ready;
        ready.set_result(3);
        Task<int> t;
        t = corio::create_task([&]() -> Coro<int> {
            CHECK(t.cancel());
            CHECK_FALSE(t.done());
            // Awaits that complete without suspending do not deliver it (as in asyncio).
            int a = co_await ready;
            int b = co_await []() -> Coro<int> { co_return 4; }();
            passed_ready_awaits = a + b == 7;
            co_await corio::sleep(100s);  // cancelled at once
            reached_end = true;
            co_return 12;
        });
        CHECK_FALSE(t.cancelled());
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.done());
        CHECK(t.cancelled());
        CHECK_FALSE(t.cancel());
        CHECK(tk_now() - start < 5.0);
        if (corio_test::virtual_time()) CHECK(tk_now() - start == 0.0);
    }());
    CHECK(passed_ready_awaits);
    CHECK_FALSE(reached_end);
}

TEST_CASE("tasks: a task that cancels itself and then returns ends cancelled", "[tasks]") {
    // test_cancel_at_end: asyncio turns the pending _must_cancel into a cancelled task even
    // though the coroutine returned.
    run_test([]() -> Coro<> {
        Task<int> t;
        t = corio::create_task([&]() -> Coro<int> {
            t.cancel();
            co_return 12;
        });
        CHECK_FALSE(t.cancelled());
        bool cancelled = false;
        int value = 0;
        try {
            value = co_await t;
        } catch (const CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(value == 0);
        CHECK(t.done());
        CHECK(t.cancelled());
        CHECK_FALSE(t.cancel());
    }());
}

TEST_CASE("tasks: cancelling the future a task awaits cancels the task", "[tasks]") {
    // test_cancel_inner_future, test_task_cancel_waiter_future
    run_test([]() -> Coro<> {
        corio::Future<int> f;
        auto t = corio::create_task([&]() -> Coro<int> {
            co_await f;
            co_return 12;
        });
        co_await corio::sleep(0s);
        CHECK(f.cancel());
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(f.cancelled());
        CHECK(t.cancelled());
        CHECK(t.cancelling() == 0);  // nobody called t.cancel()
    }());
}

TEST_CASE("tasks: cancelling both the task and the future it awaits", "[tasks]") {
    // test_cancel_both_task_and_inner_future
    run_test([]() -> Coro<> {
        corio::Future<int> f;
        auto t = corio::create_task([&]() -> Coro<int> {
            co_await f;
            co_return 12;
        });
        co_await corio::sleep(0s);
        CHECK(f.cancel());
        CHECK(t.cancel());
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.done());
        CHECK(f.cancelled());
        CHECK(t.cancelled());
    }());
}

TEST_CASE("tasks: cancelling a task that awaits a task cancels the inner one and waits for it", "[tasks]") {
    Strings log;
    run_test([&]() -> Coro<> {
        auto inner = corio::create_task([&]() -> Coro<int> {
            std::exception_ptr cancel;
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError& e) {
                log.push_back(std::string("inner got: ") + e.what());
                cancel = std::current_exception();
            }
            if (cancel) {
                co_await corio::sleep(20ms);  // cleanup that takes time
                log.push_back("inner cleanup done");
                std::rethrow_exception(cancel);
            }
            co_return 1;
        });
        auto outer = corio::create_task([&]() -> Coro<int> {
            try {
                co_return co_await inner;
            } catch (const CancelledError&) {
                log.push_back("outer got CancelledError");
                throw;
            }
        });
        co_await corio::sleep(5ms);
        CHECK(outer.cancel("stop"));
        CHECK(inner.cancelling() == 1);  // passed on at once
        co_await corio::sleep(5ms);
        CHECK_FALSE(inner.done());  // still cleaning up...
        CHECK_FALSE(outer.done());  // ...and the outer task waits for it
        std::string what;
        try {
            co_await outer;
        } catch (const CancelledError& e) {
            what = e.what();
        }
        log.push_back("outer done");
        CHECK(what == "stop");
        CHECK(inner.cancelled());
        CHECK(outer.cancelled());
    }());
    const Strings expected{"inner got: stop", "inner cleanup done", "outer got CancelledError", "outer done"};
    CHECK(log == expected);
}

TEST_CASE("tasks: when the inner task swallows the cancellation the outer one gets its value", "[tasks]") {
    // asyncio: the cancel was handed to the awaited task; if it declines, the awaiter is not
    // cancelled either (only its cancelling() count shows the request).
    run_test([]() -> Coro<> {
        auto inner = corio::create_task([]() -> Coro<int> {
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError&) {
                co_return 42;
            }
            co_return 0;
        });
        auto outer = corio::create_task([&]() -> Coro<int> { co_return co_await inner + 1; });
        co_await corio::sleep(1ms);
        CHECK(outer.cancel());
        int r = co_await outer;
        CHECK(r == 43);
        CHECK_FALSE(outer.cancelled());
        CHECK_FALSE(inner.cancelled());
        CHECK(outer.cancelling() == 1);
        CHECK(inner.cancelling() == 1);
    }());
}

TEST_CASE("tasks: a task cancelling itself while about to await a task cancels that task", "[tasks]") {
    // test_cancel_awaited_task (bpo-34872)
    run_test([]() -> Coro<> {
        corio::Future<> fut;
        Task<> nested;
        Task<> task;
        task = corio::create_task([&]() -> Coro<> {
            nested = corio::create_task([&]() -> Coro<> { co_await fut; });
            co_await corio::sleep(0s);
            task.cancel();
            co_await nested;
        });
        CHECK_THROWS_AS(co_await task, CancelledError);
        CHECK(task.cancelled());
        REQUIRE(nested);
        CHECK(nested.cancelled());
        CHECK(fut.cancelled());
    }());
}

TEST_CASE("tasks: cancelling() and uncancel() count cancellation requests", "[tasks]") {
    // test_uncancel_basic
    int second_sleep_cancelled = 0;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            bool caught = false;
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError&) {
                caught = true;
            }
            if (caught) corio::current_task().uncancel();
            try {
                co_await corio::sleep(10s);
            } catch (const CancelledError&) {
                ++second_sleep_cancelled;
                throw;
            }
        });
        co_await corio::sleep(10ms);
        CHECK(t.cancel());
        CHECK(t.cancelling() == 1);
        CHECK_FALSE(t.cancelled());
        co_await corio::sleep(10ms);
        CHECK(t.cancelling() == 0);  // after uncancel()
        CHECK_FALSE(t.done());
        CHECK(t.cancel());
        CHECK(t.cancelling() == 1);
        CHECK_FALSE(t.cancelled());
        CHECK_THROWS_AS(co_await t, CancelledError);
        CHECK(t.cancelled());
        CHECK(t.done());
        t.uncancel();  // no effect on a done task's state
        CHECK(t.cancelled());
        CHECK(t.done());
        CHECK(t.uncancel() == 0);  // never below zero
    }());
    CHECK(second_sleep_cancelled == 1);
}

TEST_CASE("tasks: uncancel() lets a timeout-style block turn its own cancel into a result", "[tasks]") {
    // test_uncancel_structured_blocks, with call_later as the timeout
    struct Outcome {
        bool timed_out = false;
        bool block_finished = false;
        bool outer_reached = false;
        unsigned cancelling = 99;
    };
    auto make_request_with_timeout = [](std::chrono::milliseconds sleep_for,
                                        std::chrono::milliseconds timeout) -> Coro<Outcome> {
        Outcome out;
        Task<> task = corio::current_task();
        auto handle = corio::get_running_loop().call_later(timeout, [&out, task]() mutable {
            out.timed_out = true;
            task.cancel();
        });
        bool converted = false;
        try {
            co_await corio::sleep(sleep_for);
            out.block_finished = true;
        } catch (const CancelledError&) {
            if (out.timed_out && task.uncancel() == 0) converted = true;
            else throw;
        }
        handle.cancel();
        CHECK(converted == out.timed_out);
        out.outer_reached = true;
        co_await corio::sleep(0s);  // not cancelled any more
        out.cancelling = task.cancelling();
        co_return out;
    };
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(make_request_with_timeout(10s, 100ms));
        Outcome r1 = co_await t1;
        CHECK(r1.timed_out);
        CHECK_FALSE(r1.block_finished);
        CHECK(r1.outer_reached);
        CHECK(r1.cancelling == 0);
        CHECK(t1.cancelling() == 0);
        CHECK_FALSE(t1.cancelled());

        auto t2 = corio::create_task(make_request_with_timeout(0ms, 10s));
        Outcome r2 = co_await t2;
        CHECK_FALSE(r2.timed_out);
        CHECK(r2.block_finished);
        CHECK(r2.outer_reached);
        CHECK(t2.cancelling() == 0);
    }());
}

// --- done callbacks --------------------------------------------------------------------------

TEST_CASE("tasks: done callbacks run soon after completion, in the order added", "[tasks]") {
    Strings bag;
    bool ran_outside_task = true;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(tk_value_after(5ms, 3));
        for (int i = 1; i <= 3; ++i)
            t.add_done_callback([&bag, &ran_outside_task, i](Task<int> done) {
                // Scheduled with call_soon: no task is running, the task is done.
                if (corio::current_task()) ran_outside_task = false;
                bag.push_back(std::to_string(i) + ":" + std::to_string(done.result()));
            });
        CHECK(bag.empty());
        co_await t;
        co_await corio::sleep(0s);
    }());
    const Strings expected{"1:3", "2:3", "3:3"};
    CHECK(bag == expected);
    CHECK(ran_outside_task);
}

TEST_CASE("tasks: a done callback added after the task is done still runs, but not at once", "[tasks]") {
    Strings bag;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(tk_value_after(1ms, 8), "late");
        co_await t;
        t.add_done_callback([&](Task<int> done) { bag.push_back(done.get_name() + std::to_string(done.result())); });
        CHECK(bag.empty());
        co_await corio::sleep(0s);
        CHECK(bag.size() == 1);
    }());
    const Strings expected{"late8"};
    CHECK(bag == expected);
}

TEST_CASE("tasks: done callbacks see a cancelled or failed task", "[tasks]") {
    Strings bag;
    run_test([&]() -> Coro<> {
        auto c = corio::create_task(tk_sleep_long());
        auto f = corio::create_task(tk_fail_after(1ms, "bad"));
        c.add_done_callback([&](Task<> done) { bag.push_back(done.cancelled() ? "cancelled" : "not cancelled"); });
        f.add_done_callback([&](Task<int> done) {
            try {
                std::rethrow_exception(done.exception());
            } catch (const std::exception& e) {
                bag.push_back(e.what());
            }
        });
        co_await corio::sleep(0s);
        c.cancel();
        co_await corio::sleep(10ms);
    }());
    std::sort(bag.begin(), bag.end());
    const Strings expected{"bad", "cancelled"};
    CHECK(bag == expected);
}

TEST_CASE("tasks: done callbacks and awaiters are woken in the order they registered", "[tasks]") {
    // asyncio: a task's awaiters are done callbacks too, so a callback added before a task
    // started awaiting runs before that task resumes. corio wakes every awaiter first.
    Strings log;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task(tk_value_after(5ms, 1));
        t.add_done_callback([&](Task<int>) { log.push_back("callback"); });
        co_await t;
        log.push_back("awaiter");
        co_await corio::sleep(0s);
    }());
    const Strings expected{"callback", "awaiter"};
    CHECK(log == expected);
}

TEST_CASE("tasks: cancelling one of two tasks that await each other unwinds both", "[tasks]") {
    // A deadlock by mistake: a awaits b, b awaits a. asyncio's cancel() recurses through the
    // cycle until RecursionError; corio refuses the request when it comes back around, and
    // the awaiter that asked raises CancelledError in its own task instead.
    run_test([]() -> Coro<> {
        Task<> a, b;
        a = corio::create_task([&]() -> Coro<> { co_await b; });
        b = corio::create_task([&]() -> Coro<> { co_await a; });
        co_await corio::sleep(0s);  // both are waiting now
        CHECK(a.cancel());
        for (int i = 0; i < 10 && !(a.done() && b.done()); ++i) co_await corio::sleep(0s);
        CHECK(a.cancelled());
        CHECK(b.cancelled());
    }());
}

// --- allocation failure and hashing ------------------------------------------------------------

namespace {
// Over-aligned task results make create_task allocate its task with the global aligned
// operator new, which this test program replaces to fail on request.
thread_local bool t_fail_aligned_new = false;
struct alignas(64) Wide64 {
    int v = 0;
};
Coro<Wide64> tk_wide(Tracked param) {
    (void)param;
    co_return Wide64{1};
}
}  // namespace

void* operator new(std::size_t n, std::align_val_t a) {
    if (t_fail_aligned_new) {
        t_fail_aligned_new = false;
        throw std::bad_alloc();
    }
    const auto align = static_cast<std::size_t>(a);
    void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
    if (!p) throw std::bad_alloc();
    return p;
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

TEST_CASE("create_task: a failure to allocate the task destroys the coroutine frame", "[tasks]") {
    // Regression: the Coro let go of its frame before the task was allocated, so bad_alloc
    // leaked the frame (and never ran the destructors of its parameters).
    int alive = 0;
    corio_test::LogCapture log;
    run_test([&]() -> Coro<> {
        {
            Coro<Wide64> c = tk_wide(Tracked(&alive));
            CHECK(alive == 1);  // the parameter's copy in the frame
            t_fail_aligned_new = true;
            CHECK_THROWS_AS(corio::create_task(std::move(c)), std::bad_alloc);
            CHECK(alive == 0);  // the frame is gone
        }
        auto ok = corio::create_task(tk_wide(Tracked(&alive)));
        CHECK((co_await ok).v == 1);
    }());
    CHECK(alive == 0);
    CHECK(log.count("never awaited") == 0);  // the caller got bad_alloc: no second report
}

TEST_CASE("Task handles hash by identity: a std::unordered_set keeps background tasks", "[tasks]") {
    // asyncio's `background_tasks = set(); task.add_done_callback(background_tasks.discard)`.
    std::unordered_set<Task<>> background;
    int done = 0;
    run_test([&]() -> Coro<> {
        for (int i = 0; i < 5; ++i) {
            Task<> t = corio::create_task([&]() -> Coro<> {
                co_await corio::sleep(1ms);
                ++done;
            });
            background.insert(t);
            background.insert(t);  // the same task once
            t.add_done_callback([&](Task<> finished) { background.erase(finished); });
        }
        CHECK(background.size() == 5);
        co_await corio::sleep(20ms);
        co_await corio::sleep(0s);
    }());
    CHECK(done == 5);
    CHECK(background.empty());
    CHECK(std::hash<Task<>>{}(Task<>()) == std::hash<const void*>{}(nullptr));
}
