// Debug mode, as asyncio.run(main(), debug=True): the loop reports a step that blocks it
// for longer than slow_callback_duration (100 ms), a task whose exception nobody retrieved,
// and a coroutine that was created but never awaited. The reports go to the log handler
// (stderr here); stdout matches python/debug.py. CORIO_DEBUG=1 turns debug mode on for any
// program without changing it.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <chrono>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;

corio::Coro<> blocking_step() {
    std::this_thread::sleep_for(150ms);  // blocks the whole loop: reported as slow
    co_return;
}

corio::Coro<> fail() {
    co_await corio::sleep(10ms);
    throw std::runtime_error("nobody looked at me");
}

corio::Coro<int> compute() { co_return 42; }

corio::Coro<> main_coro() {
    fmt::print("debug mode is {}\n", corio::get_running_loop().get_debug() ? "on" : "off");
    co_await corio::create_task(blocking_step(), "blocker");
    corio::create_task(fail(), "forgotten");  // nobody awaits it or asks for its exception
    co_await corio::sleep(50ms);
    {
        auto c = compute();  // created, never awaited
    }
    fmt::print("done\n");
}

int main() {
    corio::RunOptions options;
    options.debug = true;
    corio::run(main_coro(), options);
}
