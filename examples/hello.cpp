// The smallest coroutine: print, sleep 1 s without blocking the loop, print again.
// corio::run plays asyncio.run. Mirrors python/hello.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

using namespace std::chrono_literals;

corio::Coro<> say_hello() {
    fmt::print("Привет!\n");
    co_await corio::sleep(1s);  // a non-blocking pause
    fmt::print("Пока!\n");
}

// Run the coroutine
int main() { corio::run(say_hello()); }
