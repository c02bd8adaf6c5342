// Whatever order things die in: a primitive destroyed while tasks wait on it (asyncio's
// common shape: main owns a Queue, workers wait in get(), main returns), a guard or permit
// that outlives its primitive, an exception escaping main while workers wait. Regressions:
// each of these was a heap-use-after-free under ASan (WaitList::remove from
// cancel_all_tasks, Guard::unlock on a dead Lock).
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio_test::run_test;

namespace {

// How a worker's wait ended.
struct Endings {
    int cancelled = 0;
    int runtime_error = 0;
    int other = 0;
    std::vector<std::string> messages;
};

// Waits through `wait` (a coroutine factory that awaits the primitive) and records how the
// wait ended; the task then ends the way the wait did.
template <class Wait>
Coro<> record(Wait wait, Endings& e) {
    try {
        co_await wait();
        ++e.other;
    } catch (const corio::CancelledError&) {
        ++e.cancelled;
        throw;
    } catch (const corio::RuntimeError& x) {
        ++e.runtime_error;
        e.messages.push_back(x.what());
        throw;
    }
}

// asyncio's shape: main owns the primitive, starts `n` workers that wait on it, and returns
// while they wait. run() must return normally and cancel the workers, touching nothing freed.
template <class Primitive, class WaitOn>
Endings main_returns_while_workers_wait(WaitOn wait_on, int n = 3) {
    Endings e;
    run_test([&]() -> Coro<> {
        Primitive p;
        for (int i = 0; i < n; ++i)
            corio::create_task(record([&p, wait_on]() -> Coro<> { co_await wait_on(p); }, e));
        co_await corio::sleep(0s);  // the workers are parked now
        co_await corio::sleep(0s);
    }());
    return e;
}

}  // namespace

TEST_CASE("lifetimes: main returns while workers wait in Queue.get()", "[lifetimes]") {
    auto e = main_returns_while_workers_wait<corio::Queue<int>>([](corio::Queue<int>& q) -> Coro<> {
        co_await q.get();
    });
    CHECK(e.cancelled == 3);
    CHECK(e.runtime_error == 0);
}

TEST_CASE("lifetimes: main returns while workers wait in Queue.put() and join()", "[lifetimes]") {
    struct Full {
        corio::Queue<int> q{1};
        Full() { q.put_nowait(0); }
    };
    auto puts = main_returns_while_workers_wait<Full>([](Full& f) -> Coro<> { co_await f.q.put(1); });
    CHECK(puts.cancelled == 3);
    auto joins = main_returns_while_workers_wait<Full>([](Full& f) -> Coro<> { co_await f.q.join(); });
    CHECK(joins.cancelled == 3);
}

TEST_CASE("lifetimes: main returns while workers wait on a Lock, Semaphore, Event and Condition", "[lifetimes]") {
    // The lock is held by main's frame (a guard in it), then main returns.
    Endings locks;
    run_test([&]() -> Coro<> {
        corio::Lock lock;
        auto guard = co_await lock.acquire();
        for (int i = 0; i < 3; ++i)
            corio::create_task(record([&lock]() -> Coro<> { auto g = co_await lock.acquire(); }, locks));
        co_await corio::sleep(0s);
    }());
    CHECK(locks.cancelled == 3);

    Endings sems;
    run_test([&]() -> Coro<> {
        corio::Semaphore sem(0);
        for (int i = 0; i < 3; ++i)
            corio::create_task(record([&sem]() -> Coro<> { auto p = co_await sem.acquire(); }, sems));
        co_await corio::sleep(0s);
    }());
    CHECK(sems.cancelled == 3);

    auto events = main_returns_while_workers_wait<corio::Event>([](corio::Event& ev) -> Coro<> { co_await ev.wait(); });
    CHECK(events.cancelled == 3);

    auto conds = main_returns_while_workers_wait<corio::Condition>([](corio::Condition& c) -> Coro<> {
        auto g = co_await c.acquire();
        co_await c.wait();
    });
    CHECK(conds.cancelled == 3);
}

TEST_CASE("lifetimes: an exception escaping main while workers wait on its Event", "[lifetimes]") {
    // The program stops its server through an Event on the normal path; an exception skips that.
    Endings e;
    CHECK_THROWS_WITH(run_test([&]() -> Coro<> {
                          corio::Event stop;
                          auto server = corio::create_task(record([&stop]() -> Coro<> { co_await stop.wait(); }, e));
                          co_await corio::sleep(0s);
                          throw std::runtime_error("main failed");
                          stop.set();
                          co_await server;
                      }()),
                      "main failed");
    CHECK(e.cancelled == 1);
}

TEST_CASE("lifetimes: a primitive destroyed while a task waits wakes it with RuntimeError", "[lifetimes]") {
    // Not main's frame this time: the owner is a task that ends while others still run.
    Endings e;
    corio_test::LogCapture log;
    run_test([&]() -> Coro<> {
        auto owner = corio::create_task([&]() -> Coro<> {
            corio::Queue<int> q;
            corio::Lock lock;
            auto g = co_await lock.acquire();
            corio::Semaphore sem(0);
            corio::Event ev;
            corio::create_task(record([&q]() -> Coro<> { co_await q.get(); }, e));
            corio::create_task(record([&lock]() -> Coro<> { auto gg = co_await lock.acquire(); }, e));
            corio::create_task(record([&sem]() -> Coro<> { auto p = co_await sem.acquire(); }, e));
            corio::create_task(record([&ev]() -> Coro<> { co_await ev.wait(); }, e));
            co_await corio::sleep(0s);
        });
        co_await owner;
        // The waiters resume in the next steps, each with an error naming what died.
        co_await corio_test::yield_n(3);
    }());
    CHECK(e.runtime_error == 4);
    CHECK(e.cancelled == 0);
    REQUIRE(e.messages.size() == 4);
    std::string all;
    for (auto& m : e.messages) all += m + "\n";
    CHECK_THAT(all, Catch::Contains("the Queue this task was waiting on was destroyed while it waited"));
    CHECK_THAT(all, Catch::Contains("the Lock this task"));
    CHECK_THAT(all, Catch::Contains("the Semaphore this task"));
    CHECK_THAT(all, Catch::Contains("the Event this task"));
    // Nobody awaited those workers: each failure is reported, not lost.
    CHECK(log.count("Task exception was never retrieved") == 4);
}

TEST_CASE("lifetimes: a waiter cancelled as its primitive dies ends cancelled", "[lifetimes]") {
    Endings e;
    run_test([&]() -> Coro<> {
        Task<> waiter;
        {
            corio::Event ev;
            waiter = corio::create_task(record([&ev]() -> Coro<> { co_await ev.wait(); }, e));
            co_await corio::sleep(0s);
        }  // ev dies: the waiter is queued to resume with RuntimeError...
        waiter.cancel();  // ...but a cancellation that arrives first wins
        CHECK(co_await corio_test::ended_cancelled(waiter));
    }());
    CHECK(e.cancelled == 1);
    CHECK(e.runtime_error == 0);
}

TEST_CASE("lifetimes: a Condition destroyed during wait() leaves the caller's guard inert", "[lifetimes]") {
    Endings e;
    bool guard_owned_after = true;
    corio_test::LogCapture log;
    run_test([&]() -> Coro<> {
        auto owner = corio::create_task([&]() -> Coro<> {
            corio::Condition cond;
            corio::create_task(record(
                [&cond, &guard_owned_after]() -> Coro<> {
                    auto g = co_await cond.acquire();
                    try {
                        co_await cond.wait();
                    } catch (...) {
                        guard_owned_after = g.owns_lock();
                        throw;
                    }
                },
                e));
            co_await corio::sleep(0s);
        });
        co_await owner;
        co_await corio_test::yield_n(3);
    }());
    CHECK(e.runtime_error == 1);
    CHECK_FALSE(guard_owned_after);  // its lock died with the condition: nothing to release
    CHECK(log.count("the Condition this task was waiting on was destroyed") == 1);
}

TEST_CASE("lifetimes: a guard or permit that outlives its primitive does nothing when it dies", "[lifetimes]") {
    run_test([]() -> Coro<> {
        std::optional<corio::Lock::Guard> guard;
        std::optional<corio::Semaphore::Permit> permit;
        std::optional<corio::Semaphore::Permit> bounded_permit;
        {
            corio::Lock lock;
            guard.emplace(co_await lock.acquire());
            corio::Semaphore sem(2);
            permit.emplace(co_await sem.acquire());
            auto other = co_await sem.acquire();  // dies first: unlinks from the semaphore
            corio::BoundedSemaphore bsem(1);
            bounded_permit.emplace(co_await bsem.acquire());
            CHECK(guard->owns_lock());
            CHECK(permit->owns_permit());
        }
        CHECK_FALSE(guard->owns_lock());
        CHECK_FALSE(permit->owns_permit());
        CHECK_FALSE(bounded_permit->owns_permit());
        guard->unlock();   // no effect, no crash
        permit->release();
        guard.reset();
        permit.reset();
        bounded_permit.reset();
    }());
}
