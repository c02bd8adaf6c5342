// A Lock makes read-sleep-write atomic: 100 concurrent increments, each awaiting inside the
// lock, and not one is lost (100 × 0.1 s, one at a time). Mirrors python/lock.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <map>
#include <string>
#include <vector>

using namespace std::chrono_literals;

corio::Lock lock;

corio::Coro<> safe_increment(std::map<std::string, int>& counter) {
    auto guard = co_await lock.acquire();  // async with lock: released when guard dies
    int current = counter["value"];
    co_await corio::sleep(100ms);
    counter["value"] = current + 1;
}

corio::Coro<> main_coro() {
    std::map<std::string, int> counter{{"value", 0}};
    // 100 tasks read and write the counter, but under the lock no increment is lost
    std::vector<corio::Coro<>> increments;
    for (int i = 0; i < 100; ++i) increments.push_back(safe_increment(counter));
    co_await corio::gather(std::move(increments));
    fmt::print("{}\n", counter["value"]);
}

int main() { corio::run(main_coro()); }
