// wait_for gives up on an awaitable after a timeout: it cancels the work and throws
// corio::TimeoutError, so this ends after 2 s, not 10. Mirrors python/wait_for.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <string>

using namespace std::chrono_literals;

corio::Coro<std::string> slow_operation() {
    co_await corio::sleep(10s);
    co_return "done";
}

corio::Coro<> main_coro() {
    try {
        [[maybe_unused]] std::string result = co_await corio::wait_for(slow_operation(), 2s);
    } catch (const corio::TimeoutError&) {
        fmt::print("Операция превысила таймаут!\n");
    }
}

int main() { corio::run(main_coro()); }
