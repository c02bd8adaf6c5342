// Debug mode and the diagnostics that never lose an exception (asyncio's test_debug_*,
// test_tb_logger_*, test_task_repr, test_set_exc_handler_*, test_coroutine_never_yielded),
// the async call graph (Python 3.14's test_graph.py), and Chrome-trace tracing. Each
// diagnostic must appear when it should and stay silent when it should not.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "support.hpp"

using namespace std::chrono_literals;
using corio::Coro;
using corio::Task;
using corio_test::run_test;

namespace {

void busy_for(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
}

corio::RunOptions debug_options(std::chrono::milliseconds slow = 100ms) {
    corio::RunOptions o = corio_test::options();
    o.debug = true;
    o.slow_callback_duration = slow;
    return o;
}

using corio_test::EnvVar;

// The seconds of every "Executing ... took X seconds" line.
std::vector<double> slow_step_seconds(const corio_test::LogCapture& log) {
    std::vector<double> out;
    static const std::regex took(R"(took (\d+\.\d{3}) seconds$)");
    for (const auto& l : log.lines()) {
        std::smatch m;
        if (std::regex_search(l, m, took)) out.push_back(std::stod(m[1].str()));
    }
    return out;
}

Coro<> dbg_slow_step(std::chrono::milliseconds d) {
    busy_for(d);
    co_return;
}

Coro<> dbg_fail_soon(std::string what) {
    co_await corio::sleep(1ms);
    throw std::runtime_error(what);
}

Coro<int> dbg_never_awaited() { co_return 1; }

Coro<> dbg_forever() { co_await corio::sleep(1000s); }

Coro<> dbg_nap() { co_await corio::sleep(1ms); }

// A temporary file name, removed with the object.
struct TempPath {
    std::string path;
    explicit TempPath(const std::string& stem) {
        static int n = 0;
        path = (std::filesystem::temp_directory_path() /
                ("corio-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(++n) + ".json"))
                   .string();
        std::remove(path.c_str());
    }
    ~TempPath() { std::remove(path.c_str()); }
};

nlohmann::json read_json(const std::string& path) {
    std::ifstream in(path);
    REQUIRE(in.good());
    return nlohmann::json::parse(in);
}

}  // namespace

// --- slow steps ----------------------------------------------------------------------------

TEST_CASE("debug: a step longer than slow_callback_duration is logged with the task and where it was created",
          "[debug]") {
    corio_test::LogCapture log;
    corio::run(
        []() -> Coro<> {
            auto t = corio::create_task(dbg_slow_step(150ms), "slowpoke");
            co_await t;
        }(),
        debug_options());
    INFO(log.joined());
    REQUIRE(log.count("took") == 1);
    const std::string line = log.lines().at(0);
    // asyncio: "Executing <Task finished name='slowpoke' coro=<slow() done, defined at f:l> created at f:l> took 0.150 seconds"
    CHECK_THAT(line, Catch::Matches(R"(Executing <Task name='slowpoke' coro=dbg_slow_step\(\) defined at .*test_debug\.cpp:\d+ )"
                                    R"(created at .*test_debug\.cpp:\d+> took \d+\.\d{3} seconds)"));
    CHECK(slow_step_seconds(log).at(0) >= 0.150);
}

TEST_CASE("debug: a 50 ms step under the 100 ms threshold logs nothing", "[debug]") {
    corio_test::LogCapture log;
    corio::run(
        []() -> Coro<> {
            auto t = corio::create_task(dbg_slow_step(50ms), "brisk");
            co_await t;
        }(),
        debug_options());
    INFO(log.joined());
    // A loaded machine may stretch the step past the threshold; then the report is right.
    for (double s : slow_step_seconds(log)) CHECK(s > 0.100);
    if (slow_step_seconds(log).empty()) CHECK(log.lines().empty());
}

TEST_CASE("debug off: no slow step is logged, however slow", "[debug]") {
    EnvVar env("CORIO_DEBUG", nullptr);
    corio_test::LogCapture log;
    corio::RunOptions o = corio_test::options();
    o.slow_callback_duration = 10ms;
    corio::run(
        []() -> Coro<> {
            auto t = corio::create_task(dbg_slow_step(50ms), "slowpoke");
            co_await t;
        }(),
        o);
    CHECK(log.count("took") == 0);
}

TEST_CASE("debug: the main task's slow step is reported too, and get_debug() says debug", "[debug]") {
    corio_test::LogCapture log;
    bool debug = false;
    corio::run(
        [&]() -> Coro<> {
            debug = corio::get_running_loop().get_debug();
            busy_for(30ms);
            co_return;
        },
        debug_options(10ms));
    CHECK(debug);
    CHECK(log.count("Executing <Task name='Task-1'") == 1);
}

TEST_CASE("debug: create_task from another thread raises RuntimeError", "[debug][threads]") {
    std::string error;
    corio::run(
        [&]() -> Coro<> {
            corio::EventLoop& loop = corio::get_running_loop();
            std::thread t([&] {
                corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
                try {
                    loop.create_task(dbg_never_awaited());
                } catch (const corio::RuntimeError& e) {
                    error = e.what();
                }
            });
            t.join();
            co_return;
        }(),
        debug_options());
    CHECK_THAT(error, Catch::Contains("create_task") && Catch::Contains("thread"));
}

// --- exceptions nobody retrieved ------------------------------------------------------------

TEST_CASE("never retrieved: the exception handler gets asyncio's message, the exception and the live task",
          "[debug]") {
    corio_test::LogCapture log;
    int calls = 0;
    std::string message, what, name;
    bool task_done = false, same_exception = false;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            ++calls;
            message = ctx.message;
            try {
                if (ctx.exception) std::rethrow_exception(ctx.exception);
            } catch (const std::exception& e) {
                what = e.what();
            }
            REQUIRE(ctx.task);
            REQUIRE(*ctx.task);
            name = ctx.task->get_name();
            task_done = ctx.task->done();
            same_exception = ctx.task->exception() == ctx.exception;
        });
        corio::create_task(dbg_fail_soon("boom"), "forgotten");
        co_await corio::sleep(20ms);
    }());
    CHECK(calls == 1);
    CHECK(message == "Task exception was never retrieved");
    CHECK(what == "boom");
    CHECK(name == "forgotten");
    CHECK(task_done);
    CHECK(same_exception);
    CHECK(log.lines().empty());  // the handler took it
}

TEST_CASE("never retrieved: the default handler logs message, task and exception type and what()", "[debug]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        corio::create_task(dbg_fail_soon("boom"), "forgotten");
        co_await corio::sleep(20ms);
    }());
    INFO(log.joined());
    REQUIRE(log.count("exception was never retrieved") == 1);
    CHECK_THAT(log.joined(), Catch::Matches(R"(Task exception was never retrieved\n)"
                                            R"(task: <Task name='forgotten' coro=dbg_fail_soon\(\) defined at .*test_debug\.cpp:\d+>\n)"
                                            R"(exception: std::runtime_error: boom\n)"));
}

TEST_CASE("never retrieved: debug mode adds where the task was created", "[debug]") {
    corio_test::LogCapture log;
    corio::run(
        []() -> Coro<> {
            corio::create_task(dbg_fail_soon("boom"), "forgotten");
            co_await corio::sleep(20ms);
        }(),
        debug_options());
    INFO(log.joined());
    CHECK(log.count("exception was never retrieved") == 1);
    CHECK_THAT(log.joined(), Catch::Contains("created at ") && Catch::Contains("test_debug.cpp"));
}

TEST_CASE("never retrieved: not reported once the exception was awaited, asked for, or read through result()",
          "[debug]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        auto awaited = corio::create_task(dbg_fail_soon("awaited"));
        auto asked = corio::create_task(dbg_fail_soon("asked"));
        auto read = corio::create_task(dbg_fail_soon("read"));
        try {
            co_await awaited;
        } catch (const std::runtime_error&) {
        }
        co_await corio::sleep(10ms);
        CHECK(asked.exception());
        CHECK_THROWS_AS(read.result(), std::runtime_error);
    }());
    INFO(log.joined());
    CHECK(log.count("never retrieved") == 0);
}

TEST_CASE("never retrieved: a handler may keep the task; it is reported once, and freed later", "[debug]") {
    corio_test::LogCapture log;
    Task<> kept;
    int calls = 0;
    run_test([&]() -> Coro<> {
        corio::get_running_loop().set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
            ++calls;
            if (ctx.task) kept = *ctx.task;
        });
        corio::create_task(dbg_fail_soon("kept"), "keeper");
        co_await corio::sleep(20ms);
    }());
    CHECK(calls == 1);
    REQUIRE(kept);
    CHECK(kept.get_name() == "keeper");
    CHECK_THROWS_WITH(kept.result(), "kept");
    kept = Task<>{};
    CHECK(calls == 1);
    CHECK(log.lines().empty());
}

TEST_CASE("never retrieved: a plain Future is reported as a Future", "[debug]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        auto f = corio::get_running_loop().create_future<int>();
        f.set_exception(std::make_exception_ptr(std::runtime_error("lost future")));
        co_return;
    }());
    INFO(log.joined());
    CHECK(log.count("Future exception was never retrieved") == 1);
    CHECK(log.count("lost future") == 1);
}

// --- pending tasks at close, never-awaited coroutines ------------------------------------------

TEST_CASE("a task pending when its loop closes goes to the exception handler with the task", "[debug]") {
    corio_test::LogCapture log;
    corio::EventLoop loop(corio_test::make_backend());
    std::vector<std::string> messages;
    std::vector<std::string> names;
    loop.set_exception_handler([&](corio::EventLoop&, const corio::ExceptionContext& ctx) {
        messages.push_back(ctx.message);
        names.push_back(ctx.task && *ctx.task ? ctx.task->get_name() : "");
        CHECK_FALSE(ctx.exception);
    });
    auto stuck = loop.create_task(dbg_forever(), "stuck");
    auto quick = loop.create_task(dbg_nap());
    loop.run_until_complete(*quick.base());
    loop.close();
    CHECK(messages == std::vector<std::string>{"Task was destroyed but it is pending!"});
    CHECK(names == std::vector<std::string>{"stuck"});
    CHECK(log.lines().empty());
}

TEST_CASE("a task pending when its loop closes: the default handler's text", "[debug]") {
    corio_test::LogCapture log;
    {
        corio::EventLoop loop(corio_test::make_backend());
        auto stuck = loop.create_task(dbg_forever(), "stuck");
        auto quick = loop.create_task(dbg_nap());
        loop.run_until_complete(*quick.base());
    }
    INFO(log.joined());
    CHECK_THAT(log.joined(), Catch::Matches(R"(Task was destroyed but it is pending!\n)"
                                            R"(task: <Task name='stuck' coro=dbg_forever\(\) defined at .*test_debug\.cpp:\d+>\n)"));
}

TEST_CASE("a coroutine never awaited is reported as Python warns, with where it is defined", "[debug]") {
    corio_test::LogCapture log;
    { auto c = dbg_never_awaited(); }
    INFO(log.joined());
    REQUIRE(log.lines().size() == 1);
    CHECK_THAT(log.lines()[0],
               Catch::Matches(R"(.*test_debug\.cpp:\d+: RuntimeWarning: coroutine 'dbg_never_awaited' was never awaited)"));
}

TEST_CASE("a coroutine that was awaited, made a task or moved from is not reported", "[debug]") {
    corio_test::LogCapture log;
    run_test([]() -> Coro<> {
        auto c = dbg_never_awaited();
        co_await c;
        co_await corio::create_task(dbg_never_awaited());
        auto moved = dbg_never_awaited();
        auto target = std::move(moved);
        co_await target;
    }());
    CHECK(log.count("never awaited") == 0);
}

// --- the call graph ---------------------------------------------------------------------------

namespace {
Coro<> cg_leaf(corio::Event& ev) { co_await ev.wait(); }
Coro<> cg_middle(corio::Event& ev) { co_await cg_leaf(ev); }
Coro<int> cg_outer(corio::Event& ev) {
    co_await cg_middle(ev);
    co_return 7;
}
Coro<std::string> cg_here() {
    co_return corio::format_call_graph();
}
Coro<std::string> cg_nested_here() { co_return co_await cg_here(); }

std::vector<std::string> functions(const corio::CallGraph& g) {
    std::vector<std::string> out;
    for (const auto& f : g.call_stack) out.push_back(f.function);
    return out;
}

corio::AsyncGenerator<int> cg_gen(corio::Event& ev) {
    co_yield 1;
    co_await ev.wait();
    co_yield 2;
}
Coro<int> cg_consume(corio::Event& ev) {
    auto g = cg_gen(ev);
    int sum = 0;
    while (auto v = co_await g.next()) sum += *v;
    co_return sum;
}
}  // namespace

TEST_CASE("call graph: the coroutines a task is suspended in, innermost first, with file and line", "[debug][graph]") {
    run_test([]() -> Coro<> {
        corio::Event ev;
        auto t = corio::create_task(cg_outer(ev), "deep");
        co_await corio::sleep(0s);
        corio::CallGraph g = corio::capture_call_graph(t);
        CHECK(g.task == t);
        CHECK(functions(g) == std::vector<std::string>{"cg_leaf", "cg_middle", "cg_outer"});
        for (const auto& f : g.call_stack) {
            CHECK_THAT(f.file, Catch::EndsWith("test_debug.cpp"));
            CHECK(f.line > 0);
        }
        CHECK(g.awaited_by.empty());  // nobody awaits it yet
        ev.set();
        CHECK(co_await t == 7);
        CHECK(corio::capture_call_graph(t).call_stack.empty());  // done: no frames left
    }());
}

TEST_CASE("call graph: a coroutine returning moves the innermost frame back to its caller", "[debug][graph]") {
    run_test([]() -> Coro<> {
        corio::Event ev;
        auto t = corio::create_task([&]() -> Coro<> {
            co_await cg_middle(ev);  // returns once ev is set
            co_await corio::sleep(1000s);
        });
        co_await corio::sleep(0s);
        CHECK(functions(corio::capture_call_graph(t)).front() == "cg_leaf");
        ev.set();
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        // Suspended in the lambda itself now, under corio's owning wrapper.
        auto fs = functions(corio::capture_call_graph(t));
        REQUIRE(fs.size() == 2);
        CHECK(fs[0] == "operator()");
        CHECK(fs[1] == "call_owned");
        t.cancel();
        CHECK_THROWS_AS(co_await t, corio::CancelledError);
    }());
}

TEST_CASE("call graph: the current task, from inside nested coroutines (asyncio's format_call_graph())",
          "[debug][graph]") {
    std::string text = run_test([]() -> Coro<std::string> {
        auto t = corio::create_task(cg_nested_here(), "looker");
        co_return co_await t;
    }());
    INFO(text);
    // Python 3.14's layout, innermost first, then who awaits the task.
    CHECK_THAT(text, Catch::Matches(R"(\* Task\(name='looker', id=0x[0-9a-f]+\)\n)"
                                    R"(  \+ Call stack:\n)"
                                    R"(  \|   File '.*test_debug\.cpp', line \d+, in async cg_here\(\)\n)"
                                    R"(  \|   File '.*test_debug\.cpp', line \d+, in async cg_nested_here\(\)\n)"
                                    R"(  \+ Awaited by:\n)"
                                    R"(    \* Task\(name='Task-1', id=0x[0-9a-f]+\)\n)"
                                    R"(      \+ Call stack:\n)"
                                    R"(      \|   File '.*test_debug\.cpp', line \d+, in async operator\(\)\(\)\n)"));
    CHECK(corio::format_call_graph().empty());  // no current task here
}

TEST_CASE("call graph: coroutine names lose gcc's template arguments, operators keep their symbols", "[debug][graph]") {
    using corio::detail::coroutine_name;
    CHECK(coroutine_name("call_owned<main()::<lambda()> >") == "call_owned");
    CHECK(coroutine_name("fetch") == "fetch");
    CHECK(coroutine_name("operator()") == "operator()");
    CHECK(coroutine_name("operator<") == "operator<");
    CHECK(coroutine_name("operator<<") == "operator<<");
    CHECK(coroutine_name("run<int>") == "run");
}

TEST_CASE("call graph: awaited by the tasks that await it, through gather, TaskGroup and shield", "[debug][graph]") {
    run_test([]() -> Coro<> {
        corio::Event ev;
        auto leaf = corio::create_task(cg_outer(ev), "leaf");
        auto direct = corio::create_task([&]() -> Coro<> { co_await leaf; }, "direct");
        auto gatherer = corio::create_task([&]() -> Coro<> { co_await corio::gather(leaf); }, "gatherer");
        auto shielder = corio::create_task([&]() -> Coro<> { co_await corio::shield(leaf); }, "shielder");
        auto grouper = corio::create_task(
            [&]() -> Coro<> {
                co_await corio::task_group([&](corio::TaskGroup& tg) -> Coro<> {
                    tg.create_task(cg_middle(ev), "child");
                    co_return;
                });
            },
            "grouper");
        co_await corio::sleep(0s);
        co_await corio::sleep(0s);
        corio::CallGraph g = corio::capture_call_graph(leaf);
        std::set<std::string> awaiters;
        for (const auto& a : g.awaited_by) awaiters.insert(a.task.get_name());
        CHECK(awaiters == std::set<std::string>{"direct", "gatherer", "shielder"});

        std::string all = corio::format_all_call_graphs();
        INFO(all);
        CHECK_THAT(all, Catch::Contains("(T) Task-1"));
        CHECK_THAT(all, Catch::Contains("(T) grouper"));
        // The TaskGroup's child hangs under its parent, the leaf under each of its awaiters.
        const auto grouper_at = all.find("(T) grouper");
        const auto child_at = all.find("(T) child");
        CHECK(child_at != std::string::npos);
        CHECK(child_at > grouper_at);
        std::size_t leaf_count = 0;
        for (auto p = all.find("(T) leaf"); p != std::string::npos; p = all.find("(T) leaf", p + 1)) ++leaf_count;
        CHECK(leaf_count == 3);
        CHECK_THAT(all, Catch::Contains("cg_leaf() ") && Catch::Contains("test_debug.cpp:"));
        ev.set();
        co_await corio::gather(direct, gatherer, shielder, grouper);
    }());
}

TEST_CASE("call graph: the tree of every task, outermost coroutine first", "[debug][graph]") {
    run_test([]() -> Coro<> {
        corio::Event ev;
        auto worker = corio::create_task(cg_outer(ev), "worker");
        auto waiter = corio::create_task([&]() -> Coro<int> { co_return co_await worker; }, "waiter");
        co_await corio::sleep(0s);
        const std::string all = corio::format_all_call_graphs();
        INFO(all);
        const std::regex tree(
            "(^|\\n)(├|└)── \\(T\\) waiter\\n"
            "(│| )   └──  call_owned\\(\\) [^\\n]*task\\.hpp:\\d+\\n"
            "(│| )       └──  operator\\(\\)\\(\\) [^\\n]*test_debug\\.cpp:\\d+\\n"
            "(│| )           └── \\(T\\) worker\\n"
            "(│| )               └──  cg_outer\\(\\) [^\\n]*test_debug\\.cpp:\\d+\\n"
            "(│| )                   └──  cg_middle\\(\\) [^\\n]*\\n"
            "(│| )                       └──  cg_leaf\\(\\) [^\\n]*\\n");
        CHECK(std::regex_search(all, tree));
        ev.set();
        CHECK(co_await waiter == 7);
    }());
}

TEST_CASE("call graph: two tasks awaiting each other (a deadlock) are drawn, the cycle cut", "[debug][graph]") {
    corio_test::LogCapture log;  // closing the loop reports both as destroyed while pending
    corio::EventLoop loop(corio_test::make_backend());
    auto holder_a = std::make_shared<Task<>>();
    auto holder_b = std::make_shared<Task<>>();
    *holder_a = loop.create_task(
        [](std::shared_ptr<Task<>> other) -> Coro<> {
            co_await corio::sleep(0s);
            co_await *other;
        }(holder_b),
        "A");
    *holder_b = loop.create_task([](std::shared_ptr<Task<>> other) -> Coro<> { co_await *other; }(holder_a), "B");
    auto settle = loop.create_task(dbg_nap());
    loop.run_until_complete(*settle.base());
    const std::string all = corio::format_all_call_graphs(loop);
    INFO(all);
    CHECK_THAT(all, Catch::Contains("(T) A\n") && Catch::Contains("(T) B\n"));
    CHECK_THAT(all, Catch::Contains("(T) A (awaits itself through the tasks above: a deadlock)"));
    CHECK(corio::capture_call_graph(*holder_a).awaited_by.at(0).task.get_name() == "B");
    CHECK(corio::capture_call_graph(*holder_a).awaited_by.at(0).awaited_by.empty());  // cut where it closes
    holder_a.reset();
    holder_b.reset();
    loop.close();
}

TEST_CASE("call graph: a task suspended inside an async generator shows the generator's frame", "[debug][graph]") {
    run_test([]() -> Coro<> {
        corio::Event ev;
        auto t = corio::create_task(cg_consume(ev), "consumer");
        co_await corio::sleep(0s);
        CHECK(functions(corio::capture_call_graph(t)) == std::vector<std::string>{"cg_gen", "cg_consume"});
        ev.set();
        CHECK(co_await t == 3);
    }());
}

TEST_CASE("call graph: every corio promise starts with PromiseBase, so a frame address finds it", "[debug][graph]") {
    // The assumption behind promise_at(): checked for each kind of promise.
    auto check = [](auto& promise) {
        const void* whole = &promise;
        const void* base = static_cast<const corio::detail::PromiseBase*>(&promise);
        CHECK(whole == base);
    };
    auto c = dbg_never_awaited();
    auto h = c.release();
    check(h.promise());
    CHECK(&corio::detail::promise_at(h.address()) == static_cast<corio::detail::PromiseBase*>(&h.promise()));
    h.destroy();
    corio::Event ev;
    auto g = cg_gen(ev);
    // The generator's only member is its handle (there is no accessor for it).
    static_assert(sizeof(g) == sizeof(void*));
    auto gh = corio::detail::coroutine_handle<corio::AsyncGenerator<int>::promise_type>::from_address(
        *reinterpret_cast<void**>(&g));
    check(gh.promise());
    CHECK(&corio::detail::promise_at(gh.address()) == static_cast<corio::detail::PromiseBase*>(&gh.promise()));
}

namespace {
struct alignas(64) Wide {
    int v = 0;
};
Coro<Wide> cg_wide() {
    Wide w;
    w.v = 42;
    co_return w;
}
}  // namespace

TEST_CASE("an over-aligned result still works (kept off the promise)", "[debug][graph]") {
    int v = run_test([]() -> Coro<int> {
        Wide w = co_await cg_wide();
        co_return w.v;
    }());
    CHECK(v == 42);
}

// --- tracing ----------------------------------------------------------------------------------

namespace {
Coro<> tr_worker(int steps) {
    for (int i = 0; i < steps; ++i) co_await corio::sleep(1ms);
}

struct TraceSummary {
    std::map<std::int64_t, std::string> track_names;     // tid -> last thread_name
    std::map<std::int64_t, std::vector<nlohmann::json>> steps;
    std::map<std::int64_t, std::vector<std::string>> instants;
    std::map<std::int64_t, std::vector<nlohmann::json>> flow_starts, flow_ends;  // by id
};

TraceSummary summarize(const nlohmann::json& trace) {
    TraceSummary s;
    for (const auto& e : trace) {
        const std::string ph = e.at("ph");
        const std::int64_t tid = e.at("tid");
        if (ph == "M" && e.at("name") == "thread_name") s.track_names[tid] = e.at("args").at("name");
        if (ph == "X" && e.at("cat") == "corio" && tid != 0) s.steps[tid].push_back(e);
        if (ph == "i") s.instants[tid].push_back(e.at("name"));
        if (ph == "s") s.flow_starts[e.at("id")].push_back(e);
        if (ph == "f") s.flow_ends[e.at("id")].push_back(e);
    }
    return s;
}

std::int64_t track_named(const TraceSummary& s, const std::string& name) {
    for (const auto& [tid, n] : s.track_names)
        if (n == name) return tid;
    return -1;
}
}  // namespace

TEST_CASE("trace: a Chrome trace-event file with a named track per task and its steps in order", "[debug][trace]") {
    TempPath file("trace");
    corio::RunOptions o = corio_test::options();
    o.trace_path = file.path;
    corio::run(
        []() -> Coro<> {
            CHECK(corio::get_running_loop().is_tracing());
            auto a = corio::create_task(tr_worker(3), "worker-a");
            auto b = corio::create_task(tr_worker(2), "worker-b");
            co_await corio::gather(a, b);
        }(),
        o);
    const nlohmann::json trace = read_json(file.path);
    REQUIRE(trace.is_array());
    const TraceSummary s = summarize(trace);
    const std::int64_t main_tid = track_named(s, "Task-1");
    const std::int64_t a = track_named(s, "worker-a");
    const std::int64_t b = track_named(s, "worker-b");
    REQUIRE(main_tid > 0);
    REQUIRE(a > 0);
    REQUIRE(b > 0);
    // worker-a: the first step, one per sleep: 4 steps; worker-b: 3.
    REQUIRE(s.steps.at(a).size() == 4);
    REQUIRE(s.steps.at(b).size() == 3);
    for (auto tid : {a, b}) {
        const auto& steps = s.steps.at(tid);
        for (std::size_t i = 0; i < steps.size(); ++i) {
            CHECK(steps[i].at("name") == "tr_worker()");
            CHECK(steps[i].at("args").at("step") == i + 1);
            CHECK(steps[i].at("dur").get<double>() >= 0);
            if (i > 0) CHECK(steps[i].at("ts").get<double>() >= steps[i - 1].at("ts").get<double>());
        }
        CHECK(s.instants.at(tid) == std::vector<std::string>{"created", "done"});
    }
    CHECK(s.steps.at(main_tid).front().at("name") == "operator()()");
}

TEST_CASE("trace: creation, cancellation and completion instants, timers and create_task as flows",
          "[debug][trace]") {
    TempPath file("trace");
    corio::RunOptions o = corio_test::options();
    o.trace_path = file.path;
    corio::run(
        []() -> Coro<> {
            auto sleeper = corio::create_task(dbg_forever(), "sleeper");
            auto failing = corio::create_task(dbg_fail_soon("traced failure"), "failing");
            co_await corio::sleep(5ms);
            sleeper.cancel("enough");
            co_await corio::gather(corio::return_exceptions, sleeper, failing);
        }(),
        o);
    const nlohmann::json trace = read_json(file.path);
    const TraceSummary s = summarize(trace);
    const std::int64_t sleeper = track_named(s, "sleeper");
    const std::int64_t failing = track_named(s, "failing");
    REQUIRE(sleeper > 0);
    REQUIRE(failing > 0);
    CHECK(s.instants.at(sleeper) == std::vector<std::string>{"created", "cancel", "done"});
    for (const auto& e : trace) {
        if (e.at("ph") != "i" || e.at("name") != "done") continue;
        if (e.at("tid") == sleeper) CHECK(e.at("args").at("state") == "cancelled");
        if (e.at("tid") == failing) {
            CHECK(e.at("args").at("state") == "failed");
            CHECK(e.at("args").at("exception") == "traced failure");
        }
        if (e.at("tid") == sleeper || e.at("tid") == failing) CHECK(e.at("s") == "t");
    }
    for (const auto& e : trace)
        if (e.at("ph") == "i" && e.at("name") == "created" && e.at("tid") == failing) {
            CHECK(e.at("args").at("coro") == "dbg_fail_soon()");
            CHECK_THAT(e.at("args").at("created at").get<std::string>(), Catch::Contains("test_debug.cpp"));
        }

    // Every flow that ends starts somewhere, at a slice of its own track, and ends at the
    // start of a slice of the woken track (bound to it).
    std::map<std::int64_t, std::set<double>> slice_starts;
    for (const auto& e : trace)
        if (e.at("ph") == "X") slice_starts[e.at("tid")].insert(e.at("ts").get<double>());
    std::size_t timer_flows_into_failing = 0, spawn_flows = 0;
    for (const auto& [id, ends] : s.flow_ends) {
        REQUIRE(ends.size() == 1);
        REQUIRE(s.flow_starts.count(id) == 1);
        const auto& start = s.flow_starts.at(id).at(0);
        const auto& end = ends[0];
        CHECK(end.at("bp") == "e");
        CHECK(start.at("name") == end.at("name"));
        CHECK(start.at("cat") == end.at("cat"));
        CHECK(slice_starts[end.at("tid")].count(end.at("ts").get<double>()) == 1);
        CHECK(slice_starts[start.at("tid")].count(start.at("ts").get<double>()) == 1);
        CHECK(start.at("ts").get<double>() <= end.at("ts").get<double>());
        if (end.at("tid") == failing && start.at("tid") == failing) ++timer_flows_into_failing;  // its sleep(1ms)
        if (end.at("tid") == failing && start.at("tid") != failing) ++spawn_flows;               // create_task
    }
    CHECK(timer_flows_into_failing == 1);
    CHECK(spawn_flows == 1);
}

TEST_CASE("trace: CORIO_TRACE=file.json turns tracing on", "[debug][trace]") {
    TempPath file("env-trace");
    {
        EnvVar env("CORIO_TRACE", file.path.c_str());
        bool tracing = false;
        run_test([&]() -> Coro<> {
            tracing = corio::get_running_loop().is_tracing();
            co_await corio::sleep(1ms);
        }());
        CHECK(tracing);
    }
    const nlohmann::json trace = read_json(file.path);
    CHECK(track_named(summarize(trace), "Task-1") > 0);
}

TEST_CASE("trace: off by default; an unwritable path is a RuntimeError", "[debug][trace]") {
    EnvVar env("CORIO_TRACE", nullptr);
    bool tracing = true;
    run_test([&]() -> Coro<> {
        tracing = corio::get_running_loop().is_tracing();
        co_return;
    }());
    CHECK_FALSE(tracing);
    corio::RunOptions o = corio_test::options();
    o.trace_path = "/nonexistent-dir/for/sure/trace.json";
    corio_test::LogCapture log;  // the refused coroutine is reported as never awaited
    CHECK_THROWS_AS(corio::run([]() -> Coro<> { co_return; }, o), corio::RuntimeError);
}

TEST_CASE("trace: start_tracing and stop_tracing on a loop driven by hand; callbacks get their track",
          "[debug][trace]") {
    TempPath file("manual");
    {
        corio::EventLoop loop(corio_test::make_backend());
        auto early = loop.create_task(tr_worker(2), "early");  // before tracing: named when it starts
        loop.start_tracing(file.path);
        CHECK(loop.is_tracing());
        bool called = false;
        loop.call_later(1ms, [&] { called = true; });
        loop.run_until_complete(*early.base());
        loop.stop_tracing();
        CHECK_FALSE(loop.is_tracing());
        CHECK(called);
    }
    const nlohmann::json trace = read_json(file.path);
    const TraceSummary s = summarize(trace);
    CHECK(s.track_names.at(0) == "callbacks");
    CHECK(track_named(s, "early") > 0);
    bool callback_slice = false;
    for (const auto& e : trace)
        if (e.at("ph") == "X" && e.at("tid") == 0 && e.at("name") == "callback") callback_slice = true;
    CHECK(callback_slice);
}
