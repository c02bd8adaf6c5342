// Ports of CPython's test_asyncio/test_queues.py (3.12): Queue, LifoQueue and PriorityQueue,
// put/get with and without waiting, cancellation races (an item is never lost or duplicated),
// task_done/join; plus corio's own: move-only items, many producers and consumers with exact
// accounting, and a timed-out get that must leave no waiter behind.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
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

double now() { return corio::get_running_loop().time(); }
using corio_test::ended_cancelled;
using corio_test::yield_n;

template <class Q>
Coro<typename std::remove_cvref_t<decltype(std::declval<Q&>().get_nowait())>> get_from(Q& q) {
    co_return co_await q.get();
}

template <class Q, class T>
Coro<bool> put_into(Q& q, T item) {
    co_await q.put(std::move(item));
    co_return true;
}

// Awaits `aw`; a cancellation that lands there is swallowed (and the request withdrawn).
template <class A>
Coro<> survive_cancel(A aw) {
    try {
        co_await std::move(aw);
    } catch (const corio::CancelledError&) {
        corio::current_task().uncancel();
    }
}

// Deterministic pseudo-random numbers (the same sequence on every backend and run).
struct Lcg {
    std::uint64_t s;
    unsigned next(unsigned bound) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<unsigned>((s >> 33) % bound);
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Basics

TEST_CASE("Queue: empty(), full(), qsize() and maxsize (test_empty, test_full)", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q;
        CHECK(q.empty());
        CHECK_FALSE(q.full());
        CHECK(q.qsize() == 0);
        CHECK(q.maxsize() == 0);
        co_await q.put(1);
        CHECK_FALSE(q.empty());
        CHECK(q.qsize() == 1);
        int v = co_await q.get();
        CHECK(v == 1);
        CHECK(q.empty());

        corio::Queue<int> unbounded;  // maxsize 0 is never full
        for (int i = 0; i < 1000; ++i) co_await unbounded.put(i);
        CHECK_FALSE(unbounded.full());
        CHECK(unbounded.qsize() == 1000);

        corio::Queue<int> negative(-3);  // <= 0: unbounded
        for (int i = 0; i < 10; ++i) negative.put_nowait(i);
        CHECK_FALSE(negative.full());

        corio::Queue<int> one(1);
        CHECK(one.maxsize() == 1);
        CHECK_FALSE(one.full());
        co_await one.put(1);
        CHECK(one.full());
        CHECK(one.qsize() == 1);
        (void)one.get_nowait();
        CHECK_FALSE(one.full());
    }());
}

TEST_CASE("Queue: put_nowait throws QueueFull, get_nowait throws QueueEmpty", "[queues]") {
    corio::Queue<int> q(1);
    CHECK_THROWS_AS(q.get_nowait(), corio::QueueEmpty);  // test_nonblocking_get_exception
    q.put_nowait(1);
    CHECK_THROWS_AS(q.put_nowait(2), corio::QueueFull);  // test_nonblocking_put_exception
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 1);  // the failed put changed nothing
    CHECK_THROWS_AS(q.get_nowait(), corio::QueueEmpty);
    CHECK(q.empty());

    corio::Queue<int> u;  // test_nonblocking_put / test_nonblocking_get
    u.put_nowait(1);
    CHECK(u.get_nowait() == 1);

    corio::LifoQueue<int> l(2);
    CHECK_THROWS_AS(l.get_nowait(), corio::QueueEmpty);
    l.put_nowait(1);
    l.put_nowait(2);
    CHECK_THROWS_AS(l.put_nowait(3), corio::QueueFull);
    corio::PriorityQueue<int> p(1);
    CHECK_THROWS_AS(p.get_nowait(), corio::QueueEmpty);
    p.put_nowait(1);
    CHECK_THROWS_AS(p.put_nowait(0), corio::QueueFull);
    CHECK(p.get_nowait() == 1);
}

TEST_CASE("Queue, LifoQueue, PriorityQueue: get order (test_order)", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> fifo;
        corio::LifoQueue<int> lifo;
        corio::PriorityQueue<int> prio;
        const std::vector<int> input{1, 3, 2};
        for (int i : input) {
            co_await fifo.put(i);
            co_await lifo.put(i);
            co_await prio.put(i);
        }
        std::vector<int> f, l, p;
        for (int i = 0; i < 3; ++i) {
            f.push_back(co_await fifo.get());
            l.push_back(co_await lifo.get());
            p.push_back(co_await prio.get());
        }
        CHECK(f == std::vector<int>{1, 3, 2});
        CHECK(l == std::vector<int>{2, 3, 1});
        CHECK(p == std::vector<int>{1, 2, 3});
    }());
}

namespace {
struct Job {
    int priority;
    std::string name;
};
struct ByPriority {
    bool operator()(const Job& a, const Job& b) const { return a.priority < b.priority; }
};
}  // namespace

TEST_CASE("PriorityQueue: smallest first, equal items in insertion order", "[queues]") {
    corio::PriorityQueue<Job, ByPriority> q;
    const std::vector<std::pair<int, std::string>> input{{5, "e1"}, {1, "a1"}, {5, "e2"}, {3, "c1"}, {1, "a2"},
                                                         {5, "e3"}, {1, "a3"}, {3, "c2"}, {0, "z"},  {5, "e4"}};
    for (const auto& [prio, name] : input) q.put_nowait(Job{prio, name});
    std::vector<std::string> out;
    while (!q.empty()) out.push_back(q.get_nowait().name);
    CHECK(out == std::vector<std::string>{"z", "a1", "a2", "a3", "c1", "c2", "e1", "e2", "e3", "e4"});

    // Interleaved puts and gets keep the same rule.
    q.put_nowait(Job{2, "x1"});
    q.put_nowait(Job{2, "x2"});
    CHECK(q.get_nowait().name == "x1");
    q.put_nowait(Job{2, "x3"});
    q.put_nowait(Job{1, "y"});
    CHECK(q.get_nowait().name == "y");
    CHECK(q.get_nowait().name == "x2");
    CHECK(q.get_nowait().name == "x3");

    // A custom order: the largest first.
    corio::PriorityQueue<int, std::greater<int>> big;
    for (int i : {4, 9, 1, 7}) big.put_nowait(i);
    std::vector<int> b;
    while (!big.empty()) b.push_back(big.get_nowait());
    CHECK(b == std::vector<int>{9, 7, 4, 1});

    // Many items: a heap that is popped fully sorted.
    corio::PriorityQueue<int> many;
    Lcg rng{42};
    std::vector<int> in;
    for (int i = 0; i < 500; ++i) in.push_back(static_cast<int>(rng.next(1000)));
    for (int v : in) many.put_nowait(v);
    std::vector<int> popped;
    while (!many.empty()) popped.push_back(many.get_nowait());
    std::sort(in.begin(), in.end());
    CHECK(popped == in);
}

TEST_CASE("Queue: put waits while the queue is full (test_maxsize)", "[queues]") {
    corio::Queue<int> q(2);
    std::vector<int> have_been_put;
    run_test([&]() -> Coro<> {
        CHECK(q.maxsize() == 2);
        auto t = corio::create_task([&]() -> Coro<bool> {
            for (int i = 0; i < 3; ++i) {
                co_await q.put(i);
                have_been_put.push_back(i);
            }
            co_return true;
        });
        co_await yield_n(2);

        CHECK(have_been_put == std::vector<int>{0, 1});  // blocked on the third
        CHECK(q.full());
        int v = co_await q.get();
        CHECK(v == 0);

        co_await corio::sleep(0s);  // the putter resumes and puts the last item
        CHECK(have_been_put == std::vector<int>{0, 1, 2});
        v = co_await q.get();
        CHECK(v == 1);
        v = co_await q.get();
        CHECK(v == 2);
        CHECK(t.done());
        CHECK(t.result());
    }());
}

TEST_CASE("Queue: get waits for an item (test_blocking_get, test_blocking_get_wait)", "[queues]") {
    corio::Queue<int> q;
    bool finished = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        q.put_nowait(1);
        int v = co_await q.get();  // test_blocking_get
        CHECK(v == 1);

        corio::Event started;
        auto getter = corio::create_task([&]() -> Coro<int> {
            started.set();
            int res = co_await q.get();
            finished = true;
            co_return res;
        });
        co_await started.wait();
        CHECK_FALSE(finished);
        double start = now();
        auto timer = corio::get_running_loop().call_later(10ms, [&]() { q.put_nowait(7); });
        int res = co_await getter;
        elapsed = now() - start;
        CHECK(finished);
        CHECK(res == 7);
    }());
    CHECK(elapsed >= 0.009);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.01));
}

TEST_CASE("Queue: put waits for a free slot (test_blocking_put, test_blocking_put_wait)", "[queues]") {
    corio::Queue<int> q(1);
    bool finished = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        corio::Queue<int> u;
        co_await u.put(1);  // test_blocking_put: no maxsize, no wait
        int v = co_await u.get();
        CHECK(v == 1);

        corio::Event started;
        double start = now();
        auto timer = corio::get_running_loop().call_later(10ms, [&]() { (void)q.get_nowait(); });
        auto putter = corio::create_task([&]() -> Coro<> {
            started.set();
            co_await q.put(1);
            co_await q.put(2);
            finished = true;
        });
        co_await started.wait();
        CHECK_FALSE(finished);
        co_await putter;
        elapsed = now() - start;
        CHECK(finished);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 2);
    }());
    CHECK(elapsed >= 0.009);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.01));
}

TEST_CASE("Queue: a waiting getter receives the next put (test_put_with_waiting_getters)", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<std::string> q;
        auto t = corio::create_task(get_from(q));
        co_await corio::sleep(0s);
        co_await q.put("a");
        std::string v = co_await t;
        CHECK(v == "a");

        // test_put_cancelled (misnamed upstream): a put into an unbounded queue does not wait.
        corio::Queue<int> q2;
        auto p = corio::create_task(put_into(q2, 1));
        int got = co_await q2.get();
        CHECK(got == 1);
        CHECK(p.done());
        CHECK(p.result());
    }());
}

TEST_CASE("Queue: getting from a full queue lets waiting putters in, in order (test_get_with_waiting_putters)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<std::string> q(1);
        auto a = corio::create_task(put_into(q, std::string("a")));
        auto b = corio::create_task(put_into(q, std::string("b")));
        auto c = corio::create_task(put_into(q, std::string("c")));
        std::string v1 = co_await q.get();
        std::string v2 = co_await q.get();
        std::string v3 = co_await q.get();
        CHECK(v1 == "a");
        CHECK(v2 == "b");
        CHECK(v3 == "c");
        co_await a;
        co_await b;
        co_await c;
        CHECK(q.empty());
    }());
}

TEST_CASE("Queue: producer and consumer through a queue of one (test_why_are_getters_waiting)", "[queues]") {
    std::vector<int> got;
    run_test([&]() -> Coro<> {
        corio::Queue<int> q(1);
        co_await corio::task_group([&](corio::TaskGroup& tg) -> Coro<> {
            tg.create_task([&]() -> Coro<> {
                for (int i = 0; i < 5; ++i) co_await q.put(i);
            });
            tg.create_task([&]() -> Coro<> {
                for (int i = 0; i < 5; ++i) got.push_back(co_await q.get());
            });
            co_return;
        });
        CHECK(q.empty());
    }());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("Queue: putters are woken as get_nowait frees slots (test_why_are_putters_waiting)", "[queues]") {
    std::vector<int> got;
    run_test([&]() -> Coro<> {
        corio::Queue<int> q(2);
        co_await corio::wait_for(corio::task_group([&](corio::TaskGroup& tg) -> Coro<> {
                                     tg.create_task([&]() -> Coro<> {
                                         co_await corio::sleep(0s);
                                         std::size_t n = q.qsize();
                                         for (std::size_t i = 0; i < n; ++i) got.push_back(q.get_nowait());
                                     });
                                     for (int i = 0; i < 4; ++i) tg.create_task(put_into(q, i));
                                     co_return;
                                 }),
                                 5s);
        CHECK(q.qsize() == 2);
        got.push_back(q.get_nowait());
        got.push_back(q.get_nowait());
    }());
    CHECK(got == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("Queue: a woken getter that finds the item taken waits again", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q;
        auto g = corio::create_task(get_from(q));
        co_await corio::sleep(0s);
        q.put_nowait(1);              // wakes g
        CHECK(q.get_nowait() == 1);   // ... but the item is taken before it runs
        co_await yield_n(2);
        CHECK_FALSE(g.done());
        q.put_nowait(2);
        int v = co_await corio::wait_for(g, 1s);
        CHECK(v == 2);
        CHECK(q.empty());
    }());
}

// ---------------------------------------------------------------------------------------------
// Cancellation

TEST_CASE("Queue: a cancelled getter is skipped (test_get_cancelled_race)", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<std::string> q;
        auto t1 = corio::create_task(get_from(q));
        auto t2 = corio::create_task(get_from(q));
        co_await corio::sleep(0s);
        t1.cancel();
        co_await corio::sleep(0s);
        CHECK(t1.done());
        CHECK(t1.cancelled());
        co_await q.put("a");
        co_await corio::sleep(0s);
        std::string v = co_await corio::wait_for(t2, 1s);
        CHECK(v == "a");
        CHECK(q.empty());
    }());
}

TEST_CASE("Queue: a getter cancelled after an item arrived does not drop it (test_get_cancel_drop_one_pending_reader)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q;
        auto reader = corio::create_task(get_from(q));
        co_await corio::sleep(0s);
        q.put_nowait(1);
        q.put_nowait(2);
        reader.cancel();
        int result = 0;
        try {
            result = co_await reader;
        } catch (const corio::CancelledError&) {
            result = -1;
        }
        if (result == -1) {  // try again
            reader = corio::create_task(get_from(q));
            result = co_await reader;
        }
        CHECK(result == 1);  // 2 would mean 1 was dropped
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 2);
    }());
}

TEST_CASE("Queue: a woken-then-cancelled getter passes its wake-up on (test_get_cancel_drop_many_pending_readers)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q;
        auto reader1 = corio::create_task(get_from(q));
        auto reader2 = corio::create_task(get_from(q));
        auto reader3 = corio::create_task(get_from(q));
        co_await corio::sleep(0s);

        q.put_nowait(1);
        q.put_nowait(2);
        reader1.cancel();
        CHECK(co_await ended_cancelled(reader1));

        int r2 = co_await corio::wait_for(reader2, 1s);
        int r3 = co_await corio::wait_for(reader3, 1s);
        std::vector<int> got{r2, r3};
        std::sort(got.begin(), got.end());
        CHECK(got == std::vector<int>{1, 2});
        CHECK(q.empty());
    }());
}

TEST_CASE("Queue: a putter cancelled after a slot freed does not lose its item (test_put_cancel_drop)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q(1);
        q.put_nowait(1);
        auto writer = corio::create_task(put_into(q, 2));  // has to wait
        co_await corio::sleep(0s);

        int value1 = q.get_nowait();
        CHECK(value1 == 1);

        writer.cancel();
        if (co_await ended_cancelled(writer)) {  // try again
            writer = corio::create_task(put_into(q, 2));
            co_await writer;
        }
        int value2 = q.get_nowait();
        CHECK(value2 == 2);
        CHECK(q.qsize() == 0);
    }());
}

TEST_CASE("Queue: a cancelled putter puts nothing; the next putter gets the slot (test_put_cancelled_race)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<std::string> q(1);
        auto put_a = corio::create_task(put_into(q, std::string("a")));
        auto put_b = corio::create_task(put_into(q, std::string("b")));
        auto put_c = corio::create_task(put_into(q, std::string("X")));
        co_await corio::sleep(0s);
        CHECK(put_a.done());
        CHECK_FALSE(put_b.done());

        put_c.cancel();
        co_await corio::sleep(0s);
        CHECK(put_c.done());
        CHECK(put_c.cancelled());
        CHECK(q.get_nowait() == "a");
        co_await corio::sleep(0s);
        CHECK(q.get_nowait() == "b");
        co_await corio::wait_for(put_b, 1s);
        CHECK(q.empty());
        co_await yield_n(2);
        CHECK(q.empty());  // "X" never arrives
    }());
}

TEST_CASE("Queue: cancelled putters are not kept (test_cancelled_puts_not_being_held_in_self_putters)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q(1);
        q.put_nowait(1);
        auto put_task = corio::create_task(put_into(q, 2));
        co_await corio::sleep(0s);
        put_task.cancel();
        CHECK(co_await ended_cancelled(put_task));
        CHECK(q.qsize() == 1);

        // A freed slot goes to nobody stale: the next putter (behind it) gets it.
        CHECK(q.get_nowait() == 1);
        CHECK(q.empty());
        auto p2 = corio::create_task(put_into(q, 3));
        auto p3 = corio::create_task(put_into(q, 4));
        co_await corio::sleep(0s);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 3);
        co_await corio::wait_for(p3, 1s);
        CHECK(q.get_nowait() == 4);
        CHECK(p2.done());
    }());
}

TEST_CASE("Queue: a putter woken by get_nowait then cancelled raises CancelledError "
          "(test_cancelled_put_silence_value_error_exception)",
          "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q(1);
        q.put_nowait(1);
        auto put_task = corio::create_task(put_into(q, 2));
        co_await corio::sleep(0s);
        (void)q.get_nowait();  // wakes put_task
        put_task.cancel();
        CHECK(co_await ended_cancelled(put_task));
        CHECK(q.empty());  // the cancelled put did not put
        // ... and the slot is still usable.
        co_await corio::wait_for(q.put(5), 1s);
        CHECK(q.get_nowait() == 5);
    }());
}

TEST_CASE("Queue: a woken-then-cancelled putter passes the free slot to the next putter", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q(1);
        q.put_nowait(0);
        auto p1 = corio::create_task(put_into(q, 1));
        auto p2 = corio::create_task(put_into(q, 2));
        co_await corio::sleep(0s);
        CHECK(q.get_nowait() == 0);  // wakes p1
        p1.cancel();                 // ... which leaves: p2 must get the slot
        CHECK(co_await ended_cancelled(p1));
        bool ok = false;
        try {
            ok = co_await corio::wait_for(p2, 1s);
        } catch (const corio::TimeoutError&) {
            FAIL_CHECK("the free slot was not passed on to the next putter");
        }
        CHECK(ok);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 2);
    }());
}

TEST_CASE("Queue: a timed-out get leaves no waiter behind (test_cancelled_getters_not_being_held_in_self_getters)",
          "[queues]") {
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        corio::Queue<int> q(5);
        double start = now();
        CHECK_THROWS_AS(co_await corio::wait_for(q.get(), 100ms), corio::TimeoutError);
        elapsed = now() - start;
        for (int i = 0; i < 5; ++i) {  // and a few more, back to back
            bool timed_out = false;
            try {
                (void)co_await corio::wait_for(q.get(), 1ms);
            } catch (const corio::TimeoutError&) {
                timed_out = true;
            }
            CHECK(timed_out);
        }

        q.put_nowait(1);  // nobody stale is woken for it
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 1);
        CHECK(q.empty());

        // A real getter now waits, and the next item goes to it.
        auto getter = corio::create_task(get_from(q));
        co_await corio::sleep(0s);
        CHECK_FALSE(getter.done());
        q.put_nowait(2);
        int v = co_await corio::wait_for(getter, 1s);
        CHECK(v == 2);
        CHECK(q.empty());

        // The same with two waiting getters: the first times out, the second still gets it.
        auto second = corio::create_task([&]() -> Coro<int> {
            co_await corio::sleep(1ms);
            co_return co_await q.get();
        });
        CHECK_THROWS_AS(co_await corio::wait_for(q.get(), 5ms), corio::TimeoutError);
        q.put_nowait(3);
        int w = co_await corio::wait_for(second, 1s);
        CHECK(w == 3);
        CHECK(q.empty());
    }());
    CHECK(elapsed >= 0.099);
    if (corio_test::virtual_time()) CHECK(elapsed == Approx(0.1));
}

TEST_CASE("Queue: a timed-out put puts nothing and leaves no putter behind", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<int> q(1);
        q.put_nowait(1);
        CHECK_THROWS_AS(co_await corio::wait_for(q.put(2), 10ms), corio::TimeoutError);
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 1);
        CHECK(q.empty());  // the timed-out item was not put afterwards
        co_await yield_n(2);
        CHECK(q.empty());

        q.put_nowait(3);
        auto putter = corio::create_task(put_into(q, 4));
        co_await corio::sleep(0s);
        CHECK_FALSE(putter.done());
        CHECK(q.get_nowait() == 3);
        co_await corio::wait_for(putter, 1s);
        CHECK(q.get_nowait() == 4);
    }());
}

TEST_CASE("Queue: random cancellations of getters and putters never lose or duplicate an item", "[queues]") {
    // No timers: the main task cancels producers and consumers at pseudo-random yields, so
    // both backends see the same schedule. A producer whose put was cancelled retries the
    // same item (a cancelled put must not have put it); a consumer whose get was cancelled
    // carries on (a cancelled get must not have taken one).
    constexpr int kItems = 600;
    std::vector<int> received;
    int put_ok = 0;
    int put_cancelled = 0;
    int get_cancelled = 0;
    run_test([&]() -> Coro<> {
        corio::Queue<int> q(2);
        Lcg rng{7};
        bool stop = false;
        auto producer = [&](int first, int step) -> Coro<> {
            for (int item = first; item < kItems; item += step) {
                for (;;) {
                    bool cancelled = false;
                    try {
                        co_await q.put(item);
                        ++put_ok;
                    } catch (const corio::CancelledError&) {
                        cancelled = true;
                        ++put_cancelled;
                        corio::current_task().uncancel();
                    }
                    if (!cancelled) break;
                }
                if (rng.next(3) == 0) co_await survive_cancel(corio::sleep(0s));
            }
        };
        auto consumer = [&]() -> Coro<> {
            while (!stop) {
                try {
                    int v = co_await q.get();
                    received.push_back(v);
                } catch (const corio::CancelledError&) {
                    ++get_cancelled;
                    corio::current_task().uncancel();
                }
                if (rng.next(4) == 0) co_await survive_cancel(corio::sleep(0s));
            }
        };
        std::vector<Task<>> producers;
        for (int p = 0; p < 3; ++p) producers.push_back(corio::create_task(producer(p, 3)));
        std::vector<Task<>> consumers;
        for (int c = 0; c < 3; ++c) consumers.push_back(corio::create_task(consumer()));
        auto all_done = [&] {
            return std::all_of(producers.begin(), producers.end(), [](const Task<>& t) { return t.done(); });
        };
        for (int round = 0; !all_done() && round < 200000; ++round) {
            co_await yield_n(static_cast<int>(rng.next(3)));
            unsigned who = rng.next(6);
            Task<>& victim = who < 3 ? producers[who] : consumers[who - 3];
            if (!victim.done()) victim.cancel();
        }
        REQUIRE(all_done());
        for (int i = 0; i < 10 && !q.empty(); ++i) co_await corio::sleep(0s);  // let the consumers drain
        stop = true;
        for (auto& c : consumers) {
            c.cancel();  // caught inside: the consumer sees `stop` and returns
            co_await c;
        }
        while (!q.empty()) received.push_back(q.get_nowait());
    }());
    CHECK(put_ok == kItems);
    CHECK(put_cancelled > 0);  // the schedule did hit cancellations on both sides
    CHECK(get_cancelled > 0);
    std::vector<int> sorted = received;
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> expected(kItems);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(sorted.size() == expected.size());
    CHECK(sorted == expected);  // each exactly once
}

namespace {
using corio_test::LoopWatchdog;
}  // namespace

TEST_CASE("Queue: random wait_for timeouts on get and put never lose or duplicate an item", "[queues]") {
    // Sub-millisecond timeouts on libuv are deadlines already due when the loop polls: the
    // regression test below isolates that case.
    constexpr int kItems = 300;
    std::vector<int> received;
    std::vector<int> put_items;  // those whose put() returned
    bool stalled = false;
    run_test([&]() -> Coro<> {
        LoopWatchdog watchdog(10s);
        corio::Queue<int> q(2);
        Lcg rng{7};
        // Producers retry an item until its put succeeds; a put cut short by a timeout
        // must not have put it.
        auto producer = [&](int first, int step) -> Coro<> {
            for (int item = first; item < kItems; item += step) {
                for (;;) {
                    try {
                        co_await corio::wait_for(q.put(item), std::chrono::microseconds(200 + 100 * rng.next(20)));
                        put_items.push_back(item);
                        break;
                    } catch (const corio::TimeoutError&) {
                    }
                }
                if (rng.next(3) == 0) co_await corio::sleep(std::chrono::microseconds(100 * rng.next(20)));
            }
        };
        // Consumers take items with timeouts; some are also cancelled from outside.
        auto consumer = [&]() -> Coro<> {
            for (;;) {
                try {
                    int v = co_await corio::wait_for(q.get(), std::chrono::microseconds(200 + 100 * rng.next(20)));
                    received.push_back(v);
                } catch (const corio::TimeoutError&) {
                }
                if (rng.next(4) == 0) co_await corio::sleep(std::chrono::microseconds(100 * rng.next(20)));
            }
        };
        std::vector<Task<>> producers;
        for (int p = 0; p < 3; ++p) producers.push_back(corio::create_task(producer(p, 3)));
        std::vector<Task<>> consumers;
        for (int c = 0; c < 3; ++c) consumers.push_back(corio::create_task(consumer()));
        auto all_done = [&] {
            return std::all_of(producers.begin(), producers.end(), [](const Task<>& t) { return t.done(); });
        };
        for (int round = 0; !all_done() && round < 100000 && !watchdog.fired(); ++round) {
            co_await corio::sleep(std::chrono::microseconds(300 + 100 * rng.next(30)));
            auto& victim = consumers[rng.next(static_cast<unsigned>(consumers.size()))];
            victim.cancel();
            co_await ended_cancelled(victim);
            victim = corio::create_task(consumer());
        }
        co_await corio::sleep(20ms);  // let the consumers drain
        for (auto& c : consumers) {
            c.cancel();
            co_await ended_cancelled(c);
        }
        for (auto& p : producers) {
            p.cancel();
            co_await ended_cancelled(p);
        }
        while (!q.empty()) received.push_back(q.get_nowait());
        stalled = watchdog.fired();
    }());
    CHECK_FALSE(stalled);
    CHECK(put_items.size() == static_cast<std::size_t>(kItems));
    std::sort(received.begin(), received.end());
    std::sort(put_items.begin(), put_items.end());
    CHECK(received == put_items);  // every item put was received exactly once
}

TEST_CASE("Queue: a wait_for(q.get()) whose deadline passed while the loop was busy still times out",
          "[queues]") {
    // Regression (libuv 1.44): uv_run(UV_RUN_ONCE) fires a due timer in its pre-poll pass
    // and then polled with no timeout; LibuvBackend::wait() now polls without blocking.
    bool timed_out = false;
    bool stalled = false;
    double elapsed = -1;
    run_test([&]() -> Coro<> {
        LoopWatchdog watchdog(2s);
        corio::Queue<int> q;
        double start = now();
        auto t = corio::create_task([&]() -> Coro<bool> {
            try {
                (void)co_await corio::wait_for(q.get(), 1ms);
            } catch (const corio::TimeoutError&) {
                co_return true;
            }
            co_return false;
        });
        co_await corio::sleep(0s);         // t waits with a 1 ms deadline
        std::this_thread::sleep_for(5ms);  // the loop is busy past it
        timed_out = co_await t;
        elapsed = now() - start;
        stalled = watchdog.fired();
    }());
    CHECK(timed_out);
    CHECK_FALSE(stalled);
    CHECK(elapsed < 1.0);
}

TEST_CASE("Queue: many producers and consumers, exact accounting and per-producer FIFO", "[queues]") {
    constexpr int kProducers = 5;
    constexpr int kPerProducer = 200;
    constexpr int kConsumers = 4;
    std::vector<int> order;                       // every item in the order it was got
    std::vector<std::vector<int>> per_consumer(kConsumers);
    run_test([&]() -> Coro<> {
        corio::Queue<int> q(3);
        Lcg rng{1234};
        std::vector<Task<>> tasks;
        for (int p = 0; p < kProducers; ++p)
            tasks.push_back(corio::create_task([&, p]() -> Coro<> {
                for (int i = 0; i < kPerProducer; ++i) {
                    co_await q.put(p * 1000 + i);
                    if (rng.next(4) == 0) co_await corio::sleep(0s);
                }
            }));
        std::vector<Task<>> consumers;
        for (int c = 0; c < kConsumers; ++c)
            consumers.push_back(corio::create_task([&, c]() -> Coro<> {
                for (;;) {
                    int v = co_await q.get();
                    if (v < 0) co_return;  // sentinel
                    order.push_back(v);
                    per_consumer[c].push_back(v);
                    q.task_done();
                    if (rng.next(3) == 0) co_await corio::sleep(0s);
                }
            }));
        for (auto& t : tasks) co_await t;
        co_await corio::wait_for(q.join(), 5s);
        CHECK(q.empty());
        for (int c = 0; c < kConsumers; ++c) co_await q.put(-1);
        for (auto& c : consumers) co_await corio::wait_for(c, 5s);
    }());
    REQUIRE(order.size() == static_cast<std::size_t>(kProducers * kPerProducer));
    std::map<int, int> next_expected;
    bool in_order = true;
    for (int v : order) {
        int p = v / 1000;
        if (v % 1000 != next_expected[p]) in_order = false;
        ++next_expected[p];
    }
    CHECK(in_order);  // a FIFO queue keeps each producer's items in order
    for (int p = 0; p < kProducers; ++p) CHECK(next_expected[p] == kPerProducer);
    int busy = 0;
    for (auto& v : per_consumer) busy += v.empty() ? 0 : 1;
    CHECK(busy >= 2);  // the work was shared
}

// ---------------------------------------------------------------------------------------------
// task_done / join

TEMPLATE_TEST_CASE("Queue: task_done() more often than put throws ValueError (test_task_done_underflow)",
                   "[queues]", corio::Queue<int>, corio::LifoQueue<int>, corio::PriorityQueue<int>) {
    TestType q;
    CHECK_THROWS_AS(q.task_done(), corio::ValueError);
    q.put_nowait(1);
    q.put_nowait(2);
    (void)q.get_nowait();
    (void)q.get_nowait();
    q.task_done();
    q.task_done();
    CHECK_THROWS_AS(q.task_done(), corio::ValueError);
}

TEMPLATE_TEST_CASE("Queue: join() returns once every item is task_done (test_task_done)", "[queues]",
                   corio::Queue<int>, corio::LifoQueue<int>, corio::PriorityQueue<int>) {
    TestType q;
    int accumulator = 0;
    run_test([&]() -> Coro<> {
        for (int i = 0; i < 100; ++i) q.put_nowait(i);
        bool running = true;
        auto worker = [&]() -> Coro<> {
            while (running) {
                int item = co_await q.get();
                accumulator += item;
                q.task_done();
            }
        };
        auto w1 = corio::create_task(worker);
        auto w2 = corio::create_task(worker);
        co_await corio::wait_for(q.join(), 5s);
        CHECK(accumulator == 4950);
        running = false;
        q.put_nowait(0);
        q.put_nowait(0);
        co_await corio::wait_for(w1, 1s);
        co_await corio::wait_for(w2, 1s);
    }());
    CHECK(accumulator == 4950);
}

TEMPLATE_TEST_CASE("Queue: join() on a queue with nothing unfinished returns at once (test_join_empty_queue)",
                   "[queues]", corio::Queue<int>, corio::LifoQueue<int>, corio::PriorityQueue<int>) {
    TestType q;
    run_test([&]() -> Coro<> {
        bool other_ran = false;
        auto other = corio::create_task([&]() -> Coro<> {
            other_ran = true;
            co_return;
        });
        co_await q.join();
        co_await q.join();
        CHECK_FALSE(other_ran);  // no suspension
        co_await other;
    }());
}

TEST_CASE("Queue: join() waits for task_done of every item, not for an empty queue", "[queues]") {
    corio::Queue<int> q;
    std::vector<std::string> log;
    run_test([&]() -> Coro<> {
        q.put_nowait(1);
        q.put_nowait(2);
        auto joiner = corio::create_task([&]() -> Coro<> {
            co_await q.join();
            log.push_back("joined");
        });
        auto joiner2 = corio::create_task([&]() -> Coro<> {
            co_await q.join();
            log.push_back("joined2");
        });
        co_await corio::sleep(0s);
        (void)q.get_nowait();
        (void)q.get_nowait();
        CHECK(q.empty());
        co_await yield_n(2);
        CHECK(log.empty());  // empty, but not done
        q.task_done();
        co_await yield_n(2);
        CHECK(log.empty());
        log.push_back("last task_done");
        q.task_done();
        co_await corio::wait_for(joiner, 1s);
        co_await corio::wait_for(joiner2, 1s);
        CHECK(log == std::vector<std::string>{"last task_done", "joined", "joined2"});

        // A new put makes join() wait again.
        q.put_nowait(3);
        CHECK_THROWS_AS(co_await corio::wait_for(q.join(), 10ms), corio::TimeoutError);
        (void)q.get_nowait();
        q.task_done();
        co_await corio::wait_for(q.join(), 1s);
    }());
}

// ---------------------------------------------------------------------------------------------
// Item types

TEST_CASE("Queue: move-only items (std::unique_ptr) through every path", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<std::unique_ptr<int>> q(1);
        // Fast paths.
        co_await q.put(std::make_unique<int>(1));
        std::unique_ptr<int> a = co_await q.get();
        REQUIRE(a);
        CHECK(*a == 1);
        q.put_nowait(std::make_unique<int>(2));
        std::unique_ptr<int> b = q.get_nowait();
        REQUIRE(b);
        CHECK(*b == 2);

        // A blocked put (the queue is full) and a blocked get (it is empty).
        q.put_nowait(std::make_unique<int>(3));
        auto putter = corio::create_task([&]() -> Coro<> { co_await q.put(std::make_unique<int>(4)); });
        co_await corio::sleep(0s);
        CHECK_FALSE(putter.done());
        std::unique_ptr<int> c = co_await q.get();
        CHECK(*c == 3);
        co_await putter;
        std::unique_ptr<int> d = co_await q.get();
        CHECK(*d == 4);

        auto getter = corio::create_task([&]() -> Coro<int> {
            std::unique_ptr<int> p = co_await q.get();
            co_return p ? *p : -1;
        });
        co_await corio::sleep(0s);
        CHECK_FALSE(getter.done());
        co_await q.put(std::make_unique<int>(5));
        int got = co_await getter;
        CHECK(got == 5);

        // Through wait_for, both ways.
        co_await corio::wait_for(q.put(std::make_unique<int>(6)), 1s);
        std::unique_ptr<int> e = co_await corio::wait_for(q.get(), 1s);
        CHECK(*e == 6);

        corio::LifoQueue<std::unique_ptr<int>> lifo;
        lifo.put_nowait(std::make_unique<int>(1));
        co_await lifo.put(std::make_unique<int>(2));
        std::unique_ptr<int> top = co_await lifo.get();
        CHECK(*top == 2);

        struct DerefLess {
            bool operator()(const std::unique_ptr<int>& x, const std::unique_ptr<int>& y) const { return *x < *y; }
        };
        corio::PriorityQueue<std::unique_ptr<int>, DerefLess> prio;
        for (int v : {5, 2, 8}) prio.put_nowait(std::make_unique<int>(v));
        std::unique_ptr<int> small = co_await prio.get();
        CHECK(*small == 2);
        CHECK(prio.qsize() == 2);
    }());
}

namespace {
struct NoDefault {
    explicit NoDefault(int v) : value(v) {}
    int value;
};
}  // namespace

TEST_CASE("Queue: items need not be default-constructible", "[queues]") {
    run_test([]() -> Coro<> {
        corio::Queue<NoDefault> q(1);
        co_await q.put(NoDefault(1));
        auto putter = corio::create_task([&]() -> Coro<> { co_await q.put(NoDefault(2)); });
        co_await corio::sleep(0s);
        NoDefault a = co_await q.get();
        CHECK(a.value == 1);
        co_await putter;
        NoDefault b = co_await q.get();
        CHECK(b.value == 2);
        auto getter = corio::create_task([&]() -> Coro<int> {
            NoDefault n = co_await q.get();
            co_return n.value;
        });
        co_await corio::sleep(0s);
        q.put_nowait(NoDefault(3));
        int v = co_await getter;
        CHECK(v == 3);
    }());
}
