// async_with(manager, body): Python's `async with` (PEP 492's __aenter__/__aexit__ and the
// contextlib tests' expectations): the seed's AsyncDatabase, aenter's value reaching the body,
// aexit seeing how the body ended (normally, by an exception, by cancellation), aexit
// swallowing an exception, an aenter failure skipping body and aexit, the body's value, and
// manager lifetimes (an lvalue used in place, a temporary moved in and destroyed once).
//
// g++ 12 destroys an *aggregate* temporary in a full-expression containing co_await twice
// (see DESIGN.md), so aggregate managers are bound to a named local first; the managers
// passed as temporaries below all have a user-provided constructor.
#include <catch2/catch.hpp>

#include <exception>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio_test::run_test;

namespace {

// How an aexit saw the body end.
std::string describe(const std::exception_ptr& e) {
    if (!e) return "none";
    try {
        std::rethrow_exception(e);
    } catch (const corio::CancelledError& c) {
        return std::string("CancelledError: ") + c.what();
    } catch (const std::exception& x) {
        return std::string("exception: ") + x.what();
    } catch (...) {
        return "unknown";
    }
}

// The seed's AsyncDatabase: aenter connects, aexit disconnects, the body queries.
class AsyncDatabase {
public:
    explicit AsyncDatabase(std::vector<std::string>& log) : log_(&log) {}

    Coro<> aenter() {
        co_await connect();
        log_->push_back("aenter");
    }
    Coro<> aexit(std::exception_ptr e) {
        log_->push_back("aexit(" + describe(e) + ")");
        co_await disconnect();
    }
    Coro<std::string> query(std::string sql) {
        if (!connected_) throw std::logic_error("query on a closed connection");
        co_await corio::sleep(10ms);
        log_->push_back("query " + sql);
        co_return "rows of " + sql;
    }
    bool connected() const noexcept { return connected_; }

private:
    Coro<> connect() {
        co_await corio::sleep(10ms);
        connected_ = true;
        log_->push_back("connected");
    }
    Coro<> disconnect() {
        co_await corio::sleep(10ms);
        connected_ = false;
        log_->push_back("disconnected");
    }

    std::vector<std::string>* log_;
    bool connected_ = false;
};

// A manager whose aenter gives a value and whose aexit records what it saw.
class Session {
public:
    Session(std::string name, std::vector<std::string>& log) : name_(std::move(name)), log_(&log) {}
    Coro<std::string> aenter() {
        co_await corio::sleep(1ms);
        log_->push_back("enter " + name_);
        co_return "session:" + name_;
    }
    Coro<> aexit(std::exception_ptr e) {
        co_await corio::sleep(1ms);
        log_->push_back("exit " + describe(e));
    }

private:
    std::string name_;
    std::vector<std::string>* log_;
};

// aexit returns Coro<bool>: true swallows the body's exception.
class Suppressor {
public:
    Suppressor(bool swallow, std::vector<std::string>& log) : swallow_(swallow), log_(&log) {}
    Coro<> aenter() { co_return; }
    Coro<bool> aexit(std::exception_ptr e) {
        co_await corio::sleep(0s);
        log_->push_back("exit " + describe(e));
        co_return swallow_;
    }

private:
    bool swallow_;
    std::vector<std::string>* log_;
};

}  // namespace

TEST_CASE("the seed's AsyncDatabase: aenter connects, the body queries, aexit disconnects", "[async_with]") {
    std::vector<std::string> log;
    double took = 0;
    run_test([&]() -> Coro<> {
        auto& loop = corio::get_running_loop();
        const double start = loop.time();
        co_await corio::async_with(AsyncDatabase(log), [&](AsyncDatabase& db) -> Coro<> {
            CHECK(db.connected());
            auto rows = co_await db.query("SELECT * FROM users");
            CHECK(rows == "rows of SELECT * FROM users");
        });
        took = loop.time() - start;
    }());
    CHECK(log == std::vector<std::string>{"connected", "aenter", "query SELECT * FROM users", "aexit(none)",
                                          "disconnected"});
    if (corio_test::virtual_time()) CHECK(took == Approx(0.03));
}

TEST_CASE("aenter's value goes to the body", "[async_with]") {
    std::vector<std::string> log;
    std::string seen;
    run_test([&]() -> Coro<> {
        co_await corio::async_with(Session("db", log), [&](std::string& s) -> Coro<> {
            seen = s;
            s += " (used)";  // a reference to the value aenter gave, kept for the block
            co_await corio::sleep(1ms);
            CHECK(s == "session:db (used)");
        });
    }());
    CHECK(seen == "session:db");
    CHECK(log == std::vector<std::string>{"enter db", "exit none"});
}

TEST_CASE("the body's return value comes back from async_with", "[async_with]") {
    std::vector<std::string> log;
    int n = 0;
    std::string s;
    run_test([&]() -> Coro<> {
        n = co_await corio::async_with(AsyncDatabase(log), [](AsyncDatabase& db) -> Coro<int> {
            co_await db.query("SELECT count(*)");
            co_return 42;
        });
        s = co_await corio::async_with(Session("x", log), [](std::string& v) -> Coro<std::string> {
            co_await corio::sleep(1ms);
            co_return v + "!";
        });
    }());
    CHECK(n == 42);
    CHECK(s == "session:x!");
}

TEST_CASE("aexit gets an empty exception_ptr after a normal end and the exception after a failure",
          "[async_with]") {
    std::vector<std::string> log;
    bool rethrown = false;
    run_test([&]() -> Coro<> {
        co_await corio::async_with(Session("ok", log), [](std::string&) -> Coro<> { co_await corio::sleep(1ms); });
        try {
            co_await corio::async_with(Session("bad", log), [](std::string&) -> Coro<> {
                co_await corio::sleep(1ms);
                throw std::runtime_error("body failed");
            });
        } catch (const std::runtime_error& e) {
            rethrown = std::string(e.what()) == "body failed";
        }
    }());
    CHECK(rethrown);
    CHECK(log == std::vector<std::string>{"enter ok", "exit none", "enter bad", "exit exception: body failed"});
}

TEST_CASE("aexit runs and sees CancelledError when the task is cancelled inside the body", "[async_with]") {
    std::vector<std::string> log;
    bool body_finished = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            co_await corio::async_with(AsyncDatabase(log), [&](AsyncDatabase& db) -> Coro<> {
                co_await db.query("SELECT 1");
                co_await corio::sleep(10s);
                body_finished = true;
            });
        });
        co_await corio::sleep(100ms);
        CHECK(t.cancel("shutting down"));
        CHECK_THROWS_AS(co_await t, corio::CancelledError);
        CHECK(t.cancelled());
    }());
    CHECK_FALSE(body_finished);
    // aexit ran, saw the cancellation, and its own await (disconnect) completed.
    CHECK(log == std::vector<std::string>{"connected", "aenter", "query SELECT 1", "aexit(CancelledError: shutting down)",
                                          "disconnected"});
}

TEST_CASE("aexit runs when run() cancels a task still inside the body", "[async_with]") {
    std::vector<std::string> log;
    run_test([&]() -> Coro<> {
        corio::create_task([&]() -> Coro<> {
            co_await corio::async_with(AsyncDatabase(log), [&](AsyncDatabase&) -> Coro<> { co_await corio::sleep(10s); });
        });
        co_await corio::sleep(50ms);  // main ends: run() cancels the task
    }());
    REQUIRE(log.size() == 4);
    CHECK(log[2].rfind("aexit(CancelledError", 0) == 0);
    CHECK(log[3] == "disconnected");
}

TEST_CASE("cancellation during aenter skips the body and aexit", "[async_with]") {
    std::vector<std::string> log;
    bool body_ran = false;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<> {
            co_await corio::async_with(AsyncDatabase(log), [&](AsyncDatabase&) -> Coro<> {
                body_ran = true;
                co_return;
            });
        });
        co_await corio::sleep(5ms);  // inside connect()'s 10 ms sleep
        t.cancel();
        CHECK_THROWS_AS(co_await t, corio::CancelledError);
    }());
    CHECK_FALSE(body_ran);
    CHECK(log.empty());
}

TEST_CASE("an aexit returning true swallows a cancellation too", "[async_with]") {
    // As in asyncio: a task whose `async with` suppresses the CancelledError goes on and
    // finishes normally.
    std::vector<std::string> log;
    std::optional<int> from_with = 0;
    int result = 0;
    bool task_cancelled = true;
    run_test([&]() -> Coro<> {
        auto t = corio::create_task([&]() -> Coro<int> {
            from_with = co_await corio::async_with(Suppressor(true, log), [](Suppressor&) -> Coro<int> {
                co_await corio::sleep(10s);
                co_return 1;
            });
            co_await corio::sleep(1ms);  // a later await works normally
            co_return 2;
        });
        co_await corio::sleep(10ms);
        t.cancel("go away");
        result = co_await t;
        task_cancelled = t.cancelled();
    }());
    CHECK_FALSE(from_with.has_value());
    CHECK(result == 2);
    CHECK_FALSE(task_cancelled);
    CHECK(log == std::vector<std::string>{"exit CancelledError: go away"});
}

TEST_CASE("an aexit returning true swallows the body's exception", "[async_with]") {
    std::vector<std::string> log;
    std::optional<int> swallowed = 0, kept;
    bool void_body_done = false;
    bool not_swallowed = false;
    run_test([&]() -> Coro<> {
        // A body with a value: async_with gives std::optional, empty when the exception was swallowed.
        swallowed = co_await corio::async_with(Suppressor(true, log), [](Suppressor&) -> Coro<int> {
            co_await corio::sleep(1ms);
            throw std::runtime_error("swallowed");
        });
        kept = co_await corio::async_with(Suppressor(true, log), [](Suppressor&) -> Coro<int> { co_return 5; });
        // A void body.
        co_await corio::async_with(Suppressor(true, log), [](Suppressor&) -> Coro<> {
            throw std::runtime_error("also swallowed");
            co_return;
        });
        void_body_done = true;
        // false does not swallow.
        try {
            co_await corio::async_with(Suppressor(false, log), [](Suppressor&) -> Coro<int> {
                throw std::runtime_error("propagates");
                co_return 1;
            });
        } catch (const std::runtime_error& e) {
            not_swallowed = std::string(e.what()) == "propagates";
        }
    }());
    CHECK_FALSE(swallowed.has_value());
    REQUIRE(kept.has_value());
    CHECK(*kept == 5);
    CHECK(void_body_done);
    CHECK(not_swallowed);
    CHECK(log == std::vector<std::string>{"exit exception: swallowed", "exit none", "exit exception: also swallowed",
                                          "exit exception: propagates"});
}

TEST_CASE("an exception from aenter skips the body and aexit", "[async_with]") {
    struct FailingEnter {
        std::vector<std::string>* log;
        explicit FailingEnter(std::vector<std::string>& l) : log(&l) {}
        Coro<> aenter() {
            co_await corio::sleep(1ms);
            throw std::runtime_error("cannot connect");
        }
        Coro<> aexit(std::exception_ptr) {
            log->push_back("aexit");
            co_return;
        }
    };
    std::vector<std::string> log;
    bool body_ran = false;
    run_test([&]() -> Coro<> {
        CHECK_THROWS_WITH(co_await corio::async_with(FailingEnter(log),
                                                     [&](FailingEnter&) -> Coro<> {
                                                         body_ran = true;
                                                         co_return;
                                                     }),
                          "cannot connect");
    }());
    CHECK_FALSE(body_ran);
    CHECK(log.empty());
}

TEST_CASE("an exception from aexit replaces the body's", "[async_with]") {
    struct FailingExit {
        explicit FailingExit(int) {}
        Coro<> aenter() { co_return; }
        Coro<> aexit(std::exception_ptr) {
            co_await corio::sleep(0s);
            throw corio::ValueError("from aexit");
        }
    };
    run_test([&]() -> Coro<> {
        CHECK_THROWS_AS(co_await corio::async_with(FailingExit(0),
                                                   [](FailingExit&) -> Coro<> {
                                                       throw std::runtime_error("from body");
                                                       co_return;
                                                   }),
                        corio::ValueError);
        CHECK_THROWS_AS(co_await corio::async_with(FailingExit(0), [](FailingExit&) -> Coro<> { co_return; }),
                        corio::ValueError);
    }());
}

TEST_CASE("a manager passed as an lvalue is used in place", "[async_with]") {
    // Neither copyable nor movable: this compiles only if async_with keeps a reference.
    struct Pinned {
        int entered = 0, exited = 0;
        Pinned() = default;
        Pinned(const Pinned&) = delete;
        Pinned& operator=(const Pinned&) = delete;
        Coro<> aenter() {
            ++entered;
            co_return;
        }
        Coro<> aexit(std::exception_ptr) {
            ++exited;
            co_return;
        }
    };
    Pinned m;
    const Pinned* in_body = nullptr;
    std::vector<std::string> log;
    AsyncDatabase db(log);
    const AsyncDatabase* db_in_body = nullptr;
    run_test([&]() -> Coro<> {
        co_await corio::async_with(m, [&](Pinned& p) -> Coro<> {
            in_body = &p;
            CHECK(p.entered == 1);
            co_return;
        });
        co_await corio::async_with(db, [&](AsyncDatabase& d) -> Coro<> {
            db_in_body = &d;
            co_await d.query("q");
        });
    }());
    CHECK(in_body == &m);
    CHECK(m.entered == 1);
    CHECK(m.exited == 1);
    CHECK(db_in_body == &db);
    CHECK_FALSE(db.connected());
}

TEST_CASE("async_with calls nest and unwind in order", "[async_with]") {
    std::vector<std::string> log;
    bool caught = false;
    run_test([&]() -> Coro<> {
        try {
            co_await corio::async_with(Session("outer", log), [&](std::string&) -> Coro<> {
                co_await corio::async_with(Session("inner", log), [&](std::string&) -> Coro<> {
                    co_await corio::sleep(1ms);
                    throw std::runtime_error("deep");
                });
            });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "deep";
        }
    }());
    CHECK(caught);
    CHECK(log == std::vector<std::string>{"enter outer", "enter inner", "exit exception: deep", "exit exception: deep"});
}

// --- manager lifetimes and the g++ 12 aggregate-temporary bug -------------------------------------

namespace {

// Every instance registers itself; a destructor running twice on one object, or on an
// object never constructed, is recorded as an error.
struct Registry {
    std::set<const void*> live;
    int constructed = 0;
    int destroyed = 0;
    int errors = 0;
    void add(const void* p) {
        ++constructed;
        if (!live.insert(p).second) ++errors;
    }
    void remove(const void* p) {
        ++destroyed;
        if (live.erase(p) != 1) ++errors;
    }
};

struct Tracked {
    Registry* reg;
    explicit Tracked(Registry& r) : reg(&r) { reg->add(this); }
    Tracked(const Tracked& o) : reg(o.reg) { reg->add(this); }
    Tracked(Tracked&& o) noexcept : reg(o.reg) { reg->add(this); }
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { reg->remove(this); }
};

// An aggregate manager holding a std::string: the shape that g++ 12 destroys twice when it is
// a temporary in a full-expression containing co_await.
struct AggregateManager {
    Tracked tracked;
    std::string name;
    std::vector<std::string>* log;
    Coro<> aenter() {
        co_await corio::sleep(0s);
        log->push_back("enter " + name);
    }
    Coro<> aexit(std::exception_ptr) {
        co_await corio::sleep(0s);
        log->push_back("exit " + name);
    }
};

// The same with a user-provided constructor: safe to pass as a temporary.
class ConstructedManager {
public:
    ConstructedManager(Registry& reg, std::string name, std::vector<std::string>& log)
        : tracked_(reg), name_(std::move(name)), log_(&log) {}
    Coro<> aenter() {
        co_await corio::sleep(0s);
        log_->push_back("enter " + name_);
    }
    Coro<> aexit(std::exception_ptr) {
        co_await corio::sleep(0s);
        log_->push_back("exit " + name_);
    }
    const std::string& name() const { return name_; }

private:
    Tracked tracked_;
    std::string name_;
    std::vector<std::string>* log_;
};

}  // namespace

TEST_CASE("an aggregate manager bound to a named local first is destroyed once", "[async_with]") {
    // g++ 12 bug (DESIGN.md): `co_await corio::async_with(AggregateManager{..., std::string}, ...)`
    // destroys the aggregate temporary twice and corrupts the heap. Do NOT write that form:
    // bind the aggregate to a named local and move it in (or pass it as an lvalue).
    Registry reg;
    std::vector<std::string> log;
    std::string seen;
    run_test([&]() -> Coro<> {
        AggregateManager mgr{Tracked(reg), std::string("a name long enough to live on the heap"), &log};
        co_await corio::async_with(std::move(mgr), [&](AggregateManager& m) -> Coro<> {
            seen = m.name;
            co_await corio::sleep(1ms);
        });
        AggregateManager in_place{Tracked(reg), std::string("in place"), &log};
        co_await corio::async_with(in_place, [&](AggregateManager& m) -> Coro<> {
            CHECK(&m == &in_place);
            co_return;
        });
    }());
    CHECK(seen == "a name long enough to live on the heap");
    CHECK(log == std::vector<std::string>{"enter a name long enough to live on the heap",
                                          "exit a name long enough to live on the heap", "enter in place",
                                          "exit in place"});
    CHECK(reg.errors == 0);
    CHECK(reg.live.empty());
    CHECK(reg.constructed == reg.destroyed);
}

TEST_CASE("a manager with a user-provided constructor passed as a temporary is destroyed exactly once",
          "[async_with]") {
    Registry reg;
    std::vector<std::string> log;
    std::string seen;
    int live_in_body = -1;
    run_test([&]() -> Coro<> {
        co_await corio::async_with(ConstructedManager(reg, "temporary manager with a long heap name", log),
                                   [&](ConstructedManager& m) -> Coro<> {
                                       seen = m.name();
                                       live_in_body = static_cast<int>(reg.live.size());
                                       co_await corio::sleep(1ms);
                                   });
        CHECK(reg.live.empty());  // gone by the end of the co_await's full-expression
    }());
    CHECK(seen == "temporary manager with a long heap name");
    CHECK(live_in_body >= 1);
    CHECK(log == std::vector<std::string>{"enter temporary manager with a long heap name",
                                          "exit temporary manager with a long heap name"});
    CHECK(reg.errors == 0);
    CHECK(reg.live.empty());
    CHECK(reg.constructed == reg.destroyed);
    CHECK(reg.constructed <= 3);  // the temporary and its moves into async_with's frame
}
