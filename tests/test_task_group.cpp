// Ports of CPython 3.12's test_asyncio/test_taskgroups.py to corio::task_group, plus the
// C++-specific parts of the contract (the body's value, lambda lifetimes, size()).
//
// Python's `async with TaskGroup() as g:` is `co_await corio::task_group([&](TaskGroup& g)
// -> Coro<> {...})`. Python's `finally: 1 / 0` becomes `catch (CancelledError) { throw X; }`
// and BaseException cases (KeyboardInterrupt) have no C++ counterpart.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio::TaskGroup;
using corio_test::run_test;

namespace {

struct MyError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct ZeroDivision : std::runtime_error {
    ZeroDivision() : std::runtime_error("division by zero") {}
};

// A short description of what an exception_ptr holds, for comparing ExceptionGroup contents.
std::string kind(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const corio::ExceptionGroup&) {
        return "ExceptionGroup";
    } catch (const ZeroDivision&) {
        return "ZeroDivision";
    } catch (const MyError& x) {
        return std::string("MyError:") + x.what();
    } catch (const corio::CancelledError&) {
        return "CancelledError";
    } catch (const std::exception& x) {
        return std::string("std::exception:") + x.what();
    } catch (int v) {
        return "int:" + std::to_string(v);
    } catch (...) {
        return "unknown";
    }
}

std::vector<std::string> kinds(const corio::ExceptionGroup& eg) {
    std::vector<std::string> out;
    for (const auto& e : eg.exceptions()) out.push_back(kind(e));
    return out;
}

std::set<std::string> kind_set(const corio::ExceptionGroup& eg) {
    std::set<std::string> out;
    for (const auto& e : eg.exceptions()) out.insert(kind(e));
    return out;
}

corio::ExceptionGroup nested_group(const corio::ExceptionGroup& eg, std::size_t i) {
    try {
        std::rethrow_exception(eg.exceptions().at(i));
    } catch (const corio::ExceptionGroup& inner) {
        return inner;
    } catch (...) {
    }
    FAIL("exceptions()[" << i << "] is not an ExceptionGroup");
    throw std::logic_error("unreachable");
}

double now() { return corio::get_running_loop().time(); }

Coro<> nap(std::chrono::milliseconds d) { co_await corio::sleep(d); }

Coro<int> value_after(std::chrono::milliseconds d, int v) {
    co_await corio::sleep(d);
    co_return v;
}

Coro<> crash_after(std::chrono::milliseconds d, std::string what = "crash") {
    co_await corio::sleep(d);
    throw MyError(what);
}

Coro<> zero_division_after(std::chrono::milliseconds d) {
    co_await corio::sleep(d);
    throw ZeroDivision();
}

Coro<> fail_now(std::string what) {
    throw MyError(what);
    co_return;
}

// Sleeps `d`; counts a cancellation in *count and lets it travel on.
Coro<> count_cancel(std::chrono::milliseconds d, int* count) {
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        ++*count;
        throw;
    }
}

// Python's `try: await sleep(d) finally: 1 / 0`.
Coro<> zero_division_on_exit(std::chrono::milliseconds d) {
    try {
        co_await corio::sleep(d);
    } catch (const corio::CancelledError&) {
        throw ZeroDivision();
    }
    throw ZeroDivision();
}

struct SetOnDestroy {
    bool& flag;
    ~SetOnDestroy() { flag = true; }
};

}  // namespace

// --- the group waits ---------------------------------------------------------------------

TEST_CASE("task_group waits for every child (test_taskgroup_01)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        const double start = now();
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            t1 = g.create_task(value_after(100ms, 42));
            t2 = g.create_task(value_after(200ms, 11));
            CHECK(g.size() == 2);
            co_return;
        });
        const double elapsed = now() - start;
        REQUIRE(t1.done());
        REQUIRE(t2.done());
        CHECK(t1.result() == 42);
        CHECK(t2.result() == 11);
        CHECK(elapsed >= 0.199);
        CHECK(elapsed < 2.0);
        if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.2).margin(1e-9));
    }());
}

TEST_CASE("task_group children started after a sleep in the body are waited for (test_taskgroup_02)",
          "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        const double start = now();
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            t1 = g.create_task(value_after(100ms, 42));
            co_await corio::sleep(150ms);
            CHECK(t1.done());
            CHECK(g.size() == 0);
            t2 = g.create_task(value_after(200ms, 11));
            CHECK(g.size() == 1);
        });
        const double elapsed = now() - start;
        CHECK(t1.result() == 42);
        CHECK(t2.result() == 11);
        CHECK(elapsed >= 0.349);
        if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.35).margin(1e-9));
    }());
}

TEST_CASE("a child cancelled explicitly is not an error (test_taskgroup_03)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        const double start = now();
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            t1 = g.create_task(value_after(1s, 42));
            co_await corio::sleep(150ms);
            t1.cancel();
            t2 = g.create_task(value_after(200ms, 11));
        });
        CHECK(t1.cancelled());
        CHECK(t2.result() == 11);
        // The group did not wait for t1's full second.
        CHECK(now() - start < 0.9);
    }());
}

TEST_CASE("an empty task_group returns at once", "[task_group]") {
    run_test([]() -> Coro<> {
        const double start = now();
        bool ran = false;
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            CHECK(g.size() == 0);
            ran = true;
            co_return;
        });
        CHECK(ran);
        if (corio_test::virtual_time()) CHECK(now() == start);
    }());
}

TEST_CASE("size() counts the children still running (test_taskgroup_23)", "[task_group]") {
    run_test([]() -> Coro<> {
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            for (int count = 0; count < 10; ++count) {
                co_await corio::sleep(100ms);
                g.create_task(nap(300ms));
                if (count == 5) {
                    CHECK(g.size() < 5);
                    CHECK(g.size() >= 2);
                }
            }
            co_await corio::sleep(1350ms);
            CHECK(g.size() == 0);
        });
    }());
}

TEST_CASE("a child can start more children in its group (test_taskgroup_24)", "[task_group]") {
    run_test([]() -> Coro<> {
        int finished = 0;
        auto leaf = [&](std::chrono::milliseconds d) -> Coro<> {
            co_await corio::sleep(d);
            ++finished;
        };
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            g.create_task([&]() -> Coro<> {
                co_await corio::sleep(100ms);
                g.create_task(leaf(100ms));
                g.create_task(leaf(200ms));
            });
            co_return;
        });
        CHECK(finished == 2);
    }());
}

TEST_CASE("create_task passes the task's name (test_taskgroup_task_name)", "[task_group]") {
    run_test([]() -> Coro<> {
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            auto t = g.create_task(nap(0s), "yolo");
            CHECK(t.get_name() == "yolo");
            auto u = g.create_task([]() -> Coro<> { co_return; }, "lambda");
            CHECK(u.get_name() == "lambda");
            co_return;
        });
    }());
}

TEST_CASE("a lambda passed to create_task keeps its captures alive while the child runs", "[task_group]") {
    std::vector<std::string> seen;
    run_test([&]() -> Coro<> {
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            for (int i = 0; i < 3; ++i) {
                // Captures by value, in the (temporary) lambda object.
                g.create_task([&seen, s = std::string(40, char('a' + i)), i]() -> Coro<> {
                    co_await corio::sleep(std::chrono::milliseconds(10 * (3 - i)));
                    seen.push_back(s);
                });
            }
            co_return;
        });
    }());
    std::vector<std::string> expected{std::string(40, 'c'), std::string(40, 'b'), std::string(40, 'a')};
    CHECK(seen == expected);
}

TEST_CASE("the body's value is task_group's value", "[task_group]") {
    run_test([]() -> Coro<> {
        int v = co_await corio::task_group([&](TaskGroup& g) -> Coro<int> {
            auto t = g.create_task(value_after(10ms, 20));
            co_return 22 + co_await t;
        });
        CHECK(v == 42);

        // A move-only value is moved through.
        std::unique_ptr<std::string> p = co_await corio::task_group([&](TaskGroup& g) -> Coro<std::unique_ptr<std::string>> {
            g.create_task(nap(10ms));
            co_return std::make_unique<std::string>("moved");
        });
        REQUIRE(p);
        CHECK(*p == "moved");

        // The value arrives only after the children are done.
        Task<int> late;
        std::string s = co_await corio::task_group([&](TaskGroup& g) -> Coro<std::string> {
            late = g.create_task(value_after(50ms, 7));
            co_return "body done";
        });
        CHECK(s == "body done");
        CHECK(late.done());
    }());
}

// --- failures ----------------------------------------------------------------------------

TEST_CASE("a failing child cancels its siblings; the group raises ExceptionGroup (test_taskgroup_04)",
          "[task_group]") {
    corio_test::LogCapture log;
    int num = 0;
    bool t2_cancel = false;
    Task<> t2;
    run_test([&]() -> Coro<> {
        auto runner = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(zero_division_after(100ms));
                t2 = g.create_task([&]() -> Coro<> {
                    try {
                        co_await corio::sleep(1s);
                    } catch (const corio::CancelledError&) {
                        t2_cancel = true;
                        throw;
                    }
                    num += 1;
                });
                co_return;
            });
            num += 10;
        });
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await runner;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision"});
        CHECK(std::string(eg->what()).find("unhandled errors in a TaskGroup") != std::string::npos);
    }());
    CHECK(num == 0);
    CHECK(t2_cancel);
    CHECK(t2.cancelled());
    // The group retrieved the child's exception: nothing is reported as lost.
    CHECK(log.count("never retrieved") == 0);
}

TEST_CASE("a failing child cancels the body at its current co_await and the other children "
          "(test_cancel_children_on_child_error)",
          "[task_group]") {
    int num = 0;
    bool t2_cancel = false;
    bool runner_cancel = false;
    bool body_locals_destroyed = false;
    run_test([&]() -> Coro<> {
        auto runner = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(zero_division_after(100ms));
                g.create_task(zero_division_after(100ms));
                g.create_task(zero_division_after(100ms));
                g.create_task([&]() -> Coro<> {
                    try {
                        co_await corio::sleep(5s);
                    } catch (const corio::CancelledError&) {
                        t2_cancel = true;
                        throw;
                    }
                    num += 1;
                });
                SetOnDestroy guard{body_locals_destroyed};
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    runner_cancel = true;
                    throw;
                }
                num += 100;
            });
            num += 10;
        });
        const double start = now();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await runner;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kind_set(*eg) == std::set<std::string>{"ZeroDivision"});
        CHECK(now() - start < 5.0);
    }());
    CHECK(num == 0);
    CHECK(t2_cancel);
    CHECK(runner_cancel);
    CHECK(body_locals_destroyed);
}

TEST_CASE("the body is cancelled inside a nested coroutine, whose locals are destroyed", "[task_group]") {
    bool nested_destroyed = false;
    bool after_nested = false;
    run_test([&]() -> Coro<> {
        auto nested = [&]() -> Coro<> {
            SetOnDestroy guard{nested_destroyed};
            co_await corio::sleep(10s);
            after_nested = true;
        };
        bool caught = false;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(10ms));
                co_await nested();
                after_nested = true;
            });
        } catch (const corio::ExceptionGroup& eg) {
            caught = true;
            CHECK(kinds(eg) == std::vector<std::string>{"MyError:crash"});
        }
        CHECK(caught);
    }());
    CHECK(nested_destroyed);
    CHECK_FALSE(after_nested);
}

TEST_CASE("a child failing while the body is in wait_for gives ExceptionGroup, not TimeoutError", "[task_group]") {
    run_test([]() -> Coro<> {
        std::string outcome;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(10ms));
                co_await corio::wait_for(corio::sleep(10s), 5s);
            });
            outcome = "nothing";
        } catch (const corio::ExceptionGroup& eg) {
            outcome = "group: " + kind(eg.exceptions().at(0));
        } catch (const corio::TimeoutError&) {
            outcome = "timeout";
        } catch (const corio::CancelledError&) {
            outcome = "cancelled";
        }
        CHECK(outcome == "group: MyError:crash");
        CHECK(corio::current_task().cancelling() == 0);
    }());
}

TEST_CASE("two children failing at once are both in the ExceptionGroup, in order", "[task_group]") {
    // asyncio runs both children's steps before the group reacts to the first failure (done
    // callbacks go through call_soon), so both failures are collected.
    run_test([]() -> Coro<> {
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(fail_now("a"));
                g.create_task(fail_now("b"));
                co_return;
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:a", "MyError:b"});
    }());
}

TEST_CASE("two children failing at the same deadline are both in the ExceptionGroup", "[task_group]") {
    if (!corio_test::virtual_time()) return;  // equal deadlines need virtual time
    run_test([]() -> Coro<> {
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(10ms, "a"));
                g.create_task(crash_after(10ms, "b"));
                co_await corio::sleep(1s);
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:a", "MyError:b"});
    }());
}

TEST_CASE("every failure is collected, in the order they happened", "[task_group]") {
    run_test([]() -> Coro<> {
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                // b fails while being cancelled because of a; c is cancelled quietly.
                g.create_task([]() -> Coro<> {
                    try {
                        co_await corio::sleep(10s);
                    } catch (const corio::CancelledError&) {
                        throw MyError("b");
                    }
                });
                g.create_task(crash_after(20ms, "a"));
                g.create_task(nap(10s));
                co_await corio::sleep(10s);
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:a", "MyError:b"});
        CHECK(std::string(eg->what()).find("2 sub-exceptions") != std::string::npos);
    }());
}

TEST_CASE("a child throwing a type not derived from std::exception is collected too", "[task_group]") {
    run_test([]() -> Coro<> {
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task([]() -> Coro<> {
                    co_await corio::sleep(1ms);
                    throw 7;
                });
                co_return;
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"int:7"});
    }());
}

TEST_CASE("the body raising cancels the children and is in the ExceptionGroup (test_taskgroup_09)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                t1 = g.create_task(value_after(1s, 42));
                t2 = g.create_task(value_after(2s, 11));
                co_await corio::sleep(100ms);
                throw ZeroDivision();
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision"});
        CHECK(t1.cancelled());
        CHECK(t2.cancelled());
    }());
}

TEST_CASE("the body raising before any co_await cancels the children (test_taskgroup_10)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                t1 = g.create_task(value_after(1s, 42));
                t2 = g.create_task(value_after(2s, 11));
                throw ZeroDivision();
                co_return;
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision"});
        CHECK(t1.cancelled());
        CHECK(t2.cancelled());
    }());
}

TEST_CASE("child failures come before the body's own error (test_taskgroup_19)", "[task_group]") {
    run_test([]() -> Coro<> {
        auto nested = []() -> Coro<> {
            try {
                co_await corio::sleep(10s);
            } catch (const corio::CancelledError&) {
                throw MyError("body");
            }
        };
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(zero_division_after(100ms));
                co_await nested();
            });
        });
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision", "MyError:body"});
    }());
}

TEST_CASE("the body replacing the group's cancellation with its own error (test_taskgroup_context_manager_exit_raises)",
          "[task_group]") {
    run_test([]() -> Coro<> {
        auto main = corio::create_task([&]() -> Coro<> {
            bool caught = false;
            try {
                co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                    // Like an `async with database():` whose exit raises.
                    try {
                        g.create_task(fail_now("child"));
                        co_await corio::sleep(1s);
                    } catch (...) {
                        throw MyError("exit");
                    }
                });
            } catch (const corio::ExceptionGroup& eg) {
                caught = true;
                CHECK(corio::current_task().cancelling() == 0);
                CHECK(kinds(eg) == std::vector<std::string>{"MyError:child", "MyError:exit"});
            }
            CHECK(caught);
        });
        co_await main;
    }());
}

TEST_CASE("after a failed group, the parent goes on: the group's cancellation of it is taken back", "[task_group]") {
    bool after = false;
    run_test([&]() -> Coro<> {
        bool caught = false;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(10ms));
                co_await corio::sleep(10s);
            });
        } catch (const corio::ExceptionGroup&) {
            caught = true;
        }
        CHECK(caught);
        CHECK(corio::current_task().cancelling() == 0);
        // No cancellation is left pending on the parent: its next awaits complete normally.
        const double start = now();
        co_await corio::sleep(20ms);
        co_await corio::sleep(0s);
        CHECK(now() - start >= 0.019);
        // A second group in the same task works as a first one would.
        int v = co_await corio::task_group([&](TaskGroup& g) -> Coro<int> {
            auto t = g.create_task(value_after(10ms, 5));
            co_return co_await t;
        });
        CHECK(v == 5);
        after = true;
    }());
    CHECK(after);
}

TEST_CASE("a failing child while the parent waits at the end: the parent goes on afterwards", "[task_group]") {
    bool after = false;
    run_test([&]() -> Coro<> {
        bool caught = false;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(10ms));
                g.create_task(nap(10s));
                co_return;
            });
        } catch (const corio::ExceptionGroup& eg) {
            caught = true;
            CHECK(kinds(eg) == std::vector<std::string>{"MyError:crash"});
        }
        CHECK(caught);
        const double start = now();
        co_await corio::sleep(20ms);
        CHECK(now() - start >= 0.019);
        after = true;
    }());
    CHECK(after);
}

TEST_CASE("create_task while the group is shutting down raises RuntimeError "
          "(test_taskgroup_no_create_task_after_failure)",
          "[task_group]") {
    corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
    std::string error;
    run_test([&]() -> Coro<> {
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(crash_after(1ms, "c1"));
                g.create_task([&]() -> Coro<> {
                    try {
                        co_await corio::sleep(1s);
                    } catch (const corio::CancelledError&) {
                        try {
                            g.create_task(fail_now("never started"));
                        } catch (const corio::RuntimeError& e) {
                            error = e.what();
                        }
                        throw;
                    }
                });
                co_return;
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:c1"});
    }());
    CHECK_THAT(error, Catch::Contains("shutting down"));
}

TEST_CASE("create_task on a group that has finished raises RuntimeError (test_taskgroup_finished)", "[task_group]") {
    corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
    std::string error;
    bool group_alive = true;
    run_test([&]() -> Coro<> {
        co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
            auto last = g.create_task(value_after(10ms, 0));
            // A done callback added after the group's own: it runs once the group has seen
            // its last child finish, before the parent resumes.
            last.add_done_callback([&](Task<int>) {
                if (!group_alive) {
                    error = "the group was gone before the callback ran";
                    return;
                }
                try {
                    g.create_task(value_after(1ms, 1));
                    error = "accepted";
                } catch (const corio::RuntimeError& e) {
                    error = e.what();
                }
            });
            co_return;
        });
        group_alive = false;
        co_await corio::sleep(0s);
    }());
    CHECK_THAT(error, Catch::Contains("finished"));
}

// --- cancellation from outside ----------------------------------------------------------

TEST_CASE("cancelling the parent while it waits for the children cancels them; CancelledError travels on "
          "(test_cancellation)",
          "[task_group]") {
    int num = 0;
    run_test([&]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                for (int i = 0; i < 5; ++i) g.create_task(count_cancel(5s, &num));
                co_return;
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        bool cancelled = false;
        try {
            co_await r;
        } catch (const corio::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        CHECK(r.cancelled());
    }());
    CHECK(num == 5);
}

TEST_CASE("cancelling the parent while it is in the body cancels body and children (test_taskgroup_07)",
          "[task_group]") {
    int num = 0;
    run_test([&]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                for (int i = 0; i < 5; ++i) g.create_task(count_cancel(5s, &num));
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    num += 10;
                    throw;
                }
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        const double start = now();
        r.cancel();
        CHECK_THROWS_AS(co_await r, corio::CancelledError);
        CHECK(r.cancelled());
        CHECK(now() - start < 1.0);
    }());
    CHECK(num == 15);
}

TEST_CASE("the cancellation message reaches the body and comes out of the group", "[task_group]") {
    run_test([]() -> Coro<> {
        std::string body_saw;
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(nap(10s));
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError& e) {
                    body_saw = e.what();
                    throw;
                }
            });
        });
        auto w = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(nap(10s));
                co_return;
            });
        });
        co_await corio::sleep(10ms);
        r.cancel("stop");
        w.cancel("halt");
        std::string r_msg, w_msg;
        try {
            co_await r;
        } catch (const corio::CancelledError& e) {
            r_msg = e.what();
        }
        try {
            co_await w;
        } catch (const corio::CancelledError& e) {
            w_msg = e.what();
        }
        CHECK(body_saw == "stop");
        CHECK(r_msg == "stop");
        CHECK(w_msg == "halt");
    }());
}

TEST_CASE("children failing when cancelled from outside turn the cancellation into an ExceptionGroup "
          "(test_taskgroup_08)",
          "[task_group]") {
    run_test([]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                for (int i = 0; i < 5; ++i) g.create_task(zero_division_on_exit(10s));
                co_await corio::sleep(10s);
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(eg->exceptions().size() == 5);
        CHECK(kind_set(*eg) == std::set<std::string>{"ZeroDivision"});
    }());
}

TEST_CASE("a group without children cancelled in its body re-raises CancelledError (test_taskgroup_17)",
          "[task_group]") {
    int num = 0;
    run_test([&]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup&) -> Coro<> {
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    num += 10;
                    throw;
                }
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        CHECK_THROWS_AS(co_await r, corio::CancelledError);
    }());
    CHECK(num == 10);
}

TEST_CASE("a body turning the cancellation into an error gives ExceptionGroup (test_taskgroup_18)", "[task_group]") {
    int num = 0;
    run_test([&]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup&) -> Coro<> {
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    num += 10;
                    throw MyError("instead");
                }
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:instead"});
    }());
    CHECK(num == 10);
}

TEST_CASE("a child crashing while the externally cancelled body still cleans up wins (test_taskgroup_15)",
          "[task_group]") {
    run_test([]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(zero_division_after(300ms));
                std::exception_ptr cancelled;
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    cancelled = std::current_exception();
                }
                if (cancelled) {
                    co_await corio::sleep(500ms);
                    std::rethrow_exception(cancelled);
                }
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision"});
    }());
}

TEST_CASE("the same through an intermediate task (test_taskgroup_16)", "[task_group]") {
    run_test([]() -> Coro<> {
        auto nested_runner = []() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(zero_division_after(300ms));
                std::exception_ptr cancelled;
                try {
                    co_await corio::sleep(10s);
                } catch (const corio::CancelledError&) {
                    cancelled = std::current_exception();
                }
                if (cancelled) {
                    co_await corio::sleep(500ms);
                    std::rethrow_exception(cancelled);
                }
            });
        };
        auto r = corio::create_task([&]() -> Coro<> {
            auto t = corio::create_task(nested_runner);
            co_await t;
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ZeroDivision"});
    }());
}

TEST_CASE("cancelling the parent while it only waits for children (test_taskgroup_22)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<int> t1, t2;
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                t1 = g.create_task(value_after(1s, 42));
                t2 = g.create_task(value_after(2s, 11));
                co_return;
            });
        });
        co_await corio::sleep(50ms);
        r.cancel();
        CHECK_THROWS_AS(co_await r, corio::CancelledError);
        CHECK(t1.cancelled());
        CHECK(t2.cancelled());
    }());
}

TEST_CASE("wait_for around a task_group: the timeout cancels the children and waits for them", "[task_group]") {
    int cancelled = 0;
    run_test([&]() -> Coro<> {
        const double start = now();
        bool timed_out = false;
        try {
            co_await corio::wait_for(corio::task_group([&](TaskGroup& g) -> Coro<> {
                                         g.create_task(count_cancel(10s, &cancelled));
                                         g.create_task(count_cancel(10s, &cancelled));
                                         co_return;
                                     }),
                                     50ms);
        } catch (const corio::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(cancelled == 2);  // both children finished before TimeoutError
        CHECK(now() - start < 1.0);
        if (corio_test::virtual_time()) CHECK(now() - start == Approx(0.05).margin(1e-9));
        CHECK(corio::current_task().cancelling() == 0);
    }());
}

// --- nesting -----------------------------------------------------------------------------

TEST_CASE("nested groups: the inner group's ExceptionGroup inside the outer one (test_taskgroup_11)",
          "[task_group]") {
    run_test([]() -> Coro<> {
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup&) -> Coro<> {
                co_await corio::task_group([&](TaskGroup& g2) -> Coro<> {
                    for (int i = 0; i < 5; ++i) g2.create_task(zero_division_on_exit(10s));
                    co_await corio::sleep(10s);
                });
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ExceptionGroup"});
        auto inner = nested_group(*eg, 0);
        CHECK(kind_set(inner) == std::set<std::string>{"ZeroDivision"});
        CHECK(inner.exceptions().size() == 5);
    }());
}

TEST_CASE("nested groups, the outer one with a child of its own (test_taskgroup_12)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<> outer_child;
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g1) -> Coro<> {
                outer_child = g1.create_task(nap(10s));
                co_await corio::task_group([&](TaskGroup& g2) -> Coro<> {
                    for (int i = 0; i < 5; ++i) g2.create_task(zero_division_on_exit(10s));
                    co_await corio::sleep(10s);
                });
            });
        });
        co_await corio::sleep(100ms);
        CHECK_FALSE(r.done());
        r.cancel();
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ExceptionGroup"});
        CHECK(kind_set(nested_group(*eg, 0)) == std::set<std::string>{"ZeroDivision"});
        CHECK(outer_child.cancelled());
    }());
}

TEST_CASE("nested groups: an outer child failing cancels the inner group (test_taskgroup_13)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<> inner_child;
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g1) -> Coro<> {
                g1.create_task(crash_after(100ms, "outer"));
                co_await corio::task_group([&](TaskGroup& g2) -> Coro<> {
                    inner_child = g2.create_task(crash_after(10s, "inner"));
                    co_return;
                });
            });
        });
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"MyError:outer"});
        CHECK(inner_child.cancelled());
    }());
}

TEST_CASE("nested groups: an inner child failing (test_taskgroup_14)", "[task_group]") {
    run_test([]() -> Coro<> {
        Task<> outer_child;
        auto r = corio::create_task([&]() -> Coro<> {
            co_await corio::task_group([&](TaskGroup& g1) -> Coro<> {
                outer_child = g1.create_task(crash_after(10s, "outer"));
                co_await corio::task_group([&](TaskGroup& g2) -> Coro<> {
                    g2.create_task(crash_after(100ms, "inner"));
                    co_return;
                });
            });
        });
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await r;
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ExceptionGroup"});
        CHECK(kinds(nested_group(*eg, 0)) == std::vector<std::string>{"MyError:inner"});
        CHECK(outer_child.cancelled());
    }());
}

TEST_CASE("a group inside a child of another group", "[task_group]") {
    run_test([]() -> Coro<> {
        std::vector<int> done;
        co_await corio::task_group([&](TaskGroup& outer) -> Coro<> {
            outer.create_task([&]() -> Coro<> {
                co_await corio::task_group([&](TaskGroup& inner) -> Coro<> {
                    inner.create_task([&]() -> Coro<> {
                        co_await corio::sleep(20ms);
                        done.push_back(2);
                    });
                    inner.create_task([&]() -> Coro<> {
                        co_await corio::sleep(10ms);
                        done.push_back(1);
                    });
                    co_return;
                });
                done.push_back(3);
            });
            co_await corio::sleep(5ms);
            done.push_back(0);
        });
        CHECK(done == std::vector<int>{0, 1, 2, 3});

        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& outer) -> Coro<> {
                outer.create_task([&]() -> Coro<> {
                    co_await corio::task_group([&](TaskGroup& inner) -> Coro<> {
                        inner.create_task(crash_after(10ms, "deep"));
                        co_return;
                    });
                });
                co_await corio::sleep(10s);
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kinds(*eg) == std::vector<std::string>{"ExceptionGroup"});
        CHECK(kinds(nested_group(*eg, 0)) == std::vector<std::string>{"MyError:deep"});
    }());
}

TEST_CASE("children multiplying until one fails (test_taskgroup_25)", "[task_group]") {
    run_test([]() -> Coro<> {
        int nhydras = 0;
        std::function<Coro<>(TaskGroup&)> hydra;
        hydra = [&](TaskGroup& g) -> Coro<> {
            ++nhydras;
            co_await corio::sleep(10ms);
            g.create_task(hydra(g));
            g.create_task(hydra(g));
        };
        auto hercules = [&]() -> Coro<> {
            while (nhydras < 10) co_await corio::sleep(15ms);
            throw ZeroDivision();
        };
        std::optional<corio::ExceptionGroup> eg;
        try {
            co_await corio::task_group([&](TaskGroup& g) -> Coro<> {
                g.create_task(hydra(g));
                g.create_task(hercules());
                co_return;
            });
        } catch (const corio::ExceptionGroup& e) {
            eg = e;
        }
        REQUIRE(eg);
        CHECK(kind_set(*eg) == std::set<std::string>{"ZeroDivision"});
        CHECK(nhydras >= 10);
    }());
}

TEST_CASE("task_group: a finished child costs nothing once the group has reacted to it", "[taskgroup]") {
    // Regression: the group kept every child it ever had (a handle and a node each): 200,000
    // short children held ~45 MB while none was running; an accept loop under a TaskGroup
    // would grow without end.
    struct Counted {
        int* alive;
        explicit Counted(int* a) : alive(a) { ++*alive; }
        Counted(Counted&& o) noexcept : alive(o.alive) { ++*alive; }
        Counted(const Counted&) = delete;
        ~Counted() { --*alive; }
    };
    int alive = 0;
    long long held_after_burst = -1;
    long long held_before = 0;
    run_test([&]() -> Coro<> {
        co_await corio::task_group([&](TaskGroup& tg) -> Coro<> {
            held_before = corio::detail::pool_bytes_in_use();
            for (int round = 0; round < 10; ++round) {
                for (int i = 0; i < 1000; ++i)
                    tg.create_task([&]() -> Coro<Counted> { co_return Counted(&alive); });
                co_await corio_test::yield_n(3);  // the children finish, the group reacts
                CHECK(tg.size() == 0);
            }
            // Each child's result lives in its task: nothing left means the tasks are gone.
            CHECK(alive == 0);
            held_after_burst = corio::detail::pool_bytes_in_use() - held_before;
        });
    }());
    CHECK(alive == 0);
    CHECK(held_after_burst >= 0);
    CHECK(held_after_burst < 4096);  // 10,000 children came and went
}

