// gather runs coroutines concurrently and returns their results in argument order:
// all three are ready after 3 s, not 6. Mirrors python/gather.py.
#include <corio/corio.hpp>
#include <fmt/core.h>
#include <fmt/ranges.h>

#include <string>

using namespace std::chrono_literals;

corio::Coro<std::string> fetch_data(std::string url, std::chrono::seconds delay) {
    co_await corio::sleep(delay);
    co_return fmt::format("Data from {}", url);
}

corio::Coro<> main_coro() {
    // Run several coroutines concurrently
    auto results = co_await corio::gather(
        fetch_data("api1", 2s),
        fetch_data("api2", 1s),
        fetch_data("api3", 3s));
    fmt::print("['{}']\n", fmt::join(results, "', '"));  // print(results): every result after 3 s, not 6
}

int main() { corio::run(main_coro()); }
