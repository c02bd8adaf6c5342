// Ports of CPython 3.12's test_asyncio/test_runners.py (RunTests) to corio::run: the value or
// the exception of main, refusing to nest, cancelling and awaiting the tasks left over, the
// debug switches, and loops one after another or side by side on several threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio_test::run_test;

namespace {

struct ZeroDivision : std::runtime_error {
    ZeroDivision() : std::runtime_error("division by zero") {}
};
struct FancyExit : std::runtime_error {
    FancyExit() : std::runtime_error("fancy exit") {}
};

using corio_test::EnvVar;

corio::RunOptions options_with_debug(bool debug) {
    corio::RunOptions o = corio_test::options();
    o.debug = debug;
    return o;
}

Coro<bool> loop_debug() {
    co_await corio::sleep(0s);
    co_return corio::get_running_loop().get_debug();
}

struct SetOnDestroy {
    bool& flag;
    ~SetOnDestroy() { flag = true; }
};

}  // namespace

TEST_CASE("run returns main's value (test_asyncio_run_return)", "[run]") {
    CHECK(run_test([]() -> Coro<int> {
              co_await corio::sleep(0s);
              co_return 42;
          }()) == 42);
    // Values are moved out: a move-only result works.
    auto p = run_test([]() -> Coro<std::unique_ptr<std::string>> {
        co_await corio::sleep(1ms);
        co_return std::make_unique<std::string>("spam");
    }());
    REQUIRE(p);
    CHECK(*p == "spam");
    // Coro<void> gives void.
    bool ran = false;
    run_test([&]() -> Coro<> {
        co_await corio::sleep(0s);
        ran = true;
    }());
    CHECK(ran);
}

TEST_CASE("run rethrows main's exception with its type (test_asyncio_run_raises)", "[run]") {
    auto main = []() -> Coro<int> {
        co_await corio::sleep(0s);
        throw corio::ValueError("spam");
    };
    CHECK_THROWS_AS(run_test(main()), corio::ValueError);
    CHECK_THROWS_WITH(run_test(main()), "spam");
}

TEST_CASE("run of main that is cancelled raises CancelledError (test_asyncio_run_without_uncancel)", "[run]") {
    auto main = []() -> Coro<int> {
        corio::current_task().cancel("self");
        co_await corio::sleep(10s);
        co_return 1;
    };
    bool cancelled = false;
    std::string what;
    try {
        run_test(main());
    } catch (const corio::CancelledError& e) {
        cancelled = true;
        what = e.what();
    }
    CHECK(cancelled);
    CHECK(what == "self");
}

TEST_CASE("run of an empty Coro is refused (test_asyncio_run_only_coro)", "[run]") {
    CHECK_THROWS_AS(run_test(Coro<int>{}), corio::InvalidStateError);
    // ...and a later run works normally.
    CHECK(run_test([]() -> Coro<int> { co_return 1; }()) == 1);
}

TEST_CASE("run takes a callable and keeps it alive while main runs", "[run]") {
    auto v = corio::run(
        [prefix = std::string(64, 'x')]() -> Coro<std::string> {
            co_await corio::sleep(5ms);  // the lambda object would be gone by now if not kept
            co_return prefix + "!";
        },
        corio_test::options());
    CHECK(v == std::string(64, 'x') + "!");

    int calls = 0;
    corio::run(
        [&calls]() -> Coro<> {
            co_await corio::sleep(0s);
            ++calls;
        },
        corio_test::options());
    CHECK(calls == 1);
}

TEST_CASE("run uses the backend of its options", "[run]") {
    auto name = run_test([]() -> Coro<std::string> {
        co_return corio::get_running_loop().backend().name();
    }());
    CHECK(name == corio_test::backend_name());
    // No backend given: the platform's default.
    auto default_name = corio::run([]() -> Coro<std::string> {
        co_return corio::get_running_loop().backend().name();
    }());
    CHECK(default_name == corio_test::default_backend_name());
}

TEST_CASE("run's debug flag reaches the loop (test_asyncio_run_debug)", "[run]") {
    EnvVar env("CORIO_DEBUG", nullptr);
    CHECK_FALSE(corio::run(loop_debug(), options_with_debug(false)));
    CHECK(corio::run(loop_debug(), options_with_debug(true)));
    CHECK_FALSE(run_test(loop_debug()));
}

TEST_CASE("CORIO_DEBUG=1 turns debug mode on (test_asyncio_run_debug, PYTHONASYNCIODEBUG)", "[run]") {
    {
        EnvVar env("CORIO_DEBUG", "1");
        CHECK(run_test(loop_debug()));
        CHECK(corio::run(loop_debug(), options_with_debug(false)));  // the environment turns it on
        CHECK(corio::run(loop_debug(), options_with_debug(true)));
    }
    {
        EnvVar env("CORIO_DEBUG", "0");
        CHECK_FALSE(run_test(loop_debug()));
        CHECK(corio::run(loop_debug(), options_with_debug(true)));
    }
    {
        EnvVar env("CORIO_DEBUG", "");
        CHECK_FALSE(run_test(loop_debug()));
    }
}

TEST_CASE("run inside a running loop raises RuntimeError (test_asyncio_run_from_running_loop)", "[run]") {
    corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
    std::string error;
    int after = run_test([&]() -> Coro<int> {
        try {
            corio::run([]() -> Coro<int> { co_return 1; }(), corio_test::options());
        } catch (const corio::RuntimeError& e) {
            error = e.what();
        }
        // The outer loop is unharmed.
        co_await corio::sleep(1ms);
        CHECK(corio::get_running_loop().is_running());
        co_return 7;
    }());
    CHECK(after == 7);
    CHECK_THAT(error, Catch::Contains("cannot be called from a running"));
    // The callable form too.
    std::string error2;
    run_test([&]() -> Coro<> {
        try {
            corio::run([]() -> Coro<> { co_return; }, corio_test::options());
        } catch (const corio::RuntimeError& e) {
            error2 = e.what();
        }
        co_return;
    }());
    CHECK_THAT(error2, Catch::Contains("cannot be called from a running"));
}

TEST_CASE("run cancels and awaits the tasks left over (test_asyncio_run_cancels_hanging_tasks)", "[run]") {
    Task<> lo_task;
    bool cleanup_ran = false;
    bool saw_cancel = false;
    int v = run_test([&]() -> Coro<int> {
        lo_task = corio::create_task([&]() -> Coro<> {
            SetOnDestroy guard{cleanup_ran};
            try {
                co_await corio::sleep(100ms);
            } catch (const corio::CancelledError&) {
                saw_cancel = true;
                throw;
            }
        });
        co_await corio::sleep(0s);  // let it start
        co_return 123;
    }());
    CHECK(v == 123);
    REQUIRE(lo_task);
    CHECK(lo_task.done());
    CHECK(lo_task.cancelled());
    CHECK(saw_cancel);
    CHECK(cleanup_ran);
}

TEST_CASE("a leftover task that was never started is cancelled too", "[run]") {
    Task<> lo_task;
    bool body_ran = false;
    run_test([&]() -> Coro<> {
        lo_task = corio::create_task([&]() -> Coro<> {
            body_ran = true;
            co_await corio::sleep(1s);
        });
        co_return;
    }());
    CHECK(lo_task.done());
    CHECK(lo_task.cancelled());
    CHECK_FALSE(body_ran);
}

TEST_CASE("run waits for leftovers that take time to finish when cancelled", "[run]") {
    bool finished_cleanup = false;
    Task<int> lo_task;
    run_test([&]() -> Coro<> {
        lo_task = corio::create_task([&]() -> Coro<int> {
            bool cancelled = false;
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                cancelled = true;
            }
            if (cancelled) {
                co_await corio::sleep(20ms);  // an async cleanup
                finished_cleanup = true;
            }
            co_return 5;  // swallowed the cancellation
        });
        co_await corio::sleep(1ms);
    }());
    CHECK(finished_cleanup);
    REQUIRE(lo_task.done());
    CHECK(lo_task.result() == 5);
}

TEST_CASE("tasks created by leftovers while being cancelled are cancelled as well", "[run]") {
    bool grandchild_cleanup = false;
    Task<> grandchild;
    run_test([&]() -> Coro<> {
        corio::create_task([&]() -> Coro<> {
            std::exception_ptr cancelled;
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                cancelled = std::current_exception();
            }
            grandchild = corio::create_task([&]() -> Coro<> {
                SetOnDestroy guard{grandchild_cleanup};
                co_await corio::sleep(10s);
            });
            co_await corio::sleep(0s);  // the grandchild starts
            if (cancelled) std::rethrow_exception(cancelled);
        });
        co_await corio::sleep(1ms);
    }());
    REQUIRE(grandchild);
    CHECK(grandchild.cancelled());
    CHECK(grandchild_cleanup);
}

TEST_CASE("a leftover failing during shutdown is reported, run does not throw "
          "(test_asyncio_run_reports_hanging_tasks_errors)",
          "[run]") {
    corio_test::LogCapture log;
    Task<> lo_task;
    int v = run_test([&]() -> Coro<int> {
        lo_task = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::sleep(100ms);
            } catch (const corio::CancelledError&) {
                throw ZeroDivision();
            }
        });
        co_await corio::sleep(0s);
        co_return 123;
    }());
    CHECK(v == 123);
    CHECK(lo_task.done());
    CHECK_FALSE(lo_task.cancelled());
    CHECK(log.count("shutdown") == 1);
    CHECK(log.count("division by zero") == 1);
    // Reported once, not a second time as "never retrieved".
    CHECK(log.count("never retrieved") == 0);
}

TEST_CASE("the shutdown error goes to the loop's exception handler with the task", "[run]") {
    corio_test::LogCapture log;
    Task<> lo_task;
    int calls = 0;
    std::string message, exception_what;
    bool task_matches = false;
    run_test([&]() -> Coro<int> {
        corio::get_running_loop().set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            ++calls;
            message = ctx.message;
            try {
                if (ctx.exception) std::rethrow_exception(ctx.exception);
            } catch (const std::exception& e) {
                exception_what = e.what();
            }
            task_matches = ctx.task && *ctx.task == lo_task;
        });
        lo_task = corio::create_task([&]() -> Coro<> {
            try {
                co_await corio::sleep(100ms);
            } catch (const corio::CancelledError&) {
                throw ZeroDivision();
            }
        });
        co_await corio::sleep(0s);
        co_return 123;
    }());
    CHECK(calls == 1);
    CHECK_THAT(message, Catch::Matches(".*corio::run\\(\\).*shutdown.*"));
    CHECK(exception_what == "division by zero");
    CHECK(task_matches);
    CHECK(log.count("division by zero") == 0);  // the handler took it; nothing was logged
}

TEST_CASE("main's exception still leaves no task behind (test_asyncio_run_closes_gens_after_hanging_tasks_errors)",
          "[run]") {
    corio_test::LogCapture log;
    Task<> lazyboy;
    bool spun = false;
    CHECK_THROWS_AS(run_test([&]() -> Coro<> {
                        lazyboy = corio::create_task([&]() -> Coro<> {
                            try {
                                for (;;) {
                                    spun = true;
                                    co_await corio::sleep(1s);
                                }
                            } catch (const corio::CancelledError&) {
                                throw ZeroDivision();
                            }
                        });
                        co_await corio::sleep(0s);
                        throw FancyExit();
                    }()),
                    FancyExit);
    CHECK(spun);
    CHECK(lazyboy.done());
    CHECK(log.count("division by zero") == 1);
    CHECK(log.count("destroyed but it is pending") == 0);
}

TEST_CASE("two runs one after the other on the same thread", "[run][threads]") {
    for (int i = 0; i < 3; ++i) {
        int v = run_test([i]() -> Coro<int> {
            co_await corio::sleep(1ms);
            co_return i * 10;
        }());
        CHECK(v == i * 10);
    }
    // A failing run does not spoil the next one.
    CHECK_THROWS_AS(run_test([]() -> Coro<> {
                        co_await corio::sleep(0s);
                        throw ZeroDivision();
                    }()),
                    ZeroDivision);
    CHECK(run_test([]() -> Coro<int> { co_return 3; }()) == 3);
    CHECK_THROWS_AS(corio::get_running_loop(), corio::RuntimeError);
}

TEST_CASE("one backend serves one run after another", "[run]") {
    corio::RunOptions o = corio_test::options();
    auto first = corio::run(
        []() -> Coro<double> {
            co_await corio::sleep(100ms);
            co_return corio::get_running_loop().time();
        }(),
        o);
    auto second = corio::run(
        []() -> Coro<double> {
            double start = corio::get_running_loop().time();
            co_await corio::sleep(50ms);
            co_return corio::get_running_loop().time() - start;
        }(),
        o);
    CHECK(second >= 0.049);
    // The virtual clock only moves forward, also across runs.
    if (corio_test::virtual_time()) {
        CHECK(first == Approx(0.1).margin(1e-9));
        CHECK(second == Approx(0.05).margin(1e-9));
    }
}

TEST_CASE("runs on several threads at the same time each have their own loop", "[run][threads]") {
    constexpr int kThreads = 4;
    std::vector<int> results(kThreads, -1);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([i, &results, &failures] {
            try {
                results[i] = corio::run(
                    [i]() -> Coro<int> {
                        corio::EventLoop* mine = &corio::get_running_loop();
                        int sum = 0;
                        for (int k = 0; k < 10; ++k) {
                            co_await corio::sleep(1ms);
                            if (&corio::get_running_loop() != mine) co_return -2;
                            sum += i;
                        }
                        co_return sum;
                    }(),
                    corio_test::options());
            } catch (...) {
                ++failures;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(failures == 0);
    for (int i = 0; i < kThreads; ++i) CHECK(results[i] == 10 * i);
}

TEST_CASE("get_running_loop, create_task and current_task outside run", "[run]") {
    corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
    CHECK_THROWS_AS(corio::get_running_loop(), corio::RuntimeError);
    CHECK_THROWS_WITH(corio::get_running_loop(), Catch::Contains("no running event loop"));
    CHECK_THROWS_AS(corio::create_task([]() -> Coro<> { co_return; }()), corio::RuntimeError);
    CHECK_THROWS_AS(corio::create_task([]() -> Coro<int> { co_return 1; }), corio::RuntimeError);
    CHECK_FALSE(corio::current_task());
    CHECK_THROWS_AS(corio::all_tasks(), corio::RuntimeError);
    // Inside run there is one.
    run_test([]() -> Coro<> {
        CHECK(corio::current_task());
        CHECK_NOTHROW(corio::get_running_loop());
        co_return;
    }());
    // ...and none again afterwards.
    CHECK_THROWS_AS(corio::get_running_loop(), corio::RuntimeError);
    CHECK_FALSE(corio::current_task());
}

TEST_CASE("run's loop is running while main runs and main is the current task", "[run]") {
    run_test([]() -> Coro<> {
        corio::EventLoop& loop = corio::get_running_loop();
        CHECK(loop.is_running());
        CHECK_FALSE(loop.is_closed());
        auto me = corio::current_task();
        REQUIRE(me);
        CHECK_FALSE(me.done());
        auto all = corio::all_tasks();
        CHECK(all.size() == 1);
        co_await corio::sleep(0s);
        CHECK(corio::current_task() == me);
    }());
}

TEST_CASE("debug mode reports a slow step with the task's name (slow_callback_duration)", "[run]") {
    corio_test::LogCapture log;
    auto busy = []() -> Coro<> {
        auto until = std::chrono::steady_clock::now() + 30ms;
        while (std::chrono::steady_clock::now() < until) {
        }
        co_return;
    };
    corio::RunOptions o = corio_test::options();
    o.debug = true;
    o.slow_callback_duration = 10ms;
    corio::run(
        [&]() -> Coro<> {
            auto t = corio::create_task(busy, "slowpoke");
            co_await t;
        }(),
        o);
    CHECK(log.count("took") >= 1);
    CHECK(log.count("slowpoke") >= 1);

    // Not in debug mode: nothing.
    corio_test::LogCapture quiet;
    EnvVar env("CORIO_DEBUG", nullptr);
    corio::RunOptions q = corio_test::options();
    q.slow_callback_duration = 10ms;
    corio::run(
        [&]() -> Coro<> {
            auto t = corio::create_task(busy, "slowpoke");
            co_await t;
        }(),
        q);
    CHECK(quiet.count("took") == 0);
}
