// An AsyncGenerator is Python's async generator: it sleeps between values without blocking
// the loop; `while (auto v = co_await gen.next())` is `async for`. Mirrors python/async_for.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

using namespace std::chrono_literals;

corio::AsyncGenerator<int> async_generator() {
    for (int i = 0; i < 5; ++i) {
        co_await corio::sleep(500ms);
        co_yield i;
    }
}

corio::Coro<> main_coro() {
    auto gen = async_generator();
    while (auto value = co_await gen.next()) fmt::print("{}\n", *value);
}

int main() { corio::run(main_coro()); }
