// Ports of CPython's test_asyncio/test_locks.py: Lock and Semaphore as asyncio 3.12 has them
// (strict FIFO, cancellation-safe), Event, and Condition with 3.13's rules (wait() re-acquires
// the lock on every way out; a notified-then-cancelled waiter passes the notification on).
// Python's tests hold a lock across tasks with bare acquire()/release(); here a task that must
// keep what it acquired moves its guard or permit into a vector owned by the test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio_test::run_test;

namespace {

using Guards = std::vector<corio::Lock::Guard>;
using Permits = std::vector<corio::Semaphore::Permit>;

double now() { return corio::get_running_loop().time(); }
using corio_test::ended_cancelled;
using corio_test::yield_n;

void cancel_soon(Task<> t) {
    (void)corio::get_running_loop().call_soon([t]() mutable { t.cancel(); });
}

// Acquires `lock`, logs `tag` and keeps the lock (its guard goes to `held`).
Coro<bool> lock_and_keep(corio::Lock& lock, int tag, std::vector<int>& result, Guards& held) {
    auto g = co_await lock.acquire();
    result.push_back(tag);
    held.push_back(std::move(g));
    co_return true;
}

// Takes a permit, logs `tag` and keeps the permit.
Coro<bool> sem_and_keep(corio::Semaphore& sem, int tag, std::vector<int>& result, Permits& kept) {
    auto p = co_await sem.acquire();
    result.push_back(tag);
    kept.push_back(std::move(p));
    co_return true;
}

// The waiter of Condition's test_wait: waits, logs `tag` and keeps the lock.
Coro<bool> cond_wait_and_keep(corio::Condition& cond, int tag, std::vector<int>& result, Guards& held) {
    auto g = co_await cond.acquire();
    if (co_await cond.wait()) result.push_back(tag);
    held.push_back(std::move(g));
    co_return true;
}

// The waiter of Condition's test_notify: waits, logs `tag` and releases the lock.
Coro<bool> cond_wait_and_release(corio::Condition& cond, int tag, std::vector<int>& result) {
    auto g = co_await cond.acquire();
    if (co_await cond.wait()) {
        result.push_back(tag);
        g.unlock();
    }
    co_return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lock

TEST_CASE("Lock: the guard releases on scope exit, on unlock() and on exceptions", "[locks]") {
    corio::Lock lock;
    run_test([&]() -> Coro<> {
        CHECK_FALSE(lock.locked());
        {
            auto g = co_await lock.acquire();
            CHECK(g.owns_lock());
            CHECK(lock.locked());
        }
        CHECK_FALSE(lock.locked());

        auto g = co_await lock.acquire();
        CHECK(lock.locked());
        g.unlock();
        CHECK_FALSE(g.owns_lock());
        CHECK_FALSE(lock.locked());
        g.unlock();  // a second unlock does nothing
        CHECK_FALSE(lock.locked());

        auto g2 = co_await lock.acquire();
        corio::Lock::Guard g3 = std::move(g2);
        CHECK_FALSE(g2.owns_lock());
        CHECK(g3.owns_lock());
        CHECK(lock.locked());
        g3 = corio::Lock::Guard();  // assigning over a guard releases what it held
        CHECK_FALSE(lock.locked());

        bool thrown = false;
        try {
            auto g4 = co_await lock.acquire();
            CHECK(lock.locked());
            throw std::runtime_error("inside");
        } catch (const std::runtime_error&) {
            thrown = true;
        }
        CHECK(thrown);
        CHECK_FALSE(lock.locked());
    }());
    CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock: release() of an unlocked lock throws RuntimeError", "[locks]") {
    corio::Lock lock;
    CHECK_THROWS_AS(lock.release(), corio::RuntimeError);
    run_test([&]() -> Coro<> {
        CHECK_THROWS_AS(lock.release(), corio::RuntimeError);
        auto g = co_await lock.acquire();
        g.unlock();
        CHECK_THROWS_AS(lock.release(), corio::RuntimeError);
        CHECK_FALSE(lock.locked());
    }());
}

TEST_CASE("Lock: Python's pair, co_await lock.acquire(); ...; lock.release(), holds the lock in between",
          "[locks]") {
    // Regression: the discarded guard released the lock at the `;`, so every task ran its
    // critical section at once and release() then threw (or released someone else's hold).
    corio::Lock lock;
    int inside = 0;
    int max_inside = 0;
    int counter = 0;
    run_test([&]() -> Coro<> {
        std::vector<Task<>> tasks;
        for (int i = 0; i < 20; ++i) {
            tasks.push_back(corio::create_task([&]() -> Coro<> {
                co_await lock.acquire();
                ++inside;
                max_inside = std::max(max_inside, inside);
                int seen = counter;
                co_await corio::sleep(0s);
                counter = seen + 1;
                --inside;
                lock.release();
            }));
        }
        for (auto& t : tasks) co_await t;
    }());
    CHECK(max_inside == 1);
    CHECK(counter == 20);
    CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock: a guard whose lock was released by hand does nothing when it dies", "[locks]") {
    // Regression: the guard's destructor called release() on the unlocked lock, which threw
    // inside a destructor: std::terminate.
    corio::Lock lock;
    std::vector<std::string> log;
    run_test([&]() -> Coro<> {
        {
            auto g = co_await lock.acquire();
            lock.release();
            CHECK_FALSE(g.owns_lock());
            CHECK_FALSE(lock.locked());
        }
        CHECK_FALSE(lock.locked());
        // Released by hand, then taken by another task: the first guard must not release
        // the second task's hold when it dies.
        auto first = co_await lock.acquire();
        auto other = corio::create_task([&]() -> Coro<> {
            auto g = co_await lock.acquire();
            log.push_back("other holds");
            co_await corio::sleep(0s);
            co_await corio::sleep(0s);
            CHECK(lock.locked());
            log.push_back("other releases");
        });
        co_await corio::sleep(0s);  // other waits
        lock.release();             // hands the lock to `other`
        co_await corio::sleep(0s);
        CHECK(lock.locked());
        { auto drop = std::move(first); }  // owns nothing now
        CHECK(lock.locked());
        co_await other;
        CHECK_FALSE(lock.locked());
    }());
    CHECK(log == std::vector<std::string>{"other holds", "other releases"});
}

TEST_CASE("Lock: waiters acquire one at a time in FIFO order (test_acquire)", "[locks]") {
    corio::Lock lock;
    std::vector<int> result;
    Guards held;
    run_test([&]() -> Coro<> {
        auto g0 = co_await lock.acquire();
        auto t1 = corio::create_task(lock_and_keep(lock, 1, result, held));
        auto t2 = corio::create_task(lock_and_keep(lock, 2, result, held));

        co_await corio::sleep(0s);
        CHECK(result.empty());

        g0.unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});

        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});

        auto t3 = corio::create_task(lock_and_keep(lock, 3, result, held));

        REQUIRE(held.size() == 1);
        held[0].unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2});

        REQUIRE(held.size() == 2);
        held[1].unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2, 3});
        CHECK(lock.locked());

        CHECK(t1.done());
        CHECK(t1.result());
        CHECK(t2.done());
        CHECK(t2.result());
        CHECK(t3.done());
        CHECK(t3.result());
    }());
}

TEST_CASE("Lock: a task that releases and re-acquires at once goes behind the waiters", "[locks]") {
    corio::Lock lock;
    std::vector<std::string> log;
    run_test([&]() -> Coro<> {
        auto worker = [&](std::string tag) -> Coro<> {
            for (int round = 1; round <= 2; ++round) {
                auto g = co_await lock.acquire();
                log.push_back(tag + "_" + std::to_string(round));
                co_await corio::sleep(0s);  // hold it across a yield so the others queue up
                // g released here; the next round re-acquires at once
            }
        };
        auto a = corio::create_task(worker("a"));
        auto b = corio::create_task(worker("b"));
        auto c = corio::create_task(worker("c"));
        co_await a;
        co_await b;
        co_await c;
        CHECK(log == std::vector<std::string>{"a_1", "b_1", "c_1", "a_2", "b_2", "c_2"});

        // The same from the main task: it releases with waiters parked and re-acquires
        // without yielding; both waiters run before it gets the lock back.
        log.clear();
        auto g = co_await lock.acquire();
        auto take = [&](std::string tag) -> Coro<> {
            auto g2 = co_await lock.acquire();
            log.push_back(tag);
        };
        auto x = corio::create_task(take("x"));
        auto y = corio::create_task(take("y"));
        co_await corio::sleep(0s);
        g.unlock();
        CHECK_FALSE(lock.locked());
        g = co_await lock.acquire();
        log.push_back("main");
        CHECK(log == std::vector<std::string>{"x", "y", "main"});
        CHECK(x.done());
        CHECK(y.done());
    }());
}

TEST_CASE("Lock: a cancelled waiter takes nothing (test_acquire_cancel)", "[locks]") {
    corio::Lock lock;
    bool got = false;
    run_test([&]() -> Coro<> {
        auto g = co_await lock.acquire();
        auto t = corio::create_task([&]() -> Coro<> {
            auto g2 = co_await lock.acquire();
            got = true;
        });
        cancel_soon(t);
        CHECK(co_await ended_cancelled(t));
        CHECK(t.cancelled());
        CHECK_FALSE(got);
        CHECK(lock.locked());

        g.unlock();
        CHECK_FALSE(lock.locked());
        co_await corio::sleep(0s);
        CHECK_FALSE(lock.locked());  // nobody took it
        // No stale waiter is left in line: the fast path works (a hang would time out).
        auto g3 = co_await corio::wait_for(lock.acquire(), 1s);
        CHECK(g3.owns_lock());
        CHECK(lock.locked());
    }());
    CHECK_FALSE(got);
    CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock: cancelling a waiter while the holder releases (test_cancel_race)", "[locks]") {
    corio::Lock lock;
    corio::Event unblock_a;
    std::vector<std::string> log;
    auto lockit = [&](std::string name, corio::Event* blocker) -> Coro<> {
        auto g = co_await lock.acquire();
        log.push_back(name);
        if (blocker) co_await blocker->wait();
    };
    run_test([&]() -> Coro<> {
        auto ta = corio::create_task(lockit("A", &unblock_a));
        co_await corio::sleep(0s);
        CHECK(lock.locked());
        auto tb = corio::create_task(lockit("B", nullptr));
        co_await corio::sleep(0s);
        auto tc = corio::create_task(lockit("C", nullptr));
        co_await corio::sleep(0s);

        unblock_a.set();
        tb.cancel();
        co_await corio::sleep(0s);
        CHECK_FALSE(lock.locked());  // A released and woke C, which has not run yet
        CHECK(ta.done());
        CHECK(tb.cancelled());
        co_await corio::wait_for(tc, 1s);
        CHECK(log == std::vector<std::string>{"A", "C"});
        CHECK_FALSE(lock.locked());
    }());
}

TEST_CASE("Lock: cancel and release at once hand the lock to exactly one task (test_cancel_release_race)",
          "[locks]") {
    corio::Lock lock;
    int lock_count = 0;
    int call_count = 0;
    Guards held;
    run_test([&]() -> Coro<> {
        auto lockit = [&]() -> Coro<> {
            ++call_count;
            auto g = co_await lock.acquire();
            ++lock_count;
            held.push_back(std::move(g));
        };
        auto g0 = co_await lock.acquire();
        auto t1 = corio::create_task(lockit);
        auto t2 = corio::create_task(lockit);
        auto t3 = corio::create_task(lockit);
        co_await corio::sleep(0s);  // start them

        (void)corio::get_running_loop().call_soon([&]() {
            t1.cancel();
            g0.unlock();
        });
        CHECK(co_await ended_cancelled(t1));

        CHECK(lock_count == 1);  // only one lock was taken
        CHECK(call_count == 3);
        CHECK(t1.cancelled());
        CHECK(t2.done());
        CHECK_FALSE(t3.done());
        CHECK(lock.locked());

        t3.cancel();
        co_await corio::sleep(0s);
        CHECK(t3.cancelled());
        CHECK(lock_count == 1);
        CHECK(held.size() == 1);
    }());
}

TEST_CASE("Lock: a waiter cancelled as the lock is released leaves it to the next (test_finished_waiter_cancelled)",
          "[locks]") {
    corio::Lock lock;
    std::vector<int> result;
    Guards held;
    run_test([&]() -> Coro<> {
        auto g0 = co_await lock.acquire();
        CHECK(lock.locked());
        auto tb = corio::create_task(lock_and_keep(lock, 2, result, held));
        co_await corio::sleep(0s);

        auto tc = corio::create_task(lock_and_keep(lock, 3, result, held));
        tb.cancel();
        g0.unlock();
        co_await corio::sleep(0s);

        CHECK(lock.locked());
        CHECK(tb.cancelled());
        co_await corio::wait_for(tc, 1s);
        CHECK(result == std::vector<int>{3});
    }());
}

TEST_CASE("Lock: a waiter woken but cancelled before it ran passes the lock on", "[locks]") {
    corio::Lock lock;
    std::vector<int> result;
    Guards held;
    run_test([&]() -> Coro<> {
        auto g0 = co_await lock.acquire();
        auto tb = corio::create_task(lock_and_keep(lock, 2, result, held));
        auto tc = corio::create_task(lock_and_keep(lock, 3, result, held));
        co_await corio::sleep(0s);  // both parked, b first

        g0.unlock();  // wakes b, which has not run yet
        CHECK_FALSE(lock.locked());
        tb.cancel();  // b will not take it: it must wake c

        bool c_ok = false;
        try {
            c_ok = co_await corio::wait_for(tc, 1s);
        } catch (const corio::TimeoutError&) {
            FAIL_CHECK("the lock was not passed on to the next waiter");
        }
        CHECK(c_ok);
        CHECK(tb.cancelled());
        CHECK(result == std::vector<int>{3});
        CHECK(lock.locked());
        REQUIRE(held.size() == 1);
        held[0].unlock();
        CHECK_FALSE(lock.locked());
    }());
}

namespace {
// The seed's safe_increment: 100 tasks each read the counter, hold the lock across a
// suspension of `hold`, then write it back. Returns the loop time it took.
Coro<double> run_safe_increment(corio::Lock& lock, int& counter, std::chrono::milliseconds hold) {
    auto safe_increment = [&]() -> Coro<> {
        auto g = co_await lock.acquire();
        int current = counter;
        co_await corio::sleep(hold);  // 0 ms: a bare yield, no timer
        counter = current + 1;
    };
    double start = now();
    std::vector<Task<>> tasks;
    for (int i = 0; i < 100; ++i) tasks.push_back(corio::create_task(safe_increment));
    for (auto& t : tasks) co_await t;
    co_return now() - start;
}

using corio_test::LoopWatchdog;
}  // namespace

TEST_CASE("Lock: the seed's safe_increment (100 tasks, no lost update)", "[locks]") {
    // Virtual time: the seed's 100 ms hold, so the total is exactly 10 s. libuv: the hold is a
    // bare yield, which loses updates just as well without a lock; 100 back-to-back real
    // timers are the next test.
    corio::Lock lock;
    int counter = 0;
    const auto hold = corio_test::virtual_time() ? 100ms : 0ms;
    double elapsed = run_test(run_safe_increment(lock, counter, hold));
    CHECK(counter == 100);
    CHECK_FALSE(lock.locked());
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(10.0));  // strictly one at a time
}

TEST_CASE("Lock: safe_increment with 1 ms holds on the real clock", "[locks]") {
    // Regression: under --backend libuv this hung when a timer was already due by the time
    // the loop polled (see test_loop.cpp). The watchdog turns such a hang into a failure.
    corio::Lock lock;
    int counter = 0;
    bool stalled = false;
    double elapsed = run_test([&]() -> Coro<double> {
        LoopWatchdog watchdog(5s);
        double e = co_await run_safe_increment(lock, counter, 1ms);
        stalled = watchdog.fired();
        co_return e;
    }());
    CHECK_FALSE(stalled);
    CHECK(counter == 100);
    CHECK(elapsed >= 0.099);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.1));
}

// ---------------------------------------------------------------------------------------------
// Semaphore and BoundedSemaphore

TEST_CASE("Semaphore: initial value checks, value(), locked() and permits", "[locks]") {
    CHECK_THROWS_AS(corio::Semaphore(-1), corio::ValueError);
    CHECK_THROWS_AS(corio::BoundedSemaphore(-1), corio::ValueError);
    corio::Semaphore zero(0);
    CHECK(zero.locked());  // test_initial_value_zero
    CHECK(zero.value() == 0);

    corio::Semaphore sem;  // default 1
    CHECK(sem.value() == 1);
    CHECK_FALSE(sem.locked());
    run_test([&]() -> Coro<> {
        {
            auto p = co_await sem.acquire();
            CHECK(p.owns_permit());
            CHECK(sem.value() == 0);
            CHECK(sem.locked());
        }
        CHECK(sem.value() == 1);
        CHECK_FALSE(sem.locked());

        auto p = co_await sem.acquire();
        p.release();
        CHECK_FALSE(p.owns_permit());
        CHECK(sem.value() == 1);
        p.release();  // a second release does nothing
        CHECK(sem.value() == 1);

        auto p2 = co_await sem.acquire();
        corio::Semaphore::Permit p3 = std::move(p2);
        CHECK_FALSE(p2.owns_permit());
        CHECK(sem.value() == 0);
        p3 = corio::Semaphore::Permit();
        CHECK(sem.value() == 1);

        bool thrown = false;
        try {
            auto p4 = co_await sem.acquire();
            throw std::runtime_error("inside");
        } catch (const std::runtime_error&) {
            thrown = true;
        }
        CHECK(thrown);
        CHECK(sem.value() == 1);

        // A plain Semaphore may be released past its initial value.
        sem.release();
        CHECK(sem.value() == 2);
        auto q1 = co_await sem.acquire();
        auto q2 = co_await sem.acquire();
        CHECK(sem.value() == 0);
        CHECK(sem.locked());
    }());
    CHECK(sem.value() == 2);
}

TEST_CASE("BoundedSemaphore: releasing past the initial value throws ValueError", "[locks]") {
    corio::BoundedSemaphore one;
    CHECK_THROWS_AS(one.release(), corio::ValueError);  // test_release_not_acquired
    CHECK(one.value() == 1);

    corio::BoundedSemaphore sem(2);
    run_test([&]() -> Coro<> {
        auto p1 = co_await sem.acquire();
        auto p2 = co_await sem.acquire();
        CHECK(sem.value() == 0);
        CHECK(sem.locked());
        p1.release();
        CHECK(sem.value() == 1);
        p2.release();
        CHECK(sem.value() == 2);
        CHECK_THROWS_AS(sem.release(), corio::ValueError);
        CHECK(sem.value() == 2);
    }());
}

TEST_CASE("Semaphore: Python's pair, co_await s.acquire(); ...; s.release(), keeps the limit", "[locks]") {
    // Regression: the discarded permit was given back at the `;` and release() added one
    // more: 50 tasks ran at once under Semaphore(5), whose value was 55 afterwards.
    corio::Semaphore sem(5);
    int in_flight = 0;
    int max_in_flight = 0;
    run_test([&]() -> Coro<> {
        std::vector<Task<>> tasks;
        for (int i = 0; i < 50; ++i) {
            tasks.push_back(corio::create_task([&]() -> Coro<> {
                co_await sem.acquire();
                ++in_flight;
                max_in_flight = std::max(max_in_flight, in_flight);
                co_await corio::sleep(1ms);
                --in_flight;
                sem.release();
            }));
        }
        for (auto& t : tasks) co_await t;
    }());
    CHECK(max_in_flight == 5);
    CHECK(sem.value() == 5);
}

TEST_CASE("Semaphore: a bare acquire consumes a permit released by another task (signalling)", "[locks]") {
    corio::Semaphore items(0);
    std::vector<int> got;
    run_test([&]() -> Coro<> {
        auto consumer = corio::create_task([&]() -> Coro<> {
            for (int i = 0; i < 3; ++i) {
                co_await items.acquire();
                got.push_back(i);
            }
        });
        for (int i = 0; i < 3; ++i) {
            items.release();
            co_await corio::sleep(0s);
        }
        co_await consumer;
        CHECK(items.value() == 0);  // each signal consumed once
    }());
    CHECK(got == std::vector<int>{0, 1, 2});
}

TEST_CASE("BoundedSemaphore: a permit whose count was released by hand does not throw when it dies", "[locks]") {
    // Regression: ~Permit called release(), which threw ValueError past the bound inside a
    // destructor: std::terminate.
    corio::BoundedSemaphore sem(1);
    run_test([&]() -> Coro<> {
        {
            auto p = co_await sem.acquire();
            sem.release();
            CHECK(sem.value() == 1);
        }
        CHECK(sem.value() == 1);
        auto p = co_await sem.acquire();
        CHECK(sem.value() == 0);
    }());
    CHECK(sem.value() == 1);
}

TEST_CASE("Semaphore: waiters get permits in FIFO order (test_acquire)", "[locks]") {
    corio::Semaphore sem(3);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto p1 = co_await sem.acquire();
        auto p2 = co_await sem.acquire();
        CHECK_FALSE(sem.locked());

        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task(sem_and_keep(sem, 2, result, kept));
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));

        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});
        CHECK(sem.locked());
        CHECK(sem.value() == 0);

        auto t4 = corio::create_task(sem_and_keep(sem, 4, result, kept));

        p1.release();
        p2.release();
        CHECK(sem.value() == 0);  // both permits went to waiters at once

        co_await corio::sleep(0s);
        CHECK(sem.value() == 0);
        CHECK(result.size() == 3);
        CHECK(sem.locked());

        CHECK(t1.done());
        CHECK(t1.result());
        // FIFO: the two waiters that queued first got them, the newcomer waits.
        CHECK(t2.done());
        CHECK(t3.done());
        CHECK_FALSE(t4.done());
        CHECK(result == std::vector<int>{1, 2, 3});

        REQUIRE(kept.size() == 3);
        kept[0].release();
        CHECK(co_await corio::wait_for(t4, 1s));
        CHECK(result == std::vector<int>{1, 2, 3, 4});
        CHECK(sem.value() == 0);
    }());
}

TEST_CASE("Semaphore: a cancelled waiter takes nothing (test_acquire_cancel)", "[locks]") {
    corio::Semaphore sem(1);
    bool got = false;
    run_test([&]() -> Coro<> {
        auto p = co_await sem.acquire();
        auto t = corio::create_task([&]() -> Coro<> {
            auto p2 = co_await sem.acquire();
            got = true;
        });
        cancel_soon(t);
        CHECK(co_await ended_cancelled(t));
        CHECK_FALSE(got);
        CHECK(sem.value() == 0);
        p.release();
        CHECK(sem.value() == 1);
        CHECK_FALSE(sem.locked());
        co_await corio::sleep(0s);
        CHECK(sem.value() == 1);
        auto p3 = co_await corio::wait_for(sem.acquire(), 1s);
        CHECK(sem.value() == 0);
    }());
    CHECK_FALSE(got);
    CHECK(sem.value() == 1);
}

TEST_CASE("Semaphore: waiters cancelled before a release is handed out are skipped (test_acquire_cancel_before_awoken)",
          "[locks]") {
    corio::Semaphore sem(0);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task(sem_and_keep(sem, 2, result, kept));
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));
        auto t4 = corio::create_task(sem_and_keep(sem, 4, result, kept));
        co_await corio::sleep(0s);

        t1.cancel();
        t2.cancel();
        sem.release();

        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(t1.cancelled());
        CHECK(t2.cancelled());
        CHECK(t3.done());
        CHECK_FALSE(t4.done());
        CHECK(result == std::vector<int>{3});
        CHECK(sem.value() == 0);

        t4.cancel();
        co_await corio::sleep(0s);
        CHECK(t4.cancelled());
        CHECK(sem.value() == 0);
    }());
    CHECK(result == std::vector<int>{3});
}

TEST_CASE("Semaphore: a cancelled first waiter does not hang the next (test_acquire_hang)", "[locks]") {
    corio::Semaphore sem(0);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task(sem_and_keep(sem, 2, result, kept));
        co_await corio::sleep(0s);

        t1.cancel();
        sem.release();
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        CHECK(sem.locked());
        CHECK(t2.done());
        CHECK(t1.cancelled());
        CHECK(result == std::vector<int>{2});
    }());
}

TEST_CASE("Semaphore: a waiter woken but cancelled before it ran passes the permit on", "[locks]") {
    corio::Semaphore sem(0);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task(sem_and_keep(sem, 2, result, kept));
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));
        co_await corio::sleep(0s);

        sem.release();  // the permit is taken for t1, which has not run yet
        CHECK(sem.value() == 0);
        t1.cancel();

        bool ok = false;
        try {
            ok = co_await corio::wait_for(t2, 1s);
        } catch (const corio::TimeoutError&) {
            FAIL_CHECK("the permit was not passed on to the next waiter");
        }
        CHECK(ok);
        CHECK(t1.cancelled());
        CHECK_FALSE(t3.done());  // exactly one permit was handed out
        CHECK(sem.value() == 0);
        CHECK(result == std::vector<int>{2});
        t3.cancel();
        co_await corio::sleep(0s);
        CHECK(t3.cancelled());
        REQUIRE(kept.size() == 1);
        kept[0].release();
        CHECK(sem.value() == 1);
    }());
}

TEST_CASE("Semaphore: a holder cancelling a woken waiter does not leak the permit (test_acquire_no_hang)",
          "[locks]") {
    corio::Semaphore sem(1);
    bool c2_got = false;
    run_test([&]() -> Coro<> {
        Task<> t2;
        auto t1 = corio::create_task([&]() -> Coro<> {
            {
                auto p = co_await sem.acquire();
                co_await corio::sleep(0s);
            }
            t2.cancel();
        });
        t2 = corio::create_task([&]() -> Coro<> {
            auto p = co_await sem.acquire();
            c2_got = true;
        });
        co_await t1;
        CHECK(co_await ended_cancelled(t2));
        CHECK_FALSE(c2_got);
        CHECK(sem.value() == 1);
        auto p = co_await corio::wait_for(sem.acquire(), 1s);
        CHECK(p.owns_permit());
    }());
    CHECK_FALSE(c2_got);
}

TEST_CASE("Semaphore: releasing and re-acquiring goes behind the waiters (test_acquire_fifo_order)", "[locks]") {
    corio::Semaphore sem(1);
    std::vector<std::string> result;
    run_test([&]() -> Coro<> {
        auto coro = [&](std::string tag) -> Coro<> {
            auto p = co_await sem.acquire();
            result.push_back(tag + "_1");
            co_await corio::sleep(10ms);
            p.release();

            p = co_await sem.acquire();
            result.push_back(tag + "_2");
            co_await corio::sleep(10ms);
            p.release();
        };
        co_await corio::task_group([&](corio::TaskGroup& tg) -> Coro<> {
            tg.create_task(coro("c1"));
            tg.create_task(coro("c2"));
            tg.create_task(coro("c3"));
            co_return;
        });
    }());
    CHECK(result == std::vector<std::string>{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"});
    CHECK(sem.value() == 1);
}

TEST_CASE("Semaphore: test_acquire_fifo_order_2", "[locks]") {
    corio::Semaphore sem(1);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task([&]() -> Coro<bool> {
            auto p = co_await sem.acquire();
            result.push_back(2);
            p.release();
            p = co_await sem.acquire();
            result.push_back(4);
            kept.push_back(std::move(p));
            co_return true;
        });
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));
        co_await corio::sleep(0s);

        sem.release();
        sem.release();

        co_await corio::wait_for(t1, 1s);
        co_await corio::wait_for(t2, 1s);
        co_await corio::wait_for(t3, 1s);
        CHECK(result == std::vector<int>{1, 2, 3, 4});
    }());
}

TEST_CASE("Semaphore: a waiter cancelled before any release takes nothing (test_acquire_fifo_order_3)", "[locks]") {
    corio::Semaphore sem(0);
    std::vector<int> result;
    Permits kept;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(sem_and_keep(sem, 1, result, kept));
        auto t2 = corio::create_task(sem_and_keep(sem, 2, result, kept));
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));
        co_await corio::sleep(0s);

        t1.cancel();
        co_await corio::sleep(0s);

        sem.release();
        sem.release();

        CHECK(co_await ended_cancelled(t1));
        co_await corio::wait_for(t2, 1s);
        co_await corio::wait_for(t3, 1s);
        CHECK(result == std::vector<int>{2, 3});
        CHECK(sem.value() == 0);
    }());
}

TEST_CASE("Semaphore: a woken waiter wakes as many more as there are free permits (test_acquire_fifo_order_4)",
          "[locks]") {
    corio::Semaphore sem(0);
    std::vector<int> result;
    Permits kept;
    std::ptrdiff_t value_seen_by_c1 = -1;
    std::ptrdiff_t value_after_releases = -1;
    bool locked_after_releases = false;
    run_test([&]() -> Coro<> {
        Task<bool> t4;
        auto t1 = corio::create_task([&]() -> Coro<bool> {
            CHECK(sem.value() == 0);
            auto p = co_await sem.acquire();
            value_seen_by_c1 = sem.value();  // the other two waiters were woken already
            kept.push_back(std::move(p));
            t4 = corio::create_task([&]() -> Coro<bool> {  // runs after c3, not before
                result.push_back(4);
                co_return true;
            });
            result.push_back(1);
            co_return true;
        });
        auto t2 = corio::create_task([&]() -> Coro<bool> {
            sem.release();
            sem.release();
            sem.release();
            value_after_releases = sem.value();
            locked_after_releases = sem.locked();  // c1 has not taken its permit yet
            auto p = co_await sem.acquire();
            result.push_back(2);
            kept.push_back(std::move(p));
            co_return true;
        });
        auto t3 = corio::create_task(sem_and_keep(sem, 3, result, kept));

        co_await corio::sleep(0s);
        CHECK(sem.value() == 2);
        co_await corio::sleep(0s);

        co_await corio::wait_for(t1, 1s);
        co_await corio::wait_for(t2, 1s);
        co_await corio::wait_for(t3, 1s);
        REQUIRE(t4);
        co_await t4;
        CHECK(result == std::vector<int>{1, 2, 3, 4});
    }());
    CHECK(value_after_releases == 2);
    CHECK(locked_after_releases);
    CHECK(value_seen_by_c1 == 0);
}

TEST_CASE("Semaphore: the seed's limited_operation (never more than 3 in flight)", "[locks]") {
    corio::Semaphore sem(3);
    int in_flight = 0;
    int max_in_flight = 0;
    std::vector<int> started;
    std::vector<int> finished;
    const auto work = corio_test::virtual_time() ? 1000ms : 20ms;
    double elapsed = 0;
    run_test([&]() -> Coro<> {
        double start = now();
        std::vector<Task<>> tasks;
        for (int n = 0; n < 10; ++n) {
            tasks.push_back(corio::create_task([&, n]() -> Coro<> {
                auto p = co_await sem.acquire();
                started.push_back(n);
                ++in_flight;
                max_in_flight = std::max(max_in_flight, in_flight);
                co_await corio::sleep(work);
                --in_flight;
                finished.push_back(n);
            }));
        }
        for (auto& t : tasks) co_await t;
        elapsed = now() - start;
    }());
    CHECK(max_in_flight == 3);
    CHECK(in_flight == 0);
    CHECK(started == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});  // FIFO
    CHECK(finished.size() == 10);
    CHECK(sem.value() == 3);
    if (corio_test::virtual_time())
        CHECK(elapsed == Approx(4.0));  // ceil(10 / 3) rounds of 1 s
    else
        CHECK(elapsed >= 0.079);
}

// ---------------------------------------------------------------------------------------------
// Event

TEST_CASE("Event: set() wakes every waiter (test_wait)", "[locks]") {
    corio::Event ev;
    std::vector<int> result;
    run_test([&]() -> Coro<> {
        CHECK_FALSE(ev.is_set());
        auto waiter = [&](int tag) {
            return corio::create_task([&, tag]() -> Coro<bool> {
                if (co_await ev.wait()) result.push_back(tag);
                co_return true;
            });
        };
        auto t1 = waiter(1);
        auto t2 = waiter(2);
        co_await corio::sleep(0s);
        CHECK(result.empty());

        auto t3 = waiter(3);  // scheduled before the woken ones: it sees the set event
        ev.set();
        CHECK(ev.is_set());
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{3, 1, 2});
        CHECK(t1.done());
        CHECK(t2.done());
        CHECK(t3.done());
        CHECK(t1.result());
    }());
}

TEST_CASE("Event: wait() on a set event returns at once without yielding (test_wait_on_set)", "[locks]") {
    corio::Event ev;
    run_test([&]() -> Coro<> {
        ev.set();
        bool other_ran = false;
        auto other = corio::create_task([&]() -> Coro<> {
            other_ran = true;
            co_return;
        });
        bool res = co_await ev.wait();
        CHECK(res);
        CHECK_FALSE(other_ran);  // no suspension happened
        res = co_await ev.wait();
        CHECK(res);
        CHECK(ev.is_set());
        co_await other;
        CHECK(other_ran);
    }());
}

TEST_CASE("Event: a cancelled waiter leaves cleanly; others still wake (test_wait_cancel)", "[locks]") {
    corio::Event ev;
    bool cancelled_returned = false;
    run_test([&]() -> Coro<> {
        auto w = corio::create_task([&]() -> Coro<> {
            co_await ev.wait();
            cancelled_returned = true;
        });
        cancel_soon(w);
        CHECK(co_await ended_cancelled(w));

        bool other_woke = false;
        auto other = corio::create_task([&]() -> Coro<> {
            co_await ev.wait();
            other_woke = true;
        });
        co_await corio::sleep(0s);
        ev.set();
        co_await corio::wait_for(other, 1s);
        CHECK(other_woke);
    }());
    CHECK_FALSE(cancelled_returned);
}

TEST_CASE("Event: clear(), and set-clear-set wakes a waiter once (test_clear, test_clear_with_waiters)",
          "[locks]") {
    corio::Event ev;
    CHECK_FALSE(ev.is_set());
    ev.set();
    CHECK(ev.is_set());
    ev.clear();
    CHECK_FALSE(ev.is_set());

    std::vector<int> result;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<bool> {
            if (co_await ev.wait()) result.push_back(1);
            co_return true;
        });
        co_await corio::sleep(0s);
        CHECK(result.empty());

        ev.set();
        ev.clear();
        CHECK_FALSE(ev.is_set());
        ev.set();
        ev.set();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});
        CHECK(t.done());
        CHECK(t.result());

        // Cleared again: a new wait blocks.
        ev.clear();
        CHECK_THROWS_AS(co_await corio::wait_for(ev.wait(), 50ms), corio::TimeoutError);
    }());
}

TEST_CASE("Event: several waiters all wake at the time of set()", "[locks]") {
    corio::Event ev;
    std::vector<double> woke_at;
    double set_at = 0;
    run_test([&]() -> Coro<> {
        double start = now();
        std::vector<Task<>> tasks;
        for (int i = 0; i < 5; ++i)
            tasks.push_back(corio::create_task([&]() -> Coro<> {
                co_await ev.wait();
                woke_at.push_back(now() - start);
            }));
        co_await corio::sleep(50ms);
        CHECK(woke_at.empty());
        set_at = now() - start;
        ev.set();
        for (auto& t : tasks) co_await t;
    }());
    REQUIRE(woke_at.size() == 5);
    for (double t : woke_at) {
        CHECK(t >= set_at);
        if (corio_test::virtual_time()) CHECK(t == Approx(0.05));
    }
}

// ---------------------------------------------------------------------------------------------
// Condition

TEST_CASE("Condition: wait, notify and re-acquisition order (test_wait)", "[locks]") {
    corio::Condition cond;
    std::vector<int> result;
    Guards held;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(cond_wait_and_keep(cond, 1, result, held));
        auto t2 = corio::create_task(cond_wait_and_keep(cond, 2, result, held));
        auto t3 = corio::create_task(cond_wait_and_keep(cond, 3, result, held));

        co_await corio::sleep(0s);
        CHECK(result.empty());
        CHECK_FALSE(cond.locked());

        auto g = co_await cond.acquire();
        cond.notify();
        co_await corio::sleep(0s);
        CHECK(result.empty());  // notified, but the lock is still ours
        CHECK(cond.locked());

        g.unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});
        CHECK(cond.locked());

        cond.notify(2);
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});
        CHECK(cond.locked());

        REQUIRE(held.size() == 1);
        held[0].unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2});
        CHECK(cond.locked());

        REQUIRE(held.size() == 2);
        held[1].unlock();
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2, 3});
        CHECK(cond.locked());

        CHECK(t1.done());
        CHECK(t1.result());
        CHECK(t2.done());
        CHECK(t2.result());
        CHECK(t3.done());
        CHECK(t3.result());
    }());
}

TEST_CASE("Condition: a cancelled wait() still holds the lock afterwards (test_wait_cancel)", "[locks]") {
    corio::Condition cond;
    run_test([&]() -> Coro<> {
        auto g = co_await cond.acquire();
        auto w = corio::create_task(cond.wait());
        cancel_soon(w);
        CHECK(co_await ended_cancelled(w));
        CHECK(cond.locked());
        // No waiter is left behind: a later waiter gets the next notification.
        g.unlock();
        bool woke = false;
        auto w2 = corio::create_task([&]() -> Coro<> {
            auto g2 = co_await cond.acquire();
            woke = co_await cond.wait();
        });
        co_await corio::sleep(0s);
        {
            auto g3 = co_await cond.acquire();
            cond.notify();
        }
        co_await corio::wait_for(w2, 1s);
        CHECK(woke);
        CHECK_FALSE(cond.locked());
    }());
}

TEST_CASE("Condition: CancelledError leaves wait() only once the lock is re-acquired", "[locks]") {
    corio::Condition cond;
    std::vector<std::string> log;
    bool locked_in_catch = false;
    bool owned_in_catch = false;
    int cancels = GENERATE(1, 2);  // 2: cancelled again while re-acquiring the lock
    run_test([&]() -> Coro<> {
        auto w = corio::create_task([&]() -> Coro<> {
            auto g = co_await cond.acquire();
            try {
                co_await cond.wait();
                log.push_back("returned");
            } catch (const corio::CancelledError&) {
                locked_in_catch = cond.locked();
                owned_in_catch = g.owns_lock();
                log.push_back("caught");
                throw;
            }
        });
        co_await corio::sleep(0s);  // w waits; the lock is free
        CHECK_FALSE(cond.locked());

        auto g = co_await cond.acquire();  // contest the lock
        w.cancel();
        co_await yield_n(3);
        if (cancels == 2) {
            w.cancel();  // it is now parked on the lock
            co_await yield_n(3);
        }
        CHECK(log.empty());  // it cannot leave while we hold the lock
        CHECK_FALSE(w.done());
        log.push_back("main releases");
        g.unlock();
        CHECK(co_await ended_cancelled(w));
        CHECK(log == std::vector<std::string>{"main releases", "caught"});
        CHECK_FALSE(cond.locked());  // w's guard released it on the way out
        auto g2 = co_await corio::wait_for(cond.acquire(), 1s);
        CHECK(cond.locked());
    }());
    CHECK(locked_in_catch);
    CHECK(owned_in_catch);
}

TEST_CASE("Condition: notify, then cancel with the lock contested (test_wait_cancel_contested)", "[locks]") {
    corio::Condition cond;
    run_test([&]() -> Coro<> {
        auto g = co_await cond.acquire();
        CHECK(cond.locked());
        auto wait_task = corio::create_task(cond.wait());
        co_await corio::sleep(0s);
        CHECK_FALSE(cond.locked());

        auto g2 = co_await cond.acquire();
        CHECK(cond.locked());
        cond.notify();
        cancel_soon(wait_task);
        (void)corio::get_running_loop().call_soon([&]() { g2.unlock(); });

        try {
            co_await wait_task;
        } catch (const corio::CancelledError&) {
        }
        CHECK(cond.locked());  // re-acquired on either outcome
    }());
}

TEST_CASE("Condition: cancelled while re-acquiring after notify (test_wait_cancel_after_notify)", "[locks]") {
    corio::Condition cond;
    bool waited = false;
    run_test([&]() -> Coro<> {
        auto waiter = corio::create_task([&]() -> Coro<> {
            auto g = co_await cond.acquire();
            waited = true;
            co_await cond.wait();
        });
        co_await corio::sleep(0s);  // start waiting

        auto g = co_await cond.acquire();
        cond.notify();
        co_await corio::sleep(0s);  // it gets to re-acquiring
        waiter.cancel();
        co_await corio::sleep(0s);  // the cancellation is delivered
        g.unlock();
        co_await corio::sleep(0s);  // now it can finish

        CHECK(waiter.cancelled());
        CHECK(waited);
        CHECK_FALSE(cond.locked());
    }());
}

TEST_CASE("Condition: wait and notify without holding the lock throw RuntimeError", "[locks]") {
    corio::Condition cond;
    CHECK_THROWS_AS(cond.notify(), corio::RuntimeError);      // test_notify_unacquired
    CHECK_THROWS_AS(cond.notify_all(), corio::RuntimeError);  // test_notify_all_unacquired
    CHECK_THROWS_AS(cond.notify(3), corio::RuntimeError);
    run_test([&]() -> Coro<> {
        CHECK_THROWS_AS(co_await cond.wait(), corio::RuntimeError);  // test_wait_unacquired
        CHECK_FALSE(cond.locked());
        CHECK_THROWS_AS(cond.notify(), corio::RuntimeError);
        CHECK_THROWS_AS(cond.notify_all(), corio::RuntimeError);

        // test_wait_for_unacquired: a predicate true at once needs no lock ...
        auto seven = [] { return 7; };
        int res = co_await cond.wait_for(seven);
        CHECK(res == 7);
        // ... but one that must wait does.
        auto never = [] { return false; };
        CHECK_THROWS_AS(co_await cond.wait_for(never), corio::RuntimeError);
        CHECK_FALSE(cond.locked());

        // With the lock held, they work.
        auto g = co_await cond.acquire();
        CHECK_NOTHROW(cond.notify());
        CHECK_NOTHROW(cond.notify_all());
    }());
}

TEST_CASE("Condition: wait_for(pred) returns only once the predicate holds (test_wait_for)", "[locks]") {
    corio::Condition cond;
    bool presult = false;
    std::vector<int> result;
    int predicate_calls = 0;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<bool> {
            auto g = co_await cond.acquire();
            auto predicate = [&] {
                ++predicate_calls;
                return presult;
            };
            if (co_await cond.wait_for(predicate)) {
                result.push_back(1);
                CHECK(cond.locked());
                g.unlock();
            }
            co_return true;
        });
        co_await corio::sleep(0s);
        CHECK(result.empty());
        CHECK(predicate_calls == 1);  // checked first

        {
            auto g = co_await cond.acquire();
            cond.notify();
        }
        co_await corio::sleep(0s);
        CHECK(result.empty());  // woke, false, waits again
        CHECK(predicate_calls == 2);

        presult = true;
        {
            auto g = co_await cond.acquire();
            cond.notify();
        }
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});
        CHECK(predicate_calls == 3);
        CHECK(t.done());
        CHECK(t.result());
        CHECK_FALSE(cond.locked());
    }());
}

TEST_CASE("Condition: wait_for returns the predicate's value", "[locks]") {
    corio::Condition cond;
    int items = 0;
    run_test([&]() -> Coro<> {
        auto consumer = corio::create_task([&]() -> Coro<int> {
            auto g = co_await cond.acquire();
            auto pred = [&] { return items; };
            int got = co_await cond.wait_for(pred);
            co_return got;
        });
        co_await corio::sleep(0s);
        {
            auto g = co_await cond.acquire();
            items = 5;
            cond.notify();
        }
        int got = co_await consumer;
        CHECK(got == 5);
    }());
}

TEST_CASE("Condition: notify(n) wakes n waiters in order (test_notify)", "[locks]") {
    corio::Condition cond;
    std::vector<int> result;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(cond_wait_and_release(cond, 1, result));
        auto t2 = corio::create_task(cond_wait_and_release(cond, 2, result));
        auto t3 = corio::create_task(cond_wait_and_release(cond, 3, result));
        co_await corio::sleep(0s);
        CHECK(result.empty());

        {
            auto g = co_await cond.acquire();
            cond.notify(1);
        }
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1});

        {
            auto g = co_await cond.acquire();
            cond.notify(1);
            cond.notify(2048);
        }
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2, 3});

        CHECK(t1.done());
        CHECK(t1.result());
        CHECK(t2.done());
        CHECK(t2.result());
        CHECK(t3.done());
        CHECK(t3.result());
        CHECK_FALSE(cond.locked());
    }());
}

TEST_CASE("Condition: notify(1) twice wakes exactly two waiters", "[locks]") {
    corio::Condition cond;
    std::vector<int> result;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(cond_wait_and_release(cond, 1, result));
        auto t2 = corio::create_task(cond_wait_and_release(cond, 2, result));
        auto t3 = corio::create_task(cond_wait_and_release(cond, 3, result));
        co_await corio::sleep(0s);
        {
            auto g = co_await cond.acquire();
            cond.notify();
            cond.notify();  // the first notified waiter is skipped, not notified twice
        }
        co_await yield_n(3);
        CHECK(result == std::vector<int>{1, 2});
        CHECK_FALSE(t3.done());
        {
            auto g = co_await cond.acquire();
            cond.notify_all();
        }
        co_await corio::wait_for(t3, 1s);
        CHECK(result == std::vector<int>{1, 2, 3});
    }());
}

TEST_CASE("Condition: notify_all wakes every waiter (test_notify_all)", "[locks]") {
    corio::Condition cond;
    std::vector<int> result;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(cond_wait_and_release(cond, 1, result));
        auto t2 = corio::create_task(cond_wait_and_release(cond, 2, result));
        co_await corio::sleep(0s);
        CHECK(result.empty());

        {
            auto g = co_await cond.acquire();
            cond.notify_all();
        }
        co_await corio::sleep(0s);
        CHECK(result == std::vector<int>{1, 2});
        CHECK(t1.done());
        CHECK(t1.result());
        CHECK(t2.done());
        CHECK(t2.result());
    }());
}

TEST_CASE("Condition: with an explicit lock (test_explicit_lock)", "[locks]") {
    corio::Lock lock;
    corio::Condition cond(lock);
    run_test([&]() -> Coro<> {
        CHECK_FALSE(lock.locked());
        CHECK_FALSE(cond.locked());
        {
            auto g = co_await cond.acquire();
            CHECK(lock.locked());
            CHECK(cond.locked());
        }
        CHECK_FALSE(lock.locked());
        CHECK_FALSE(cond.locked());
        {
            auto g = co_await lock.acquire();
            CHECK(lock.locked());
            CHECK(cond.locked());
            cond.notify();  // holding the shared lock counts
        }
        CHECK_FALSE(cond.locked());

        // A waiter on the condition is woken by a task that holds the plain lock.
        bool woke = false;
        auto w = corio::create_task([&]() -> Coro<> {
            auto g = co_await cond.acquire();
            woke = co_await cond.wait();
            CHECK(lock.locked());
        });
        co_await corio::sleep(0s);
        CHECK_FALSE(lock.locked());  // wait() released the shared lock
        {
            auto g = co_await lock.acquire();
            cond.notify();
        }
        co_await corio::wait_for(w, 1s);
        CHECK(woke);
        CHECK_FALSE(lock.locked());
    }());
}

TEST_CASE("Condition: wait_for(cond.wait(), timeout) times out holding the lock (test_timeout_in_block)",
          "[locks]") {
    corio::Condition cond;
    double elapsed = 0;
    bool locked_after = false;
    run_test([&]() -> Coro<> {
        auto g = co_await cond.acquire();
        double start = now();
        CHECK_THROWS_AS(co_await corio::wait_for(cond.wait(), 500ms), corio::TimeoutError);
        elapsed = now() - start;
        locked_after = cond.locked();
    }());
    CHECK(locked_after);
    CHECK_FALSE(cond.locked());
    CHECK(elapsed >= 0.49);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.5));
}

TEST_CASE("Condition: a CancelledError while waiting for notify comes out with its message "
          "(test_cancelled_error_wakeup)",
          "[locks]") {
    corio::Condition cond;
    bool wake = false;
    std::string raised;
    run_test([&]() -> Coro<> {
        auto task = corio::create_task([&]() -> Coro<> {
            auto g = co_await cond.acquire();
            try {
                auto pred = [&] { return wake; };
                co_await cond.wait_for(pred);
                FAIL_CHECK("wait_for returned");
            } catch (const corio::CancelledError& e) {
                raised = e.what();
                throw;
            }
        });
        co_await corio::sleep(0s);
        task.cancel("foo");
        try {
            co_await task;
            FAIL_CHECK("no CancelledError");
        } catch (const corio::CancelledError& e) {
            CHECK(std::string(e.what()) == "foo");
        }
        CHECK_FALSE(cond.locked());
    }());
    CHECK(raised == "foo");
}

TEST_CASE("Condition: a CancelledError while re-acquiring comes out with its message (test_cancelled_error_re_aquire)",
          "[locks]") {
    corio::Condition cond;
    bool wake = false;
    std::string raised;
    run_test([&]() -> Coro<> {
        auto task = corio::create_task([&]() -> Coro<> {
            auto g = co_await cond.acquire();
            try {
                auto pred = [&] { return wake; };
                co_await cond.wait_for(pred);
                FAIL_CHECK("wait_for returned");
            } catch (const corio::CancelledError& e) {
                raised = e.what();
                throw;
            }
        });
        co_await corio::sleep(0s);
        auto g = co_await cond.acquire();
        wake = true;
        cond.notify();
        co_await corio::sleep(0s);  // it is re-acquiring the lock now
        task.cancel("foo");
        g.unlock();
        try {
            co_await task;
            FAIL_CHECK("no CancelledError");
        } catch (const corio::CancelledError& e) {
            CHECK(std::string(e.what()) == "foo");
        }
        CHECK_FALSE(cond.locked());
    }());
    CHECK(raised == "foo");
}

namespace {
// The consumer of 3.13's test_cancelled_wakeup*: consumes `state` until it turns negative.
Coro<> state_consumer(corio::Condition& cond, int& state) {
    auto g = co_await cond.acquire();
    auto nonzero = [&] { return state != 0; };
    for (;;) {
        co_await cond.wait_for(nonzero);
        if (state < 0) co_return;
        --state;
    }
}

// The body shared by both: c[0] is cancelled as it is notified (`relock`: once it is
// already re-acquiring the lock); the notification must reach c[1].
Coro<> cancelled_wakeup_body(corio::Condition& cond, int& state, bool relock) {
    Task<> c0 = corio::create_task(state_consumer(cond, state));
    Task<> c1 = corio::create_task(state_consumer(cond, state));
    co_await corio::sleep(0s);  // let them settle
    {
        auto g = co_await cond.acquire();
        state += 1;
        cond.notify(1);
        if (relock) co_await corio::sleep(0s);  // c0 wakes and waits for the lock
        c0.cancel();

        auto zero = [&] { return state == 0; };
        try {
            co_await corio::wait_for(cond.wait_for(zero), 10ms);
        } catch (const corio::TimeoutError&) {
        }
        CHECK(state == 0);  // the notification was not lost with c0
        CHECK(cond.locked());

        state = -1;
        cond.notify_all();
    }
    co_await corio::wait_for(c1, 1s);
    CHECK(co_await ended_cancelled(c0));
    CHECK_FALSE(cond.locked());
}
}  // namespace

TEST_CASE("Condition: a waiter cancelled as it is notified passes the notification on (test_cancelled_wakeup)",
          "[locks]") {
    corio::Condition cond;
    int state = 0;
    run_test(cancelled_wakeup_body(cond, state, false));
    CHECK(state == -1);
}

TEST_CASE("Condition: a waiter cancelled while re-acquiring passes the notification on (test_cancelled_wakeup_relock)",
          "[locks]") {
    corio::Condition cond;
    int state = 0;
    run_test(cancelled_wakeup_body(cond, state, true));
    CHECK(state == -1);
}

TEST_CASE("Condition: a notified-then-cancelled wait() hands its notification to the next waiter", "[locks]") {
    corio::Condition cond;
    std::vector<int> result;
    run_test([&]() -> Coro<> {
        auto t1 = corio::create_task(cond_wait_and_release(cond, 1, result));
        auto t2 = corio::create_task(cond_wait_and_release(cond, 2, result));
        auto t3 = corio::create_task(cond_wait_and_release(cond, 3, result));
        co_await corio::sleep(0s);
        {
            auto g = co_await cond.acquire();
            cond.notify(1);  // t1
            t1.cancel();     // ... which will not use it
        }
        CHECK(co_await ended_cancelled(t1));
        co_await corio::wait_for(t2, 1s);
        CHECK(result == std::vector<int>{2});
        co_await yield_n(3);
        CHECK_FALSE(t3.done());  // exactly one notification was passed on
        {
            auto g = co_await cond.acquire();
            cond.notify();
        }
        co_await corio::wait_for(t3, 1s);
        CHECK(result == std::vector<int>{2, 3});
    }());
}
