// Semaphore(3) lets at most three operations run at once: ten 1 s operations take 4 s, in
// waves of three; exits 1 if more than three ever ran. Mirrors python/semaphore.py.
#include <corio/corio.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace std::chrono_literals;

// Limit the number of concurrent operations
corio::Semaphore semaphore(3);

int running = 0;       // operations started and not yet finished
int most_running = 0;  // the highest that ever got

corio::Coro<> limited_operation(int n) {
    auto permit = co_await semaphore.acquire();  // async with semaphore: released at scope exit
    most_running = std::max(most_running, ++running);
    fmt::print("Операция {} начата\n", n);
    co_await corio::sleep(1s);
    fmt::print("Операция {} завершена\n", n);
    --running;
}

corio::Coro<> main_coro() {
    // 10 operations, but no more than three run at once
    std::vector<corio::Coro<>> operations;
    for (int n = 1; n <= 10; ++n) operations.push_back(limited_operation(n));
    co_await corio::gather(std::move(operations));
}

int main() {
    corio::run(main_coro());
    if (most_running > 3) {
        fmt::print(stderr, "FAIL: {} operations ran at once, the limit is 3\n", most_running);
        return 1;
    }
}
