// Tracing: RunOptions::trace_path (or CORIO_TRACE=file.json for any program) writes a Chrome
// trace-event file of the run. Open it in https://ui.perfetto.dev or chrome://tracing: one
// track per task, a slice per step named after the coroutine it resumed, instants where a
// task was created, cancelled and finished, and arrows from where a timer was set to the
// step it woke. Usage: trace [file.json] (default: corio-trace.json in the temp directory).
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <filesystem>
#include <string>

using namespace std::chrono_literals;

corio::Coro<> producer(corio::Queue<int>& q) {
    for (int i = 1; i <= 3; ++i) {
        co_await corio::sleep(20ms);
        co_await q.put(i);
    }
}

corio::Coro<int> consumer(corio::Queue<int>& q) {
    int sum = 0;
    for (int i = 0; i < 3; ++i) sum += co_await q.get();
    co_return sum;
}

corio::Coro<> dawdler() { co_await corio::sleep(10s); }

corio::Coro<> main_coro() {
    corio::Queue<int> q;
    auto p = corio::create_task(producer(q), "producer");
    auto c = corio::create_task(consumer(q), "consumer");
    auto d = corio::create_task(dawdler(), "dawdler");
    co_await p;
    fmt::print("sum {}\n", co_await c);
    d.cancel();
    try {
        co_await d;
    } catch (const corio::CancelledError&) {
        fmt::print("dawdler cancelled\n");
    }
}

int main(int argc, char** argv) {
    corio::RunOptions options;
    options.trace_path = argc > 1 ? argv[1] : (std::filesystem::temp_directory_path() / "corio-trace.json").string();
    corio::run(main_coro(), options);
    fmt::print(stderr, "trace written to {}: open it in https://ui.perfetto.dev\n", options.trace_path);
}
