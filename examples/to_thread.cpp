// to_thread runs a blocking function on a worker thread: the ticker keeps ticking while
// sync_function sleeps 1 s, then its result comes back. Mirrors python/to_thread.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <thread>

using namespace std::chrono_literals;

int sync_function(int arg1, int arg2) {
    std::this_thread::sleep_for(1s);  // a blocking call
    return arg1 + arg2;
}

corio::Coro<> ticker() {
    for (int i = 1; i < 4; ++i) {
        co_await corio::sleep(250ms);
        fmt::print("тик {}\n", i);
    }
}

corio::Coro<> main_coro() {
    auto ticks = corio::create_task(ticker());
    // sync_function blocks its own thread, not the event loop: the ticks go on meanwhile
    int result = co_await corio::to_thread(sync_function, 2, 3);
    fmt::print("Результат: {}\n", result);
    co_await ticks;
}

int main() { corio::run(main_coro()); }
